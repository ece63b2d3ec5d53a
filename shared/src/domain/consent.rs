use super::{AccountId, Timestamp};
use serde::{Deserialize, Serialize};

/// A user's subscription-message consent for one template of one account (订阅消息授权).
/// One-time consents allow one send each; a long-term consent allows sends until withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Account (official account or mini program).
    pub account_id: AccountId,
    /// The user.
    pub openid: String,
    /// Template.
    pub template_id: String,
    /// Last decision was "accept".
    pub accepted: bool,
    /// Accepted as a long-term subscription (settings page), not per popup.
    #[serde(default)]
    pub long_term: bool,
    /// One-time consents granted and not used by a send yet.
    #[serde(default)]
    pub available: i64,
    /// Last result WeChat reported for a message on this template (errcode, 0 = delivered).
    #[serde(default)]
    pub last_send_error: Option<i64>,
    /// Last change.
    pub updated_at: Timestamp,
}
