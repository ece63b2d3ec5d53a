//! AWS clients, built once per cold start and shared by every invocation.

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// Longest a single DynamoDB attempt may take. DynamoDB answers in milliseconds (a 1 MB
/// Query page well under a second); an attempt stuck on a dead connection is abandoned and
/// retried instead of holding the invocation until the Lambda time limit. Generous, because
/// moto under test load is far slower than DynamoDB.
const DYNAMODB_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// The AWS clients the functions use.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// S3.
    pub s3: aws_sdk_s3::Client,
}

impl AwsClients {
    /// Clients from the standard AWS environment (region, credentials, and `AWS_ENDPOINT_URL`
    /// for local stand-ins such as moto).
    pub async fn from_env() -> Self {
        Self::from_sdk_config(&aws_config::load_defaults(BehaviorVersion::latest()).await)
    }

    /// Clients from an explicit SDK configuration.
    pub fn from_sdk_config(config: &SdkConfig) -> Self {
        // Stand-ins serve buckets by path, not by virtual host.
        let path_style = config.endpoint_url().is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        let timeouts = config
            .timeout_config()
            .map(TimeoutConfig::to_builder)
            .unwrap_or_else(TimeoutConfig::builder)
            .operation_attempt_timeout(DYNAMODB_ATTEMPT_TIMEOUT)
            .build();
        let dynamodb_config = aws_sdk_dynamodb::config::Builder::from(config)
            .timeout_config(timeouts)
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb_config),
            sqs: aws_sdk_sqs::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dynamodb_attempts_time_out_and_other_timeouts_are_kept() {
        let connect = Duration::from_millis(3100);
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .timeout_config(TimeoutConfig::builder().connect_timeout(connect).build())
            .load()
            .await;
        let clients = AwsClients::from_sdk_config(&config);
        let timeouts = clients.dynamodb.config().timeout_config().cloned();
        let timeouts = timeouts.expect("dynamodb timeouts");
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(DYNAMODB_ATTEMPT_TIMEOUT)
        );
        assert_eq!(timeouts.connect_timeout(), Some(connect));
        // SQS keeps the shared settings: the local gateway long-polls it.
        let sqs = clients.sqs.config().timeout_config().cloned();
        assert_eq!(sqs.and_then(|t| t.operation_attempt_timeout()), None);
    }
}
