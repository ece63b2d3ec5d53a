//! Callback CPU path, side by side: livenotify (Rust), wechatpy (Python) and wechat-crypto +
//! xml2js (Node) on the same safe-mode subscribe events, one thread each, in one run.
//!
//! Usage: callback_bench [EVENTS] [ITERATIONS]   (defaults 2000 x 10)
//! Environment: LIVENOTIFY_PYTHON (python with wechatpy; default .venv/bin/python),
//! LIVENOTIFY_NODE (default `node`), LIVENOTIFY_BENCH_DIR (infra/bench; default from the crate).
//! Prints a Markdown table for BENCHMARKS.md; fails if any implementation disagrees on the
//! number of course sign-ups or a peer cannot run.

use livenotify_bench::callback_path::CallbackPath;
use livenotify_bench::latency::Run;
use livenotify_bench::peers::{self, thread_cpu_ns};
use livenotify_bench::workload::Workload;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let iterations: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
    let bench_dir = std::env::var("LIVENOTIFY_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let python = std::env::var("LIVENOTIFY_PYTHON").unwrap_or_else(|_| {
        bench_dir
            .join("../../.venv/bin/python")
            .to_string_lossy()
            .into_owned()
    });
    let node = std::env::var("LIVENOTIFY_NODE").unwrap_or_else(|_| "node".into());

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let workload = Workload::generate(events, now);
    let file =
        std::env::temp_dir().join(format!("livenotify-callback-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&workload)?)?;

    let rust = run_rust(&workload, iterations)?;
    let python = peers::run(
        &python,
        &bench_dir.join("python/callback_bench.py"),
        &file,
        iterations,
    );
    let node = peers::run(
        &node,
        &bench_dir.join("node/callback_bench.js"),
        &file,
        iterations,
    );
    let _ = std::fs::remove_file(&file);
    let runs = [rust, python?, node?];

    let expected = workload.expected_signups() as u64 * u64::from(iterations);
    for run in &runs {
        if run.signups != expected || run.events != events as u64 * u64::from(iterations) {
            return Err(format!(
                "{}: {} sign-ups in {} events, expected {expected} in {}",
                run.name,
                run.signups,
                run.events,
                events as u64 * u64::from(iterations)
            )
            .into());
        }
    }
    let base = runs[0].summary();
    println!(
        "{events} distinct safe-mode subscribe events x {iterations} iterations, one thread each ({} course scans per pass)\n",
        workload.expected_signups()
    );
    println!(
        "| implementation | events/s per core (CPU time) | events/s (wall) | p50 | p99 | livenotify is × faster (CPU) |"
    );
    println!("|---|---|---|---|---|---|");
    for run in &runs {
        let s = run.summary();
        println!(
            "| {} | {:.0} | {:.0} | {:.1} µs | {:.1} µs | {:.1} |",
            run.name,
            s.per_cpu_second,
            s.per_wall_second,
            s.p50_us,
            s.p99_us,
            base.per_cpu_second / s.per_cpu_second
        );
    }
    Ok(())
}

fn run_rust(workload: &Workload, iterations: u32) -> Result<Run, Box<dyn std::error::Error>> {
    let path = CallbackPath::new(workload)?;
    let mut latencies = Vec::with_capacity(workload.events.len() * iterations as usize);
    let (mut signups, mut bytes) = (0u64, 0usize);
    let cpu0 = thread_cpu_ns();
    let wall0 = Instant::now();
    for _ in 0..iterations {
        for event in &workload.events {
            let t = Instant::now();
            let outcome = path.handle(event)?;
            latencies.push(t.elapsed().as_nanos() as u64);
            signups += u64::from(outcome.signup);
            bytes += outcome.reply.len() + outcome.dedupe_key.len();
        }
    }
    let wall_ns = wall0.elapsed().as_nanos() as u64;
    let cpu_ns = thread_cpu_ns().saturating_sub(cpu0);
    // Keeps the replies observable so the optimiser cannot drop the work.
    std::hint::black_box(bytes);
    Ok(Run {
        name: format!(
            "livenotify {} (Rust, {})",
            env!("CARGO_PKG_VERSION"),
            if cfg!(debug_assertions) {
                "debug build: not a figure"
            } else {
                "release"
            }
        ),
        events: latencies.len() as u64,
        signups,
        wall_ns,
        cpu_ns,
        latencies_ns: latencies,
    })
}
