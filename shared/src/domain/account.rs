use super::{AccountId, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of WeChat presence an account is; it decides which APIs and channels it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// 服务号: template messages, parametric QR codes, web OAuth, follower list.
    Service,
    /// 订阅号: follower list and callbacks; the follow gate of a course.
    Subscription,
    /// 小程序: subscription messages.
    MiniProgram,
    /// 企业微信 app: messages to members, departments, tags.
    Wecom,
}

impl AccountKind {
    /// Stable lower-case name, as used in keys and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Subscription => "subscription",
            Self::MiniProgram => "mini_program",
            Self::Wecom => "wecom",
        }
    }

    /// Official accounts have followers that WeChat lists (user/get).
    pub fn has_followers(self) -> bool {
        matches!(self, Self::Service | Self::Subscription)
    }
}

/// How WeChat posts callbacks to this account's server URL (明文 / 兼容 / 安全模式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackMode {
    /// Plain XML, signature only.
    #[default]
    Plaintext,
    /// Plain fields and an `Encrypt` field side by side.
    Compatible,
    /// Only `Encrypt`; replies must be encrypted too.
    Safe,
}

/// A WeChat account the platform works with. Credentials live apart, in [`AccountSecrets`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Platform id; equals the appid for official accounts and mini programs.
    pub id: AccountId,
    /// Display name, e.g. "htology".
    pub name: String,
    /// Kind of account.
    pub kind: AccountKind,
    /// WeChat appid (or WeCom corpid).
    pub appid: String,
    /// Original id (`gh_…`), the `ToUserName` of callbacks; empty when unknown.
    #[serde(default)]
    pub original_id: String,
    /// WeCom application agent id.
    #[serde(default)]
    pub wecom_agent_id: Option<i64>,
    /// Callback encryption mode configured in WeChat's console.
    #[serde(default)]
    pub callback_mode: CallbackMode,
    /// Subscribed followers as of the last sync, adjusted by callbacks since.
    #[serde(default)]
    pub follower_count: u64,
    /// Content of the account's own follow QR code (e.g. `http://weixin.qq.com/r/…`), shown
    /// by a course's follow gate when no parametric code of this account exists.
    #[serde(default)]
    pub follow_url: Option<String>,
    /// Automatic answers to users' text messages, checked before the built-in keywords.
    #[serde(default)]
    pub keyword_replies: Vec<KeywordReply>,
    /// When the account was added.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// An automatic answer to a text message that equals `keyword` (trimmed, case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeywordReply {
    /// The text a user sends.
    pub keyword: String,
    /// The answer.
    pub reply: String,
}

/// Credentials of an account. Stored encrypted, never returned by the API, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSecrets {
    /// AppSecret (or WeCom corpsecret).
    pub app_secret: String,
    /// The callback Token configured in WeChat's console.
    pub callback_token: String,
    /// The 43-character EncodingAESKey, for compatible and safe mode.
    #[serde(default)]
    pub encoding_aes_key: Option<String>,
}

impl fmt::Debug for AccountSecrets {
    // Secrets must not reach logs through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountSecrets { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_debug_hides_values() {
        let s = AccountSecrets {
            app_secret: "very-secret".into(),
            callback_token: "tok".into(),
            encoding_aes_key: None,
        };
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}
