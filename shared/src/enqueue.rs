//! Sending typed jobs to the work queues. Producers (admin-api, callbacks, the workers
//! themselves) go through [`Queues`], so every message on a queue is one of the job enums in
//! [`crate::jobs`].

use crate::config::QueueUrls;
use crate::jobs::{ExportJobMessage, PushJob, QrJob, SyncJob};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::Serialize;
use std::time::Duration;

/// SQS takes at most this many messages per SendMessageBatch.
pub const SQS_BATCH_MAX: usize = 10;
/// SQS delays a message by at most 15 minutes.
pub const SQS_MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// Why a job could not be enqueued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    /// The job did not serialise (a bug, never input).
    #[error("job does not serialise: {0}")]
    Encode(#[from] serde_json::Error),
    /// This function was not given the queue's URL.
    #[error("queue not configured: {0} is not set")]
    NotConfigured(&'static str),
    /// SQS refused or could not be reached.
    #[error("SQS {operation} failed: {detail}")]
    Sqs {
        /// Operation.
        operation: &'static str,
        /// What SQS said.
        detail: String,
    },
}

/// The platform's work queues. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Queues {
    sqs: aws_sdk_sqs::Client,
    urls: QueueUrls,
}

impl Queues {
    /// Queues at `urls`.
    pub fn new(sqs: aws_sdk_sqs::Client, urls: QueueUrls) -> Self {
        Self { sqs, urls }
    }

    /// The queue URLs.
    pub fn urls(&self) -> &QueueUrls {
        &self.urls
    }

    /// Enqueues a push job, visible after `delay` (capped at SQS's 15 minutes).
    pub async fn push(&self, job: &PushJob, delay: Duration) -> Result<(), EnqueueError> {
        send(&self.sqs, &self.urls.push, job, delay).await
    }

    /// Enqueues many push jobs with SendMessageBatch (10 per request).
    pub async fn push_many(&self, jobs: &[PushJob]) -> Result<(), EnqueueError> {
        send_many(&self.sqs, &self.urls.push, jobs).await
    }

    /// Enqueues a QR job.
    pub async fn qr(&self, job: &QrJob) -> Result<(), EnqueueError> {
        send(&self.sqs, &self.urls.qr, job, Duration::ZERO).await
    }

    /// Enqueues a sync job, visible after `delay` (capped at SQS's 15 minutes).
    pub async fn sync(&self, job: &SyncJob, delay: Duration) -> Result<(), EnqueueError> {
        send(&self.sqs, &self.urls.sync, job, delay).await
    }

    /// Enqueues an export job (admin-api only: needs `EXPORT_QUEUE_URL`).
    pub async fn export(&self, job: &ExportJobMessage) -> Result<(), EnqueueError> {
        let url = self
            .urls
            .export
            .as_deref()
            .ok_or(EnqueueError::NotConfigured("EXPORT_QUEUE_URL"))?;
        send(&self.sqs, url, job, Duration::ZERO).await
    }

    /// The SQS client (for the dead-letter view, which reads and moves raw messages).
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        &self.sqs
    }
}

async fn send<J: Serialize>(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    job: &J,
    delay: Duration,
) -> Result<(), EnqueueError> {
    let body = serde_json::to_string(job)?;
    let delay_secs = delay.min(SQS_MAX_DELAY).as_secs() as i32;
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .delay_seconds(delay_secs)
        .send()
        .await
        .map_err(|e| EnqueueError::Sqs {
            operation: "SendMessage",
            detail: DisplayErrorContext(&e).to_string(),
        })?;
    Ok(())
}

async fn send_many<J: Serialize>(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    jobs: &[J],
) -> Result<(), EnqueueError> {
    for chunk in jobs.chunks(SQS_BATCH_MAX) {
        let mut entries = chunk
            .iter()
            .enumerate()
            .map(|(i, job)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(serde_json::to_string(job)?)
                    .build()
                    .map_err(|e| EnqueueError::Sqs {
                        operation: "SendMessageBatch",
                        detail: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, EnqueueError>>()?;
        // SQS can accept part of a batch; resend only the entries it refused, a few times.
        for attempt in 0..3 {
            let out = sqs
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| EnqueueError::Sqs {
                    operation: "SendMessageBatch",
                    detail: DisplayErrorContext(&e).to_string(),
                })?;
            let failed: Vec<String> = out.failed.into_iter().map(|f| f.id).collect();
            if failed.is_empty() {
                break;
            }
            if attempt == 2 {
                return Err(EnqueueError::Sqs {
                    operation: "SendMessageBatch",
                    detail: format!("{} entries refused after 3 attempts", failed.len()),
                });
            }
            entries.retain(|e| failed.contains(&e.id));
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
    }
    Ok(())
}
