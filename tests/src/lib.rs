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

pub mod aws_outage;

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
        Self::connect_to(endpoint).await
    }

    /// Clients for the AWS stand-in at `endpoint` (e.g. moto behind an [`aws_outage`] proxy).
    pub async fn connect_to(endpoint: String) -> Self {
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

/// The whole platform on random ports: fresh resources in moto, an embedded WeChat sandbox,
/// and the local gateway running the real functions against both. Tests assert through
/// [`TestStack::platform`] (same table, keys and queues as the functions) and the sandbox.
pub struct TestStack {
    /// moto clients.
    pub aws: TestAws,
    /// This stack's table, queues and bucket.
    pub resources: Resources,
    /// The WeChat sandbox (phones, inspection, faults).
    pub sandbox: wechat_sandbox::Sandbox,
    /// The sandbox's base URL.
    pub sandbox_url: String,
    /// The platform as the functions see it.
    pub platform: livenotify::platform::Platform,
    /// An HTTP client that does not follow redirects.
    pub http: reqwest::Client,
    gateway: local_gateway::Gateway,
}

impl TestStack {
    /// A stack with a default sandbox.
    pub async fn start() -> Self {
        Self::with_sandbox(wechat_sandbox::Sandbox::new(
            wechat_sandbox::Settings::default(),
        ))
        .await
    }

    /// A stack over a sandbox the test configured.
    pub async fn with_sandbox(sandbox: wechat_sandbox::Sandbox) -> Self {
        Self::with_sandbox_and_config(sandbox, |_| {}).await
    }

    /// A stack over a sandbox the test configured, with the functions' configuration adjusted
    /// by `adjust` (e.g. a shorter WeChat timeout).
    pub async fn with_sandbox_and_config(
        sandbox: wechat_sandbox::Sandbox,
        adjust: impl FnOnce(&mut livenotify::config::CoreConfig),
    ) -> Self {
        let aws = TestAws::connect().await;
        let resources = aws.fresh_resources().await;
        let functions = aws.clients.clone();
        Self::launch(aws, resources, functions, sandbox, adjust).await
    }

    /// A stack over `resources` in `aws` whose functions run with `functions`' clients (the
    /// least-privilege test gives each function its own role); `aws` stays the test's own.
    pub async fn launch(
        aws: TestAws,
        resources: Resources,
        functions: impl Into<local_gateway::FunctionClients>,
        sandbox: wechat_sandbox::Sandbox,
        adjust: impl FnOnce(&mut livenotify::config::CoreConfig),
    ) -> Self {
        let sandbox_url = sandbox.spawn_local().await.expect("bind sandbox");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let public = format!("http://{}", listener.local_addr().expect("gateway addr"));
        let mut config = local_gateway::local_config(
            &resources,
            &local_gateway::WechatBases::sandbox(&sandbox_url),
            &public,
        );
        adjust(&mut config);
        let platform =
            livenotify::platform::Platform::new(&aws.clients, config.clone()).expect("platform");
        let gateway = local_gateway::start(functions, config, resources.clone(), listener)
            .await
            .expect("start gateway");
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            aws,
            resources,
            sandbox,
            sandbox_url,
            platform,
            http,
            gateway,
        }
    }

    /// The gateway's base URL (admin API under `/api`, callbacks under `/wechat`).
    pub fn url(&self) -> String {
        self.gateway.url()
    }

    /// The table.
    pub fn store(&self) -> &Store {
        &self.platform.store
    }

    /// Creates `account` in the sandbox, with its server URL pointing at this stack in `mode`,
    /// and registers it with the platform (account + sealed credentials).
    pub async fn add_account(
        &self,
        account: wechat_sandbox::SandboxAccount,
        mode: wechat_sandbox::EncryptionMode,
    ) -> livenotify::domain::Account {
        use livenotify::domain::{AccountKind, AccountSecrets, CallbackMode};
        let appid = account.appid.clone();
        let account = account.with_callback(format!("{}/wechat/{appid}", self.url()), mode);
        self.sandbox.add_account(account.clone());
        let kind = match account.kind {
            wechat_sandbox::AccountKind::Service => AccountKind::Service,
            wechat_sandbox::AccountKind::Subscription => AccountKind::Subscription,
            wechat_sandbox::AccountKind::MiniProgram => AccountKind::MiniProgram,
            wechat_sandbox::AccountKind::Wecom => AccountKind::Wecom,
        };
        let now = livenotify::domain::now();
        let record = livenotify::domain::Account {
            id: livenotify::domain::AccountId::new(appid.clone()).expect("account id"),
            name: appid.clone(),
            kind,
            appid: appid.clone(),
            original_id: account.original_id.clone(),
            wecom_agent_id: account.agentid,
            callback_mode: match mode {
                wechat_sandbox::EncryptionMode::Plaintext => CallbackMode::Plaintext,
                wechat_sandbox::EncryptionMode::Compatible => CallbackMode::Compatible,
                wechat_sandbox::EncryptionMode::Safe => CallbackMode::Safe,
            },
            follower_count: 0,
            follow_url: None,
            keyword_replies: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        let secrets = AccountSecrets {
            app_secret: account.secret.clone(),
            callback_token: account.token.clone(),
            encoding_aes_key: Some(account.encoding_aes_key.clone()),
        };
        self.store()
            .create_account(&record, &secrets)
            .await
            .expect("register account");
        record
    }

    /// Stops the gateway (in-flight work finishes first).
    pub async fn shutdown(self) {
        self.gateway.shutdown().await;
    }
}
pub mod admin;
