//! Sandbox accounts: official accounts, mini programs and WeCom apps with their credentials,
//! open-platform group (shared unionids) and callback configuration.

use crate::ids;
use serde::{Deserialize, Serialize};

/// What kind of WeChat presence an account is (same names as the core crate's `AccountKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// 服务号: template messages, parametric QR codes, web OAuth, followers.
    Service,
    /// 订阅号: followers and callbacks; no template messages, no web OAuth.
    Subscription,
    /// 小程序: subscription messages.
    #[serde(alias = "miniprogram")]
    MiniProgram,
    /// 企业微信 app: messages to members.
    Wecom,
}

impl AccountKind {
    /// Whether the account has followers listed by `user/get` (official accounts).
    pub fn is_official(self) -> bool {
        matches!(self, Self::Service | Self::Subscription)
    }
}

/// How callbacks are posted to the account's server (明文 / 兼容 / 安全模式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncryptionMode {
    /// Plain XML, `signature` only.
    #[default]
    #[serde(alias = "plain")]
    Plaintext,
    /// Plain fields plus `Encrypt`, and `msg_signature`.
    Compatible,
    /// Only `ToUserName` and `Encrypt`; replies must be encrypted.
    Safe,
}

/// One sandbox account. Build with [`SandboxAccount::service`] and friends; unset credentials
/// are derived from the appid, so a test and the platform's seed agree without sharing files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxAccount {
    /// appid (WeCom: corpid).
    pub appid: String,
    /// AppSecret (WeCom: corpsecret of the app).
    pub secret: String,
    /// Callback Token configured in the console.
    pub token: String,
    /// 43-character EncodingAESKey.
    pub encoding_aes_key: String,
    /// Kind of account.
    pub kind: AccountKind,
    /// Original id (`gh_...`), the `ToUserName` of callbacks.
    pub original_id: String,
    /// Open-platform group: accounts in the same group share unionids.
    pub open_platform: Option<String>,
    /// Server URL the phone posts callbacks to; `None` = callbacks are not configured.
    pub callback_url: Option<String>,
    /// Callback encryption mode.
    pub encryption_mode: EncryptionMode,
    /// WeCom application agentid.
    pub agentid: Option<i64>,
    /// Template ids the account owns; empty = any template id is accepted.
    pub templates: Vec<String>,
}

impl SandboxAccount {
    /// An account of `kind` with credentials derived from `appid`.
    pub fn new(appid: impl Into<String>, kind: AccountKind) -> Self {
        let appid = appid.into();
        Self {
            secret: ids::derived_secret(&appid),
            token: ids::derived_callback_token(&appid),
            encoding_aes_key: ids::derived_aes_key(&appid),
            original_id: ids::derived_original_id(&appid),
            agentid: (kind == AccountKind::Wecom).then_some(1_000_002),
            appid,
            kind,
            open_platform: None,
            callback_url: None,
            encryption_mode: EncryptionMode::Plaintext,
            templates: Vec::new(),
        }
    }

    /// A service account (服务号).
    pub fn service(appid: impl Into<String>) -> Self {
        Self::new(appid, AccountKind::Service)
    }

    /// A subscription account (订阅号).
    pub fn subscription(appid: impl Into<String>) -> Self {
        Self::new(appid, AccountKind::Subscription)
    }

    /// A mini program.
    pub fn mini_program(appid: impl Into<String>) -> Self {
        Self::new(appid, AccountKind::MiniProgram)
    }

    /// A WeCom app of corp `corpid` with application `agentid`.
    pub fn wecom(corpid: impl Into<String>, agentid: i64) -> Self {
        let mut a = Self::new(corpid, AccountKind::Wecom);
        a.agentid = Some(agentid);
        a
    }

    /// Sets the AppSecret.
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = secret.into();
        self
    }

    /// Sets the callback Token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// Sets the EncodingAESKey.
    pub fn with_aes_key(mut self, key: impl Into<String>) -> Self {
        self.encoding_aes_key = key.into();
        self
    }

    /// Sets the original id (`gh_...`).
    pub fn with_original_id(mut self, id: impl Into<String>) -> Self {
        self.original_id = id.into();
        self
    }

    /// Puts the account in open-platform group `group` (shared unionids).
    pub fn in_open_platform(mut self, group: impl Into<String>) -> Self {
        self.open_platform = Some(group.into());
        self
    }

    /// Sets the callback server URL and encryption mode.
    pub fn with_callback(mut self, url: impl Into<String>, mode: EncryptionMode) -> Self {
        self.callback_url = Some(url.into());
        self.encryption_mode = mode;
        self
    }

    /// Restricts the template ids the account accepts.
    pub fn with_templates<I, S>(mut self, templates: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.templates = templates.into_iter().map(Into::into).collect();
        self
    }

    /// Checks that the account is usable: non-empty appid and a loadable EncodingAESKey.
    pub fn validate(&self) -> Result<(), String> {
        if self.appid.trim().is_empty() {
            return Err("appid must not be empty".into());
        }
        if self.secret.is_empty() {
            return Err("secret must not be empty".into());
        }
        livenotify::wechat::crypto::MessageCrypto::new(&self.encoding_aes_key, &self.appid)
            .map(|_| ())
            .map_err(|e| format!("encoding_aes_key: {e}"))
    }
}

/// JSON description of an account for the control API and seed files: only `appid` and
/// `kind` are required, the rest defaults as in [`SandboxAccount::new`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// appid (WeCom: corpid).
    pub appid: String,
    /// Kind of account (`service` if absent).
    #[serde(default)]
    pub kind: Option<AccountKind>,
    /// AppSecret.
    #[serde(default)]
    pub secret: Option<String>,
    /// Callback Token.
    #[serde(default)]
    pub token: Option<String>,
    /// EncodingAESKey.
    #[serde(default)]
    pub encoding_aes_key: Option<String>,
    /// Original id.
    #[serde(default)]
    pub original_id: Option<String>,
    /// Open-platform group.
    #[serde(default)]
    pub open_platform: Option<String>,
    /// Callback URL.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// Encryption mode.
    #[serde(default)]
    pub encryption_mode: Option<EncryptionMode>,
    /// WeCom agentid.
    #[serde(default)]
    pub agentid: Option<i64>,
    /// Allowed template ids.
    #[serde(default)]
    pub templates: Option<Vec<String>>,
    /// Followers to create right away (seed files and the control API).
    #[serde(default)]
    pub followers: Option<u64>,
}

impl AccountSpec {
    /// The account this spec describes.
    pub fn to_account(&self) -> SandboxAccount {
        let mut a = SandboxAccount::new(
            self.appid.clone(),
            self.kind.unwrap_or(AccountKind::Service),
        );
        if let Some(v) = &self.secret {
            a.secret.clone_from(v);
        }
        if let Some(v) = &self.token {
            a.token.clone_from(v);
        }
        if let Some(v) = &self.encoding_aes_key {
            a.encoding_aes_key.clone_from(v);
        }
        if let Some(v) = &self.original_id {
            a.original_id.clone_from(v);
        }
        if self.open_platform.is_some() {
            a.open_platform.clone_from(&self.open_platform);
        }
        if self.callback_url.is_some() {
            a.callback_url.clone_from(&self.callback_url);
        }
        if let Some(v) = self.encryption_mode {
            a.encryption_mode = v;
        }
        if self.agentid.is_some() {
            a.agentid = self.agentid;
        }
        if let Some(v) = &self.templates {
            a.templates.clone_from(v);
        }
        a
    }
}

/// Changes to an existing account (control API `PATCH /sandbox/accounts/{appid}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// New callback URL; `""` removes it.
    pub callback_url: Option<String>,
    /// New encryption mode.
    pub encryption_mode: Option<EncryptionMode>,
    /// New AppSecret.
    pub secret: Option<String>,
    /// New callback Token.
    pub token: Option<String>,
    /// New EncodingAESKey.
    pub encoding_aes_key: Option<String>,
    /// New allowed template ids.
    pub templates: Option<Vec<String>>,
}

impl AccountPatch {
    /// Applies the patch to `a`.
    pub fn apply(&self, a: &mut SandboxAccount) {
        if let Some(url) = &self.callback_url {
            a.callback_url = (!url.is_empty()).then(|| url.clone());
        }
        if let Some(m) = self.encryption_mode {
            a.encryption_mode = m;
        }
        if let Some(v) = &self.secret {
            a.secret.clone_from(v);
        }
        if let Some(v) = &self.token {
            a.token.clone_from(v);
        }
        if let Some(v) = &self.encoding_aes_key {
            a.encoding_aes_key.clone_from(v);
        }
        if let Some(v) = &self.templates {
            a.templates.clone_from(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_defaults_match_constructor() {
        let spec: AccountSpec =
            serde_json::from_str(r#"{"appid":"wx1","kind":"miniprogram"}"#).unwrap_or_default();
        assert_eq!(spec.to_account(), SandboxAccount::mini_program("wx1"));
        assert!(SandboxAccount::service("wx1").validate().is_ok());
        assert!(
            SandboxAccount::service("wx1")
                .with_aes_key("short")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn wecom_has_agentid() {
        assert_eq!(SandboxAccount::wecom("ww1", 7).agentid, Some(7));
    }
}
