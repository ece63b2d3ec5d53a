//! A token bucket: at most `rate` operations per second on average, bursts up to `burst`.
//!
//! One bucket limits one process (one Lambda instance). A per-account limit across instances
//! comes from capping how many instances run (the event-source mapping's maximum
//! concurrency): account rate = instances x per-instance rate.
//!
//! It is kept as a schedule (GCRA, the "generic cell rate algorithm"): each caller reserves the
//! next slot, 1/rate after the previous one, and sleeps until it. A waiter that wakes late
//! (timer granularity, a busy scheduler) therefore does not delay the slots after it. Measuring
//! from the moment a sleeper woke instead lost ~2 ms per token: 4.5 % of a 25/s limit and
//! ~9 % of 50/s (the 2026-11-24 push benchmark).

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// An async token bucket shared by the tasks of one process.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    schedule: Mutex<Schedule>,
}

/// The slots handed out so far.
#[derive(Debug)]
struct Schedule {
    /// Time between two tokens.
    interval: Duration,
    /// How far ahead of the schedule a caller may go: (burst - 1) intervals.
    tolerance: Duration,
    /// Theoretical arrival time of the next token: the previous slot + `interval`.
    next: Instant,
}

impl Schedule {
    /// Reserves the next token for a caller arriving at `now`; returns when it may be used.
    fn reserve(&mut self, now: Instant) -> Instant {
        // Idle time is not banked beyond the burst: an empty schedule restarts at `now`.
        let due = self.next.max(now);
        let at = due.checked_sub(self.tolerance).map_or(now, |t| t.max(now));
        self.next = due + self.interval;
        at
    }
}

impl TokenBucket {
    /// `rate` tokens per second (> 0), holding at most `burst` (>= 1). Starts with one token,
    /// so a cold start never bursts above the rate.
    pub fn new(rate: f64, burst: u32) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let interval = Duration::from_secs_f64(1.0 / rate);
        let tolerance = interval * (burst.max(1) - 1);
        Self {
            rate,
            schedule: Mutex::new(Schedule {
                interval,
                tolerance,
                // As if the last `burst - 1` slots had just been used.
                next: Instant::now() + tolerance,
            }),
        }
    }

    /// Tokens per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Waits until a token is free and takes it. Slots are handed out in arrival order, so
    /// no waiter starves; a waiter that gives up (its future dropped) leaves its slot unused.
    pub async fn acquire(&self) {
        let at = self
            .schedule
            .lock()
            // A poisoned lock only means a panic elsewhere; the schedule is still consistent.
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .reserve(Instant::now());
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn holds_the_rate_under_contention() {
        let bucket = Arc::new(TokenBucket::new(100.0, 1));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let b = bucket.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    b.acquire().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // 400 tokens at 100/s: the first is free, the other 399 take 3.99 s.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((3.98..=4.0).contains(&elapsed), "{elapsed}");
    }

    fn schedule(rate: f64, burst: u32, start: Instant) -> Schedule {
        let bucket = TokenBucket::new(rate, burst);
        let mut s = bucket.schedule.into_inner().unwrap();
        s.next = start + s.tolerance;
        s
    }

    #[test]
    fn late_waiters_do_not_delay_the_slots_after_them() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = schedule(25.0, 1, t0);
        // Three callers queue at once: slots every 40 ms.
        assert_eq!(s.reserve(t0), t0);
        assert_eq!(s.reserve(t0), t0 + ms(40));
        assert_eq!(s.reserve(t0), t0 + ms(80));
        // The third woke 3 ms late and asks again at 83 ms: its next slot is still 120 ms.
        assert_eq!(s.reserve(t0 + ms(83)), t0 + ms(120));
        assert_eq!(s.reserve(t0 + ms(83)), t0 + ms(160));
    }

    #[test]
    fn idle_time_is_not_banked_beyond_the_burst() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = schedule(25.0, 1, t0);
        assert_eq!(s.reserve(t0), t0);
        // Idle for a second: one token now, then the rate again.
        let later = t0 + ms(1000);
        assert_eq!(s.reserve(later), later);
        assert_eq!(s.reserve(later), later + ms(40));
        let mut b = schedule(10.0, 3, t0);
        // A fresh bucket holds one token, not the burst.
        assert_eq!(b.reserve(t0), t0);
        assert_eq!(b.reserve(t0), t0 + ms(100));
        // After idling it holds the burst: 3 at once, then 10/s.
        let later = t0 + ms(5000);
        for _ in 0..3 {
            assert_eq!(b.reserve(later), later);
        }
        assert_eq!(b.reserve(later), later + ms(100));
    }

    #[tokio::test(start_paused = true)]
    async fn burst_is_capped_after_idling() {
        let bucket = TokenBucket::new(10.0, 5);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        for _ in 0..15 {
            bucket.acquire().await;
        }
        // 5 banked tokens, then 10 more at 10/s.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((0.99..=1.01).contains(&elapsed), "{elapsed}");
    }
}
