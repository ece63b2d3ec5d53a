//! push-worker: fans a push out and sends it.
//!
//! The queue plumbing (typed jobs, per-message failure reporting) is in place; the job's own
//! work arrives with issue #6, and until then every job fails visibly (it is retried and
//! then kept in the dead-letter queue), never silently dropped.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use livenotify::jobs::PushJob;
use livenotify::platform::Platform;

livenotify::function_info!();

/// What the handler needs, built once per cold start.
#[derive(Debug, Clone)]
pub struct Deps {
    /// Table, queues, bucket and WeChat.
    pub platform: Platform,
}

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// This build cannot do the job yet.
    #[error("push-worker cannot process {0:?} in this release (see issue #6)")]
    NotAvailable(PushJob),
}

/// Handles one SQS batch, reporting failed messages individually.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    livenotify::queue::process_batch(event, |job: PushJob| process(deps, job)).await
}

async fn process(_deps: &Deps, job: PushJob) -> Result<(), JobError> {
    Err(JobError::NotAvailable(job))
}
