//! Benchmark: the follower-sync engine over 1,000,000 sandbox followers.
//!
//! WeChat is the real sandbox over HTTP (in this process); storage is an in-process counting
//! stand-in for DynamoDB and S3 (moto cannot take a million writes in reasonable time), so the
//! wall time excludes DynamoDB and S3 latency. It counts the requests the real storage would make.
//!
//! `make bench-sync` (or `cargo run -p follower-sync --example bench_sync -- [followers]`).

use follower_sync::directory::FollowerDirectory;
use follower_sync::engine::{Limits, Stop, advance};
use follower_sync::storage::{StorageError, SyncStorage};
use livenotify::domain::{AccountId, Follower, SyncRun, SyncTrigger, Timestamp, now};
use livenotify::sync::{Snapshot, fingerprint};
use livenotify::wechat::{
    AppCredentials, FollowerPage, Lang, UserInfo, WechatClient, WechatEndpoints, WechatError,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Heap bytes in use and their peak, to tell the engine's memory from the stand-ins'.
struct CountingAlloc;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// WeChat with one token fetched up front (the token service needs DynamoDB).
struct SandboxDirectory {
    client: WechatClient,
    token: String,
}

impl FollowerDirectory for SandboxDirectory {
    async fn list(&self, next_openid: Option<&str>) -> Result<FollowerPage, WechatError> {
        self.client.get_followers(&self.token, next_openid).await
    }

    async fn details(&self, openids: &[String]) -> Result<Vec<UserInfo>, WechatError> {
        self.client
            .batch_get_user_info(&self.token, openids, Lang::ZhCn)
            .await
    }
}

/// DynamoDB + S3 stand-in: keeps fingerprints and pages, counts the requests the real one makes.
#[derive(Default)]
struct CountingStorage {
    followers: Mutex<HashMap<String, (u64, bool)>>,
    pages: Mutex<HashMap<u64, String>>,
    batch_writes: AtomicU64,
    updates: AtomicU64,
    unsubscribes: AtomicU64,
    run_saves: AtomicU64,
    page_puts: AtomicU64,
    page_gets: AtomicU64,
    snapshot_items: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SyncStorage for CountingStorage {
    async fn snapshot(&self, _account: &AccountId) -> Result<Snapshot, StorageError> {
        let mut snapshot = Snapshot::new();
        let followers = lock(&self.followers);
        for (openid, (fp, subscribed)) in followers.iter() {
            snapshot.record(openid, *fp, *subscribed);
        }
        self.snapshot_items
            .fetch_add(followers.len() as u64, Ordering::Relaxed);
        Ok(snapshot)
    }

    async fn add_followers(&self, followers: &[Follower]) -> Result<u64, StorageError> {
        let requests = followers.len().div_ceil(25) as u64;
        self.batch_writes.fetch_add(requests, Ordering::Relaxed);
        let mut map = lock(&self.followers);
        for f in followers {
            map.insert(f.openid.clone(), (fingerprint(f), f.subscribed));
        }
        Ok(requests)
    }

    async fn update_follower(&self, f: &Follower) -> Result<(), StorageError> {
        self.updates.fetch_add(1, Ordering::Relaxed);
        lock(&self.followers).insert(f.openid.clone(), (fingerprint(f), f.subscribed));
        Ok(())
    }

    async fn mark_unsubscribed(
        &self,
        _account: &AccountId,
        openid: &str,
        _at: Timestamp,
    ) -> Result<bool, StorageError> {
        self.unsubscribes.fetch_add(1, Ordering::Relaxed);
        let mut map = lock(&self.followers);
        Ok(match map.get_mut(openid) {
            Some(entry) if entry.1 => {
                // The stored fields now say "not subscribed": recompute as the table would.
                entry.1 = false;
                entry.0 = 0;
                true
            }
            _ => false,
        })
    }

    async fn set_follower_total(&self, _: &AccountId, _total: u64) -> Result<(), StorageError> {
        // One UpdateItem on the account: counted with the run's own writes.
        self.run_saves.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn save_run(&self, _run: &SyncRun) -> Result<(), StorageError> {
        self.run_saves.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn save_page(
        &self,
        _run: &SyncRun,
        number: u64,
        openids: &[String],
    ) -> Result<(), StorageError> {
        self.page_puts.fetch_add(1, Ordering::Relaxed);
        lock(&self.pages).insert(number, openids.join("\n"));
        Ok(())
    }

    async fn load_page(&self, _run: &SyncRun, number: u64) -> Result<Vec<String>, StorageError> {
        self.page_gets.fetch_add(1, Ordering::Relaxed);
        Ok(lock(&self.pages)
            .get(&number)
            .map(|p| {
                p.split('\n')
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn delete_pages(&self, _run: &SyncRun) -> Result<(), StorageError> {
        lock(&self.pages).clear();
        Ok(())
    }
}

impl CountingStorage {
    fn take_counts(&self) -> [u64; 7] {
        [
            &self.batch_writes,
            &self.updates,
            &self.unsubscribes,
            &self.run_saves,
            &self.page_puts,
            &self.page_gets,
            &self.snapshot_items,
        ]
        .map(|c| c.swap(0, Ordering::Relaxed))
    }
}

fn vm_hwm_mb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "n/a".into())
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_048_576.0
}

async fn sync_once(
    label: &str,
    sandbox: &wechat_sandbox::Sandbox,
    directory: &SandboxDirectory,
    storage: &CountingStorage,
    account: &AccountId,
) {
    sandbox.reset_counters();
    let baseline = IN_USE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let mut run = SyncRun::start(account.clone(), SyncTrigger::Manual, now());
    let started = Instant::now();
    let stop = advance(
        directory,
        storage,
        &mut run,
        &Limits::with_budget(Duration::from_secs(3600)),
    )
    .await
    .expect("in-memory storage does not fail");
    let elapsed = started.elapsed();
    assert!(matches!(stop, Stop::Completed), "{stop:?}");
    let engine_peak = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
    let [batch, updates, unsubs, saves, puts, gets, snapshot_items] = storage.take_counts();
    let c = &run.counts;
    println!("## {label}");
    println!("wall time                : {:.1} s", elapsed.as_secs_f64());
    println!(
        "counts                   : total {} added {} updated {} unsubscribed {}",
        c.total, c.added, c.updated, c.unsubscribed
    );
    println!(
        "WeChat calls             : {} (user/get {}, batchget {}; engine counted {}, retries {})",
        sandbox.call_count("/cgi-bin/user/get") + sandbox.call_count("/cgi-bin/user/info/batchget"),
        sandbox.call_count("/cgi-bin/user/get"),
        sandbox.call_count("/cgi-bin/user/info/batchget"),
        c.wechat_calls,
        c.wechat_retries
    );
    println!(
        "DynamoDB write requests  : {} (BatchWriteItem {batch}, UpdateItem {updates}, unsubscribe UpdateItem {unsubs}) + {saves} sync-run PutItem / account UpdateItem",
        batch + updates + unsubs
    );
    println!(
        "DynamoDB snapshot read   : {snapshot_items} items (~{} Query requests at 1 MB / ~300 B items)",
        (snapshot_items * 300).div_ceil(1_048_576)
    );
    println!("S3 requests              : {puts} PutObject, {gets} GetObject, 1 DeleteObjects");
    println!(
        "heap peak above baseline : {:.1} MB (baseline {:.1} MB: sandbox + stand-in table)",
        mb(engine_peak),
        mb(baseline)
    );
    println!("process peak RSS (VmHWM) : {}", vm_hwm_mb());
    println!();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let appid = "wxbenchsync00001";
    let sandbox = wechat_sandbox::Sandbox::new(wechat_sandbox::Settings::default());
    sandbox.add_account(wechat_sandbox::SandboxAccount::service(appid).in_open_platform("medu"));
    sandbox.add_follower_count(appid, n)?;
    let base = sandbox.spawn_local().await?;
    let client = WechatClient::new(WechatEndpoints::new(&base, format!("{base}/wecom"), &base))?;
    let secret = sandbox.account(appid).ok_or("account")?.secret;
    let token = client
        .fetch_token(&AppCredentials::new(appid, secret))
        .await?
        .access_token;
    let directory = SandboxDirectory { client, token };
    let storage = CountingStorage::default();
    let account = AccountId::new(appid)?;
    println!("# follower-sync benchmark: {n} followers\n");
    sync_once(
        "first sync (empty table)",
        &sandbox,
        &directory,
        &storage,
        &account,
    )
    .await;
    let churn = (n / 100).max(1);
    sandbox.churn(appid, churn, churn, churn / 2)?;
    sync_once(
        &format!(
            "nightly sync after churn ({churn} follow, {churn} unfollow, {} change)",
            churn / 2
        ),
        &sandbox,
        &directory,
        &storage,
        &account,
    )
    .await;
    Ok(())
}
