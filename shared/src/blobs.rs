//! The S3 bucket: where each kind of object lives, and time-limited links to them.
//! Keys are built here only, so producers and readers cannot disagree.

use crate::domain::{AccountId, CourseId};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use std::time::Duration;

/// How long a presigned download link works by default.
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(15 * 60);

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The link's lifetime is outside what S3 accepts (1 s to 7 days).
    #[error("presigned link lifetime {0:?} is not accepted by S3")]
    LinkLifetime(Duration),
    /// S3 refused or could not be reached.
    #[error("S3 {operation} failed: {detail}")]
    S3 {
        /// Operation.
        operation: &'static str,
        /// What S3 said.
        detail: String,
    },
}

/// Which QR image of a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrTarget<'a> {
    /// The landing-page code.
    Landing,
    /// The parametric code of one service account.
    Account(&'a AccountId),
}

/// `qr/<course>/<landing|account>.<ext>`: every image of a course under one prefix, so a
/// course's codes are listed or removed together.
pub fn qr_key(course: CourseId, target: QrTarget<'_>, extension: &str) -> String {
    match target {
        QrTarget::Landing => format!("qr/{course}/landing.{extension}"),
        QrTarget::Account(account) => format!("qr/{course}/account-{account}.{extension}"),
    }
}

/// Prefix of every QR image of a course.
pub fn qr_prefix(course: CourseId) -> String {
    format!("qr/{course}/")
}

/// `exports/<id>.<ext>`: the bucket's lifecycle rule expires this prefix after 7 days.
pub fn export_key(export_id: &str, extension: &str) -> String {
    format!("exports/{export_id}.{extension}")
}

/// `uploads/openids/<id>.txt`: an uploaded recipient list (one openid per line).
pub fn openid_list_key(upload_id: &str) -> String {
    format!("uploads/openids/{upload_id}.txt")
}

/// A time-limited GET link to `key`; with `download_name`, browsers save it under that name.
pub async fn presign_get(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    ttl: Duration,
    download_name: Option<&str>,
) -> Result<String, BlobError> {
    let config = PresigningConfig::expires_in(ttl).map_err(|_| BlobError::LinkLifetime(ttl))?;
    let mut request = s3.get_object().bucket(bucket).key(key);
    if let Some(name) = download_name {
        request = request.response_content_disposition(content_disposition(name));
    }
    let presigned = request.presigned(config).await.map_err(|e| BlobError::S3 {
        operation: "PresignGetObject",
        detail: DisplayErrorContext(&e).to_string(),
    })?;
    Ok(presigned.uri().to_string())
}

/// `attachment` with an ASCII fallback and the UTF-8 name (RFC 6266), so Chinese file names
/// survive every browser.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_grouped_per_course() {
        let course = CourseId::generate();
        let account = AccountId::new("wx123").unwrap();
        let landing = qr_key(course, QrTarget::Landing, "png");
        let account_svg = qr_key(course, QrTarget::Account(&account), "svg");
        assert!(landing.starts_with(&qr_prefix(course)));
        assert!(account_svg.starts_with(&qr_prefix(course)));
        assert!(account_svg.ends_with("account-wx123.svg"));
        assert_ne!(landing, qr_key(course, QrTarget::Landing, "svg"));
        assert_eq!(export_key("01J", "csv"), "exports/01J.csv");
    }

    #[test]
    fn download_names_keep_chinese() {
        let header = content_disposition("直播课程.csv");
        assert!(header.starts_with("attachment; filename=\"____.csv\""));
        assert!(header.contains("filename*=UTF-8''%E7%9B%B4"));
    }
}
