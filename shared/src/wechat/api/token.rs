//! Access tokens of official accounts and mini programs: `cgi-bin/token` and `cgi-bin/stable_token`.

use crate::wechat::client::{Host, WechatClient, token_prefix};
use crate::wechat::credentials::AppCredentials;
use crate::wechat::error::WechatError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An access token and its lifetime in seconds (normally 7200).
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct AccessToken {
    /// The token.
    pub access_token: String,
    /// Seconds until it expires, counted from issue.
    pub expires_in: u64,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field(
                "access_token",
                &format_args!("{}…", token_prefix(&self.access_token)),
            )
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Body of `cgi-bin/stable_token`.
#[derive(Serialize)]
struct StableTokenRequest<'a> {
    grant_type: &'static str,
    appid: &'a str,
    secret: &'a str,
    force_refresh: bool,
}

impl WechatClient {
    /// `GET cgi-bin/token`: a new token; invalidates the previous one after a short overlap,
    /// so prefer [`fetch_stable_token`](Self::fetch_stable_token).
    pub async fn fetch_token(
        &self,
        credentials: &AppCredentials,
    ) -> Result<AccessToken, WechatError> {
        let query = [
            ("grant_type", "client_credential"),
            ("appid", credentials.appid.as_str()),
            ("secret", credentials.secret.as_str()),
        ];
        self.get_json(Host::Api, "cgi-bin/token", None, &query)
            .await
            .map_err(WechatError::for_token_endpoint)
    }

    /// `POST cgi-bin/stable_token`: the same token while it is valid; `force_refresh` issues a
    /// new one (WeChat limits forced refreshes per day, use only when a token was rejected).
    pub async fn fetch_stable_token(
        &self,
        credentials: &AppCredentials,
        force_refresh: bool,
    ) -> Result<AccessToken, WechatError> {
        let body = StableTokenRequest {
            grant_type: "client_credential",
            appid: &credentials.appid,
            secret: &credentials.secret,
            force_refresh,
        };
        self.post_json(Host::Api, "cgi-bin/stable_token", None, &body)
            .await
            .map_err(WechatError::for_token_endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_token_body_shape() {
        let body = StableTokenRequest {
            grant_type: "client_credential",
            appid: "wx1",
            secret: "s",
            force_refresh: true,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"grant_type": "client_credential", "appid": "wx1", "secret": "s", "force_refresh": true})
        );
    }

    #[test]
    fn debug_redacts_token() {
        let token = AccessToken {
            access_token: "ABCDEFGHIJKLMNOP".into(),
            expires_in: 7200,
        };
        let shown = format!("{token:?}");
        assert!(
            shown.contains("ABCDEF…") && !shown.contains("GHIJ"),
            "{shown}"
        );
    }
}
