//! The work queues' dead-letter queues: look at what failed for good, and move it back to the
//! source queue once the cause is fixed.
//!
//! Looking receives the messages (hidden for [`PEEK_VISIBILITY`]) and makes them visible again
//! at once, so a look changes nothing but each message's receive count. Redriving receives,
//! re-sends to the source queue, and deletes from the DLQ only what the source accepted, so
//! a failure half-way loses nothing (at worst a message is in both queues, and every job is
//! idempotent).

use crate::config::{DeadLetterUrls, QueueUrls};
use crate::domain::Timestamp;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// How long a looked-at message stays hidden if making it visible again fails.
pub const PEEK_VISIBILITY: i32 = 30;
/// Most messages one look returns.
pub const MAX_PEEK: usize = 1000;
/// A redrive stops after this long (API Gateway cuts requests at 29 s); run it again for more.
pub const REDRIVE_BUDGET: Duration = Duration::from_secs(20);

/// Which work queue's dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkQueue {
    /// Push fan-out and sends.
    Push,
    /// QR rendering.
    Qr,
    /// Follower sync.
    Sync,
    /// Export jobs (deployments with an export queue).
    Export,
}

impl WorkQueue {
    /// Every queue with a DLQ.
    pub const ALL: [Self; 4] = [Self::Push, Self::Qr, Self::Sync, Self::Export];

    /// Name as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Qr => "qr",
            Self::Sync => "sync",
            Self::Export => "export",
        }
    }

    /// The queue named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == text)
    }
}

/// One message in a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// SQS message id.
    pub message_id: String,
    /// Source queue.
    pub queue: WorkQueue,
    /// The body: the job as JSON, or the raw text when it is not JSON.
    pub body: serde_json::Value,
    /// Times it was received before this look (on the source queue, then the DLQ).
    pub receive_count: u64,
    /// First receipt on the source queue.
    pub first_received_at: Option<Timestamp>,
    /// When it was first sent.
    pub sent_at: Option<Timestamp>,
}

/// Why a DLQ could not be read or redriven.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// This deployment has no such queue or DLQ (the export queue is optional).
    #[error("no {} queue or dead-letter queue is configured", .0.as_str())]
    NotConfigured(WorkQueue),
    /// An SQS call failed.
    #[error("SQS {operation} failed: {detail}")]
    Sqs {
        /// Operation.
        operation: &'static str,
        /// What SQS said.
        detail: String,
    },
}

fn sqs_error<E: std::error::Error + 'static>(
    operation: &'static str,
) -> impl FnOnce(E) -> DeadLetterError {
    move |e| DeadLetterError::Sqs {
        operation,
        detail: DisplayErrorContext(&e).to_string(),
    }
}

/// The DLQs next to their source queues. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DeadLetterQueues {
    sqs: aws_sdk_sqs::Client,
    dead: DeadLetterUrls,
    sources: QueueUrls,
}

fn epoch_millis(text: Option<&String>) -> Option<Timestamp> {
    text.and_then(|t| t.parse::<i64>().ok())
        .and_then(chrono::DateTime::from_timestamp_millis)
}

impl DeadLetterQueues {
    /// The DLQs at `dead`, redriving into `sources`.
    pub fn new(sqs: aws_sdk_sqs::Client, dead: DeadLetterUrls, sources: QueueUrls) -> Self {
        Self { sqs, dead, sources }
    }

    fn dlq(&self, queue: WorkQueue) -> Result<&str, DeadLetterError> {
        match queue {
            WorkQueue::Push => Ok(&self.dead.push),
            WorkQueue::Qr => Ok(&self.dead.qr),
            WorkQueue::Sync => Ok(&self.dead.sync),
            WorkQueue::Export => self
                .dead
                .export
                .as_deref()
                .ok_or(DeadLetterError::NotConfigured(queue)),
        }
    }

    fn source(&self, queue: WorkQueue) -> Result<&str, DeadLetterError> {
        match queue {
            WorkQueue::Push => Ok(&self.sources.push),
            WorkQueue::Qr => Ok(&self.sources.qr),
            WorkQueue::Sync => Ok(&self.sources.sync),
            WorkQueue::Export => self
                .sources
                .export
                .as_deref()
                .ok_or(DeadLetterError::NotConfigured(queue)),
        }
    }

    async fn receive(
        &self,
        queue: WorkQueue,
        max: i32,
        visibility: i32,
    ) -> Result<Vec<Message>, DeadLetterError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(self.dlq(queue)?)
            .max_number_of_messages(max.clamp(1, 10))
            .visibility_timeout(visibility)
            // A short wait: an empty answer then means empty, not "no server sampled had one".
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(sqs_error("ReceiveMessage"))?;
        Ok(out.messages.unwrap_or_default())
    }

    /// Up to `limit` (at most [`MAX_PEEK`]) messages of `queue`'s DLQ, left in place.
    pub async fn peek(
        &self,
        queue: WorkQueue,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, DeadLetterError> {
        let limit = limit.clamp(1, MAX_PEEK);
        let mut seen = Vec::new();
        let mut handles = Vec::new();
        let mut result = Ok(());
        while seen.len() < limit {
            let want = i32::try_from(limit - seen.len()).unwrap_or(10);
            let batch = match self.receive(queue, want, PEEK_VISIBILITY).await {
                Ok(batch) => batch,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            if batch.is_empty() {
                break;
            }
            for message in batch {
                if let Some(handle) = message.receipt_handle.clone() {
                    handles.push(handle);
                }
                seen.push(dead_letter(queue, message));
            }
        }
        // Show them again right away, whatever happened above.
        self.release(queue, &handles).await;
        result.map(|()| seen)
    }

    async fn release(&self, queue: WorkQueue, handles: &[String]) {
        // Nothing was received from a queue that is not configured.
        let Ok(dlq) = self.dlq(queue) else { return };
        for chunk in handles.chunks(10) {
            let entries: Vec<_> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            if let Err(e) = self
                .sqs
                .change_message_visibility_batch()
                .queue_url(dlq)
                .set_entries(Some(entries))
                .send()
                .await
            {
                // They reappear after PEEK_VISIBILITY anyway.
                tracing::warn!(queue = queue.as_str(), error = %DisplayErrorContext(&e), "dead letters not released");
            }
        }
    }

    /// Moves the messages of `queue`'s DLQ that `select` accepts back to the queue (within
    /// [`REDRIVE_BUDGET`]); returns how many moved. The others stay in the DLQ untouched
    /// (hidden while this runs, so they are not looked at twice, and shown again at the end).
    pub async fn redrive(
        &self,
        queue: WorkQueue,
        mut select: impl FnMut(&DeadLetter) -> bool,
    ) -> Result<u64, DeadLetterError> {
        // Both ends must exist before anything is taken off the DLQ.
        let (dlq, source) = (self.dlq(queue)?, self.source(queue)?);
        let mut skipped = Vec::new();
        let result = self
            .redrive_selected(queue, dlq, source, &mut select, &mut skipped)
            .await;
        self.release(queue, &skipped).await;
        result
    }

    async fn redrive_selected(
        &self,
        queue: WorkQueue,
        dlq: &str,
        source: &str,
        select: &mut impl FnMut(&DeadLetter) -> bool,
        skipped: &mut Vec<String>,
    ) -> Result<u64, DeadLetterError> {
        let started = Instant::now();
        let mut moved = 0u64;
        while started.elapsed() < REDRIVE_BUDGET {
            // Hidden long enough to re-send and delete them (and past the budget, so a
            // message not selected is not received again by this loop).
            let received = self.receive(queue, 10, 60).await?;
            if received.is_empty() {
                break;
            }
            let mut batch = Vec::with_capacity(received.len());
            for message in received {
                if select(&dead_letter(queue, message.clone())) {
                    batch.push(message);
                } else if let Some(handle) = message.receipt_handle {
                    skipped.push(handle);
                }
            }
            if batch.is_empty() {
                continue;
            }
            let entries: Vec<_> = batch
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(m.body.clone().unwrap_or_default())
                        .build()
                        .ok()
                })
                .collect();
            let sent = self
                .sqs
                .send_message_batch()
                .queue_url(source)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(sqs_error("SendMessageBatch"))?;
            let accepted: Vec<usize> = sent
                .successful
                .iter()
                .filter_map(|s| s.id.parse().ok())
                .collect();
            let deletes: Vec<_> = accepted
                .iter()
                .filter_map(|&i| {
                    let handle = batch.get(i)?.receipt_handle.clone()?;
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .ok()
                })
                .collect();
            if !deletes.is_empty() {
                let out = self
                    .sqs
                    .delete_message_batch()
                    .queue_url(dlq)
                    .set_entries(Some(deletes))
                    .send()
                    .await
                    .map_err(sqs_error("DeleteMessageBatch"))?;
                moved += out.successful.len() as u64;
            }
            if accepted.len() < batch.len() {
                // The source refused some: stop rather than spin on them; they stay put.
                tracing::warn!(
                    queue = queue.as_str(),
                    refused = batch.len() - accepted.len(),
                    "source queue refused dead letters"
                );
                break;
            }
        }
        tracing::info!(queue = queue.as_str(), moved, "dead letters redriven");
        Ok(moved)
    }
}

fn dead_letter(queue: WorkQueue, message: Message) -> DeadLetter {
    let attributes = message.attributes.unwrap_or_default();
    let text = message.body.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    let receive_count = attributes
        .get(&MessageSystemAttributeName::ApproximateReceiveCount)
        .and_then(|c| c.parse::<u64>().ok())
        .unwrap_or(1);
    DeadLetter {
        message_id: message.message_id.unwrap_or_default(),
        queue,
        body,
        // Not counting this look's own receive.
        receive_count: receive_count.saturating_sub(1),
        first_received_at: epoch_millis(
            attributes.get(&MessageSystemAttributeName::ApproximateFirstReceiveTimestamp),
        ),
        sent_at: epoch_millis(attributes.get(&MessageSystemAttributeName::SentTimestamp)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn queue_names_round_trip() {
        for q in WorkQueue::ALL {
            assert_eq!(WorkQueue::parse(q.as_str()), Some(q));
        }
        assert_eq!(WorkQueue::parse("export"), Some(WorkQueue::Export));
        assert_eq!(WorkQueue::parse("exports"), None);
    }

    #[test]
    fn messages_become_dead_letters_with_json_or_text_bodies() {
        let attributes = HashMap::from([
            (
                MessageSystemAttributeName::ApproximateReceiveCount,
                "6".to_string(),
            ),
            (
                MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
                "1700000000000".to_string(),
            ),
        ]);
        let json = Message::builder()
            .message_id("m1")
            .body(r#"{"type":"tick"}"#)
            .set_attributes(Some(attributes))
            .build();
        let letter = dead_letter(WorkQueue::Push, json);
        assert_eq!(letter.body["type"], "tick");
        assert_eq!(letter.receive_count, 5);
        assert_eq!(
            letter.first_received_at.map(|t| t.timestamp()),
            Some(1_700_000_000)
        );
        let text = Message::builder().message_id("m2").body("not json").build();
        let letter = dead_letter(WorkQueue::Qr, text);
        assert_eq!(letter.body, serde_json::json!("not json"));
        assert_eq!(letter.first_received_at, None);
    }
}
