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
    /// WeChat calls that answered "busy" and were retried after a backoff (part of
    /// `wechat_calls`).
    #[serde(default)]
    pub wechat_retries: u64,
    /// DynamoDB write requests for followers (BatchWriteItem, UpdateItem).
    #[serde(default)]
    pub write_requests: u64,
    /// Invocations the run took (it re-enqueues itself before the Lambda time limit).
    #[serde(default)]
    pub invocations: u64,
    /// `user/get` pages fetched and stored (progress; page `n` is kept under its number).
    #[serde(default)]
    pub pages: u64,
    /// Openids listed by `user/get` so far (progress).
    #[serde(default)]
    pub listed: u64,
    /// Listed openids whose details are fetched and reconciled (progress): the run resumes
    /// at this position of the list, so equal to `listed` means the last page is done.
    #[serde(default)]
    pub reconciled: u64,
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
    /// `next_openid` to resume user/get from; `None` before the first page and after the
    /// last one (`counts.pages` tells the two apart).
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// Counts so far.
    #[serde(default)]
    pub counts: SyncCounts,
    /// Last error, for admins.
    #[serde(default)]
    pub error: Option<String>,
}

impl SyncRun {
    /// A new run of `account`, not yet started on WeChat's list.
    pub fn start(account_id: AccountId, trigger: SyncTrigger, at: Timestamp) -> Self {
        Self {
            id: SyncRunId::generate(),
            account_id,
            trigger,
            status: SyncRunStatus::Running,
            started_at: at,
            finished_at: None,
            checkpoint: None,
            counts: SyncCounts::default(),
            error: None,
        }
    }

    /// WeChat's list has been walked to its end (every page is listed and stored).
    pub fn listing_complete(&self) -> bool {
        self.counts.pages > 0 && self.checkpoint.is_none()
    }
}
