//! Benchmarks of livenotify that are not part of the test command (`make bench`); their smoke
//! versions are (`make bench-smoke`, unit tests here).

pub mod callback_path;
pub mod latency;
pub mod peers;
pub mod runtime_api;
pub mod workload;
