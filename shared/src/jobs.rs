//! Messages on the work queues, one enum per queue. Every function that enqueues or consumes
//! them uses these types, so producer and consumer cannot drift apart.

use crate::domain::{AccountId, CourseId, PushId, SyncRunId, SyncTrigger};
use serde::{Deserialize, Serialize};

/// QR queue: render and store a course's QR codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QrJob {
    /// (Re)generate every QR code of a course.
    Generate {
        /// Course.
        course_id: CourseId,
    },
    /// Re-enqueue `Generate` for every course that has not ended and whose temporary codes
    /// expire soon (or are missing); sent by the nightly schedule.
    RefreshExpiring,
}

/// Push queue: plan a push's fan-out, or send one batch of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PushJob {
    /// Page the audience and enqueue recipient batches.
    Plan {
        /// Push.
        push_id: PushId,
    },
    /// Send to these recipients.
    Batch {
        /// Push.
        push_id: PushId,
        /// Recipients (openids of the push's account).
        openids: Vec<String>,
    },
    /// Send to these recipients; `batch` names the batch within the push (counted once).
    SendBatch {
        /// Push.
        push_id: PushId,
        /// Batch name, unique within the push (`<page>-<index>`).
        batch: String,
        /// Recipients (openids of the push's account).
        openids: Vec<String>,
    },
    /// Once a minute: create the course reminders that are due.
    Tick,
}

/// Sync queue: sync one account (or start every account's sync).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SyncJob {
    /// Start a sync of every official account (the nightly schedule).
    AllAccounts {
        /// Why.
        trigger: SyncTrigger,
    },
    /// Sync one account, resuming `run_id` if given.
    Account {
        /// Account.
        account_id: AccountId,
        /// Run to resume.
        #[serde(default)]
        run_id: Option<SyncRunId>,
        /// Why.
        trigger: SyncTrigger,
    },
}

/// Export queue: write the file of one export job (its request is on the job item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportJobMessage {
    /// The job.
    pub export_id: crate::domain::ExportJobId,
}
