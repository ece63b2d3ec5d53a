//! AWS clients, built once per cold start and shared by every invocation.

use aws_config::{BehaviorVersion, SdkConfig};

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
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
        }
    }
}
