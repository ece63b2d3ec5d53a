//! Polls an SQS queue and hands batches to a function handler the way Lambda's event-source
//! mapping does: up to `batch_size` messages per invocation, successful messages deleted,
//! messages named in `batchItemFailures` left to reappear after the visibility timeout (and,
//! after the redrive limit, move to the dead-letter queue).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

/// One queue's polling settings.
#[derive(Debug, Clone)]
pub struct PollSettings {
    /// Queue to poll.
    pub queue_url: String,
    /// Messages per invocation (1..=10).
    pub batch_size: i32,
    /// Long-poll wait per receive.
    pub wait: Duration,
}

fn to_lambda_record(message: Message, queue_url: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = message.message_id;
    record.receipt_handle = message.receipt_handle;
    record.body = message.body;
    record.md5_of_body = message.md5_of_body;
    record.event_source = Some("aws:sqs".into());
    record.event_source_arn = Some(queue_url.to_string());
    record
}

/// Polls until `shutdown` turns true. Handler panics are not caught: like a crashed Lambda,
/// the batch simply becomes visible again.
pub async fn poll<F, Fut>(
    sqs: aws_sdk_sqs::Client,
    settings: PollSettings,
    mut shutdown: watch::Receiver<bool>,
    handler: F,
) where
    F: Fn(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let mut backoff = Duration::from_millis(200);
    while !*shutdown.borrow() {
        let received = tokio::select! {
            _ = shutdown.changed() => break,
            r = sqs
                .receive_message()
                .queue_url(&settings.queue_url)
                .max_number_of_messages(settings.batch_size)
                .wait_time_seconds(i32::try_from(settings.wait.as_secs()).unwrap_or(1))
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send() => r,
        };
        let messages = match received {
            Ok(out) => {
                backoff = Duration::from_millis(200);
                out.messages.unwrap_or_default()
            }
            Err(e) => {
                tracing::warn!(queue = %settings.queue_url, error = %e, "receive failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let handles: Vec<(String, String)> = messages
            .iter()
            .filter_map(|m| Some((m.message_id.clone()?, m.receipt_handle.clone()?)))
            .collect();
        let mut event = SqsEvent::default();
        event.records = messages
            .into_iter()
            .map(|m| to_lambda_record(m, &settings.queue_url))
            .collect();
        let response = handler(event).await;
        let failed: HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let entries: Vec<_> = handles
            .iter()
            .filter(|(id, _)| !failed.contains(id.as_str()))
            .enumerate()
            .filter_map(|(i, (_, handle))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .ok()
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        if let Err(e) = sqs
            .delete_message_batch()
            .queue_url(&settings.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            // The messages will be redelivered; handlers are idempotent by design.
            tracing::warn!(queue = %settings.queue_url, error = %e, "delete failed; messages will be redelivered");
        }
    }
}
