//! SQS batch plumbing shared by the queue-driven functions: decode each record into its job
//! type, run it, and report failures per message (ReportBatchItemFailures) so that one bad
//! message neither blocks nor repeats the others.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::de::DeserializeOwned;
use std::future::Future;

/// Runs `process` on every record of `event` (in order) and returns the records that failed.
/// A record whose body does not decode as `J` fails too: after the queue's maximum receives
/// it lands in the dead-letter queue, where admins can see it.
pub async fn process_batch<J, E, F, Fut>(event: SqsEvent, mut process: F) -> SqsBatchResponse
where
    J: DeserializeOwned,
    E: std::fmt::Display,
    F: FnMut(J) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let outcome = match serde_json::from_str::<J>(body) {
            Ok(job) => process(job).await.map_err(|e| e.to_string()),
            Err(e) => Err(format!("undecodable message: {e}")),
        };
        if let Err(reason) = outcome {
            tracing::warn!(message_id = %id, %reason, "queue message failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failures.push(failure);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::SqsMessage;

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        m
    }

    #[tokio::test]
    async fn failures_are_reported_per_message() {
        let mut event = SqsEvent::default();
        event.records = vec![
            message("a", "1"),
            message("b", "not json"),
            message("c", "7"),
            message("d", "2"),
        ];
        let mut seen = Vec::new();
        let response = process_batch::<u32, String, _, _>(event, |n| {
            seen.push(n);
            async move {
                if n == 7 {
                    Err("seven".to_string())
                } else {
                    Ok(())
                }
            }
        })
        .await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["b", "c"]);
        assert_eq!(seen, [1, 7, 2]);
    }
}
