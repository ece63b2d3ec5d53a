use super::{AccountId, CourseId, PushId, Timestamp};
use serde::{Deserialize, Serialize};

/// What happened to one message to one recipient (通知记录).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Claimed by a worker, send in progress (or the worker died: then it is retried).
    Sending,
    /// WeChat accepted it and gave a msgid.
    Sent,
    /// The receipt (TEMPLATESENDJOBFINISH) said success.
    Delivered,
    /// The receipt said the user blocks the account.
    UserBlocked,
    /// The receipt said WeChat failed.
    SystemFailed,
    /// Deliberately not sent (not following, muted, no consent, outside the 48 h window).
    Skipped,
    /// Sending failed.
    Failed,
}

impl DeliveryStatus {
    /// A send was accepted by WeChat; it must never be sent again.
    pub fn was_sent(self) -> bool {
        matches!(
            self,
            Self::Sent | Self::Delivered | Self::UserBlocked | Self::SystemFailed
        )
    }
}

/// One notification record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Push it belongs to.
    pub push_id: PushId,
    /// Course announced (denormalised for search).
    pub course_id: CourseId,
    /// Sending account.
    pub account_id: AccountId,
    /// Recipient.
    pub openid: String,
    /// State.
    pub status: DeliveryStatus,
    /// WeChat's msgid, once sent.
    #[serde(default)]
    pub msgid: Option<String>,
    /// Idempotency key given to WeChat, derived from (push, openid).
    pub client_msg_id: String,
    /// Send attempts made.
    #[serde(default)]
    pub attempts: u32,
    /// WeChat errcode of the last failure or skip.
    #[serde(default)]
    pub error_code: Option<i64>,
    /// Human-readable reason of the last failure or skip.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Expiry for retention (TTL), epoch seconds.
    #[serde(default)]
    pub expires_at: Option<i64>,
}
