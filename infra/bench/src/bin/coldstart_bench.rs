//! Cold start of each function's release binary against the local Runtime API emulator:
//! process start to its first `next` call (ready for the first event), the first event's
//! handling time, peak RSS (VmHWM) after handling it, binary and zip size.
//!
//! Usage: coldstart_bench DIST_DIR [RUNS]   (DIST_DIR = dist/lambda/<arch>, from
//! `make build-lambdas`; RUNS default 5). Needs moto at AWS_ENDPOINT_URL (`make bench`
//! starts one): the typical events read the table like production does.

use livenotify::aws::AwsClients;
use livenotify::domain::{CourseId, ExportJobId, SyncTrigger};
use livenotify::jobs::{ExportJobMessage, PushJob, QrJob, SyncJob};
use livenotify::secrets::SecretBox;
use livenotify_bench::latency::percentile;
use livenotify_bench::runtime_api::{Answer, RuntimeApi};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long a function may take to become ready or to answer before the run fails.
const PATIENCE: Duration = Duration::from_secs(30);

struct Measured {
    ready: Vec<u64>,
    first_event: Vec<u64>,
    peak_rss_kib: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dist = PathBuf::from(
        args.next()
            .ok_or("usage: coldstart_bench DIST_DIR [RUNS]")?,
    );
    let runs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL must point at moto (make bench starts one)")?;

    let table = format!("coldstart-{}", std::process::id());
    let clients = AwsClients::from_env().await;
    livenotify::store::schema::create_table_if_absent(&clients.dynamodb, &table).await?;

    println!(
        "| function | binary | zip | ready for first event (p50 / max of {runs}) | first event handled (p50) | peak RSS after it |"
    );
    println!("|---|---|---|---|---|---|");
    let mut request = 0;
    for (function, event) in typical_events()? {
        let binary = dist.join(function).join("bootstrap");
        let zip = dist.join(function).join("bootstrap.zip");
        let mut measured = Measured {
            ready: Vec::new(),
            first_event: Vec::new(),
            peak_rss_kib: 0,
        };
        for _ in 0..runs {
            request += 1;
            let api = RuntimeApi::default();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            let router = api.router();
            let server = tokio::spawn(async move { axum::serve(listener, router).await });
            let one = cold_start(
                &api,
                &address.to_string(),
                &binary,
                &table,
                &endpoint,
                &event,
                request,
            )
            .await;
            server.abort();
            let (ready, handled, rss) = one.map_err(|e| format!("{function}: {e}"))?;
            measured.ready.push(ready);
            measured.first_event.push(handled);
            measured.peak_rss_kib = measured.peak_rss_kib.max(rss);
        }
        measured.ready.sort_unstable();
        measured.first_event.sort_unstable();
        println!(
            "| {function} | {:.1} MB | {:.1} MB | {:.1} / {:.1} ms | {:.1} ms | {:.1} MB |",
            mb(size(&binary)),
            mb(size(&zip)),
            percentile(&measured.ready, 50.0) / 1000.0,
            percentile(&measured.ready, 100.0) / 1000.0,
            percentile(&measured.first_event, 50.0) / 1000.0,
            measured.peak_rss_kib as f64 / 1024.0,
        );
    }
    Ok(())
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// One cold start: (ready µs, first event µs, VmHWM KiB).
async fn cold_start(
    api: &RuntimeApi,
    address: &str,
    binary: &Path,
    table: &str,
    endpoint: &str,
    event: &[u8],
    request: usize,
) -> Result<(u64, u64, u64), Box<dyn std::error::Error>> {
    let key = SecretBox::generate_key();
    let queue = format!("{endpoint}/000000000000/coldstart");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(std::env::vars().filter(|(k, _)| k.starts_with("AWS_")))
        .env("AWS_LAMBDA_RUNTIME_API", address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "coldstart")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("TABLE_NAME", table)
        .env("SECRETS_KEY", &key)
        .env("SIGNING_KEY", &key)
        .env("BUCKET_NAME", "coldstart")
        .env("PUSH_QUEUE_URL", &queue)
        .env("QR_QUEUE_URL", &queue)
        .env("SYNC_QUEUE_URL", &queue)
        .env("PUBLIC_BASE_URL", "https://notify.example.com")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("the function exited at once")?;
    let ready_at = wait_for(|| api.first_next(), || api.init_error().is_some()).await?;
    let ready = ready_at.duration_since(started);
    let request_id = format!("coldstart-{request}");
    let pushed = Instant::now();
    api.push_event(&request_id, event.to_vec());
    let answered_at = wait_for(
        || {
            api.answers()
                .into_iter()
                .find(|(id, _, _)| *id == request_id)
                .map(|(_, answer, at)| (answer, at))
        },
        || false,
    )
    .await?;
    let (answer, at) = answered_at;
    if let Answer::Error(body) = &answer {
        return Err(format!(
            "the typical event failed: {}",
            String::from_utf8_lossy(body)
        )
        .into());
    }
    let rss = vm_hwm_kib(pid);
    child.kill().await?;
    Ok((
        ready.as_micros() as u64,
        at.duration_since(pushed).as_micros() as u64,
        rss,
    ))
}

/// Polls `probe` every millisecond (the instants it returns were taken by the emulator, so
/// polling does not blur them) until it yields, `failed` says so, or patience runs out.
async fn wait_for<T>(
    probe: impl Fn() -> Option<T>,
    failed: impl Fn() -> bool,
) -> Result<T, Box<dyn std::error::Error>> {
    let until = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe() {
            return Ok(value);
        }
        if failed() {
            return Err("the function reported an init error".into());
        }
        if Instant::now() > until {
            return Err("no answer within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Peak resident set of a process, KiB (0 if unreadable).
fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A typical first event per function; each reads the table as production does.
fn typical_events() -> Result<Vec<(&'static str, Vec<u8>)>, serde_json::Error> {
    let sqs = |body: String| {
        serde_json::json!({ "Records": [{
            "messageId": "m1", "receiptHandle": "r1", "body": body,
            "attributes": { "ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                "SenderId": "s", "ApproximateFirstReceiveTimestamp": "1700000000000" },
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:coldstart", "awsRegion": "us-east-1"
        }]})
        .to_string()
        .into_bytes()
    };
    let qr = QrJob::Generate {
        course_id: CourseId::generate(),
    };
    let sync = SyncJob::AllAccounts {
        trigger: SyncTrigger::Schedule,
    };
    // A job id the table does not hold: the worker reads its job item and drops the message.
    let export = ExportJobMessage {
        export_id: ExportJobId::generate(),
    };
    Ok(vec![
        (
            "wechat-callback",
            http_event("GET", &format!("/c/{}", CourseId::generate())),
        ),
        ("admin-api", http_event("GET", "/api/health")),
        ("qr-generator", sqs(serde_json::to_string(&qr)?)),
        ("push-worker", sqs(serde_json::to_string(&PushJob::Tick)?)),
        ("follower-sync", sqs(serde_json::to_string(&sync)?)),
        ("export-worker", sqs(serde_json::to_string(&export)?)),
    ])
}

/// An API Gateway HTTP API (payload 2.0) request.
fn http_event(method: &str, path: &str) -> Vec<u8> {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": { "host": "notify.example.com", "user-agent": "coldstart-bench", "accept": "*/*" },
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "notify.example.com",
            "domainPrefix": "notify", "requestId": "bench", "routeKey": "$default", "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 1_767_225_600_000_u64,
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "127.0.0.1", "userAgent": "coldstart-bench" }
        },
        "isBase64Encoded": false
    })
    .to_string()
    .into_bytes()
}
