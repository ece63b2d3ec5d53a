//! Push statuses as seen by this instance, re-read at most once per interval per push, so
//! that every batch in flight notices a cancel within seconds without each reading the table.

use livenotify::domain::{PushId, PushStatus};
use livenotify::store::{Store, StoreError};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Recently read statuses by push.
#[derive(Debug, Default)]
pub struct StatusWatch {
    seen: Mutex<HashMap<PushId, (Instant, PushStatus)>>,
}

impl StatusWatch {
    /// The status of `push`, read from the table if the last read is older than `max_age`.
    /// Concurrent callers wait for one read (the lock is held across it).
    pub async fn status(
        &self,
        store: &Store,
        push: PushId,
        max_age: Duration,
    ) -> Result<PushStatus, StoreError> {
        let mut seen = self.seen.lock().await;
        if let Some((at, status)) = seen.get(&push)
            && at.elapsed() < max_age
        {
            return Ok(*status);
        }
        let status = store.get_push(push).await?.status;
        seen.insert(push, (Instant::now(), status));
        Ok(status)
    }
}
