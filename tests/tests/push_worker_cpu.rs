//! Benchmark of the deployed push-worker's own CPU time per recipient (never part of the test
//! command; `make bench-worker-cpu` runs it). The release `bootstrap` from `make build-lambdas`
//! runs one push to N sandbox followers (50 ms WeChat latency) through moto, fed by an
//! emulated SQS event-source mapping (10 messages per invocation) over a local Lambda Runtime
//! API, like the deployed function. CPU time is the worker process's user + system time from
//! `/proc/<pid>/stat`, from the end of its cold start to the push's completion: the worker
//! alone, without the sandbox, moto or this harness (which `make bench-push` counts in).
//!
//! `LIVENOTIFY_WORKER_BIN` (default `dist/lambda/<arch>/push-worker/bootstrap`),
//! `LIVENOTIFY_PUSH_CPU_RECIPIENTS` (default 10000), `LIVENOTIFY_PUSH_BENCH_RATE` (sends per
//! second, default 50, the deployed default).

#[path = "push_fixture/mod.rs"]
mod fixture;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use fixture::*;
use livenotify::domain::{Audience, PushStatus};
use livenotify_bench::runtime_api::{Answer, RuntimeApi};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wechat_sandbox::Fault;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The release worker `make build-lambdas` left for this machine's architecture.
fn worker_binary() -> PathBuf {
    if let Ok(path) = std::env::var("LIVENOTIFY_WORKER_BIN") {
        return PathBuf::from(path);
    }
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    };
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../dist/lambda")
        .join(arch)
        .join("push-worker/bootstrap")
}

/// The fields of `/proc/<pid>/stat` after the command name.
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read process stat");
    stat.rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// User + system CPU seconds of process `pid`, all threads.
fn cpu_seconds(pid: u32, ticks_per_second: f64) -> f64 {
    let fields = stat_fields(pid);
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the name.
    let ticks: f64 = [11, 12]
        .iter()
        .map(|i| fields[*i].parse::<f64>().expect("clock ticks"))
        .sum();
    ticks / ticks_per_second
}

fn clock_ticks_per_second() -> f64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf CLK_TCK");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK is a number")
}

/// Peak resident set of process `pid`, KiB.
fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("read process status")
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmHWM")
}

/// One invocation through the Runtime API, answered as Lambda's SQS mapping would see it: an
/// invocation error returns every message to the queue.
async fn invoke(api: &RuntimeApi, request_id: String, event: SqsEvent) -> SqsBatchResponse {
    let every_message = |event: &SqsEvent| {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = event
            .records
            .iter()
            .map(|r| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = r.message_id.clone().unwrap_or_default();
                failure
            })
            .collect();
        response
    };
    api.push_event(
        &request_id,
        serde_json::to_vec(&event).expect("SQS event JSON"),
    );
    loop {
        let answer = api
            .answers()
            .into_iter()
            .find(|(id, _, _)| *id == request_id);
        match answer {
            Some((_, Answer::Response(body), _)) => {
                return serde_json::from_slice(&body).expect("the worker answers a batch response");
            }
            Some((_, Answer::Error(body), _)) => {
                eprintln!(
                    "  invocation {request_id} failed: {}",
                    String::from_utf8_lossy(&body)
                );
                return every_message(&event);
            }
            None => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with `make bench-worker-cpu` (needs `make build-lambdas`)"]
async fn release_worker_cpu_per_recipient() {
    let binary = worker_binary();
    assert!(
        binary.is_file(),
        "no release worker at {}: run `make build-lambdas` (or set LIVENOTIFY_WORKER_BIN)",
        binary.display()
    );
    let n: usize = env_or("LIVENOTIFY_PUSH_CPU_RECIPIENTS", 10_000);
    let rate: f64 = env_or("LIVENOTIFY_PUSH_BENCH_RATE", 50.0);
    let ticks = clock_ticks_per_second();
    let rig = Rig::new("wxpushcpu0000001", n, 120, Clone::clone).await;
    rig.sandbox
        .inject(Fault::latency(TEMPLATE_SEND, Duration::from_millis(50)));

    let api = RuntimeApi::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind runtime API");
    let address = listener.local_addr().expect("runtime API address");
    let router = api.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let config = &rig.platform.config;
    let mut child = tokio::process::Command::new(&binary)
        .env_clear()
        .envs(std::env::vars().filter(|(k, _)| k.starts_with("AWS_")))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "push-worker")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("TABLE_NAME", &config.table_name)
        .env("SECRETS_KEY", &config.secrets_key)
        .env("SIGNING_KEY", &config.signing_key)
        .env("BUCKET_NAME", &config.bucket)
        .env("PUSH_QUEUE_URL", &config.queues.push)
        .env("QR_QUEUE_URL", &config.queues.qr)
        .env("SYNC_QUEUE_URL", &config.queues.sync)
        .env("WECHAT_API_BASE", &config.wechat_api_base)
        .env("WECOM_API_BASE", &config.wecom_api_base)
        .env("WECHAT_OPEN_BASE", &config.wechat_open_base)
        .env("PUBLIC_BASE_URL", &config.public_base_url)
        .env("PUSH_RATE_PER_SECOND", rate.to_string())
        .env("PUSH_MAX_IN_FLIGHT", "16")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the release worker");
    let pid = child.id().expect("worker pid");
    let started = Instant::now();
    while api.first_next().is_none() {
        assert!(api.init_error().is_none(), "the worker failed to start");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker never asked for an event"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cpu_at_ready = cpu_seconds(pid, ticks);

    // The event-source mapping: 10 messages per invocation, one instance.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let invocations = std::sync::Arc::new(AtomicU64::new(0));
    let counting = invocations.clone();
    let invoker = api.clone();
    let mapping = tokio::spawn(local_gateway::poller::poll(
        rig.aws.clients.sqs.clone(),
        local_gateway::poller::PollSettings {
            queue_url: rig.resources.push.url.clone(),
            batch_size: 10,
            wait: Duration::from_secs(1),
        },
        stopped,
        move |event| {
            let api = invoker.clone();
            let id = counting.fetch_add(1, Ordering::Relaxed);
            async move { invoke(&api, format!("invocation-{id}"), event).await }
        },
    ));

    let course = course(&rig.platform.store, &rig.account.id, "基准测试课程").await;
    let wall = Instant::now();
    let id = start_push(
        &rig.platform,
        &rig.account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    let push = wait_for(
        &rig.platform.store,
        id,
        &[PushStatus::Completed],
        Duration::from_secs(6 * 3600),
    )
    .await;
    let elapsed = wall.elapsed();
    let cpu = cpu_seconds(pid, ticks) - cpu_at_ready;
    let peak_rss = vm_hwm_kib(pid);
    let _ = stop.send(true);
    mapping.await.expect("event-source mapping");
    child.kill().await.expect("stop the worker");
    server.abort();

    assert_eq!(push.counters.sent, n as u64);
    assert_exactly_once(&rig.sandbox, &rig.openids);
    println!(
        "push-worker binary: {n} recipients, 50 ms WeChat latency, rate limit {rate}/s, 16 in flight"
    );
    println!(
        "  binary               {} ({} bytes)",
        binary.display(),
        std::fs::metadata(&binary).map_or(0, |m| m.len())
    );
    println!(
        "  wall time            {:.1} s, {} invocations",
        elapsed.as_secs_f64(),
        invocations.load(Ordering::Relaxed)
    );
    println!(
        "  worker CPU           {cpu:.2} s = {:.3} ms per recipient (user + system, {:.1} % of one core over the push)",
        cpu * 1000.0 / n as f64,
        cpu * 100.0 / elapsed.as_secs_f64()
    );
    println!("  worker peak RSS      {:.1} MB", peak_rss as f64 / 1024.0);
}
