//! WeChat's domain verification file (网页授权域名 / JS 接口安全域名): before it accepts a
//! domain for OAuth, WeChat fetches `https://<domain>/<name>` and expects `content`.

use super::{AccountId, Timestamp};
use serde::{Deserialize, Serialize};

/// Longest code in a verification file's name or content.
const MAX_CODE_CHARS: usize = 64;

/// One account's verification file, served at `/<name>` on the platform's domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationFile {
    /// The account it verifies the domain for.
    pub account_id: AccountId,
    /// File name as WeChat gives it, e.g. `MP_verify_AbC123.txt`.
    pub name: String,
    /// The file's exact text (the code WeChat shows).
    pub content: String,
    /// Last set.
    pub updated_at: Timestamp,
}

/// Why a verification file's name or content is refused; shown to admins as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerificationFileError {
    /// Not `MP_verify_<letters and digits>.txt`.
    #[error("文件名须为 MP_verify_<字母或数字>.txt（与微信后台下载的文件同名）")]
    BadName,
    /// Empty, too long, or not letters and digits.
    #[error("文件内容须为 1 到 64 个字母或数字（与微信后台下载的文件内容一致）")]
    BadContent,
}

fn is_code(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_CODE_CHARS
        && text.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Checks a file name: exactly WeChat's shape, so that nothing else can be served at the root.
pub fn check_verification_name(name: &str) -> Result<(), VerificationFileError> {
    let code = name
        .strip_prefix("MP_verify_")
        .and_then(|rest| rest.strip_suffix(".txt"));
    match code {
        Some(code) if is_code(code) => Ok(()),
        _ => Err(VerificationFileError::BadName),
    }
}

/// Checks a file's content (trimmed by the caller: WeChat compares the bytes).
pub fn check_verification_content(content: &str) -> Result<(), VerificationFileError> {
    if is_code(content) {
        Ok(())
    } else {
        Err(VerificationFileError::BadContent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wechats_file_names_and_codes_are_accepted() {
        assert_eq!(check_verification_name("MP_verify_AbC123.txt"), Ok(()));
        for bad in [
            "MP_verify_.txt",
            "MP_verify_a b.txt",
            "MP_verify_../x.txt",
            "mp_verify_abc.txt",
            "MP_verify_abc.txt.exe",
            "index.html",
            "MP_verify_abc",
        ] {
            assert_eq!(
                check_verification_name(bad),
                Err(VerificationFileError::BadName),
                "{bad}"
            );
        }
        assert_eq!(check_verification_content("AbC123"), Ok(()));
        for bad in ["", "a b", "<script>", &"a".repeat(65)] {
            assert_eq!(
                check_verification_content(bad),
                Err(VerificationFileError::BadContent),
                "{bad}"
            );
        }
    }
}
