//! Benchmark of the push fan-out (never part of the test command; `make bench-push` runs it):
//! N recipients through moto and the sandbox with 50 ms simulated WeChat latency. Reports the
//! achieved send rate against the configured rate limit, CPU time per recipient, SQS messages
//! per recipient, and DynamoDB requests per recipient (counted by an SDK interceptor).
//!
//! `LIVENOTIFY_PUSH_BENCH_RECIPIENTS` (default 100000), `LIVENOTIFY_PUSH_BENCH_RATE` (sends
//! per second, default 100), `LIVENOTIFY_PUSH_BENCH_IN_FLIGHT` (default 16).

#[path = "push_fixture/mod.rs"]
mod fixture;

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use fixture::*;
use livenotify::domain::{Audience, Push, PushId, PushStatus};
use push_worker::{Deps, Settings};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wechat_sandbox::Fault;

/// Counts every DynamoDB request the worker makes.
#[derive(Debug, Clone, Default)]
struct RequestCounter(Arc<AtomicU64>);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Counts the SQS messages the worker enqueues (entries of SendMessageBatch, SendMessage).
#[derive(Debug, Clone, Default)]
struct MessageCounter {
    messages: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

impl aws_sdk_sqs::config::Intercept for MessageCounter {
    fn name(&self) -> &'static str {
        "MessageCounter"
    }

    fn read_before_execution(
        &self,
        context: &aws_sdk_sqs::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_sdk_sqs::config::ConfigBag,
    ) -> Result<(), aws_sdk_sqs::error::BoxError> {
        use aws_sdk_sqs::operation::{send_message, send_message_batch};
        let input = context.input();
        let messages = if let Some(batch) =
            input.downcast_ref::<send_message_batch::SendMessageBatchInput>()
        {
            batch.entries().len() as u64
        } else if input
            .downcast_ref::<send_message::SendMessageInput>()
            .is_some()
        {
            1
        } else {
            return Ok(());
        };
        self.messages.fetch_add(messages, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// User + system CPU seconds of this process (Linux clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the name.
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Waits for the push to complete, printing progress once a minute. Polls every 2 s (not the
/// fixture's 200 ms): the watcher's reads go to the same moto as the worker's, and at a
/// 25/s send rate five status reads a second would be a tenth of moto's load.
async fn watch_until_completed(watcher: &livenotify::store::Store, id: PushId, n: usize) -> Push {
    let start = Instant::now();
    let (mut last_report, mut last_sent) = (Instant::now(), 0u64);
    loop {
        let push = watcher.get_push(id).await.expect("get push");
        if push.status == PushStatus::Completed {
            return push;
        }
        assert!(
            !matches!(push.status, PushStatus::Failed | PushStatus::Cancelled),
            "push ended {:?}: {:?}",
            push.status,
            push.status_reason
        );
        if last_report.elapsed() >= Duration::from_secs(60) {
            let sent = push.counters.sent;
            eprintln!(
                "  progress {:>6.0} s: {sent} of {n} sent, {:.1}/s over the last minute ({:?})",
                start.elapsed().as_secs_f64(),
                (sent - last_sent) as f64 / last_report.elapsed().as_secs_f64(),
                push.status
            );
            (last_report, last_sent) = (Instant::now(), sent);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `make bench-push`"]
async fn push_fanout_benchmark() {
    let n: usize = env_or("LIVENOTIFY_PUSH_BENCH_RECIPIENTS", 100_000);
    let rate: f64 = env_or("LIVENOTIFY_PUSH_BENCH_RATE", 100.0);
    let in_flight: usize = env_or("LIVENOTIFY_PUSH_BENCH_IN_FLIGHT", 16);
    let counter = RequestCounter::default();
    let counting = counter.clone();
    let enqueued = MessageCounter::default();
    let counting_messages = enqueued.clone();
    let mut rig = Rig::new("wxpushbench00001", n, 120, move |clients| {
        let mut clients = clients.clone();
        let config = clients
            .dynamodb
            .config()
            .to_builder()
            .interceptor(counting)
            .build();
        clients.dynamodb = aws_sdk_dynamodb::Client::from_conf(config);
        let sqs = clients
            .sqs
            .config()
            .to_builder()
            .interceptor(counting_messages)
            .build();
        clients.sqs = aws_sdk_sqs::Client::from_conf(sqs);
        clients
    })
    .await;
    rig.sandbox
        .inject(Fault::latency(TEMPLATE_SEND, Duration::from_millis(50)));
    let settings = Settings {
        rate_per_second: rate,
        max_in_flight: in_flight,
        ..Settings::default()
    };
    rig.start_worker(Deps::new(rig.platform.clone(), settings));
    let course = course(&rig.platform.store, &rig.account.id, "基准测试课程").await;
    let requests_before = counter.0.load(Ordering::Relaxed);
    let (messages_before, sqs_requests_before) = (
        enqueued.messages.load(Ordering::Relaxed),
        enqueued.requests.load(Ordering::Relaxed),
    );
    let cpu_before = cpu_seconds();
    let wall = Instant::now();
    let id = start_push(
        &rig.platform,
        &rig.account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    // Watch progress through an uncounted client: only the worker's requests are counted.
    let watcher =
        livenotify::store::Store::new(
            rig.aws.clients.dynamodb.clone(),
            rig.platform.store.table(),
            livenotify::secrets::SecretBox::from_base64(
                &livenotify::secrets::SecretBox::generate_key(),
            )
            .unwrap(),
        );
    let push = watch_until_completed(&watcher, id, n).await;
    let elapsed = wall.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let requests = counter.0.load(Ordering::Relaxed) - requests_before;
    let mut times: Vec<_> = rig
        .sandbox
        .messages()
        .into_iter()
        .map(|m| m.received_at)
        .collect();
    times.sort();
    let sending = (*times.last().unwrap() - times[0]).num_milliseconds() as f64 / 1000.0;
    let achieved = (times.len() as f64 - 1.0) / sending;
    // Counted from the push's plan message (enqueued by start_push) on.
    let sqs_messages = enqueued.messages.load(Ordering::Relaxed) - messages_before;
    let sqs_requests = enqueued.requests.load(Ordering::Relaxed) - sqs_requests_before;
    assert_eq!(push.counters.sent, n as u64);
    assert_exactly_once(&rig.sandbox, &rig.openids);
    println!(
        "push fan-out benchmark: {n} recipients, 50 ms WeChat latency, rate limit {rate}/s, {in_flight} in flight"
    );
    println!(
        "  wall time            {:.1} s (sending {sending:.1} s)",
        elapsed.as_secs_f64()
    );
    println!(
        "  achieved rate        {achieved:.1}/s = {:.3} of the configured rate",
        achieved / rate
    );
    println!(
        "  CPU per recipient    {:.3} ms (whole process: worker + sandbox + SDK)",
        cpu * 1000.0 / n as f64
    );
    println!(
        "  SQS messages         {sqs_messages} = {:.4} per recipient ({sqs_requests} send requests = {:.5} per recipient)",
        sqs_messages as f64 / n as f64,
        sqs_requests as f64 / n as f64
    );
    println!(
        "  DynamoDB requests    {requests} = {:.3} per recipient",
        requests as f64 / n as f64
    );
    rig.stop().await;
}
