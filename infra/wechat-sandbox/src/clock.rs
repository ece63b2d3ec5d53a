//! The sandbox's notion of "now": wall time plus an offset tests can advance, so token
//! expiry, the 48 h customer-service window and daily quotas are testable without waiting.

use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

/// Largest total shift of the sandbox clock (100 years).
pub const MAX_OFFSET_DAYS: i64 = 36_525;

/// Wall clock shifted by a test-controlled offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: TimeDelta,
}

impl Clock {
    /// Current sandbox time.
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        now.checked_add_signed(self.offset).unwrap_or(now)
    }

    /// Current sandbox time in Unix seconds (WeChat's `CreateTime`, `subscribe_time`...).
    pub fn now_secs(&self) -> i64 {
        self.now().timestamp()
    }

    /// Moves sandbox time forward, by at most [`MAX_OFFSET_DAYS`] in total (dates far beyond
    /// that overflow date arithmetic and mean nothing to WeChat).
    pub fn advance(&mut self, by: Duration) {
        let max = TimeDelta::days(MAX_OFFSET_DAYS);
        let delta = TimeDelta::from_std(by).unwrap_or(max);
        self.offset = self.offset.checked_add(&delta).unwrap_or(max).min(max);
    }

    /// How far sandbox time is ahead of the wall clock.
    pub fn offset(&self) -> TimeDelta {
        self.offset
    }
}

/// Seconds in a [`Duration`] as `i64`, saturating.
pub fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The WeChat "day" (Asia/Shanghai, UTC+8) a Unix time falls in; quotas reset when it changes.
pub fn china_day(unix_secs: i64) -> i64 {
    (unix_secs + 8 * 3600).div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now() {
        let mut c = Clock::default();
        let before = c.now_secs();
        c.advance(Duration::from_secs(3600));
        assert!(c.now_secs() >= before + 3600);
    }

    #[test]
    fn huge_advances_are_capped() {
        let mut c = Clock::default();
        c.advance(Duration::from_secs(u64::MAX));
        c.advance(Duration::from_secs(u64::MAX / 2));
        assert_eq!(c.offset(), TimeDelta::days(MAX_OFFSET_DAYS));
        assert!(c.now_secs() > 0);
    }

    #[test]
    fn china_day_changes_at_16_utc() {
        // 2024-01-01T15:59:59Z is 23:59:59 in Shanghai; one second later is the next day.
        let t = 1_704_124_799;
        assert_eq!(china_day(t) + 1, china_day(t + 1));
    }
}
