//! Credentials the token endpoints need. Their `Debug` never shows a secret.

use super::client::token_prefix;
use std::fmt;

/// An official account's or mini program's appid and app secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AppCredentials {
    /// The appid (`wx...`).
    pub appid: String,
    /// The app secret.
    pub secret: String,
}

impl AppCredentials {
    /// Credentials from an appid and its secret.
    pub fn new(appid: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            appid: appid.into(),
            secret: secret.into(),
        }
    }
}

impl fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredentials")
            .field("appid", &self.appid)
            .field("secret", &format_args!("{}…", token_prefix(&self.secret)))
            .finish()
    }
}

/// A WeCom app: corp id, the app's secret and its agent id.
#[derive(Clone, PartialEq, Eq)]
pub struct WecomCredentials {
    /// The corp id (`ww...`).
    pub corpid: String,
    /// The app's secret.
    pub corpsecret: String,
    /// The app's agent id.
    pub agentid: i64,
}

impl WecomCredentials {
    /// Credentials of one WeCom app.
    pub fn new(corpid: impl Into<String>, corpsecret: impl Into<String>, agentid: i64) -> Self {
        Self {
            corpid: corpid.into(),
            corpsecret: corpsecret.into(),
            agentid,
        }
    }
}

impl fmt::Debug for WecomCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WecomCredentials")
            .field("corpid", &self.corpid)
            .field(
                "corpsecret",
                &format_args!("{}…", token_prefix(&self.corpsecret)),
            )
            .field("agentid", &self.agentid)
            .finish()
    }
}

/// Whose access token: an official account / mini program, or a WeCom app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAccount {
    /// Official account or mini program (token via `stable_token`).
    App(AppCredentials),
    /// WeCom app (token via `gettoken`).
    Wecom(WecomCredentials),
}

impl TokenAccount {
    /// Key of the cached token: the appid, or `wecom:<corpid>:<agentid>`.
    pub fn cache_key(&self) -> String {
        match self {
            Self::App(app) => app.appid.clone(),
            Self::Wecom(app) => format!("wecom:{}:{}", app.corpid, app.agentid),
        }
    }
}

impl From<AppCredentials> for TokenAccount {
    fn from(value: AppCredentials) -> Self {
        Self::App(value)
    }
}

impl From<WecomCredentials> for TokenAccount {
    fn from(value: WecomCredentials) -> Self {
        Self::Wecom(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let app = AppCredentials::new("wx1", "0123456789abcdef-secret");
        let shown = format!("{app:?}");
        assert!(
            shown.contains("012345…") && !shown.contains("6789"),
            "{shown}"
        );
        let wecom = WecomCredentials::new("ww1", "corp-secret-value", 1000002);
        let shown = format!("{:?}", TokenAccount::from(wecom));
        assert!(!shown.contains("secret-value"), "{shown}");
    }

    #[test]
    fn cache_keys() {
        assert_eq!(
            TokenAccount::from(AppCredentials::new("wxabc", "s")).cache_key(),
            "wxabc"
        );
        assert_eq!(
            TokenAccount::from(WecomCredentials::new("ww1", "s", 1000002)).cache_key(),
            "wecom:ww1:1000002"
        );
    }
}
