//! Follower sync against moto (table, bucket, queues) and the WeChat sandbox over HTTP.

use follower_sync::engine::Limits;
use follower_sync::{Deps, Next, process};
use livenotify::domain::{AccountId, Follower, SyncRun, SyncRunStatus, SyncTrigger};
use livenotify::jobs::SyncJob;
use livenotify::store::PageRequest;
use livenotify_tests::TestStack;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use wechat_sandbox::{EncryptionMode, Fault, Sandbox, SandboxAccount, Settings};

const USER_GET: &str = "/cgi-bin/user/get";
const BATCHGET: &str = "/cgi-bin/user/info/batchget";

async fn stack(page_size: usize) -> TestStack {
    TestStack::with_sandbox(Sandbox::new(Settings {
        user_get_page_size: page_size,
        ..Settings::default()
    }))
    .await
}

async fn official_account(stack: &TestStack, appid: &str, followers: usize) -> AccountId {
    let account = stack
        .add_account(
            SandboxAccount::service(appid).in_open_platform("medu"),
            EncryptionMode::Plaintext,
        )
        .await;
    stack.sandbox.add_follower_count(appid, followers).unwrap();
    account.id
}

fn deps(stack: &TestStack) -> Deps {
    Deps {
        platform: stack.platform.clone(),
    }
}

fn generous() -> Limits {
    Limits::with_budget(Duration::from_secs(300))
}

/// Runs a job and its continuations back to back (as the queue would, without the delays);
/// returns the final status.
async fn run_job(
    deps: &Deps,
    mut job: SyncJob,
    limits: impl Fn() -> Limits,
) -> Option<SyncRunStatus> {
    for _ in 0..10_000 {
        match process(deps, job, limits()).await.expect("sync job") {
            Next::Continue(next, _) => job = next,
            Next::Done(status) => return status,
        }
    }
    panic!("the sync did not end");
}

fn manual(account: &AccountId) -> SyncJob {
    SyncJob::Account {
        account_id: account.clone(),
        run_id: None,
        trigger: SyncTrigger::Manual,
    }
}

async fn latest_run(stack: &TestStack, account: &AccountId) -> SyncRun {
    stack
        .store()
        .list_sync_runs(account, &PageRequest::first(1))
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .expect("a sync run")
}

async fn stored(stack: &TestStack, account: &AccountId) -> HashMap<String, Follower> {
    let mut all = HashMap::new();
    stack
        .store()
        .for_each_follower(account, |f| {
            all.insert(f.openid.clone(), f);
        })
        .await
        .unwrap();
    all
}

/// The table holds exactly WeChat's followers with WeChat's fields, and everyone who left
/// is kept as unsubscribed.
async fn assert_table_matches_wechat(stack: &TestStack, account: &AccountId) {
    let table = stored(stack, account).await;
    let people = stack
        .sandbox
        .followers(account.as_str(), 0, usize::MAX, false);
    let mut following = 0;
    for person in &people {
        let row = table.get(&person.openid);
        if person.subscribe == 1 {
            following += 1;
            let row = row.unwrap_or_else(|| panic!("{} missing", person.openid));
            assert!(row.subscribed, "{} should follow", person.openid);
            assert_eq!(row.remark, person.remark, "{}", person.openid);
            assert_eq!(row.tag_ids, person.tagid_list, "{}", person.openid);
            assert_eq!(row.unionid, person.unionid, "{}", person.openid);
            assert_eq!(
                row.subscribe_time.map(|t| t.timestamp()),
                Some(i64::from(person.subscribe_time))
            );
        } else if let Some(row) = row {
            assert!(
                !row.subscribed,
                "{} left but is stored as following",
                person.openid
            );
            assert!(row.unsubscribed_at.is_some());
        }
    }
    assert_eq!(
        table.values().filter(|f| f.subscribed).count(),
        following,
        "no extra followers"
    );
    assert!(table.len() <= people.len());
}

/// Syncs `n` followers, applies churn, syncs again (`page`, the sandbox's `user/get` page size,
/// is a multiple of 100 like WeChat's 10,000, so batchget chunks fill up); checks the table, the counts, the WeChat
/// calls (the minimum) and the DynamoDB writes (only what changed) of both runs.
async fn churn_case(
    appid: &str,
    page: usize,
    n: usize,
    follow: usize,
    unfollow: usize,
    change: usize,
) {
    let stack = stack(page).await;
    let deps = deps(&stack);
    let account = official_account(&stack, appid, n).await;
    let n64 = n as u64;
    // Pages: a last page shorter than WeChat's 10,000 that completes the total ends the walk;
    // a full one needs one more (empty) call to prove the end.
    let pages_for = |total: u64| {
        total.div_ceil(page as u64) + u64::from(page == 10_000 && total.is_multiple_of(10_000))
    };
    let pages = pages_for(n64);
    let batchgets = n64.div_ceil(100);

    let started = Instant::now();
    let status = run_job(&deps, manual(&account), generous).await;
    eprintln!("first sync of {n}: {:?}", started.elapsed());
    assert_eq!(status, Some(SyncRunStatus::Completed));
    let first = latest_run(&stack, &account).await;
    assert_eq!(
        (
            first.counts.total,
            first.counts.added,
            first.counts.updated,
            first.counts.unsubscribed
        ),
        (n64, n64, 0, 0)
    );
    assert_eq!(stack.sandbox.call_count_for(USER_GET, appid), pages);
    assert_eq!(stack.sandbox.call_count_for(BATCHGET, appid), batchgets);
    assert_eq!(first.counts.wechat_calls, pages + batchgets);
    // BatchWriteItem takes 25 items; every batchget chunk of 100 is 4 requests.
    assert_eq!(
        first.counts.write_requests,
        n64 / 100 * 4 + (n64 % 100).div_ceil(25)
    );
    assert!(first.finished_at.is_some());
    assert_table_matches_wechat(&stack, &account).await;

    let churn = stack
        .sandbox
        .churn(appid, follow, unfollow, change)
        .unwrap();
    stack.sandbox.reset_counters();
    let started = Instant::now();
    let status = run_job(&deps, manual(&account), generous).await;
    eprintln!("churn sync of {n}: {:?}", started.elapsed());
    assert_eq!(status, Some(SyncRunStatus::Completed));
    let second = latest_run(&stack, &account).await;
    assert_ne!(second.id, first.id);
    let total = (n + follow - unfollow) as u64;
    assert_eq!(
        (
            second.counts.total,
            second.counts.added,
            second.counts.updated,
            second.counts.unsubscribed
        ),
        (total, follow as u64, change as u64, unfollow as u64)
    );
    let pages = pages_for(total);
    assert_eq!(stack.sandbox.call_count_for(USER_GET, appid), pages);
    assert_eq!(
        stack.sandbox.call_count_for(BATCHGET, appid),
        total.div_ceil(100)
    );
    // Only what changed is written: new followers in batches (they come last in WeChat's
    // list, so they fill whole batches), one update per change, one per unfollow.
    assert_eq!(
        second.counts.write_requests,
        (follow as u64).div_ceil(25) + change as u64 + unfollow as u64
    );
    assert_table_matches_wechat(&stack, &account).await;
    let table = stored(&stack, &account).await;
    for openid in &churn.unfollowed {
        assert!(!table[openid].subscribed, "history kept, not deleted");
    }
    for openid in &churn.changed {
        assert!(table[openid].remark.starts_with("remark-"));
    }

    // Nothing changed: a third run reads everything and writes nothing.
    let status = run_job(&deps, manual(&account), generous).await;
    assert_eq!(status, Some(SyncRunStatus::Completed));
    let third = latest_run(&stack, &account).await;
    assert_eq!(third.counts.write_requests, 0);
    stack.shutdown().await;
}

/// A quick version of the case below (small pages, so several pages and partial batches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_between_runs_gives_exactly_wechats_table_with_minimum_calls() {
    churn_case("wxsyncchurn00001", 200, 600, 40, 40, 20).await;
}

/// The size: 25,000 followers, 1,000 follow / 1,000 unfollow / 500 change, WeChat's
/// page size of 10,000. Through moto this is the suite's longest test (~4-8 minutes: three
/// runs, each reading the 25,000-item snapshot; see BENCHMARKS.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_of_25000_followers_gives_exactly_wechats_table_with_minimum_calls() {
    churn_case("wxsyncchurn25000", 10_000, 25_000, 1_000, 1_000, 500).await;
}

/// A tiny LCG: random fault positions, reproducible from the printed seed.
fn positions(seed: u64, below: u64, n: usize) -> Vec<u64> {
    let mut x = seed;
    let mut out: Vec<u64> = (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % below
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_runs_resume_to_the_same_table() {
    let stack = stack(100).await;
    let deps = deps(&stack);
    let appid = "wxsyncresume0001";
    let account = official_account(&stack, appid, 300).await;
    assert_eq!(
        run_job(&deps, manual(&account), generous).await,
        Some(SyncRunStatus::Completed)
    );
    stack.sandbox.churn(appid, 30, 20, 15).unwrap();
    stack.sandbox.reset_counters();

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("fault seed {seed}");
    // 310 followers: 4 pages of 100 (the last short) and 4 batchgets. Faults at random
    // batchgets: busy twice (beyond the retries allowed below, so the run continues later),
    // a rejected token (refreshed inside the call), and the daily quota (the run pauses).
    let busy_at = positions(seed, 4, 1)[0];
    let quota_at = positions(seed ^ 0x5eed, 4, 1)[0];
    let mut codes: Vec<i64> = Vec::new();
    for i in 0..4 {
        if i == busy_at {
            codes.extend([-1, -1]);
        }
        if i == quota_at {
            codes.push(45_009);
        }
        if i == 2 {
            codes.push(40_001);
        }
        codes.push(0);
    }
    let faulted_batchgets = (codes.iter().filter(|c| **c != 0).count()) as u64;
    stack.sandbox.inject(Fault::sequence(BATCHGET, codes));
    let page_quota = positions(seed ^ 0xface, 4, 1)[0];
    let mut list_codes = vec![0; page_quota as usize];
    list_codes.push(45_009);
    stack.sandbox.inject(Fault::sequence(USER_GET, list_codes));

    // Every invocation stops after one step (its budget is already used up).
    let tiny = || Limits {
        deadline: tokio::time::Instant::now(),
        busy_attempts: 2,
        busy_backoff: Duration::from_millis(1),
    };
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let status = run_job(&deps, manual(&account), tiny).await;
        statuses.push(status);
        if status == Some(SyncRunStatus::Completed) {
            break;
        }
    }
    assert_eq!(
        statuses,
        [
            Some(SyncRunStatus::Paused),
            Some(SyncRunStatus::Paused),
            Some(SyncRunStatus::Completed)
        ],
        "two quota stops, each resumed by the next run"
    );
    let run = latest_run(&stack, &account).await;
    assert_eq!(
        (
            run.counts.total,
            run.counts.added,
            run.counts.updated,
            run.counts.unsubscribed
        ),
        (310, 30, 15, 20)
    );
    assert!(run.counts.invocations > 5, "{:?}", run.counts);
    // With no time left an invocation does not wait out a busy WeChat: it continues later.
    assert_eq!(run.counts.wechat_retries, 0);
    assert!(run.error.is_none());
    // The minimum (4 + 4) plus exactly the calls that failed: nothing finished is redone.
    assert_eq!(stack.sandbox.call_count(USER_GET), 4 + 1);
    assert_eq!(stack.sandbox.call_count(BATCHGET), 4 + faulted_batchgets);
    // The engine counts one call where the token service retried a rejected token.
    assert_eq!(run.counts.wechat_calls, 4 + 1 + 4 + faulted_batchgets - 1);
    assert_table_matches_wechat(&stack, &account).await;
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lease_keeps_a_second_run_out_and_ended_runs_ignore_continuations() {
    let stack = stack(10_000).await;
    let deps = deps(&stack);
    let account = official_account(&stack, "wxsynclease00001", 120).await;
    let t0 = livenotify::domain::now();
    assert!(
        stack
            .store()
            .acquire_sync_lease(
                &account,
                "someone-else",
                t0,
                t0 + chrono::Duration::minutes(5)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        process(&deps, manual(&account), generous()).await.unwrap(),
        Next::Done(None)
    );
    assert!(
        stack
            .store()
            .list_sync_runs(&account, &PageRequest::first(5))
            .await
            .unwrap()
            .items
            .is_empty(),
        "no second run started"
    );
    stack
        .store()
        .release_sync_lease(&account, "someone-else")
        .await
        .unwrap();
    assert_eq!(
        run_job(&deps, manual(&account), generous).await,
        Some(SyncRunStatus::Completed)
    );
    let run = latest_run(&stack, &account).await;
    let late = SyncJob::Account {
        account_id: account.clone(),
        run_id: Some(run.id),
        trigger: SyncTrigger::Manual,
    };
    assert_eq!(
        process(&deps, late, generous()).await.unwrap(),
        Next::Done(Some(SyncRunStatus::Completed))
    );
    assert_eq!(latest_run(&stack, &account).await, run, "nothing redone");
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fatal_wechat_errors_fail_the_run_with_a_reason() {
    let stack = stack(10_000).await;
    let deps = deps(&stack);
    let account = official_account(&stack, "wxsyncfatal00001", 50).await;
    stack.sandbox.inject(Fault::always(USER_GET, 48_001));
    assert_eq!(
        run_job(&deps, manual(&account), generous).await,
        Some(SyncRunStatus::Failed)
    );
    let run = latest_run(&stack, &account).await;
    assert!(
        run.error.as_deref().unwrap_or_default().contains("48001"),
        "{:?}",
        run.error
    );
    assert!(run.finished_at.is_some());
    // The lease was given back: the next run starts at once. A busy answer is retried after
    // a backoff within the same invocation.
    stack.sandbox.clear_faults();
    stack.sandbox.inject(Fault::sequence(USER_GET, [-1]));
    let backoff = || Limits {
        busy_backoff: Duration::from_millis(5),
        ..generous()
    };
    assert_eq!(
        run_job(&deps, manual(&account), backoff).await,
        Some(SyncRunStatus::Completed)
    );
    let run = latest_run(&stack, &account).await;
    assert_eq!((run.counts.wechat_retries, run.counts.invocations), (1, 1));
    assert_eq!(run.counts.added, 50);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nightly_job_syncs_every_official_account_through_the_queue() {
    let stack = stack(10_000).await;
    let service = official_account(&stack, "wxsyncnight00001", 300).await;
    let subscription = stack
        .add_account(
            SandboxAccount::subscription("wxsyncnight00002").in_open_platform("medu"),
            EncryptionMode::Plaintext,
        )
        .await
        .id;
    stack
        .sandbox
        .add_follower_count("wxsyncnight00002", 120)
        .unwrap();
    let mini = stack
        .add_account(
            SandboxAccount::mini_program("wxsyncnight00003"),
            EncryptionMode::Plaintext,
        )
        .await
        .id;
    stack
        .platform
        .queues
        .sync(
            &SyncJob::AllAccounts {
                trigger: SyncTrigger::Schedule,
            },
            Duration::ZERO,
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = stack
            .store()
            .list_all_sync_runs(&livenotify::domain::Scope::All, &PageRequest::first(10))
            .await
            .unwrap()
            .items;
        if runs.len() == 2 && runs.iter().all(|r| r.status == SyncRunStatus::Completed) {
            assert!(runs.iter().all(|r| r.trigger == SyncTrigger::Schedule));
            assert!(runs.iter().all(|r| r.account_id != mini));
            break;
        }
        assert!(Instant::now() < deadline, "runs did not complete: {runs:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_table_matches_wechat(&stack, &service).await;
    assert_table_matches_wechat(&stack, &subscription).await;
    stack.shutdown().await;
}
