//! Creates the stack's AWS resources on a stand-in (moto) idempotently: the table from the
//! schema source, the queues with their dead-letter queues, the bucket.

use aws_sdk_sqs::types::QueueAttributeName;
use livenotify::aws::AwsClients;
use livenotify::store::schema;
use std::collections::HashMap;

/// Names of the resources to create.
#[derive(Debug, Clone)]
pub struct ResourceNames {
    /// DynamoDB table.
    pub table: String,
    /// Queue name prefix (`<prefix>-push`, `<prefix>-qr`, `<prefix>-sync`, each with `-dlq`).
    pub queue_prefix: String,
    /// S3 bucket.
    pub bucket: String,
}

impl ResourceNames {
    /// The names the local stack uses.
    pub fn local() -> Self {
        Self {
            table: "livenotify".into(),
            queue_prefix: "livenotify".into(),
            bucket: "livenotify-local".into(),
        }
    }
}

/// URLs of one work queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct QueuePair {
    /// Work queue.
    pub url: String,
    /// Where messages go after `MAX_RECEIVES` failed attempts.
    pub dlq_url: String,
}

/// What [`provision`] created or found.
#[derive(Debug, Clone)]
pub struct Resources {
    /// Table name.
    pub table: String,
    /// Push fan-out and send queue.
    pub push: QueuePair,
    /// QR generation queue.
    pub qr: QueuePair,
    /// Follower-sync continuation queue.
    pub sync: QueuePair,
    /// Export job queue (admin-api's export worker).
    pub export: QueuePair,
    /// Bucket name.
    pub bucket: String,
}

/// Attempts before a message is moved to the DLQ (matches template.yaml's redrive policy).
pub const MAX_RECEIVES: u32 = 5;

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Creating the table failed.
    #[error(transparent)]
    Table(#[from] livenotify::store::StoreError),
    /// An SQS or S3 call failed.
    #[error("{what} failed: {message}")]
    Aws {
        /// Call.
        what: &'static str,
        /// AWS's message.
        message: String,
    },
}

fn aws_error(what: &'static str, e: impl std::error::Error) -> ProvisionError {
    // The SDK's Display is terse; the source chain carries the useful part.
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    ProvisionError::Aws { what, message }
}

async fn queue(
    clients: &AwsClients,
    name: &str,
    visibility_timeout: u32,
) -> Result<QueuePair, ProvisionError> {
    let dlq_url = clients
        .sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .map_err(|e| aws_error("CreateQueue (dlq)", e))?
        .queue_url
        .unwrap_or_default();
    let dlq_arn = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws_error("GetQueueAttributes", e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default();
    let redrive =
        serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES })
            .to_string();
    let url = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(HashMap::from([
            (
                QueueAttributeName::VisibilityTimeout,
                visibility_timeout.to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive),
        ])))
        .send()
        .await
        .map_err(|e| aws_error("CreateQueue", e))?
        .queue_url
        .unwrap_or_default();
    Ok(QueuePair { url, dlq_url })
}

/// Creates whatever is missing; safe to run again and again.
pub async fn provision(
    clients: &AwsClients,
    names: &ResourceNames,
) -> Result<Resources, ProvisionError> {
    schema::create_table_if_absent(&clients.dynamodb, &names.table).await?;
    let push = queue(clients, &format!("{}-push", names.queue_prefix), 120).await?;
    let qr = queue(clients, &format!("{}-qr", names.queue_prefix), 60).await?;
    let sync = queue(clients, &format!("{}-sync", names.queue_prefix), 900).await?;
    let export = queue(clients, &format!("{}-export", names.queue_prefix), 900).await?;
    match clients
        .s3
        .create_bucket()
        .bucket(&names.bucket)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            }) => {}
        Err(e) => return Err(aws_error("CreateBucket", e)),
    }
    Ok(Resources {
        table: names.table.clone(),
        push,
        qr,
        sync,
        export,
        bucket: names.bucket.clone(),
    })
}
