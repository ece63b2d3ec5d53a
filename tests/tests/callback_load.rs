//! Load on the callback endpoint: many users follow and write at once, every event signed and
//! encrypted (safe mode) by the sandbox, through the gateway into the real handler and moto.
//! Checks that nothing fails and every event is applied exactly once; prints throughput and
//! latency (the figures in RELIABILITY.md come from the long run: `make load`).
//!
//! Size: `LIVENOTIFY_LOAD_USERS` (default 150) users, `LIVENOTIFY_LOAD_CONCURRENCY`
//! (default 16) in flight.

use futures::StreamExt;
use livenotify::domain::AccountId;
use livenotify_tests::TestStack;
use std::time::{Duration, Instant};
use wechat_sandbox::{EncryptionMode, SandboxAccount};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_signed_events_are_all_applied_once() {
    let users = env_or("LIVENOTIFY_LOAD_USERS", 150);
    let concurrency = env_or("LIVENOTIFY_LOAD_CONCURRENCY", 16);
    let stack = TestStack::start().await;
    let appid = "wxloadtest000001";
    let account = stack
        .add_account(SandboxAccount::service(appid), EncryptionMode::Safe)
        .await;
    let openids: Vec<String> = (0..users)
        .map(|_| stack.sandbox.new_user(appid).unwrap())
        .collect();

    // Each user: follow (subscribe event, a write with a counted follower) then a keyword
    // message (a passive encrypted reply).
    let started = Instant::now();
    let results: Vec<(Duration, bool, Duration, bool, String)> =
        futures::stream::iter(openids.clone())
            .map(|openid| {
                let sandbox = stack.sandbox.clone();
                async move {
                    let t = Instant::now();
                    let follow = sandbox.follow(&openid).await.unwrap();
                    let follow_time = t.elapsed();
                    let t = Instant::now();
                    let text = sandbox.send_text(&openid, "课程").await.unwrap();
                    (
                        follow_time,
                        follow.delivered(),
                        t.elapsed(),
                        text.delivered() && text.reply_text().is_some(),
                        format!("{:?} {:?}", text.reply, text.attempts),
                    )
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
    let wall = started.elapsed();

    let failed_follows = results.iter().filter(|r| !r.1).count();
    let failed_texts = results.iter().filter(|r| !r.3).count();
    if let Some(first) = results.iter().find(|r| !r.3) {
        eprintln!("first keyword without a reply: {}", first.4);
    }
    let mut latencies: Vec<Duration> = results.iter().flat_map(|r| [r.0, r.2]).collect();
    latencies.sort();
    let events = latencies.len();
    eprintln!(
        "callback load: {events} events ({users} users x follow + text) at concurrency \
         {concurrency} in {wall:?}: {:.1} events/s, p50 {:?}, p99 {:?}, max {:?}; \
         failed follows {failed_follows}, failed replies {failed_texts}",
        events as f64 / wall.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[events - 1],
    );
    // Every event reached the platform and was acknowledged (possibly on WeChat's retry, when
    // the shared test machine made an answer later than 5 s: the retry is then answered
    // "success", so the event is still applied once, which is checked below).
    assert_eq!(failed_follows, 0, "every subscribe delivered");
    let undelivered = stack
        .sandbox
        .callbacks()
        .iter()
        .filter(|c| !c.delivered())
        .count();
    assert_eq!(undelivered, 0, "every event delivered");
    let retried = stack
        .sandbox
        .callbacks()
        .iter()
        .filter(|c| c.attempts.len() > 1)
        .count();
    eprintln!("callback load: {retried} events needed WeChat's retry (answer later than 5 s)");
    if retried == 0 {
        assert_eq!(
            failed_texts, 0,
            "answered in time, so every keyword got its reply"
        );
    }

    // Applied exactly once: one follower each, counted once.
    let id = AccountId::new(appid).unwrap();
    let stored = stack.store().get_account(&id).await.unwrap();
    assert_eq!(stored.follower_count, users as u64);
    for openid in &openids {
        let follower = stack.store().get_follower(&id, openid).await.unwrap();
        assert!(follower.subscribed, "{openid}");
    }
    assert_eq!(account.id, id);
    stack.shutdown().await;
}
