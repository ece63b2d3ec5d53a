//! The local stack's gateway: drives the real function code on one machine, with moto as
//! DynamoDB/SQS/S3 and (optionally) the WeChat sandbox.
//!
//! - HTTP: `/api/*` -> admin-api's router, `/wechat/*` -> wechat-callback's router;
//!   `/admin` -> the admin console (a page of admin-api's router, embedded in it);
//! - SQS: polls the push, QR, sync and export queues and invokes the queue functions' handlers
//!   with Lambda-shaped batches, honouring partial batch failures;
//! - schedule: enqueues the nightly sync at 01:00 Asia/Shanghai, as EventBridge Scheduler does.

pub mod demo;
pub mod poller;
pub mod provision;
pub mod schedule;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use livenotify::aws::AwsClients;
use livenotify::config::{CoreConfig, DeadLetterUrls, QueueUrls};
use livenotify::jobs::SyncJob;
use livenotify::platform::{Platform, PlatformError};
use livenotify::secrets::SecretBox;
use poller::PollSettings;
use provision::Resources;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Bad configuration (e.g. an unusable secrets key).
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// Socket trouble.
    #[error("gateway socket: {0}")]
    Io(#[from] std::io::Error),
    /// A malformed function setting (e.g. `PUSH_RATE_PER_SECOND`).
    #[error(transparent)]
    Config(#[from] livenotify::config::ConfigError),
}

/// A running gateway; dropping it does not stop it, [`Gateway::shutdown`] does.
pub struct Gateway {
    /// Where it serves HTTP.
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Gateway {
    /// Base URL of the HTTP side.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and polling, waiting for in-flight work to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// The functions this gateway runs, as their crates report themselves.
pub fn functions() -> Vec<livenotify::function::FunctionInfo> {
    vec![
        wechat_callback::FUNCTION,
        admin_api::FUNCTION,
        qr_generator::FUNCTION,
        push_worker::FUNCTION,
        follower_sync::FUNCTION,
        // The export worker is a second binary of the admin-api crate.
        livenotify::function::FunctionInfo {
            name: "export-worker",
            version: admin_api::FUNCTION.version,
        },
    ]
}

/// Where the local functions find WeChat's hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatBases {
    /// `WECHAT_API_BASE`.
    pub api: String,
    /// `WECOM_API_BASE`.
    pub wecom: String,
    /// `WECHAT_OPEN_BASE`.
    pub open: String,
}

impl WechatBases {
    /// Every host played by one WeChat sandbox at `base` (WeCom under `/wecom`).
    pub fn sandbox(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            api: base.to_string(),
            wecom: format!("{base}/wecom"),
            open: base.to_string(),
        }
    }
}

/// The functions' configuration on the local stack: the provisioned resources, WeChat's
/// hosts, the gateway's own public URL, and fresh keys (moto forgets everything when it
/// stops, so a key per run loses nothing).
pub fn local_config(
    resources: &Resources,
    wechat: &WechatBases,
    public_base_url: &str,
) -> CoreConfig {
    CoreConfig {
        table_name: resources.table.clone(),
        secrets_key: SecretBox::generate_key(),
        wechat_api_base: wechat.api.clone(),
        wecom_api_base: wechat.wecom.clone(),
        wechat_open_base: wechat.open.clone(),
        bucket: resources.bucket.clone(),
        queues: QueueUrls {
            push: resources.push.url.clone(),
            qr: resources.qr.url.clone(),
            sync: resources.sync.url.clone(),
            export: Some(resources.export.url.clone()),
        },
        public_base_url: public_base_url.trim_end_matches('/').to_string(),
        signing_key: SecretBox::generate_key(),
        dead_letters: Some(DeadLetterUrls {
            push: resources.push.dlq_url.clone(),
            qr: resources.qr.dlq_url.clone(),
            sync: resources.sync.dlq_url.clone(),
            export: Some(resources.export.dlq_url.clone()),
        }),
        wechat_timeout: livenotify::wechat::DEFAULT_TIMEOUT,
    }
}

/// The AWS clients each function runs with. Deployed, each function has its own role; the
/// least-privilege test gives each one credentials bound to that role's policy, so a call
/// its role does not allow fails there. Everywhere else they all share one set.
#[derive(Debug, Clone)]
pub struct FunctionClients {
    /// wechat-callback.
    pub wechat_callback: AwsClients,
    /// admin-api.
    pub admin_api: AwsClients,
    /// admin-api's export worker.
    pub export_worker: AwsClients,
    /// qr-generator.
    pub qr_generator: AwsClients,
    /// push-worker.
    pub push_worker: AwsClients,
    /// follower-sync.
    pub follower_sync: AwsClients,
    /// The schedules (EventBridge Scheduler's role in AWS).
    pub scheduler: AwsClients,
}

impl From<AwsClients> for FunctionClients {
    fn from(clients: AwsClients) -> Self {
        Self {
            wechat_callback: clients.clone(),
            admin_api: clients.clone(),
            export_worker: clients.clone(),
            qr_generator: clients.clone(),
            push_worker: clients.clone(),
            follower_sync: clients.clone(),
            scheduler: clients,
        }
    }
}

/// Starts serving on `listener` and polling the queues of `resources`. Each function (and
/// its queue's poller, as Lambda's event-source mapping polls with the function's role)
/// uses its own clients.
pub async fn start(
    clients: impl Into<FunctionClients>,
    config: CoreConfig,
    resources: Resources,
    listener: TcpListener,
) -> Result<Gateway, GatewayError> {
    let clients = clients.into();
    let platform_of = |aws: &AwsClients| Platform::new(aws, config.clone());
    let (shutdown, stop) = watch::channel(false);
    let mut tasks = JoinSet::new();

    let app = admin_api::router(admin_api::AppState {
        platform: platform_of(&clients.admin_api)?,
        functions: functions(),
    })
    .merge(wechat_callback::router(wechat_callback::AppState::new(
        platform_of(&clients.wechat_callback)?,
    )));
    let addr = listener.local_addr()?;
    let mut http_stop = stop.clone();
    tasks.spawn(async move {
        // The TCP peer is the client's address (login throttling counts by it), as
        // API Gateway's sourceIp is deployed.
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = http_stop.wait_for(|stop| *stop).await;
        })
        .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "gateway http server stopped");
        }
    });

    // Batch sizes match the event-source mappings in template.yaml.
    let poller = |sqs: &aws_sdk_sqs::Client| QueuePoller {
        sqs: sqs.clone(),
        stop: stop.clone(),
    };
    let push = push_worker::Deps::new(
        platform_of(&clients.push_worker)?,
        push_worker::Settings::from_env(&livenotify::config::Env::process())?,
    );
    poller(&clients.push_worker.sqs).spawn(&mut tasks, &resources.push.url, 10, move |event| {
        let deps = push.clone();
        async move { push_worker::handle(&deps, event).await }
    });
    let qr = qr_generator::Deps {
        platform: platform_of(&clients.qr_generator)?,
    };
    poller(&clients.qr_generator.sqs).spawn(&mut tasks, &resources.qr.url, 5, move |event| {
        let deps = qr.clone();
        async move { qr_generator::handle(&deps, event).await }
    });
    let export = admin_api::export_worker::ExportDeps {
        platform: platform_of(&clients.export_worker)?,
    };
    poller(&clients.export_worker.sqs).spawn(&mut tasks, &resources.export.url, 1, move |event| {
        let deps = export.clone();
        async move { admin_api::export_worker::handle(&deps, event).await }
    });
    let sync = follower_sync::Deps {
        platform: platform_of(&clients.follower_sync)?,
    };
    poller(&clients.follower_sync.sqs).spawn(&mut tasks, &resources.sync.url, 1, move |event| {
        let deps = sync.clone();
        async move { follower_sync::handle(&deps, event).await }
    });

    let schedules = platform_of(&clients.scheduler)?.queues;
    tasks.spawn(nightly_qr_refresh(schedules.clone(), stop.clone()));
    tasks.spawn(nightly_sync(
        clients.scheduler.sqs.clone(),
        resources.sync.url.clone(),
        stop.clone(),
    ));
    tasks.spawn(reminder_tick(schedules, stop));
    tracing::info!(%addr, "gateway serving");
    Ok(Gateway {
        addr,
        shutdown,
        tasks,
    })
}

/// Starts pollers that share one SQS client and one stop signal.
struct QueuePoller {
    sqs: aws_sdk_sqs::Client,
    stop: watch::Receiver<bool>,
}

impl QueuePoller {
    fn spawn<F, Fut>(&self, tasks: &mut JoinSet<()>, queue_url: &str, batch_size: i32, handler: F)
    where
        F: Fn(SqsEvent) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = SqsBatchResponse> + Send + 'static,
    {
        let settings = PollSettings {
            queue_url: queue_url.to_string(),
            batch_size,
            wait: Duration::from_secs(1),
        };
        tasks.spawn(poller::poll(
            self.sqs.clone(),
            settings,
            self.stop.clone(),
            handler,
        ));
    }
}

/// Enqueues "sync every account" at each 01:00 Asia/Shanghai, like the deployed schedule.
async fn nightly_sync(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let now = chrono::Utc::now();
        let next = schedule::next_sync_after(now);
        let wait = (next - now).to_std().unwrap_or(Duration::from_secs(1));
        tracing::info!(next = %next, "nightly sync scheduled");
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let job = SyncJob::AllAccounts {
            trigger: livenotify::domain::SyncTrigger::Schedule,
        };
        let body = serde_json::to_string(&job).unwrap_or_default();
        if let Err(e) = sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body(body)
            .send()
            .await
        {
            tracing::error!(error = %e, "could not enqueue the nightly sync");
        }
    }
}

/// Enqueues the QR refresh (renew temporary codes about to expire) at each 01:00
/// Asia/Shanghai, like the deployed `NightlyQrRefresh` schedule.
async fn nightly_qr_refresh(queues: livenotify::enqueue::Queues, mut stop: watch::Receiver<bool>) {
    loop {
        let now = chrono::Utc::now();
        let wait = (schedule::next_sync_after(now) - now)
            .to_std()
            .unwrap_or(Duration::from_secs(1));
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(wait) => {}
        }
        if let Err(e) = queues.qr(&livenotify::jobs::QrJob::RefreshExpiring).await {
            tracing::error!(error = %e, "could not enqueue the nightly QR refresh");
        }
    }
}

/// Enqueues the push worker's reminder tick once a minute, as the deployed schedule does.
async fn reminder_tick(queues: livenotify::enqueue::Queues, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        let job = livenotify::jobs::PushJob::Tick;
        if let Err(e) = queues.push(&job, Duration::ZERO).await {
            tracing::error!(error = %e, "could not enqueue the reminder tick");
        }
    }
}
