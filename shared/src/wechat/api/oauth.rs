//! Web OAuth of service accounts: the authorize-page URL and the `code` exchange.
//!
//! `state` carries the caller's CSRF token: WeChat echoes it back unchanged, and the callback
//! must compare it with the one it issued before trusting the `code`.

use crate::wechat::client::{Host, WechatClient, token_prefix};
use crate::wechat::credentials::AppCredentials;
use crate::wechat::error::WechatError;
use serde::Deserialize;
use std::fmt;

/// Longest `state` WeChat passes back (bytes).
pub const MAX_STATE_BYTES: usize = 128;

/// What the authorize page asks the user for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthScope {
    /// `snsapi_base`: silent, openid only.
    Base,
    /// `snsapi_userinfo`: asks consent, profile available.
    UserInfo,
}

impl OAuthScope {
    /// WeChat's scope name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "snsapi_base",
            Self::UserInfo => "snsapi_userinfo",
        }
    }
}

/// Answer of `sns/oauth2/access_token` (a user token, not the account's access token).
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthAccessToken {
    /// User access token (for `sns/userinfo`).
    pub access_token: String,
    /// Its lifetime in seconds.
    #[serde(default)]
    pub expires_in: u64,
    /// Refresh token.
    #[serde(default)]
    pub refresh_token: String,
    /// The user's openid for this account.
    pub openid: String,
    /// Granted scope(s).
    #[serde(default)]
    pub scope: String,
    /// Present when the account is bound to an open platform.
    #[serde(default)]
    pub unionid: Option<String>,
    /// 1 when the page is a snapshot (user has not really authorised yet).
    #[serde(default)]
    pub is_snapshotuser: Option<u8>,
}

impl fmt::Debug for OAuthAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthAccessToken")
            .field(
                "access_token",
                &format_args!("{}…", token_prefix(&self.access_token)),
            )
            .field("expires_in", &self.expires_in)
            .field("openid", &self.openid)
            .field("scope", &self.scope)
            .field("unionid", &self.unionid)
            .field("is_snapshotuser", &self.is_snapshotuser)
            .finish_non_exhaustive()
    }
}

impl WechatClient {
    /// The authorize-page URL to redirect a browser to; `state` must be 1..=128 bytes of
    /// `[A-Za-z0-9]` (WeChat's rule) and should be a CSRF token the caller verifies later.
    pub fn oauth_authorize_url(
        &self,
        appid: &str,
        redirect_uri: &str,
        scope: OAuthScope,
        state: &str,
    ) -> Result<String, WechatError> {
        if appid.is_empty() {
            return Err(WechatError::InvalidRequest(
                "oauth appid is required".into(),
            ));
        }
        if state.is_empty()
            || state.len() > MAX_STATE_BYTES
            || !state.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(WechatError::InvalidRequest(format!(
                "oauth state must be 1..={MAX_STATE_BYTES} chars of [A-Za-z0-9]"
            )));
        }
        let redirect = reqwest::Url::parse(redirect_uri).map_err(|e| {
            WechatError::InvalidRequest(format!("oauth redirect_uri is not a URL: {e}"))
        })?;
        if !matches!(redirect.scheme(), "http" | "https") {
            return Err(WechatError::InvalidRequest(
                "oauth redirect_uri must be http(s)".into(),
            ));
        }
        let base = format!("{}/connect/oauth2/authorize", self.endpoints().open_base);
        // WeChat requires this exact parameter order, hence one append per parameter.
        let mut url = reqwest::Url::parse(&base)
            .map_err(|e| WechatError::InvalidRequest(format!("bad OAuth base {base:?}: {e}")))?;
        url.query_pairs_mut()
            .append_pair("appid", appid)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", scope.as_str())
            .append_pair("state", state);
        url.set_fragment(Some("wechat_redirect"));
        Ok(url.into())
    }

    /// `GET sns/oauth2/access_token`: exchanges the `code` from the redirect for the user's openid.
    pub async fn exchange_oauth_code(
        &self,
        credentials: &AppCredentials,
        code: &str,
    ) -> Result<OAuthAccessToken, WechatError> {
        if code.trim().is_empty() {
            return Err(WechatError::InvalidRequest("oauth code is required".into()));
        }
        let query = [
            ("appid", credentials.appid.as_str()),
            ("secret", credentials.secret.as_str()),
            ("code", code),
            ("grant_type", "authorization_code"),
        ];
        self.get_json(Host::Api, "sns/oauth2/access_token", None, &query)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::client::WechatEndpoints;

    fn client() -> WechatClient {
        WechatClient::new(WechatEndpoints::default()).unwrap()
    }

    #[test]
    fn authorize_url_has_wechat_order_and_fragment() {
        let url = client()
            .oauth_authorize_url(
                "wx1",
                "https://ln.example.com/oauth/cb?course=1",
                OAuthScope::Base,
                "abc123",
            )
            .unwrap();
        assert_eq!(
            url,
            "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx1\
             &redirect_uri=https%3A%2F%2Fln.example.com%2Foauth%2Fcb%3Fcourse%3D1\
             &response_type=code&scope=snsapi_base&state=abc123#wechat_redirect"
        );
    }

    #[test]
    fn authorize_url_validates() {
        let c = client();
        assert!(
            c.oauth_authorize_url("wx1", "https://x/cb", OAuthScope::UserInfo, "")
                .is_err()
        );
        assert!(
            c.oauth_authorize_url("wx1", "https://x/cb", OAuthScope::UserInfo, "a-b")
                .is_err()
        );
        assert!(
            c.oauth_authorize_url(
                "wx1",
                "https://x/cb",
                OAuthScope::UserInfo,
                &"a".repeat(129)
            )
            .is_err()
        );
        assert!(
            c.oauth_authorize_url("wx1", "not a url", OAuthScope::UserInfo, "s")
                .is_err()
        );
        assert!(
            c.oauth_authorize_url("wx1", "ftp://x/cb", OAuthScope::UserInfo, "s")
                .is_err()
        );
        assert!(
            c.oauth_authorize_url("", "https://x/cb", OAuthScope::UserInfo, "s")
                .is_err()
        );
        assert!(
            c.oauth_authorize_url(
                "wx1",
                "https://x/cb",
                OAuthScope::UserInfo,
                &"a".repeat(128)
            )
            .is_ok()
        );
    }

    #[test]
    fn token_parses_and_debug_redacts() {
        let t: OAuthAccessToken = serde_json::from_str(
            r#"{"access_token":"USERTOKENVALUE","expires_in":7200,"refresh_token":"R","openid":"o1","scope":"snsapi_base","is_snapshotuser":1,"unionid":"u1"}"#,
        )
        .unwrap();
        assert_eq!(t.openid, "o1");
        assert_eq!(t.unionid.as_deref(), Some("u1"));
        let shown = format!("{t:?}");
        assert!(!shown.contains("TOKENVALUE"), "{shown}");
    }
}
