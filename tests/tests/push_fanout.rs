//! The push worker end to end through the local stack: moto, the WeChat sandbox and the
//! gateway polling the push queue with the real handler.

#[path = "push_fixture/mod.rs"]
mod fixture;

use aws_sdk_dynamodb::types::AttributeValue;
use fixture::*;
use livenotify::domain::{Audience, DeliveryStatus, PushStatus};
use livenotify::store::PageRequest;
use livenotify_tests::TestStack;
use std::time::{Duration, Instant};
use wechat_sandbox::{EncryptionMode, Fault, SandboxAccount};

async fn stack_with_followers(
    appid: &str,
    n: usize,
) -> (TestStack, livenotify::domain::Account, Vec<String>) {
    configure_worker_env();
    let stack = TestStack::start().await;
    let account = stack
        .add_account(SandboxAccount::service(appid), EncryptionMode::Plaintext)
        .await;
    let openids = stack.sandbox.add_followers(appid, n);
    let seeding = Instant::now();
    seed_followers(stack.store(), &account.id, &openids).await;
    eprintln!("seeded {n} followers in {:?}", seeding.elapsed());
    (stack, account, openids)
}

/// Recipients of the big fan-out tests (the clean one, and the one with busy errors, a token
/// revocation and a quota pause): the 10,000. Through moto that is ~3 minutes per test
/// (moto serves the worker's ~2.1 DynamoDB requests per recipient one at a time);
/// `LIVENOTIFY_PUSH_TEST_RECIPIENTS=1000` runs a quick version of the same code paths.
fn fanout_size() -> usize {
    std::env::var("LIVENOTIFY_PUSH_TEST_RECIPIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// How long a fan-out of `n` may take through moto: about 30 ms of moto CPU per recipient
/// on this machine, with room for a loaded CI host.
fn fanout_limit(n: usize) -> Duration {
    Duration::from_secs(60) + Duration::from_millis(60) * n as u32
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_followers_each_get_exactly_one_message() {
    let n = fanout_size();
    let (stack, account, openids) = stack_with_followers("wxpushten0000001", n).await;
    let course = course(stack.store(), &account.id, "心内科病例讨论").await;
    let started = Instant::now();
    let id = start_push(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    let push = wait_for(stack.store(), id, &[PushStatus::Completed], fanout_limit(n)).await;
    eprintln!("{n} recipients sent in {:?}", started.elapsed());
    assert_eq!(push.counters.targeted, n as u64);
    assert_eq!(push.counters.sent, n as u64);
    assert_eq!(push.counters.failed + push.counters.skipped, 0);
    assert!(push.finished_at.is_some());
    assert_exactly_once(&stack.sandbox, &openids);
    let sample = stack.sandbox.messages_to(&openids[17]);
    assert_eq!(sample[0].body["data"]["thing1"]["value"], "心内科病例讨论");
    assert_eq!(
        sample[0].client_msg_id.as_deref(),
        Some(format!("{id}:{}", openids[17]).as_str())
    );
    let record = stack
        .store()
        .find_delivery(id, &openids[17])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(record.msgid, sample[0].msgid.map(|m| m.to_string()));
    // The push item stays small however large the push (every receipt rewrites it): the
    // batch ledger lives in its own items.
    let raw = stack
        .aws
        .clients
        .dynamodb
        .get_item()
        .table_name(stack.store().table())
        .set_key(Some(
            [
                (
                    "PK".to_string(),
                    AttributeValue::S(livenotify::store::keys::push_pk(id)),
                ),
                ("SK".to_string(), AttributeValue::S("PUSH".into())),
            ]
            .into(),
        ))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let size = format!("{raw:?}").len();
    eprintln!("push item: {size} bytes of debug text");
    assert!(size < 1_500, "push item is {size} bytes of debug text");
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn busy_errors_a_token_revocation_and_a_quota_pause_lose_and_repeat_nothing() {
    let n = fanout_size();
    let appid = "wxpushbusy000001";
    let (stack, account, openids) = stack_with_followers(appid, n).await;
    stack.sandbox.inject(Fault::rate(TEMPLATE_SEND, -1, 0.1));
    // The day's quota runs out after 60% of the audience.
    let quota = (n * 6 / 10) as u64;
    stack.sandbox.set_quota(appid, TEMPLATE_SEND, Some(quota));
    let course = course(stack.store(), &account.id, "肿瘤多学科会诊").await;
    let started = Instant::now();
    let id = start_push(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    // Revoke every token once the push is under way: sends get 40001 and must refresh.
    while fixture::messages_per_recipient(&stack.sandbox).len() < n / 4 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "push did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let token_calls = || {
        stack.sandbox.call_count("/cgi-bin/token")
            + stack.sandbox.call_count("/cgi-bin/stable_token")
    };
    let tokens_before = token_calls();
    stack.sandbox.revoke_token(appid);
    let paused = wait_for(
        stack.store(),
        id,
        &[PushStatus::Paused, PushStatus::Completed],
        fanout_limit(n),
    )
    .await;
    assert_eq!(paused.status, PushStatus::Paused);
    let reason = paused.status_reason.unwrap_or_default();
    assert!(reason.contains("45009"), "{reason}");
    assert_eq!(messages_per_recipient(&stack.sandbox).len() as u64, quota);
    // WeChat's day turns: the quota is available again; the push resumes on its own.
    stack.sandbox.set_quota(appid, TEMPLATE_SEND, None);
    stack.sandbox.reset_quotas(appid);
    let push = wait_for(stack.store(), id, &[PushStatus::Completed], fanout_limit(n)).await;
    eprintln!(
        "{n} recipients with 10% busy errors, a revocation and a quota pause sent in {:?}",
        started.elapsed()
    );
    assert_eq!(push.counters.targeted, n as u64);
    assert_eq!(push.counters.sent, n as u64, "{:?}", push.counters);
    assert_exactly_once(&stack.sandbox, &openids);
    let refreshes = token_calls() - tokens_before;
    assert!(refreshes >= 1, "the revoked token was never replaced");
    assert!(
        refreshes <= 3,
        "{refreshes} token fetches for one revocation"
    );
    let busy_retried = stack.sandbox.call_count(TEMPLATE_SEND) - n as u64;
    assert!(busy_retried > 0, "no -1 was injected");
    stack.shutdown().await;
}

/// Slow WeChat: a fifth of the template sends are served (the follower gets the message) but
/// answered only after the worker's timeout. The worker retries them; the idempotency key
/// makes WeChat drop the repeats, so every follower has exactly one message and the counters
/// say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_slower_than_the_timeout_are_retried_and_never_repeat_a_message() {
    configure_worker_env();
    let appid = "wxpushslow000001";
    let n = 300;
    let stack = TestStack::with_sandbox_and_config(
        wechat_sandbox::Sandbox::new(wechat_sandbox::Settings::default()),
        |config| config.wechat_timeout = Duration::from_millis(700),
    )
    .await;
    let account = stack
        .add_account(SandboxAccount::service(appid), EncryptionMode::Plaintext)
        .await;
    let openids = stack.sandbox.add_followers(appid, n);
    seed_followers(stack.store(), &account.id, &openids).await;
    stack.sandbox.inject(Fault::late_answers(
        TEMPLATE_SEND,
        Duration::from_millis(1500),
        0.2,
    ));
    let course = course(stack.store(), &account.id, "慢响应演练").await;
    let id = start_push(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    let push = wait_for(stack.store(), id, &[PushStatus::Completed], fanout_limit(n)).await;
    assert_eq!(push.counters.targeted, n as u64);
    assert_eq!(push.counters.sent, n as u64, "{:?}", push.counters);
    assert_eq!(push.counters.failed + push.counters.skipped, 0);
    assert_exactly_once(&stack.sandbox, &openids);
    let calls = stack.sandbox.call_count(TEMPLATE_SEND);
    assert!(
        calls >= n as u64 + 20,
        "{calls} calls for {n} recipients: the late answers were not retried"
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_exhaustion_pauses_the_push_and_it_resumes_by_itself() {
    let n = 300;
    let appid = "wxpushquota00001";
    let (stack, account, openids) = stack_with_followers(appid, n).await;
    stack.sandbox.set_quota(appid, TEMPLATE_SEND, Some(120));
    let course = course(stack.store(), &account.id, "配额测试课程").await;
    let id = start_push(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    let paused = wait_for(
        stack.store(),
        id,
        &[PushStatus::Paused, PushStatus::Completed],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(paused.status, PushStatus::Paused);
    let reason = paused.status_reason.unwrap_or_default();
    assert!(
        reason.contains("45009") && reason.contains("自动继续"),
        "{reason}"
    );
    assert_eq!(messages_per_recipient(&stack.sandbox).len(), 120);
    // WeChat's day turns: the quota is available again; the push resumes on its own.
    stack.sandbox.set_quota(appid, TEMPLATE_SEND, None);
    stack.sandbox.reset_quotas(appid);
    let push = wait_for(
        stack.store(),
        id,
        &[PushStatus::Completed],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(push.counters.sent, n as u64, "{:?}", push.counters);
    assert_exactly_once(&stack.sandbox, &openids);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unauthorized_account_fails_the_push_fast_with_a_reason() {
    let appid = "wxpushfatal00001";
    let (stack, account, _openids) = stack_with_followers(appid, 300).await;
    stack.sandbox.inject(Fault::always(TEMPLATE_SEND, 48001));
    let course = course(stack.store(), &account.id, "权限测试").await;
    let id = start_push(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    let push = wait_for(
        stack.store(),
        id,
        &[PushStatus::Failed],
        Duration::from_secs(30),
    )
    .await;
    let reason = push.status_reason.unwrap_or_default();
    assert!(
        reason.contains("权限") && reason.contains("48001"),
        "{reason}"
    );
    // Fails after the first answers, not after trying everyone.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calls = stack.sandbox.call_count(TEMPLATE_SEND);
    assert!(calls < 100, "{calls} sends after a 48001");
    assert_eq!(push.counters.sent, 0);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_template_data_fails_before_anything_is_sent() {
    let appid = "wxpushbadtpl0001";
    let (stack, account, _openids) = stack_with_followers(appid, 50).await;
    let course = course(
        stack.store(),
        &account.id,
        "一个远远超过二十个字的课程标题会被微信拒绝的哦",
    )
    .await;
    let id = start_push(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    let push = wait_for(
        stack.store(),
        id,
        &[PushStatus::Failed],
        Duration::from_secs(30),
    )
    .await;
    let reason = push.status_reason.unwrap_or_default();
    assert!(reason.contains("thing1"), "{reason}");
    assert_eq!(stack.sandbox.call_count(TEMPLATE_SEND), 0);
    assert_eq!(push.counters.targeted, 0);
    stack.shutdown().await;
}

/// Messages of the stack's push queue that are queued, delayed or being handled.
async fn messages_left(stack: &TestStack) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName;
    let out = stack
        .aws
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&stack.resources.push.url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .expect("push queue attributes");
    out.attributes()
        .map(|attributes| {
            attributes
                .values()
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_stops_sending_within_seconds() {
    let n = 1_000;
    let appid = "wxpushcancel0001";
    let (stack, account, _openids) = stack_with_followers(appid, n).await;
    stack
        .sandbox
        .inject(Fault::latency(TEMPLATE_SEND, Duration::from_millis(50)));
    let course = course(stack.store(), &account.id, "取消测试").await;
    let id = start_push(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    let start = Instant::now();
    while messages_per_recipient(&stack.sandbox).len() < 50 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "push did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stack
        .store()
        .transition_push(
            id,
            &[PushStatus::Running],
            PushStatus::Cancelled,
            Some("管理员取消"),
            livenotify::domain::now(),
        )
        .await
        .unwrap();
    // The status is re-read every 200 ms in tests (1 s by default); a batch that sees the
    // cancel stops claiming recipients, lets its in-flight sends finish and acknowledges its
    // message, and batches received later are dropped. So once no message of the push is
    // queued or in flight, the worker has let go of it. Waiting for that rather than for a
    // quiet interval matters: moto serialises requests for every test running at the time,
    // and its pauses look like a stop followed by a restart.
    let cancelled_at = Instant::now();
    loop {
        let left = messages_left(&stack).await;
        if left == 0 {
            break;
        }
        assert!(
            cancelled_at.elapsed() < Duration::from_secs(30),
            "{left} push messages still queued or running 30 s after the cancel"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after_stop = stack.sandbox.call_count(TEMPLATE_SEND);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        stack.sandbox.call_count(TEMPLATE_SEND),
        after_stop,
        "sends went on after the worker let go of the push"
    );
    // Unchecked, the worker sends the whole audience within seconds (32 in flight, 50 ms
    // each), so fewer sends than followers shows that the cancel took effect that quickly.
    assert!(
        after_stop < n as u64,
        "everything was sent before the cancel took effect"
    );
    let push = stack.store().get_push(id).await.unwrap();
    assert_eq!(push.status, PushStatus::Cancelled);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn muted_and_unfollowed_users_are_skipped_and_43004_marks_unsubscribed() {
    let appid = "wxpushmuted00001";
    let (stack, account, openids) = stack_with_followers(appid, 40).await;
    // Muted on our side: never targeted as a recipient, counted as skipped.
    let mut muted = stack
        .store()
        .get_follower(&account.id, &openids[0])
        .await
        .unwrap();
    muted.muted = true;
    stack.store().put_follower(&muted).await.unwrap();
    // Unfollowed on WeChat's side only (the table does not know yet): WeChat answers 43004.
    stack.sandbox.set_following(&openids[1], false).unwrap();
    // As the nightly sync would have counted them.
    stack
        .store()
        .adjust_follower_count(&account.id, 40)
        .await
        .unwrap();
    let course = course(stack.store(), &account.id, "偏好测试").await;
    let id = start_push(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    let push = wait_for(
        stack.store(),
        id,
        &[PushStatus::Completed],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(push.counters.targeted, 40);
    assert_eq!(push.counters.sent, 38);
    assert_eq!(push.counters.skipped, 2);
    let got = messages_per_recipient(&stack.sandbox);
    assert!(!got.contains_key(&openids[0]) && !got.contains_key(&openids[1]));
    let gone = stack
        .store()
        .get_follower(&account.id, &openids[1])
        .await
        .unwrap();
    assert!(
        !gone.subscribed,
        "43004 should mark the follower unsubscribed"
    );
    let counted = stack.store().get_account(&account.id).await.unwrap();
    assert_eq!(
        counted.follower_count, 39,
        "43004 should count the follower out once"
    );
    let skipped = stack
        .store()
        .list_deliveries_by_push(id, Some(DeliveryStatus::Skipped), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(skipped.items.len(), 1);
    assert_eq!(skipped.items[0].error_code, Some(43004));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scheduled_push_waits_for_its_time_and_fires_once() {
    let appid = "wxpushsched00001";
    let (stack, account, openids) = stack_with_followers(appid, 30).await;
    let course = course(stack.store(), &account.id, "定时推送").await;
    let at = livenotify::domain::now() + chrono::Duration::seconds(4);
    let id = start_push(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        Some(at),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        stack.sandbox.call_count(TEMPLATE_SEND),
        0,
        "sent before its time"
    );
    assert_eq!(
        stack.store().get_push(id).await.unwrap().status,
        PushStatus::Pending
    );
    let push = wait_for(
        stack.store(),
        id,
        &[PushStatus::Completed],
        Duration::from_secs(60),
    )
    .await;
    assert!(push.started_at.unwrap() >= at);
    assert!(push.started_at.unwrap() < at + chrono::Duration::seconds(60));
    assert_exactly_once(&stack.sandbox, &openids);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn course_reminder_goes_to_signed_up_users_once_however_often_the_tick_runs() {
    use livenotify::domain::SignUp;
    use livenotify::jobs::PushJob;
    let appid = "wxpushremind0001";
    let (stack, account, openids) = stack_with_followers(appid, 20).await;
    let created = course(stack.store(), &account.id, "提醒测试").await;
    let mut course = stack.store().get_course(created.id).await.unwrap();
    // Starts in 20 minutes, reminder 30 minutes before: due now.
    course.starts_at = livenotify::domain::now() + chrono::Duration::minutes(20);
    course.reminder_minutes = vec![30];
    let course = stack.store().update_course(&course).await.unwrap();
    let signed_up = &openids[..5];
    for openid in signed_up {
        let signup = SignUp {
            course_id: course.id,
            account_id: account.id.clone(),
            openid: openid.clone(),
            unionid: None,
            scene: format!("course:{}", course.id),
            source: None,
            signed_up_at: livenotify::domain::now(),
        };
        stack.store().add_signup(&signup).await.unwrap();
    }
    // Ticks from several schedulers at once, and again later: one reminder.
    for _ in 0..3 {
        stack
            .platform
            .queues
            .push(&PushJob::Tick, Duration::ZERO)
            .await
            .unwrap();
    }
    let id = push_worker::reminders::reminder_push_id(&course, &account.id, 30);
    let start = Instant::now();
    while stack
        .store()
        .find_delivery(id, &signed_up[0])
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "reminder never created"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let push = wait_for(
        stack.store(),
        id,
        &[PushStatus::Completed],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(push.audience, Audience::SignedUp);
    assert_eq!(push.created_by, "system");
    stack
        .platform
        .queues
        .push(&PushJob::Tick, Duration::ZERO)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_exactly_once(&stack.sandbox, signed_up);
    let pushes = stack
        .store()
        .list_pushes_by_course(
            course.id,
            &livenotify::domain::Scope::All,
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(pushes.items.len(), 1);

    // A second lead time, 10 minutes before (the course moved to start in 9): that reminder
    // goes out once too, and the 30-minute one, reached long ago for the new start, does not.
    let mut moved = stack.store().get_course(course.id).await.unwrap();
    moved.starts_at = livenotify::domain::now() + chrono::Duration::minutes(9);
    moved.reminder_minutes = vec![30, 10];
    let moved = stack.store().update_course(&moved).await.unwrap();
    for _ in 0..3 {
        stack
            .platform
            .queues
            .push(&PushJob::Tick, Duration::ZERO)
            .await
            .unwrap();
    }
    let second = push_worker::reminders::reminder_push_id(&moved, &account.id, 10);
    let start = Instant::now();
    while stack.store().get_push(second).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "second reminder never created"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for(
        stack.store(),
        second,
        &[PushStatus::Completed],
        Duration::from_secs(60),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for openid in signed_up {
        assert_eq!(
            stack.sandbox.messages_to(openid).len(),
            2,
            "{openid}: one message per reminder"
        );
    }
    let pushes = stack
        .store()
        .list_pushes_by_course(
            course.id,
            &livenotify::domain::Scope::All,
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(
        pushes.items.len(),
        2,
        "the 30-minute lead was not sent again"
    );
    stack.shutdown().await;
}
