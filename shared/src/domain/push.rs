use super::{AccountId, CourseId, PushId, Timestamp};
use serde::{Deserialize, Serialize};

/// Who a push goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Audience {
    /// Every subscribed, not muted follower of the account.
    AllFollowers,
    /// Users who signed up for the course by scanning its QR.
    SignedUp,
    /// Followers carrying a WeChat tag.
    Tag {
        /// WeChat tag id.
        tag_id: u32,
    },
    /// An uploaded list of openids, stored in S3.
    OpenidList {
        /// S3 key of the newline-separated list.
        s3_key: String,
        /// Number of openids in it.
        count: u64,
    },
}

/// How a push reaches users; chosen per account and course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Service-account template message.
    Template,
    /// Official-account subscription message (bizsend).
    Subscribe,
    /// Mini program subscription message (one send per consent).
    MiniProgramSubscribe,
    /// Customer-service message (within 48 h of the user's last interaction).
    CustomerService,
    /// WeCom application message.
    Wecom,
}

/// Where a push job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    /// Created, waiting for its time or for the worker.
    Pending,
    /// Being fanned out and sent.
    Running,
    /// Stopped by WeChat's daily quota; resumes later.
    Paused,
    /// Every recipient handled.
    Completed,
    /// Stopped for a reason that concerns the whole push (bad template, no permission).
    Failed,
    /// Stopped by an admin.
    Cancelled,
}

impl PushStatus {
    /// No further sends happen in this state.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// Progress counters, updated with atomic ADDs by the workers and callbacks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushCounters {
    /// Recipients planned.
    #[serde(default)]
    pub targeted: u64,
    /// Accepted by WeChat.
    #[serde(default)]
    pub sent: u64,
    /// Confirmed delivered by a receipt.
    #[serde(default)]
    pub delivered: u64,
    /// Receipt said the user blocks the account.
    #[serde(default)]
    pub user_blocked: u64,
    /// Not sent on purpose (unfollowed, muted, no consent...).
    #[serde(default)]
    pub skipped: u64,
    /// Could not be sent.
    #[serde(default)]
    pub failed: u64,
}

/// A push job: one course, one account, one audience, one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Push {
    /// Id.
    pub id: PushId,
    /// Course announced.
    pub course_id: CourseId,
    /// Account sending.
    pub account_id: AccountId,
    /// Recipients.
    pub audience: Audience,
    /// Channel.
    pub channel: Channel,
    /// Lifecycle state.
    pub status: PushStatus,
    /// Do not send before this instant.
    #[serde(default)]
    pub scheduled_at: Option<Timestamp>,
    /// Admin who created it (`system` for automatic reminders).
    pub created_by: String,
    /// Created.
    pub created_at: Timestamp,
    /// First send.
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    /// Reached a final state.
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
    /// Why it failed or paused, in words an admin can act on.
    #[serde(default)]
    pub status_reason: Option<String>,
    /// Progress.
    #[serde(default)]
    pub counters: PushCounters,
}
