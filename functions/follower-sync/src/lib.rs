//! follower-sync: the nightly (01:00 Asia/Shanghai) and on-demand sync of every official
//! account's followers from WeChat.
//!
//! A `SyncJob::AllAccounts` fans out one `SyncJob::Account` per service and subscription
//! account. An account job takes the account's lease (two runs of one account never overlap),
//! then works through [`engine::advance`] until the time budget is used up, re-enqueueing
//! itself with the run id to continue from the checkpoint. WeChat busy: backoff, then continue
//! a minute later; quota exhausted: the run is `paused` and the next run resumes it; anything
//! else WeChat refuses for good: the run is `failed` with a reason for admins.

pub mod directory;
pub mod engine;
pub mod storage;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use directory::WechatDirectory;
use engine::{Limits, Stop};
use livenotify::domain::{
    AccountId, AccountKind, SyncRun, SyncRunId, SyncRunStatus, SyncTrigger, now,
};
use livenotify::enqueue::EnqueueError;
use livenotify::jobs::SyncJob;
use livenotify::platform::{CredentialsError, Platform};
use livenotify::store::{PageRequest, StoreError};
use std::time::Duration;
use storage::{PlatformStorage, StorageError};

livenotify::function_info!();

/// Work time of one invocation when no Lambda deadline is known (the local gateway).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10 * 60);
/// How long the lease outlives an invocation's budget: covers the gap until the continuation
/// message is picked up (and a busy WeChat's delay).
pub const LEASE_MARGIN: Duration = Duration::from_secs(10 * 60);
/// Delay before continuing when WeChat stayed busy or storage failed.
pub const RETRY_DELAY: Duration = Duration::from_secs(60);

/// What the handler needs, built once per cold start.
#[derive(Debug, Clone)]
pub struct Deps {
    /// Table, queues, bucket and WeChat.
    pub platform: Platform,
}

/// Why a job failed (the message is retried, then kept in the dead-letter queue).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The table could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run's storage failed and its continuation could not be enqueued.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A job could not be enqueued.
    #[error(transparent)]
    Enqueue(#[from] EnqueueError),
}

/// What should happen after one invocation of an account job.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Nothing: the run finished, paused, failed, or another run holds the account.
    Done(Option<SyncRunStatus>),
    /// Enqueue this job after this delay to continue the run.
    Continue(SyncJob, Duration),
}

/// Handles one SQS batch with the default budget, reporting failed messages individually.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    handle_with_budget(deps, event, DEFAULT_BUDGET).await
}

/// Handles one SQS batch, each account job working for at most `budget` (the Lambda entry
/// point passes the time left before its deadline, minus a safety margin).
pub async fn handle_with_budget(
    deps: &Deps,
    event: SqsEvent,
    budget: Duration,
) -> SqsBatchResponse {
    livenotify::queue::process_batch(event, |job: SyncJob| async move {
        match process(deps, job, Limits::with_budget(budget)).await? {
            Next::Continue(job, delay) => deps.platform.queues.sync(&job, delay).await?,
            Next::Done(_) => {}
        }
        Ok::<_, JobError>(())
    })
    .await
}

/// Runs one job for at most `limits`, returning what should follow.
pub async fn process(deps: &Deps, job: SyncJob, limits: Limits) -> Result<Next, JobError> {
    match job {
        SyncJob::AllAccounts { trigger } => {
            fan_out(deps, trigger).await?;
            Ok(Next::Done(None))
        }
        SyncJob::Account {
            account_id,
            run_id,
            trigger,
        } => sync_account(deps, account_id, run_id, trigger, limits).await,
    }
}

/// One account job per official account (service and subscription accounts have followers).
async fn fan_out(deps: &Deps, trigger: SyncTrigger) -> Result<(), JobError> {
    let accounts = deps.platform.store.all_accounts().await?;
    let mut queued = 0usize;
    for account in accounts {
        if matches!(
            account.kind,
            AccountKind::Service | AccountKind::Subscription
        ) {
            let job = SyncJob::Account {
                account_id: account.id,
                run_id: None,
                trigger,
            };
            deps.platform.queues.sync(&job, Duration::ZERO).await?;
            queued += 1;
        }
    }
    tracing::info!(
        accounts = queued,
        ?trigger,
        "follower sync started for every account"
    );
    Ok(())
}

/// Picks the run (new, resumed after a pause, or a continuation), holds the lease and works.
async fn sync_account(
    deps: &Deps,
    account_id: AccountId,
    run_id: Option<SyncRunId>,
    trigger: SyncTrigger,
    limits: Limits,
) -> Result<Next, JobError> {
    let store = &deps.platform.store;
    let started = now();
    let lease_for = limits
        .deadline
        .saturating_duration_since(tokio::time::Instant::now())
        + LEASE_MARGIN;
    let lease_until = started + chrono::Duration::from_std(lease_for).unwrap_or_default();
    let (mut run, abandoned) = match run_id {
        Some(id) => {
            let run = store.get_sync_run(&account_id, id).await?;
            if run.status != SyncRunStatus::Running {
                // A duplicate or late continuation of a run that has ended.
                return Ok(Next::Done(Some(run.status)));
            }
            (run, None)
        }
        None => {
            let latest = store
                .list_sync_runs(&account_id, &PageRequest::first(1))
                .await?
                .items
                .into_iter()
                .next();
            match latest {
                // The quota stopped it: this run picks it up where it stopped.
                Some(mut paused) if paused.status == SyncRunStatus::Paused => {
                    paused.status = SyncRunStatus::Running;
                    paused.error = None;
                    (paused, None)
                }
                Some(running) if running.status == SyncRunStatus::Running => (
                    SyncRun::start(account_id.clone(), trigger, started),
                    Some(running),
                ),
                _ => (SyncRun::start(account_id.clone(), trigger, started), None),
            }
        }
    };
    let owner = run.id.to_string();
    if !store
        .acquire_sync_lease(&account_id, &owner, started, lease_until)
        .await?
    {
        tracing::info!(account = %account_id, run_id = %run.id, "another sync of this account is running; not starting a second");
        if run_id.is_some() {
            // Our lease ran out and a newer run took the account over.
            run.status = SyncRunStatus::Failed;
            run.finished_at = Some(now());
            run.error = Some("同步中断：租约已过期，已由新的同步接替".into());
            store.save_sync_run(&run).await?;
        }
        return Ok(Next::Done(None));
    }
    if let Some(mut stale) = abandoned {
        // Its lease expired without it finishing (the continuation was lost).
        stale.status = SyncRunStatus::Failed;
        stale.finished_at = Some(now());
        stale.error = Some("同步中断：租约已过期，已由新的同步接替".into());
        store.save_sync_run(&stale).await?;
    }
    let token_account = match deps.platform.token_account(&account_id).await {
        Ok(account) => account,
        Err(CredentialsError::Store(err)) if err.is_transient() => return Err(err.into()),
        Err(err) => {
            return finish(
                deps,
                run,
                SyncRunStatus::Failed,
                Some(format!("无法读取公众号凭据：{err}")),
            )
            .await;
        }
    };
    let directory = WechatDirectory::new(deps.platform.tokens.clone(), token_account);
    let storage = PlatformStorage::new(
        store.clone(),
        deps.platform.s3.clone(),
        deps.platform.config.bucket.clone(),
    );
    let continuation = SyncJob::Account {
        account_id: account_id.clone(),
        run_id: Some(run.id),
        trigger: run.trigger,
    };
    let stop = match engine::advance(&directory, &storage, &mut run, &limits).await {
        Ok(stop) => stop,
        Err(err) => {
            tracing::warn!(run_id = %run.id, error = %err, "sync storage failed; continuing from the checkpoint later");
            run.error = Some(format!("存储出错，稍后从断点继续：{err}"));
            // Progress counters only move after their writes, so this checkpoint is sound.
            store.save_sync_run(&run).await?;
            return Ok(Next::Continue(continuation, RETRY_DELAY));
        }
    };
    match stop {
        Stop::Completed => finish(deps, run, SyncRunStatus::Completed, None).await,
        Stop::OutOfTime => {
            tracing::info!(run_id = %run.id, listed = run.counts.listed, reconciled = run.counts.reconciled, "time budget used; continuing in a new invocation");
            Ok(Next::Continue(continuation, Duration::ZERO))
        }
        Stop::Busy(err) => {
            run.error = Some(format!("微信接口繁忙，稍后从断点继续：{err}"));
            store.save_sync_run(&run).await?;
            Ok(Next::Continue(continuation, RETRY_DELAY))
        }
        Stop::Quota(err) => {
            finish(
                deps,
                run,
                SyncRunStatus::Paused,
                Some(format!(
                    "微信接口今日调用次数已用完，下次同步时从断点继续：{err}"
                )),
            )
            .await
        }
        Stop::Failed(err) => {
            finish(
                deps,
                run,
                SyncRunStatus::Failed,
                Some(format!("微信拒绝同步：{err}")),
            )
            .await
        }
    }
}

/// Records how the run ended and gives the lease back.
async fn finish(
    deps: &Deps,
    mut run: SyncRun,
    status: SyncRunStatus,
    error: Option<String>,
) -> Result<Next, JobError> {
    let store = &deps.platform.store;
    run.status = status;
    run.error = error;
    if status != SyncRunStatus::Paused {
        run.finished_at = Some(now());
    }
    store.save_sync_run(&run).await?;
    store
        .release_sync_lease(&run.account_id, &run.id.to_string())
        .await?;
    let c = &run.counts;
    tracing::info!(
        run_id = %run.id, account = %run.account_id, ?status, total = c.total, added = c.added,
        updated = c.updated, unsubscribed = c.unsubscribed, wechat_calls = c.wechat_calls,
        write_requests = c.write_requests, invocations = c.invocations, error = run.error.as_deref(),
        "follower sync ended"
    );
    Ok(Next::Done(Some(status)))
}
