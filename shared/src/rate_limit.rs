//! A token bucket: at most `rate` operations per second on average, bursts up to `burst`.
//!
//! One bucket limits one process (one Lambda instance). A per-account limit across instances
//! comes from capping how many instances run (the event-source mapping's maximum
//! concurrency): account rate = instances x per-instance rate.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// An async token bucket shared by the tasks of one process.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    updated: Instant,
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
        Self {
            rate,
            burst: f64::from(burst.max(1)),
            state: Mutex::new(State {
                tokens: 1.0,
                updated: Instant::now(),
            }),
        }
    }

    /// Tokens per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Waits until a token is free and takes it. Waiters are served in arrival order (the
    /// lock is fair), so none starves.
    pub async fn acquire(&self) {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(state.updated).as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.rate).min(self.burst);
        state.updated = now;
        if state.tokens < 1.0 {
            // Sleep holding the lock: the next waiter's turn comes only after ours.
            let wait = Duration::from_secs_f64((1.0 - state.tokens) / self.rate);
            tokio::time::sleep(wait).await;
            state.tokens = 1.0;
            state.updated = Instant::now();
        }
        state.tokens -= 1.0;
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
