//! One invocation's share of a follower sync: list WeChat's pages, fetch details 100 at a
//! time, write what changed, and finally mark whoever left as unsubscribed. Progress is saved
//! in the run after every page (and whenever it stops), so the next invocation resumes there.

use crate::directory::FollowerDirectory;
use crate::storage::{StorageError, SyncStorage};
use livenotify::domain::{Follower, SyncRun, now};
use livenotify::sync::{Change, Snapshot, fingerprint, reconcile};
use livenotify::wechat::api::user::{BATCHGET_MAX, FOLLOWER_PAGE_MAX};
use livenotify::wechat::{ErrorAction, WechatError};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How long an invocation may work and how it treats a busy WeChat.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Stop (saving the checkpoint) once this instant has passed.
    pub deadline: Instant,
    /// Attempts of one call while WeChat answers "busy" before the invocation gives up.
    pub busy_attempts: u32,
    /// First backoff after "busy"; doubles each attempt.
    pub busy_backoff: Duration,
}

impl Limits {
    /// `budget` from now, 4 attempts from 500 ms on.
    pub fn with_budget(budget: Duration) -> Self {
        Self {
            deadline: Instant::now() + budget,
            busy_attempts: 4,
            busy_backoff: Duration::from_millis(500),
        }
    }

    /// Past the deadline, once this invocation has done at least one step (a page listed or
    /// a batch reconciled), so even a tiny budget makes progress.
    fn out_of_time(&self, worked: bool) -> bool {
        worked && Instant::now() >= self.deadline
    }
}

/// Why an invocation stopped.
#[derive(Debug)]
pub enum Stop {
    /// The table equals WeChat's list.
    Completed,
    /// The time budget is used up; continue from the checkpoint.
    OutOfTime,
    /// WeChat stayed busy through every retry; continue later.
    Busy(WechatError),
    /// WeChat's daily quota is used up; continue with the next run.
    Quota(WechatError),
    /// Every further call would fail the same way (credentials, IP whitelist, bad request).
    Failed(WechatError),
}

/// Works on `run` until it completes, runs out of time or WeChat stops it. Store errors are
/// returned as they are; the checkpoint saved last is still valid.
pub async fn advance<D: FollowerDirectory, S: SyncStorage>(
    directory: &D,
    storage: &S,
    run: &mut SyncRun,
    limits: &Limits,
) -> Result<Stop, StorageError> {
    run.counts.invocations += 1;
    let mut snapshot = storage.snapshot(&run.account_id).await?;
    tracing::info!(run_id = %run.id, account = %run.account_id, known = snapshot.len(), "sync invocation started");
    // The page being reconciled, if this invocation already holds it.
    let mut page: Option<(u64, Vec<String>)> = None;
    let mut worked = false;
    loop {
        if run.counts.reconciled < run.counts.listed {
            let number = run.counts.pages.saturating_sub(1);
            let openids = match page.take() {
                Some((n, openids)) if n == number => openids,
                _ => storage.load_page(run, number).await?,
            };
            let stop = reconcile_page(
                directory,
                storage,
                run,
                &mut snapshot,
                &openids,
                limits,
                &mut worked,
            )
            .await?;
            storage.save_run(run).await?;
            if let Some(stop) = stop {
                return Ok(stop);
            }
            continue;
        }
        if limits.out_of_time(worked) {
            storage.save_run(run).await?;
            return Ok(Stop::OutOfTime);
        }
        if !run.listing_complete() {
            let next = run.checkpoint.clone();
            let listed = match call(run, limits, || directory.list(next.as_deref())).await {
                Ok(listed) => listed,
                Err(stop) => {
                    storage.save_run(run).await?;
                    return Ok(stop);
                }
            };
            let number = run.counts.pages;
            storage.save_page(run, number, &listed.openids).await?;
            let count = listed.openids.len();
            run.counts.pages += 1;
            run.counts.listed += count as u64;
            run.counts.total = listed.total;
            // A short page that completes the reported total is the last: stopping here saves
            // the empty call after it. (A full page needs that call: only it proves the end.)
            let last = count < FOLLOWER_PAGE_MAX && run.counts.listed >= listed.total;
            run.checkpoint = listed.next_openid.filter(|_| !last);
            storage.save_run(run).await?;
            tracing::info!(run_id = %run.id, page = number, count, total = listed.total, "follower page listed");
            page = Some((number, listed.openids));
            worked = true;
            continue;
        }
        return sweep(storage, run, &mut snapshot, limits, worked).await;
    }
}

/// Fetches details for the rest of the current page and writes what changed. `Some(stop)` if
/// it had to stop before the page's end.
async fn reconcile_page<D: FollowerDirectory, S: SyncStorage>(
    directory: &D,
    storage: &S,
    run: &mut SyncRun,
    snapshot: &mut Snapshot,
    openids: &[String],
    limits: &Limits,
    worked: &mut bool,
) -> Result<Option<Stop>, StorageError> {
    let page_start = run.counts.listed.saturating_sub(openids.len() as u64);
    let offset =
        usize::try_from(run.counts.reconciled.saturating_sub(page_start)).unwrap_or(usize::MAX);
    for chunk in openids
        .get(offset..)
        .unwrap_or_default()
        .chunks(BATCHGET_MAX)
    {
        if limits.out_of_time(*worked) {
            return Ok(Some(Stop::OutOfTime));
        }
        let infos = match call(run, limits, || directory.details(chunk)).await {
            Ok(infos) => infos,
            Err(stop) => return Ok(Some(stop)),
        };
        let at = now();
        let mut added: Vec<Follower> = Vec::new();
        // Counted only once the chunk is written, so a chunk redone after an error counts once.
        let mut tally = livenotify::domain::SyncCounts::default();
        for info in &infos {
            match reconcile(&run.account_id, snapshot.get(&info.openid), info, at) {
                Change::Add(follower) => {
                    snapshot.record(&follower.openid, fingerprint(&follower), true);
                    tally.added += 1;
                    added.push(follower);
                }
                Change::Resubscribe(follower) | Change::Update(follower) => {
                    let was_subscribed =
                        snapshot.get(&follower.openid).is_some_and(|k| k.subscribed);
                    storage.update_follower(&follower).await?;
                    tally.write_requests += 1;
                    if was_subscribed {
                        tally.updated += 1;
                    } else {
                        tally.added += 1;
                    }
                    snapshot.record(&follower.openid, fingerprint(&follower), true);
                }
                Change::Unsubscribe => {
                    tally.write_requests += 1;
                    if storage
                        .mark_unsubscribed(&run.account_id, &info.openid, at)
                        .await?
                    {
                        tally.unsubscribed += 1;
                    }
                    if let Some(known) = snapshot.get(&info.openid).copied() {
                        snapshot.record(&info.openid, known.fingerprint, false);
                    }
                }
                Change::Unchanged => {}
            }
        }
        tally.write_requests += storage.add_followers(&added).await?;
        run.counts.added += tally.added;
        run.counts.updated += tally.updated;
        run.counts.unsubscribed += tally.unsubscribed;
        run.counts.write_requests += tally.write_requests;
        run.counts.reconciled += chunk.len() as u64;
        *worked = true;
    }
    Ok(None)
}

/// WeChat's list is complete: whoever is stored as following but was not listed unfollowed.
/// Idempotent, so an interrupted sweep simply runs again.
async fn sweep<S: SyncStorage>(
    storage: &S,
    run: &mut SyncRun,
    snapshot: &mut Snapshot,
    limits: &Limits,
    worked: bool,
) -> Result<Stop, StorageError> {
    for number in 0..run.counts.pages {
        for openid in storage.load_page(run, number).await? {
            snapshot.mark_seen(&openid);
        }
    }
    let at = now();
    for (i, openid) in snapshot.unseen_subscribed().into_iter().enumerate() {
        // Checked every 100 writes, like a batchget chunk: each invocation makes real progress.
        if i % BATCHGET_MAX == 0 && limits.out_of_time(worked || i > 0) {
            storage.save_run(run).await?;
            return Ok(Stop::OutOfTime);
        }
        run.counts.write_requests += 1;
        if storage
            .mark_unsubscribed(&run.account_id, &openid, at)
            .await?
        {
            run.counts.unsubscribed += 1;
        }
    }
    // WeChat's total replaces the count the callbacks keep, which drifts when events are lost.
    storage
        .set_follower_total(&run.account_id, run.counts.total)
        .await?;
    storage.save_run(run).await?;
    Ok(Stop::Completed)
}

/// One WeChat call, counted, retried with exponential backoff while WeChat is busy (the token
/// service already refreshed a rejected token once).
async fn call<T, F, Fut>(run: &mut SyncRun, limits: &Limits, api: F) -> Result<T, Stop>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, WechatError>>,
{
    let mut backoff = limits.busy_backoff;
    let mut attempt = 1;
    loop {
        run.counts.wechat_calls += 1;
        let err = match api().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        match err.action() {
            ErrorAction::RetryLater
                if attempt < limits.busy_attempts && Instant::now() + backoff < limits.deadline =>
            {
                tracing::warn!(run_id = %run.id, attempt, error = %err, "WeChat busy, backing off");
                run.counts.wechat_retries += 1;
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
            ErrorAction::RetryLater => return Err(Stop::Busy(err)),
            ErrorAction::QuotaExhausted => return Err(Stop::Quota(err)),
            _ => return Err(Stop::Failed(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SyncStorage;
    use livenotify::domain::{AccountId, SyncTrigger, Timestamp};
    use livenotify::wechat::{FollowerPage, UserInfo};
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// WeChat with `following` openids in pages of 1,000 (the last short).
    struct Directory {
        following: Vec<String>,
    }

    impl FollowerDirectory for Directory {
        async fn list(&self, next: Option<&str>) -> Result<FollowerPage, WechatError> {
            let start = next.map_or(0, |n| {
                self.following
                    .iter()
                    .position(|o| o == n)
                    .map_or(0, |i| i + 1)
            });
            let openids: Vec<String> = self
                .following
                .iter()
                .skip(start)
                .take(1_000)
                .cloned()
                .collect();
            Ok(FollowerPage {
                total: self.following.len() as u64,
                next_openid: openids.last().cloned(),
                openids,
            })
        }

        async fn details(&self, openids: &[String]) -> Result<Vec<UserInfo>, WechatError> {
            Ok(openids
                .iter()
                .map(|o| {
                    serde_json::from_value(serde_json::json!({
                        "subscribe": 1, "openid": o, "subscribe_time": 1_700_000_000, "remark": "r"
                    }))
                    .unwrap()
                })
                .collect())
        }
    }

    #[derive(Default)]
    struct Memory {
        followers: Mutex<HashMap<String, Follower>>,
        pages: Mutex<HashMap<u64, Vec<String>>>,
        total: Mutex<Option<u64>>,
    }

    impl SyncStorage for Memory {
        async fn snapshot(&self, _: &AccountId) -> Result<Snapshot, StorageError> {
            let mut s = Snapshot::new();
            self.followers
                .lock()
                .unwrap()
                .values()
                .for_each(|f| s.insert(f));
            Ok(s)
        }
        async fn add_followers(&self, followers: &[Follower]) -> Result<u64, StorageError> {
            let mut map = self.followers.lock().unwrap();
            for f in followers {
                assert!(
                    map.insert(f.openid.clone(), f.clone()).is_none(),
                    "added twice"
                );
            }
            Ok(followers.len().div_ceil(25) as u64)
        }
        async fn update_follower(&self, f: &Follower) -> Result<(), StorageError> {
            self.followers
                .lock()
                .unwrap()
                .insert(f.openid.clone(), f.clone());
            Ok(())
        }
        async fn mark_unsubscribed(
            &self,
            _: &AccountId,
            openid: &str,
            at: Timestamp,
        ) -> Result<bool, StorageError> {
            let mut map = self.followers.lock().unwrap();
            Ok(match map.get_mut(openid) {
                Some(f) if f.subscribed => {
                    f.subscribed = false;
                    f.unsubscribed_at = Some(at);
                    true
                }
                _ => false,
            })
        }
        async fn set_follower_total(&self, _: &AccountId, total: u64) -> Result<(), StorageError> {
            *self.total.lock().unwrap() = Some(total);
            Ok(())
        }
        async fn save_run(&self, _: &SyncRun) -> Result<(), StorageError> {
            Ok(())
        }
        async fn save_page(&self, _: &SyncRun, n: u64, o: &[String]) -> Result<(), StorageError> {
            self.pages.lock().unwrap().insert(n, o.to_vec());
            Ok(())
        }
        async fn load_page(&self, _: &SyncRun, n: u64) -> Result<Vec<String>, StorageError> {
            Ok(self
                .pages
                .lock()
                .unwrap()
                .get(&n)
                .cloned()
                .unwrap_or_default())
        }
        async fn delete_pages(&self, _: &SyncRun) -> Result<(), StorageError> {
            self.pages.lock().unwrap().clear();
            Ok(())
        }
    }

    fn openids(range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|i| format!("o{i:08}")).collect()
    }

    #[tokio::test]
    async fn a_run_cut_into_single_steps_ends_like_an_uninterrupted_one() {
        let account = AccountId::new("wxunit").unwrap();
        let storage = Memory::default();
        let first = Directory {
            following: openids(0..2_505),
        };
        let mut run = SyncRun::start(account.clone(), SyncTrigger::Manual, now());
        let generous = Limits::with_budget(Duration::from_secs(60));
        assert!(matches!(
            advance(&first, &storage, &mut run, &generous)
                .await
                .unwrap(),
            Stop::Completed
        ));
        assert_eq!((run.counts.added, run.counts.wechat_calls), (2_505, 3 + 26));

        // Some leave, some arrive: resumed after every single step.
        let second = Directory {
            following: openids(30..2_540),
        };
        let mut run = SyncRun::start(account, SyncTrigger::Manual, now());
        let tiny = Limits {
            deadline: Instant::now(),
            ..generous
        };
        let mut invocations = 0;
        while !matches!(
            advance(&second, &storage, &mut run, &tiny).await.unwrap(),
            Stop::Completed
        ) {
            invocations += 1;
            assert!(invocations < 1_000);
        }
        assert_eq!(
            (
                run.counts.added,
                run.counts.updated,
                run.counts.unsubscribed
            ),
            (35, 0, 30)
        );
        // 3 pages + 26 batchgets, each exactly once, however often the run was cut.
        assert_eq!(run.counts.wechat_calls, 3 + 26);
        assert!(invocations > 25);
        let table = storage.followers.lock().unwrap();
        assert_eq!(table.values().filter(|f| f.subscribed).count(), 2_510);
        assert!(!table["o00000029"].subscribed && table["o00000030"].subscribed);
        assert!(table["o00002539"].subscribed);
        assert_eq!(*storage.total.lock().unwrap(), Some(2_510));
    }
}
