//! Who is looking at a course page: the WeChat identity from web OAuth, kept in a signed,
//! HttpOnly session cookie.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use livenotify::domain::AccountId;
use livenotify::signed::Signer;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Cookie name.
pub const COOKIE_NAME: &str = "ln_session";
/// Signing purpose (a token of another purpose is refused as a session).
const PURPOSE: &str = "session";
/// How long a visitor stays identified.
pub const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The visitor's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Service account that identified them.
    pub account: AccountId,
    /// Their openid on that account.
    pub openid: String,
    /// Their unionid, when WeChat gave it.
    #[serde(default)]
    pub unionid: Option<String>,
}

impl Session {
    /// The `Set-Cookie` value carrying this session; `secure` on https deployments.
    pub fn cookie(&self, signer: &Signer, secure: bool) -> String {
        let token = signer.sign(PURPOSE, self, SESSION_TTL);
        format!(
            "{COOKIE_NAME}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
            SESSION_TTL.as_secs(),
            if secure { "; Secure" } else { "" }
        )
    }

    /// The session in the request's cookies, if present and valid (tampered, expired or
    /// foreign cookies count as absent).
    pub fn from_headers(headers: &HeaderMap, signer: &Signer) -> Option<Self> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == COOKIE_NAME)
            .find_map(|(_, value)| signer.verify(PURPOSE, value).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookie_round_trip_and_tampering() {
        let signer = Signer::new(&[1; 32]);
        let session = Session {
            account: AccountId::new("wx1").unwrap(),
            openid: "o1".into(),
            unionid: Some("u1".into()),
        };
        let set_cookie = session.cookie(&signer, true);
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("Secure"));
        let pair = set_cookie.split(';').next().unwrap().to_string();
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("a=b; {pair}")).unwrap(),
        );
        assert_eq!(Session::from_headers(&headers, &signer), Some(session));

        let tampered = pair.replacen('.', "x.", 1);
        headers.insert(COOKIE, HeaderValue::from_str(&tampered).unwrap());
        assert_eq!(Session::from_headers(&headers, &signer), None);
        assert_eq!(Session::from_headers(&HeaderMap::new(), &signer), None);
    }
}
