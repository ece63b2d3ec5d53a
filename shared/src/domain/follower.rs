use super::{AccountId, Timestamp};
use serde::{Deserialize, Serialize};

/// A person as seen by one official account (openid is per account).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Follower {
    /// Account followed.
    pub account_id: AccountId,
    /// Per-account user id.
    pub openid: String,
    /// Cross-account id, when the account is bound to an open platform.
    #[serde(default)]
    pub unionid: Option<String>,
    /// Follows now. Unfollowers are kept with `false`, never deleted.
    pub subscribed: bool,
    /// When they (last) followed.
    #[serde(default)]
    pub subscribe_time: Option<Timestamp>,
    /// When they unfollowed, if they did.
    #[serde(default)]
    pub unsubscribed_at: Option<Timestamp>,
    /// Admin's remark in WeChat.
    #[serde(default)]
    pub remark: String,
    /// WeChat tag ids.
    #[serde(default)]
    pub tag_ids: Vec<u32>,
    /// How they followed (ADD_SCENE_QR_CODE, ADD_SCENE_SEARCH, ...).
    #[serde(default)]
    pub subscribe_scene: Option<String>,
    /// Scene of the parametric QR they followed through.
    #[serde(default)]
    pub qr_scene: Option<String>,
    /// Language reported by WeChat.
    #[serde(default)]
    pub language: Option<String>,
    /// Last message or event from them (the customer-service 48 h window starts here).
    #[serde(default)]
    pub last_interaction_at: Option<Timestamp>,
    /// They asked not to receive course notifications from this account.
    #[serde(default)]
    pub muted: bool,
    /// Last written by the nightly sync.
    #[serde(default)]
    pub synced_at: Option<Timestamp>,
    /// Last change of any kind.
    pub updated_at: Timestamp,
}
