use super::{AccountId, SyncRunId, Timestamp};
use serde::{Deserialize, Serialize};

/// Why a sync ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncTrigger {
    /// The nightly 01:00 Asia/Shanghai schedule.
    Schedule,
    /// An admin's "sync now".
    Manual,
}

/// Where a sync run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncRunStatus {
    /// In progress (possibly across several invocations).
    Running,
    /// Finished; the table equals WeChat's list.
    Completed,
    /// Stopped by WeChat's quota; the next run resumes.
    Paused,
    /// Stopped by an error.
    Failed,
}

/// Counts of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCounts {
    /// Followers WeChat reported.
    #[serde(default)]
    pub total: u64,
    /// New followers written.
    #[serde(default)]
    pub added: u64,
    /// Existing followers whose fields changed.
    #[serde(default)]
    pub updated: u64,
    /// Followers no longer in WeChat's list, marked unsubscribed.
    #[serde(default)]
    pub unsubscribed: u64,
    /// WeChat API calls made.
    #[serde(default)]
    pub wechat_calls: u64,
}

/// One follower sync of one account, with its checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRun {
    /// Id.
    pub id: SyncRunId,
    /// Account synced.
    pub account_id: AccountId,
    /// Why.
    pub trigger: SyncTrigger,
    /// State.
    pub status: SyncRunStatus,
    /// Started.
    pub started_at: Timestamp,
    /// Finished.
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
    /// `next_openid` to resume user/get from; `None` before the first page.
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// Counts so far.
    #[serde(default)]
    pub counts: SyncCounts,
    /// Last error, for admins.
    #[serde(default)]
    pub error: Option<String>,
}
