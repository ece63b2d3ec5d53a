//! One implementation's run: throughput and latency percentiles.

use serde::{Deserialize, Serialize};

/// What a run reports (the Rust run, or a peer's JSON line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// Implementation and versions.
    pub name: String,
    /// Events handled.
    pub events: u64,
    /// Events recognised as course sign-ups (must equal the workload's).
    pub signups: u64,
    /// Wall time of the loop.
    pub wall_ns: u64,
    /// CPU time of the process during the loop.
    pub cpu_ns: u64,
    /// Per-event wall time.
    pub latencies_ns: Vec<u64>,
}

/// The summary that goes into BENCHMARKS.md.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Events per CPU-second (one thread, so per core).
    pub per_cpu_second: f64,
    /// Events per wall-second.
    pub per_wall_second: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
}

impl Run {
    /// Throughput and percentiles (nearest-rank).
    pub fn summary(&self) -> Summary {
        let mut sorted = self.latencies_ns.clone();
        sorted.sort_unstable();
        Summary {
            per_cpu_second: rate(self.events, self.cpu_ns),
            per_wall_second: rate(self.events, self.wall_ns),
            p50_us: percentile(&sorted, 50.0) / 1000.0,
            p99_us: percentile(&sorted, 99.0) / 1000.0,
        }
    }
}

fn rate(events: u64, ns: u64) -> f64 {
    if ns == 0 {
        return 0.0;
    }
    events as f64 * 1e9 / ns as f64
}

/// Nearest-rank percentile of sorted values; 0 for none.
pub fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_and_rates() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50.0), 50.0);
        assert_eq!(percentile(&sorted, 99.0), 99.0);
        assert_eq!(percentile(&[7], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        let run = Run {
            name: "x".into(),
            events: 1000,
            signups: 0,
            wall_ns: 2_000_000_000,
            cpu_ns: 1_000_000_000,
            latencies_ns: vec![1000, 3000],
        };
        let s = run.summary();
        assert_eq!((s.per_cpu_second, s.per_wall_second), (1000.0, 500.0));
        assert_eq!((s.p50_us, s.p99_us), (1.0, 3.0));
    }
}
