//! Test harness: the real AWS SDK against moto, fresh resources per test so tests run in
//! parallel without seeing each other.
//!
//! The test command (`make test`) starts moto and sets `LIVENOTIFY_TEST_AWS_ENDPOINT`.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use livenotify::aws::AwsClients;
use livenotify::secrets::SecretBox;
use livenotify::store::Store;
use local_gateway::provision::{self, ResourceNames, Resources};

/// Environment variable naming moto's endpoint.
pub const AWS_ENDPOINT_VAR: &str = "LIVENOTIFY_TEST_AWS_ENDPOINT";

/// Connection to the AWS stand-in.
#[derive(Debug, Clone)]
pub struct TestAws {
    /// Clients pointed at moto.
    pub clients: AwsClients,
    /// Moto's URL.
    pub endpoint: String,
}

/// A unique, short, name-safe suffix.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

impl TestAws {
    /// Clients for moto. Panics with instructions when the endpoint is not set: integration
    /// tests must fail loudly, not pass without having run.
    pub async fn connect() -> Self {
        let endpoint = std::env::var(AWS_ENDPOINT_VAR).unwrap_or_else(|_| {
            panic!("{AWS_ENDPOINT_VAR} is not set: run the integration tests with `make test`, which starts moto")
        });
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "livenotify-tests",
            ))
            .load()
            .await;
        Self {
            clients: AwsClients::from_sdk_config(&config),
            endpoint,
        }
    }

    /// A store over a fresh table of its own.
    pub async fn fresh_store(&self) -> Store {
        let table = unique("t");
        livenotify::store::schema::create_table_if_absent(&self.clients.dynamodb, &table)
            .await
            .expect("create test table");
        Store::new(
            self.clients.dynamodb.clone(),
            table,
            SecretBox::from_base64(&SecretBox::generate_key()).expect("fresh key"),
        )
    }

    /// A fresh set of stack resources (table, queues with DLQs, bucket).
    pub async fn fresh_resources(&self) -> Resources {
        let names = ResourceNames {
            table: unique("t"),
            queue_prefix: unique("q"),
            bucket: unique("b"),
        };
        provision::provision(&self.clients, &names)
            .await
            .expect("provision test resources")
    }
}
