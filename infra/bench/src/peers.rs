//! Runs the peer implementations (wechatpy, Node wechat-crypto) on the same workload file and
//! reads their one-line JSON reports.

use crate::latency::Run;
use std::path::Path;
use std::process::Command;

/// Why a peer run gave no result.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The interpreter could not be started.
    #[error("{program}: cannot start: {source}")]
    Start {
        /// Interpreter.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The peer exited with an error.
    #[error("{program} failed ({status}): {stderr}")]
    Failed {
        /// Interpreter.
        program: String,
        /// Exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The peer's report is not the expected JSON.
    #[error("{program}: unreadable report: {source}")]
    Report {
        /// Interpreter.
        program: String,
        /// Why.
        source: serde_json::Error,
    },
}

/// Runs `program script workload iterations` and parses its report.
pub fn run(
    program: &str,
    script: &Path,
    workload: &Path,
    iterations: u32,
) -> Result<Run, PeerError> {
    let output = Command::new(program)
        .arg(script)
        .arg(workload)
        .arg(iterations.to_string())
        .output()
        .map_err(|source| PeerError::Start {
            program: program.to_string(),
            source,
        })?;
    if !output.status.success() {
        return Err(PeerError::Failed {
            program: program.to_string(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    serde_json::from_slice(&output.stdout).map_err(|source| PeerError::Report {
        program: program.to_string(),
        source,
    })
}

/// CPU time of the calling thread in nanoseconds (Linux `/proc/thread-self/schedstat`), so
/// the Rust run is measured like the peers' process CPU clocks; 0 where unavailable.
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}
