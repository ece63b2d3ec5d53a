//! The planner's hand-over: a plan message queues its successor before its own pages and
//! stops paging once the rest of its invocation is done, so an instance never sits in a plan
//! that only pages while batches wait (push-worker `plan.rs`).

#[path = "push_fixture/mod.rs"]
mod fixture;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use fixture::*;
use livenotify::domain::{Audience, PushStatus};
use livenotify::jobs::PushJob;
use push_worker::{Deps, Settings};
use std::time::Duration;

/// Every message now visible on the push queue, in queue order, deleted as they are read.
async fn drain(rig: &Rig) -> Vec<aws_sdk_sqs::types::Message> {
    let sqs = &rig.aws.clients.sqs;
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&rig.resources.push.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        for m in &messages {
            sqs.delete_message()
                .queue_url(&rig.resources.push.url)
                .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
        all.extend(messages);
    }
}

fn job(message: &aws_sdk_sqs::types::Message) -> PushJob {
    serde_json::from_str(message.body.as_deref().unwrap_or_default()).expect("a push job")
}

fn event(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id.clone();
            record.receipt_handle = m.receipt_handle.clone();
            record.body = m.body.clone();
            record
        })
        .collect();
    event
}

#[tokio::test]
async fn a_planner_alone_enqueues_one_page_behind_its_successor_and_the_push_completes() {
    let mut rig = Rig::new("wxplanhandover01", 2_500, 120, Clone::clone).await;
    let settings = Settings {
        rate_per_second: 2_000.0,
        ..Settings::default()
    };
    let deps = Deps::new(rig.platform.clone(), settings);
    let course = course(&rig.platform.store, &rig.account.id, "交接测试").await;
    let id = start_push(
        &rig.platform,
        &rig.account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;

    // The push's first plan message, alone in its invocation.
    let first = drain(&rig).await;
    assert_eq!(first.len(), 1);
    assert!(matches!(job(&first[0]), PushJob::Plan { push_id } if push_id == id));
    let response = push_worker::handle(&deps, event(&first)).await;
    assert!(response.batch_item_failures.is_empty());

    // One page planned (it had nothing else to wait for), not the whole audience.
    let progress = rig
        .platform
        .store
        .push_progress(id)
        .await
        .expect("progress");
    assert_eq!(progress.plan.pages, 1);
    assert!(!progress.plan.done);
    assert_eq!(progress.push.counters.targeted, 1_000);
    // Its successor comes first in the queue, then that page's 10 batches.
    let queued = drain(&rig).await;
    let jobs: Vec<PushJob> = queued.iter().map(job).collect();
    assert_eq!(jobs.len(), 11, "{jobs:?}");
    assert!(matches!(jobs[0], PushJob::Plan { push_id } if push_id == id));
    assert!(
        jobs[1..]
            .iter()
            .all(|j| matches!(j, PushJob::SendBatch { openids, .. } if openids.len() == 100))
    );

    // The successor shares its invocation with 9 of those batches: it pages while they are
    // sent and stops when they are done (or the plan is).
    let response = push_worker::handle(&deps, event(&queued[..10])).await;
    assert!(response.batch_item_failures.is_empty());
    let progress = rig
        .platform
        .store
        .push_progress(id)
        .await
        .expect("progress");
    assert!(progress.plan.pages >= 2, "{:?}", progress.plan);

    // The rest, through the polling worker: everyone gets exactly one message.
    for message in &queued[10..] {
        rig.aws
            .clients
            .sqs
            .send_message()
            .queue_url(&rig.resources.push.url)
            .message_body(message.body.clone().unwrap_or_default())
            .send()
            .await
            .expect("requeue the last batch");
    }
    rig.start_worker(deps);
    let push = wait_for(
        &rig.platform.store,
        id,
        &[PushStatus::Completed],
        // moto is the slow part; generous for a loaded CI machine.
        Duration::from_secs(600),
    )
    .await;
    assert_eq!(push.counters.sent, 2_500);
    assert_exactly_once(&rig.sandbox, &rig.openids);
    rig.stop().await;
}
