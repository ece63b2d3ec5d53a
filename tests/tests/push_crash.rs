//! Crash injection: the worker "dies" before a send, after a send before its record, after
//! the record before the batch is counted, and after counting before the queue message is
//! acknowledged; SQS redelivers (visibility timeout shortened to 2 s). Every recipient still
//! gets exactly one message, and the counters add up exactly once. Then every batch is
//! delivered once more, as SQS's at-least-once delivery may do: nothing is sent or counted
//! again.
//!
//! This test runs its own poller (the gateway's poller code, with a fault hook in the
//! worker's dependencies) over moto and the sandbox.

#[path = "push_fixture/mod.rs"]
mod fixture;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use fixture::*;
use livenotify::domain::{Audience, DeliveryStatus, PushStatus, now};
use livenotify::jobs::PushJob;
use push_worker::{CrashHook, CrashPoint, Deps, Settings};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Dies once at each listed site.
#[derive(Debug, Default)]
struct Sites {
    pending: Mutex<HashSet<(CrashPoint, String)>>,
    fired: Mutex<Vec<(CrashPoint, String)>>,
}

impl CrashHook for Sites {
    fn crash(&self, point: CrashPoint, batch: &str, openid: &str) -> bool {
        let site = (
            point,
            if point == CrashPoint::BeforeAck {
                batch
            } else {
                openid
            }
            .to_string(),
        );
        let hit = self.pending.lock().unwrap().remove(&site);
        if hit {
            self.fired.lock().unwrap().push(site);
        }
        hit
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_deaths_at_every_point_lose_and_repeat_nothing() {
    let n = 500;
    let appid = "wxpushcrash00001";
    let mut rig = Rig::new(appid, n, 2, Clone::clone).await;
    let (platform, account, openids) = (
        rig.platform.clone(),
        rig.account.clone(),
        rig.openids.clone(),
    );
    let sandbox = rig.sandbox.clone();
    // Followers page in openid order, so batch k holds openids[100k..100k+100]. Each batch
    // dies at most three times (the queue gives up after five receives).
    let sites = Arc::new(Sites::default());
    {
        let mut pending = sites.pending.lock().unwrap();
        let points = [
            CrashPoint::BeforeSend,
            CrashPoint::AfterSend,
            CrashPoint::AfterRecord,
        ];
        for (k, i) in (0..n)
            .filter(|i| i % 100 == 10 || i % 100 == 60)
            .enumerate()
        {
            pending.insert((points[k % 3], openids[i].clone()));
        }
        pending.insert((CrashPoint::BeforeAck, "0000000-001".into()));
        pending.insert((CrashPoint::BeforeAck, "0000000-003".into()));
    }
    let expected_crashes = sites.pending.lock().unwrap().len();
    let settings = Settings {
        rate_per_second: 2000.0,
        max_in_flight: 32,
        retry_base: Duration::from_millis(10),
        status_check: Duration::from_millis(200),
        pause_recheck: Duration::from_secs(1),
        ..Settings::default()
    };
    let mut deps = Deps::new(platform.clone(), settings);
    deps.crash = Some(sites.clone());
    rig.start_worker(deps.clone());

    let course = course(&platform.store, &account.id, "故障注入测试").await;
    let id = start_push(&platform, &account, &course, Audience::AllFollowers, None).await;
    let push = wait_for(
        &platform.store,
        id,
        &[PushStatus::Completed],
        Duration::from_secs(180),
    )
    .await;
    assert_eq!(
        sites.fired.lock().unwrap().len(),
        expected_crashes,
        "not every crash site was reached"
    );
    assert_eq!(push.counters.targeted, n as u64);
    assert_eq!(push.counters.sent, n as u64, "{:?}", push.counters);
    assert_eq!(push.counters.skipped + push.counters.failed, 0);
    assert_exactly_once(&sandbox, &openids);
    for openid in openids.iter().step_by(50) {
        let record = platform
            .store
            .find_delivery(id, openid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.status, DeliveryStatus::Sent);
        let received = sandbox.messages_to(openid);
        assert_eq!(record.msgid, received[0].msgid.map(|m| m.to_string()));
    }

    // At-least-once delivery: every batch arrives once more.
    let mut event = SqsEvent::default();
    event.records = openids
        .chunks(100)
        .enumerate()
        .map(|(i, chunk)| {
            let mut m = SqsMessage::default();
            m.message_id = Some(format!("dup-{i}"));
            m.body = Some(
                serde_json::to_string(&PushJob::SendBatch {
                    push_id: id,
                    batch: format!("0000000-{i:03}"),
                    openids: chunk.to_vec(),
                })
                .unwrap(),
            );
            m
        })
        .collect();
    // The push is completed, so its batches are dropped; reopen it to prove the per-recipient
    // and per-batch guards hold on their own.
    platform
        .store
        .transition_push(
            id,
            &[PushStatus::Completed],
            PushStatus::Running,
            None,
            now(),
        )
        .await
        .unwrap();
    let response = push_worker::handle(&deps, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_exactly_once(&sandbox, &openids);
    let again = platform.store.get_push(id).await.unwrap();
    assert_eq!(again.counters, push.counters);

    rig.stop().await;
}

/// Channels without an idempotency key (here: official-account subscription messages) are
/// at most once: a delivery left `sending` by a dead worker is recorded failed, never sent
/// again, whether the death came before or after WeChat accepted the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_an_idempotency_key_a_death_mid_send_never_sends_twice() {
    use livenotify::domain::Channel;
    let n = 200;
    let appid = "wxpushcrashsub01";
    let mut rig = Rig::new(appid, n, 2, Clone::clone).await;
    rig.sandbox
        .update_settings(|s| s.bizsend_requires_consent = false);
    let (platform, account, openids) = (
        rig.platform.clone(),
        rig.account.clone(),
        rig.openids.clone(),
    );
    let sandbox = rig.sandbox.clone();
    let sites = Arc::new(Sites::default());
    let before_send: Vec<String> = [15, 115].iter().map(|i| openids[*i].clone()).collect();
    let after_send: Vec<String> = [40, 140].iter().map(|i| openids[*i].clone()).collect();
    {
        let mut pending = sites.pending.lock().unwrap();
        for o in &before_send {
            pending.insert((CrashPoint::BeforeSend, o.clone()));
        }
        for o in &after_send {
            pending.insert((CrashPoint::AfterSend, o.clone()));
        }
    }
    let settings = Settings {
        rate_per_second: 2000.0,
        max_in_flight: 32,
        retry_base: Duration::from_millis(10),
        status_check: Duration::from_millis(200),
        pause_recheck: Duration::from_secs(1),
        ..Settings::default()
    };
    let mut deps = Deps::new(platform.clone(), settings);
    deps.crash = Some(sites.clone());
    rig.start_worker(deps);
    let course = course(&platform.store, &account.id, "至多一次测试").await;
    let id = start_push_on(
        &platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
        Channel::Subscribe,
    )
    .await;
    let push = wait_for(
        &platform.store,
        id,
        &[PushStatus::Completed],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(
        sites.fired.lock().unwrap().len(),
        4,
        "not every crash site was reached"
    );
    assert_eq!(push.counters.targeted, n as u64);
    // A death also interrupts the sends in flight beside it: those are failed too.
    assert_eq!(
        push.counters.sent + push.counters.failed,
        n as u64,
        "{:?}",
        push.counters
    );
    assert!(push.counters.failed >= 4, "{:?}", push.counters);
    let got = messages_of(&sandbox, wechat_sandbox::MessageKind::Subscribe);
    assert!(
        got.values().all(|count| *count == 1),
        "a recipient got two messages"
    );
    for o in &after_send {
        assert_eq!(
            got.get(o),
            Some(&1),
            "accepted before the death: exactly one"
        );
    }
    for o in &before_send {
        assert!(!got.contains_key(o), "died before sending: not sent");
    }
    let sent = platform
        .store
        .list_deliveries_by_push(
            id,
            Some(DeliveryStatus::Sent),
            &livenotify::store::PageRequest::first(1000),
        )
        .await
        .unwrap();
    assert_eq!(sent.items.len() as u64, push.counters.sent);
    for record in &sent.items {
        assert_eq!(got.get(&record.openid), Some(&1), "{}", record.openid);
    }
    for openid in &openids {
        let record = platform
            .store
            .find_delivery(id, openid)
            .await
            .unwrap()
            .unwrap();
        if record.status == DeliveryStatus::Failed {
            assert!(
                record.error_message.unwrap_or_default().contains("中断"),
                "the record says why"
            );
        } else {
            assert_eq!(record.status, DeliveryStatus::Sent);
        }
    }
    rig.stop().await;
}

/// AWS goes away twice mid-push: every open connection of the worker to DynamoDB and SQS is
/// cut and new ones are dropped for 3 s (an endpoint restart or a network failure; the data
/// survives, as it does in DynamoDB). Requests in flight fail with their outcome unknown,
/// batches come back, and the push still ends with each follower messaged exactly once and
/// counters equal to the truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_outages_mid_push_lose_and_repeat_nothing() {
    use livenotify_tests::TestAws;
    use livenotify_tests::aws_outage::OutageProxy;
    let n = 500;
    let moto = TestAws::connect().await;
    let proxy = OutageProxy::start(&moto.endpoint).await.expect("proxy");
    let through_proxy = TestAws::connect_to(proxy.url().to_string()).await.clients;
    let mut rig = Rig::new("wxpushoutage0001", n, 2, move |_| through_proxy).await;
    let (platform, account, openids) = (
        rig.platform.clone(),
        rig.account.clone(),
        rig.openids.clone(),
    );
    let sandbox = rig.sandbox.clone();
    let settings = Settings {
        rate_per_second: 200.0,
        max_in_flight: 16,
        retry_base: Duration::from_millis(10),
        status_check: Duration::from_millis(200),
        pause_recheck: Duration::from_secs(1),
        ..Settings::default()
    };
    rig.start_worker(Deps::new(platform.clone(), settings));
    let course = course(&platform.store, &account.id, "云服务中断演练").await;
    let id = start_push(&platform, &account, &course, Audience::AllFollowers, None).await;
    let started = std::time::Instant::now();
    for sent_before_cut in [n / 5, n / 2] {
        while messages_per_recipient(&sandbox).len() < sent_before_cut {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the push stalled before the outage"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        proxy.cut(Duration::from_secs(3));
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let push = wait_for(
        &platform.store,
        id,
        &[PushStatus::Completed],
        Duration::from_secs(180),
    )
    .await;
    let (reset, dropped) = proxy.casualties();
    assert!(
        reset + dropped > 0,
        "the outages hit no connection (reset {reset}, dropped {dropped})"
    );
    eprintln!("outages reset {reset} open connections and dropped {dropped} new ones");
    assert_eq!(push.counters.targeted, n as u64);
    assert_eq!(push.counters.sent, n as u64, "{:?}", push.counters);
    assert_eq!(push.counters.skipped + push.counters.failed, 0);
    assert_exactly_once(&sandbox, &openids);
    rig.stop().await;
}
