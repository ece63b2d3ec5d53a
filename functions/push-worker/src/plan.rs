//! The fan-out: pages the audience from the push's checkpoint, enqueues recipient batches
//! (SendMessageBatch, 10 messages of 100 recipients per request), and moves the checkpoint
//! with the page's counts in one conditional write. A page enqueued twice (crash between
//! enqueue and checkpoint, or two planners racing) yields batches with the same names,
//! counted once; of two planners only the one whose checkpoint write lands goes on.
//!
//! Hand-over: each plan invocation first queues its successor, then pages until its budget
//! runs out or, once it has enqueued a page, until the other messages of its invocation are
//! sent. Queued before this invocation's pages, the successor arrives together with them
//! and pages while they are sent. Queued after them (as it once was), it came alone once the
//! queue had drained, and its instance sent nothing while it paged: in the 100,000-recipient
//! benchmark against moto, a minute without sends every ~26,000 recipients (6 %).

use crate::audience;
use crate::context::ContextError;
use crate::lifecycle;
use crate::settings::{BATCH_SIZE, PAGE_SIZE};
use crate::{Deps, Invocation, JobError};
use livenotify::domain::{PushId, PushStatus, now};
use livenotify::enqueue::SQS_MAX_DELAY;
use livenotify::jobs::PushJob;
use livenotify::store::StoreError;
use std::time::{Duration, Instant};

/// Handles a plan message that shares `invocation` with other messages.
pub async fn plan(deps: &Deps, push_id: PushId, invocation: &Invocation) -> Result<(), JobError> {
    let started = Instant::now();
    let store = &deps.platform.store;
    let mut progress = store.push_progress(push_id).await?;
    match progress.push.status {
        s if s.is_final() => return Ok(()),
        PushStatus::Pending => {
            if let Some(at) = progress.push.scheduled_at
                && let Ok(wait) = (at - now()).to_std()
            {
                if wait > Duration::from_secs(1) {
                    // Not due: look again when it is (SQS delays whole seconds, at most 15
                    // minutes at a time; round up so the plan never starts early).
                    let delay = Duration::from_secs(wait.as_secs() + 1).min(SQS_MAX_DELAY);
                    deps.platform
                        .queues
                        .push(&PushJob::Plan { push_id }, delay)
                        .await?;
                    return Ok(());
                }
                tokio::time::sleep(wait).await;
            }
            match store
                .transition_push(
                    push_id,
                    &[PushStatus::Pending],
                    PushStatus::Running,
                    None,
                    now(),
                )
                .await
            {
                Ok(()) => tracing::info!(push_id = %push_id, "push started"),
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            progress = store.push_progress(push_id).await?;
            if progress.push.status.is_final() {
                return Ok(());
            }
        }
        _ => {}
    }
    // Check the message before anything is enqueued: a push that cannot be rendered fails now.
    if let Err(e) = deps.contexts.get(&deps.platform, &progress.push).await {
        if e.is_permanent() {
            lifecycle::fail(store, push_id, &e.to_string()).await?;
            return Ok(());
        }
        return Err(match e {
            ContextError::Store(s) => s.into(),
            other => JobError::Context(other),
        });
    }
    if !progress.plan.done {
        // The successor, queued before this invocation's pages (see the module docs).
        deps.platform
            .queues
            .push(&PushJob::Plan { push_id }, Duration::ZERO)
            .await?;
    }
    let mut pages_here = 0u64;
    while !progress.plan.done {
        if started.elapsed() > deps.settings.plan_budget
            || (pages_here > 0 && invocation.others_done())
        {
            tracing::info!(push_id = %push_id, pages = progress.plan.pages, pages_here, "plan continues in the queued successor");
            return Ok(());
        }
        let checkpoint = progress.plan.clone();
        let page = audience::page(
            &deps.platform,
            &progress.push,
            checkpoint.cursor.clone(),
            PAGE_SIZE,
        )
        .await?;
        let jobs: Vec<PushJob> = page
            .recipients
            .chunks(BATCH_SIZE)
            .enumerate()
            .map(|(i, chunk)| PushJob::SendBatch {
                push_id,
                batch: format!("{:07}-{i:03}", checkpoint.pages),
                openids: chunk.to_vec(),
            })
            .collect();
        deps.platform.queues.push_many(&jobs).await?;
        let advanced = store
            .advance_plan(
                push_id,
                &checkpoint,
                page.next.as_deref(),
                // Left-out followers are targeted and skipped, so the sum still adds up.
                page.recipients.len() as u64 + page.skipped,
                page.skipped,
            )
            .await?;
        if !advanced {
            tracing::info!(push_id = %push_id, "another planner moved the checkpoint; leaving it the plan");
            return Ok(());
        }
        tracing::info!(push_id = %push_id, page = checkpoint.pages, recipients = page.recipients.len(), skipped = page.skipped, batches = jobs.len(), "audience page enqueued");
        pages_here += 1;
        progress = store.push_progress(push_id).await?;
        if progress.push.status.is_final() {
            return Ok(());
        }
    }
    lifecycle::complete_if_done(store, push_id).await?;
    Ok(())
}
