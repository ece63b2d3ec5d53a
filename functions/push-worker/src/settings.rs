//! push-worker's tuning, from the environment (defaults suit the deployed template).

use livenotify::config::{ConfigError, Env};
use std::time::Duration;

/// Recipients per batch message: 0.01 SQS messages per recipient, and one counter
/// transaction per 100 recipients; small enough to finish well inside the Lambda timeout.
pub const BATCH_SIZE: usize = 100;
/// Audience items read per plan page (one checkpoint write per page).
pub const PAGE_SIZE: u32 = 1000;

/// How one worker instance sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Sends per second per account in this instance (`PUSH_RATE_PER_SECOND`). The account's
    /// total is this times the queue's maximum concurrency (template: 4).
    pub rate_per_second: f64,
    /// Sends in flight at once in this instance (`PUSH_MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
    /// Attempts per recipient for busy / network errors (`PUSH_SEND_ATTEMPTS`).
    pub send_attempts: u32,
    /// First retry delay; doubles per attempt, full jitter (`PUSH_RETRY_BASE_MS`).
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
    /// How often a running batch re-reads its push's status, so a cancel stops it
    /// (`PUSH_STATUS_CHECK_MS`).
    pub status_check: Duration,
    /// How long a batch of a paused push waits before it looks again (`PUSH_PAUSE_RECHECK_SECS`).
    pub pause_recheck: Duration,
    /// Quota pause length; unset = until 00:05 China time, when WeChat's quota resets
    /// (`PUSH_QUOTA_RESUME_SECS`).
    pub quota_resume_after: Option<Duration>,
    /// Time a plan invocation pages before handing over to a fresh one (`PUSH_PLAN_BUDGET_SECS`).
    pub plan_budget: Duration,
    /// Days a delivery record is kept (TTL).
    pub retention_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rate_per_second: 50.0,
            max_in_flight: 16,
            send_attempts: 8,
            retry_base: Duration::from_millis(200),
            retry_cap: Duration::from_secs(5),
            status_check: Duration::from_secs(1),
            pause_recheck: Duration::from_secs(300),
            quota_resume_after: None,
            plan_budget: Duration::from_secs(60),
            retention_days: 180,
        }
    }
}

impl Settings {
    /// Settings from `env`, defaults for unset variables; a malformed one is an error naming it.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let rate: f64 = env.parse_or("PUSH_RATE_PER_SECOND", d.rate_per_second)?;
        let quota: Option<u64> = match env.optional("PUSH_QUOTA_RESUME_SECS") {
            Some(_) => Some(env.parse_or("PUSH_QUOTA_RESUME_SECS", 0u64)?),
            None => None,
        };
        Ok(Self {
            rate_per_second: if rate > 0.0 { rate } else { d.rate_per_second },
            max_in_flight: env.parse_or("PUSH_MAX_IN_FLIGHT", d.max_in_flight)?.max(1),
            send_attempts: env.parse_or("PUSH_SEND_ATTEMPTS", d.send_attempts)?.max(1),
            retry_base: Duration::from_millis(env.parse_or("PUSH_RETRY_BASE_MS", 200u64)?),
            retry_cap: d.retry_cap,
            status_check: Duration::from_millis(env.parse_or("PUSH_STATUS_CHECK_MS", 1000u64)?),
            pause_recheck: Duration::from_secs(env.parse_or("PUSH_PAUSE_RECHECK_SECS", 300u64)?),
            quota_resume_after: quota.map(Duration::from_secs),
            plan_budget: Duration::from_secs(env.parse_or("PUSH_PLAN_BUDGET_SECS", 60u64)?),
            retention_days: d.retention_days,
        })
    }

    /// The delay before retry number `attempt` (0-based): exponential, capped, full jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.retry_cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random_range(0..=millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_checks_variables() {
        let pairs = [
            ("PUSH_RATE_PER_SECOND", "120.5"),
            ("PUSH_QUOTA_RESUME_SECS", "5"),
        ];
        let s = Settings::from_env(&Env::from_pairs(&pairs)).unwrap();
        assert_eq!(s.rate_per_second, 120.5);
        assert_eq!(s.quota_resume_after, Some(Duration::from_secs(5)));
        assert_eq!(s.max_in_flight, 16);
        let bad = [("PUSH_MAX_IN_FLIGHT", "many")];
        let err = Settings::from_env(&Env::from_pairs(&bad)).unwrap_err();
        assert!(err.to_string().contains("PUSH_MAX_IN_FLIGHT"), "{err}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let s = Settings::default();
        for attempt in 0..20 {
            let ceiling = (200u64 << attempt.min(16)).min(5000);
            assert!(s.backoff(attempt).as_millis() as u64 <= ceiling);
        }
    }
}
