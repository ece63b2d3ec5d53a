//! push-worker: fans a push out and sends it.
//!
//! - [`plan`]: `PushJob::Plan` pages the audience and enqueues recipient batches;
//! - [`send`]: `PushJob::SendBatch` (and the older `PushJob::Batch`) sends to one batch;
//! - [`reminders`]: `PushJob::Tick` (once a minute) creates due course reminders once;
//! - scheduled pushes: a plan before `scheduled_at` re-enqueues itself with a delay;
//! - rate limit: one token bucket per account per instance ([`Settings::rate_per_second`]);
//!   the account's total is that times the event-source mapping's maximum concurrency.

pub mod audience;
pub mod context;
pub mod crash;
pub mod lifecycle;
pub mod plan;
pub mod reminders;
pub mod send;
pub mod settings;
pub mod status_watch;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use livenotify::domain::AccountId;
use livenotify::enqueue::EnqueueError;
use livenotify::jobs::PushJob;
use livenotify::platform::Platform;
use livenotify::rate_limit::TokenBucket;
use livenotify::store::StoreError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use crash::{CrashHook, CrashPoint};
pub use settings::Settings;

livenotify::function_info!();

/// Token buckets by account, shared by every batch this instance handles.
#[derive(Debug, Default)]
pub struct RateLimits {
    buckets: Mutex<HashMap<AccountId, Arc<TokenBucket>>>,
}

impl RateLimits {
    /// The bucket of `account`, created at `rate` per second on first use.
    pub fn bucket(&self, account: &AccountId, rate: f64) -> Arc<TokenBucket> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets
            .entry(account.clone())
            .or_insert_with(|| Arc::new(TokenBucket::new(rate, 1)))
            .clone()
    }
}

/// What the handler needs, built once per cold start.
#[derive(Debug, Clone)]
pub struct Deps {
    /// Table, queues, bucket and WeChat.
    pub platform: Platform,
    /// Tuning.
    pub settings: Settings,
    /// Per-account send rate of this instance.
    pub limits: Arc<RateLimits>,
    /// Rendered messages and credentials per push.
    pub contexts: Arc<context::ContextCache>,
    /// Recipients being handled at once in this instance ([`Settings::max_in_flight`]).
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Push statuses, re-read at most once per [`Settings::status_check`].
    pub statuses: Arc<status_watch::StatusWatch>,
    /// Serialises this instance's counting updates: they all hit the push item, and one
    /// at a time costs nothing at one update per 100 recipients (and keeps moto, whose
    /// concurrent read-modify-write updates can lose a set element, honest in tests).
    pub counting: Arc<tokio::sync::Mutex<()>>,
    /// Fault injection for tests; `None` in production.
    pub crash: Option<Arc<dyn CrashHook>>,
}

impl Deps {
    /// Deps over `platform` with `settings` and no fault injection.
    pub fn new(platform: Platform, settings: Settings) -> Self {
        Self {
            in_flight: Arc::new(tokio::sync::Semaphore::new(settings.max_in_flight)),
            platform,
            settings,
            limits: Arc::default(),
            contexts: Arc::default(),
            statuses: Arc::default(),
            counting: Arc::default(),
            crash: None,
        }
    }
}

/// Why a job failed (it is retried, then kept in the dead-letter queue).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Table trouble, or the push does not exist.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A queue refused a follow-up job.
    #[error(transparent)]
    Enqueue(#[from] EnqueueError),
    /// The audience could not be read.
    #[error(transparent)]
    Audience(#[from] audience::AudienceError),
    /// The push's message or account could not be loaded.
    #[error(transparent)]
    Context(context::ContextError),
    /// Fault injection: the worker "died" at this point.
    #[error("injected crash at {0:?}")]
    Crashed(CrashPoint),
}

/// What a plan message may know about the invocation it shares: whether the other messages
/// (batches to send) are still running. A planner stops paging once they are done, because
/// Lambda hands this instance no new messages until the whole invocation returns.
#[derive(Debug, Default)]
pub struct Invocation {
    others_running: AtomicUsize,
}

impl Invocation {
    /// An invocation whose `others` non-plan messages are running.
    pub fn new(others: usize) -> Self {
        Self {
            others_running: AtomicUsize::new(others),
        }
    }

    /// Have all of the invocation's other messages finished?
    pub fn others_done(&self) -> bool {
        self.others_running.load(Ordering::Acquire) == 0
    }

    fn one_done(&self) {
        self.others_running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Handles one SQS batch, its messages concurrently (the sends of all of them share the
/// instance's in-flight bound and rate limit, so one slow message does not idle the others),
/// reporting failed messages individually.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let jobs: Vec<(String, Result<PushJob, String>)> = event
        .records
        .into_iter()
        .map(|record| {
            let job = serde_json::from_str::<PushJob>(record.body.as_deref().unwrap_or_default())
                .map_err(|e| format!("undecodable message: {e}"));
            (record.message_id.unwrap_or_default(), job)
        })
        .collect();
    let is_plan = |job: &PushJob| matches!(job, PushJob::Plan { .. });
    let invocation = Invocation::new(
        jobs.iter()
            .filter(|(_, job)| job.as_ref().is_ok_and(|j| !is_plan(j)))
            .count(),
    );
    let invocation = &invocation;
    let outcomes = futures::future::join_all(jobs.into_iter().map(|(id, job)| async move {
        let outcome = match job {
            Ok(job) => {
                let plan = is_plan(&job);
                let outcome = process(deps, job, invocation).await;
                if !plan {
                    invocation.one_done();
                }
                outcome.map_err(|e| e.to_string())
            }
            Err(e) => Err(e),
        };
        (id, outcome)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, outcome) in outcomes {
        if let Err(reason) = outcome {
            tracing::warn!(message_id = %id, %reason, "queue message failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Name of a batch given without one: a digest of its recipients, the same for every copy.
fn batch_name(openids: &[String]) -> String {
    let mut hash = Sha256::new();
    for openid in openids {
        hash.update(openid.as_bytes());
        hash.update(b"\n");
    }
    format!("h{}", &hex::encode(hash.finalize())[..32])
}

async fn process(deps: &Deps, job: PushJob, invocation: &Invocation) -> Result<(), JobError> {
    match job {
        PushJob::Plan { push_id } => plan::plan(deps, push_id, invocation).await,
        PushJob::SendBatch {
            push_id,
            batch,
            openids,
        } => send::send_batch(deps, push_id, &batch, &openids).await,
        PushJob::Batch { push_id, openids } => {
            send::send_batch(deps, push_id, &batch_name(&openids), &openids).await
        }
        PushJob::Tick => reminders::tick(deps, livenotify::domain::now())
            .await
            .map(|_| ()),
    }
}
