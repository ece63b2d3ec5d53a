//! Shared set-up of the push tests: a service account with sandbox followers mirrored in the
//! table, a course with a template mapping, pushes, and waiting for a push to settle.
#![allow(dead_code)]

use futures::StreamExt;
use livenotify::domain::{
    Account, AccountId, Audience, Channel, Course, CourseId, CourseStatus, Follower, Push,
    PushCounters, PushId, PushStatus, TemplateMapping, now,
};
use livenotify::jobs::PushJob;
use livenotify::platform::Platform;
use livenotify::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The template endpoint, as the sandbox names it in faults and counters.
pub const TEMPLATE_SEND: &str = "/cgi-bin/message/template/send";

/// Worker settings for tests (fast retries, short pauses), set before the stack starts.
/// Every push test sets the same values, so concurrent tests in one process agree.
pub fn configure_worker_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for (name, value) in [
            ("PUSH_RATE_PER_SECOND", "2000"),
            ("PUSH_MAX_IN_FLIGHT", "32"),
            ("PUSH_RETRY_BASE_MS", "10"),
            ("PUSH_STATUS_CHECK_MS", "200"),
            ("PUSH_PAUSE_RECHECK_SECS", "1"),
            ("PUSH_QUOTA_RESUME_SECS", "2"),
        ] {
            // SAFETY: set once, before any stack (and so any reader of these variables) starts.
            unsafe { std::env::set_var(name, value) };
        }
    });
}

/// Mirrors sandbox followers into the table, as the nightly sync would (BatchWriteItem, 25
/// per request: moto is the slow part of these tests).
pub async fn seed_followers(store: &Store, account: &AccountId, openids: &[String]) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let at = now();
    let requests: Vec<Vec<WriteRequest>> = openids
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .map(|openid| {
                    let follower = Follower {
                        account_id: account.clone(),
                        openid: openid.clone(),
                        unionid: None,
                        subscribed: true,
                        subscribe_time: Some(at),
                        unsubscribed_at: None,
                        remark: String::new(),
                        tag_ids: Vec::new(),
                        subscribe_scene: None,
                        qr_scene: None,
                        language: None,
                        last_interaction_at: None,
                        muted: false,
                        synced_at: Some(at),
                        updated_at: at,
                    };
                    let item = livenotify::store::to_item(&follower).expect("follower item");
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item))
                                .build()
                                .expect("put"),
                        )
                        .build()
                })
                .collect()
        })
        .collect();
    futures::stream::iter(requests)
        .map(|mut pending| async move {
            while !pending.is_empty() {
                let out = store
                    .client()
                    .batch_write_item()
                    .request_items(store.table(), pending)
                    .send()
                    .await
                    .expect("batch write followers");
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(store.table()))
                    .unwrap_or_default();
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
}

/// A published course whose template for `account` fills `thing1`, `time2`, `name3`.
pub async fn course(store: &Store, account: &AccountId, title: &str) -> Course {
    let at = now();
    let fields = BTreeMap::from([
        ("thing1".to_string(), "{title}".to_string()),
        ("time2".to_string(), "{start_time}".to_string()),
        ("name3".to_string(), "{speaker}".to_string()),
    ]);
    let course = Course {
        id: CourseId::generate(),
        title: title.into(),
        speaker: "王医生".into(),
        description: String::new(),
        starts_at: at + chrono::Duration::hours(2),
        ends_at: None,
        live_url: "https://live.example/room/1".into(),
        cover_url: None,
        required_account: None,
        templates: BTreeMap::from([(
            account.clone(),
            TemplateMapping {
                template_id: "TPL-COURSE".into(),
                fields,
            },
        )]),
        reminder_minutes: Vec::new(),
        status: CourseStatus::Published,
        qr: None,
        permanent_qr: false,
        qr_error: None,
        version: 0,
        created_at: at,
        updated_at: at,
    };
    store.create_course(&course).await.expect("create course");
    course
}

/// Creates a pending template push (as the admin API does) and enqueues its plan.
pub async fn start_push(
    platform: &Platform,
    account: &Account,
    course: &Course,
    audience: Audience,
    scheduled_at: Option<livenotify::domain::Timestamp>,
) -> PushId {
    start_push_on(
        platform,
        account,
        course,
        audience,
        scheduled_at,
        Channel::Template,
    )
    .await
}

/// Creates a pending push on `channel` and enqueues its plan.
pub async fn start_push_on(
    platform: &Platform,
    account: &Account,
    course: &Course,
    audience: Audience,
    scheduled_at: Option<livenotify::domain::Timestamp>,
    channel: Channel,
) -> PushId {
    let push = Push {
        id: PushId::generate(),
        course_id: course.id,
        account_id: account.id.clone(),
        audience,
        channel,
        status: PushStatus::Pending,
        scheduled_at,
        created_by: "tester".into(),
        created_at: now(),
        started_at: None,
        finished_at: None,
        status_reason: None,
        counters: PushCounters::default(),
    };
    platform
        .store
        .create_push(&push)
        .await
        .expect("create push");
    platform
        .queues
        .push(&PushJob::Plan { push_id: push.id }, Duration::ZERO)
        .await
        .expect("enqueue plan");
    push.id
}

/// Waits until the push is in one of `states`; panics with its last state after `limit`.
pub async fn wait_for(store: &Store, id: PushId, states: &[PushStatus], limit: Duration) -> Push {
    let start = Instant::now();
    loop {
        let push = store.get_push(id).await.expect("get push");
        if states.contains(&push.status) {
            return push;
        }
        assert!(
            start.elapsed() < limit,
            "push still {:?} after {limit:?}: {:?} ({:?})",
            push.status,
            push.counters,
            push.status_reason
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Template messages the sandbox received, per recipient.
pub fn messages_per_recipient(sandbox: &wechat_sandbox::Sandbox) -> HashMap<String, usize> {
    messages_of(sandbox, wechat_sandbox::MessageKind::Template)
}

/// Messages of one kind (API) the sandbox received, per recipient.
pub fn messages_of(
    sandbox: &wechat_sandbox::Sandbox,
    kind: wechat_sandbox::MessageKind,
) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in sandbox.messages() {
        if m.kind == kind {
            *counts.entry(m.touser).or_insert(0) += 1;
        }
    }
    counts
}

/// Uploads a newline-separated recipient list to the stack's bucket; its audience.
pub async fn upload_list(platform: &Platform, lines: &[&str]) -> Audience {
    let key = format!("push-lists/{}.txt", PushId::generate());
    let body = lines.join("\n");
    platform
        .s3
        .put_object()
        .bucket(&platform.config.bucket)
        .key(&key)
        .body(body.into_bytes().into())
        .send()
        .await
        .expect("upload list");
    Audience::OpenidList {
        s3_key: key,
        count: lines.len() as u64,
    }
}

/// Asserts every one of `openids` got exactly one message and nobody else got any.
pub fn assert_exactly_once(sandbox: &wechat_sandbox::Sandbox, openids: &[String]) {
    let counts = messages_per_recipient(sandbox);
    let missing: Vec<_> = openids
        .iter()
        .filter(|o| !counts.contains_key(*o))
        .collect();
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        missing.is_empty(),
        "{} recipients got nothing, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    assert!(
        repeated.is_empty(),
        "{} recipients got duplicates, e.g. {:?}",
        repeated.len(),
        repeated.first()
    );
    assert_eq!(
        counts.len(),
        openids.len(),
        "messages to people outside the audience"
    );
}

/// A worker over moto and an embedded sandbox without the gateway, for tests and benchmarks
/// that give the worker their own dependencies (fault hooks, counting clients).
pub struct Rig {
    /// The platform the worker uses.
    pub platform: Platform,
    /// The sandbox.
    pub sandbox: wechat_sandbox::Sandbox,
    /// The registered service account.
    pub account: Account,
    /// Its followers, sorted (the order the fan-out pages them in).
    pub openids: Vec<String>,
    /// moto clients (the platform's may be wrapped).
    pub aws: livenotify_tests::TestAws,
    /// Resources.
    pub resources: local_gateway::provision::Resources,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    polling: Option<tokio::task::JoinHandle<()>>,
}

impl Rig {
    /// Fresh resources (push queue visibility `visibility_secs`), a sandbox service account
    /// with `n` followers mirrored in the table; `clients` maps moto's clients to the
    /// platform's (e.g. adding a request counter).
    pub async fn new(
        appid: &str,
        n: usize,
        visibility_secs: u32,
        clients: impl FnOnce(&livenotify::aws::AwsClients) -> livenotify::aws::AwsClients,
    ) -> Self {
        use aws_sdk_sqs::types::QueueAttributeName;
        use livenotify::domain::{AccountKind, AccountSecrets, CallbackMode};
        let aws = livenotify_tests::TestAws::connect().await;
        let resources = aws.fresh_resources().await;
        aws.clients
            .sqs
            .set_queue_attributes()
            .queue_url(&resources.push.url)
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility_secs.to_string(),
            )
            .send()
            .await
            .expect("set visibility timeout");
        let sandbox = wechat_sandbox::Sandbox::new(wechat_sandbox::Settings::default());
        let sandbox_url = sandbox.spawn_local().await.expect("sandbox");
        let sandbox_account = wechat_sandbox::SandboxAccount::service(appid);
        sandbox.add_account(sandbox_account.clone());
        let mut openids = sandbox.add_followers(appid, n);
        openids.sort();
        let config = local_gateway::local_config(
            &resources,
            &local_gateway::WechatBases::sandbox(&sandbox_url),
            "http://127.0.0.1:9",
        );
        let platform = Platform::new(&clients(&aws.clients), config).expect("platform");
        let at = now();
        let account = Account {
            id: AccountId::new(appid).expect("appid"),
            name: appid.into(),
            kind: AccountKind::Service,
            appid: appid.into(),
            original_id: sandbox_account.original_id.clone(),
            wecom_agent_id: None,
            callback_mode: CallbackMode::Plaintext,
            follower_count: 0,
            follow_url: None,
            keyword_replies: Vec::new(),
            created_at: at,
            updated_at: at,
        };
        let secrets = AccountSecrets {
            app_secret: sandbox_account.secret.clone(),
            callback_token: sandbox_account.token.clone(),
            encoding_aes_key: None,
        };
        platform
            .store
            .create_account(&account, &secrets)
            .await
            .expect("register account");
        seed_followers(&platform.store, &account.id, &openids).await;
        Self {
            platform,
            sandbox,
            account,
            openids,
            aws,
            resources,
            stop: None,
            polling: None,
        }
    }

    /// Polls the push queue with `deps`, 10 messages per invocation like the deployed mapping.
    pub fn start_worker(&mut self, deps: push_worker::Deps) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        self.polling = Some(tokio::spawn(local_gateway::poller::poll(
            self.aws.clients.sqs.clone(),
            local_gateway::poller::PollSettings {
                queue_url: self.resources.push.url.clone(),
                batch_size: 10,
                wait: Duration::from_secs(1),
            },
            stopped,
            move |event| {
                let deps = deps.clone();
                async move { push_worker::handle(&deps, event).await }
            },
        )));
        self.stop = Some(stop);
    }

    /// Stops the worker after its in-flight batch.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(polling) = self.polling.take() {
            polling.await.expect("poller");
        }
    }
}
