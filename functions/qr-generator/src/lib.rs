//! qr-generator: renders a course's QR codes into S3.
//!
//! The queue plumbing (typed jobs, per-message failure reporting) is in place; the job's own
//! work arrives with issue #7, and until then every job fails visibly (it is retried and
//! then kept in the dead-letter queue), never silently dropped.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use livenotify::jobs::QrJob;
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
    #[error("qr-generator cannot process {0:?} in this release (see issue #7)")]
    NotAvailable(QrJob),
}

/// Handles one SQS batch, reporting failed messages individually.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    livenotify::queue::process_batch(event, |job: QrJob| process(deps, job)).await
}

async fn process(_deps: &Deps, job: QrJob) -> Result<(), JobError> {
    Err(JobError::NotAvailable(job))
}
