//! The shared access-token service against moto (DynamoDB) and the WeChat sandbox (HTTP).
//!
//! The proofs the token design owes: many concurrent callers (in one process and across
//! "Lambdas", i.e. independent service instances) that meet an expired or revoked token cause
//! exactly ONE token request at WeChat; a crashed refresher's lease is taken over; a failing
//! token endpoint frees the lease; stale invalidations are no-ops.

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use livenotify::store::keys;
use livenotify::wechat::{
    AppCredentials, ErrorAction, TemplateMessage, TokenAccount, TokenService, TokenServiceConfig,
    WechatClient, WechatEndpoints, WechatError, WecomCredentials, WecomMessage, WecomMessageBody,
    WecomRecipients,
};
use livenotify_tests::TestAws;
use std::time::Duration;
use wechat_sandbox::{Fault, Sandbox, SandboxAccount, Settings};

const APPID: &str = "wx7c1a2b3c4d5e6f70";
const CORPID: &str = "ww9a8b7c6d5e4f3a21";
const AGENTID: i64 = 1_000_002;
const STABLE_TOKEN: &str = "/cgi-bin/stable_token";
const TOKEN: &str = "/cgi-bin/token";
const TEMPLATE_SEND: &str = "/cgi-bin/message/template/send";
const WECOM_GETTOKEN: &str = "/wecom/cgi-bin/gettoken";

/// A sandbox with one service account and one WeCom app, a fresh table, and a client.
struct Rig {
    sandbox: Sandbox,
    client: WechatClient,
    dynamo: aws_sdk_dynamodb::Client,
    table: String,
    app: TokenAccount,
    wecom: TokenAccount,
}

/// Short lease and polls so the takeover test runs in seconds.
fn fast_config() -> TokenServiceConfig {
    TokenServiceConfig {
        lease_duration: Duration::from_secs(2),
        max_wait: Duration::from_secs(15),
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(200),
        ..TokenServiceConfig::default()
    }
}

impl Rig {
    async fn new() -> Self {
        let sandbox = Sandbox::new(Settings::default());
        sandbox.add_account(SandboxAccount::service(APPID));
        sandbox.add_account(SandboxAccount::wecom(CORPID, AGENTID));
        let base = sandbox.spawn_local().await.expect("sandbox listens");
        let endpoints =
            WechatEndpoints::new(&base, format!("{base}/wecom"), &base).with_mp_base(&base);
        let client = WechatClient::new(endpoints).expect("client");
        let secret = |appid: &str| sandbox.account(appid).expect("account").secret;
        let app = TokenAccount::App(AppCredentials::new(APPID, secret(APPID)));
        let wecom = TokenAccount::Wecom(WecomCredentials::new(CORPID, secret(CORPID), AGENTID));
        let store = TestAws::connect().await.fresh_store().await;
        Self {
            sandbox,
            client,
            dynamo: store.client().clone(),
            table: store.table().to_string(),
            app,
            wecom,
        }
    }

    /// One "Lambda": its own service instance (own memory, own process-local locks).
    fn lambda(&self) -> TokenService {
        TokenService::with_config(
            self.dynamo.clone(),
            self.table.clone(),
            self.client.clone(),
            fast_config(),
        )
    }

    async fn item(&self, cache_key: &str) -> std::collections::HashMap<String, AttributeValue> {
        self.dynamo
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(keys::token_pk(cache_key)))
            .key(keys::SK, AttributeValue::S(keys::TOKEN_SK.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get token item")
            .item
            .unwrap_or_default()
    }

    async fn set_numbers(&self, cache_key: &str, values: &[(&str, i64)]) {
        let mut update = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(keys::token_pk(cache_key)))
            .key(keys::SK, AttributeValue::S(keys::TOKEN_SK.into()));
        let mut sets = Vec::new();
        for (i, (name, value)) in values.iter().enumerate() {
            sets.push(format!("#a{i} = :v{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), *name)
                .expression_attribute_values(
                    format!(":v{i}"),
                    AttributeValue::N(value.to_string()),
                );
        }
        update
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
            .expect("update token item");
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn template(openid: &str) -> TemplateMessage {
    TemplateMessage::new(openid, "TPL_COURSE_START")
        .field("thing1", "血液学周会直播")
        .field("time2", "2025-06-01 19:00")
}

/// Sends one template to each openid, each from its own "Lambda", all at once.
async fn send_from_many_lambdas(rig: &Rig, openids: &[String]) -> Vec<Result<i64, WechatError>> {
    let tasks = openids.iter().map(|openid| {
        let service = rig.lambda();
        let account = rig.app.clone();
        let message = template(openid);
        tokio::spawn(async move {
            let client = service.client().clone();
            let message = &message;
            let client = &client;
            service
                .call(&account, |token| async move {
                    client.send_template(&token, message).await
                })
                .await
        })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(|joined| joined.expect("task did not panic"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_lambdas_meeting_an_expired_token_refresh_once() {
    let rig = Rig::new().await;
    let openids = rig.sandbox.add_followers(APPID, 50);
    let warm = rig
        .lambda()
        .access_token(&rig.app)
        .await
        .expect("first token");
    assert_eq!(rig.sandbox.call_count(STABLE_TOKEN), 1);

    rig.sandbox.expire_token(APPID);
    rig.sandbox.reset_counters();
    let results = send_from_many_lambdas(&rig, &openids).await;

    for (openid, result) in openids.iter().zip(&results) {
        assert!(result.is_ok(), "{openid}: {result:?}");
        assert_eq!(
            rig.sandbox.messages_to(openid).len(),
            1,
            "{openid} got exactly one message"
        );
    }
    assert_eq!(
        rig.sandbox.call_count(STABLE_TOKEN),
        1,
        "exactly one token request for 50 callers"
    );
    assert_eq!(
        rig.sandbox.call_count(TOKEN),
        0,
        "stable_token is preferred"
    );
    // Callers that read the table after the refresh send once; the others twice (rejected, retried).
    let sends = rig.sandbox.call_count(TEMPLATE_SEND);
    assert!((51..=100).contains(&sends), "{sends} template sends");
    let fresh = rig.lambda().access_token(&rig.app).await.expect("token");
    assert_ne!(fresh, warm);
    assert_eq!(
        rig.sandbox.current_stable_token(APPID).as_deref(),
        Some(fresh.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_token_causes_exactly_one_refresh() {
    let rig = Rig::new().await;
    let openids = rig.sandbox.add_followers(APPID, 50);
    // One Lambda with 50 concurrent sends (the push-worker's fan-out).
    let service = rig.lambda();
    service.access_token(&rig.app).await.expect("first token");
    rig.sandbox.revoke_token(APPID);
    rig.sandbox.reset_counters();

    let tasks = openids.iter().map(|openid| {
        let service = service.clone();
        let account = rig.app.clone();
        let message = template(openid);
        tokio::spawn(async move {
            let client = service.client().clone();
            let (client, message) = (&client, &message);
            service
                .call(&account, |token| async move {
                    client.send_template(&token, message).await
                })
                .await
        })
    });
    for result in join_all(tasks).await {
        assert!(result.expect("task").is_ok());
    }
    assert_eq!(
        rig.sandbox.call_count(STABLE_TOKEN),
        1,
        "one refresh after revocation"
    );
    for openid in &openids {
        assert_eq!(rig.sandbox.messages_to(openid).len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cold_start_of_fifty_lambdas_fetches_one_token() {
    let rig = Rig::new().await;
    let tasks = (0..50).map(|_| {
        let service = rig.lambda();
        let account = rig.app.clone();
        tokio::spawn(async move { service.access_token(&account).await })
    });
    let tokens: Vec<String> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("token"))
        .collect();
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "everyone got the same token"
    );
    assert_eq!(rig.sandbox.call_count(STABLE_TOKEN), 1);
    let item = rig.item(APPID).await;
    assert_eq!(item["token"].as_s().unwrap(), &tokens[0]);
    assert_eq!(item[keys::ENTITY_TYPE].as_s().unwrap(), "token");
    assert!(
        !item.contains_key("lease_owner"),
        "lease freed after the refresh"
    );
    let expires_at_ms: i64 = item["token_expires_at_ms"].as_n().unwrap().parse().unwrap();
    let refresh_after_ms: i64 = item["refresh_after_ms"].as_n().unwrap().parse().unwrap();
    assert_eq!(
        expires_at_ms - refresh_after_ms,
        300_000,
        "refresh 5 minutes ahead"
    );
    let ttl: i64 = item[keys::EXPIRES_AT].as_n().unwrap().parse().unwrap();
    assert!(ttl > expires_at_ms / 1000, "table TTL after token expiry");
}

#[tokio::test]
async fn stale_invalidation_is_a_no_op() {
    let rig = Rig::new().await;
    let service = rig.lambda();
    let first = service.access_token(&rig.app).await.unwrap();
    rig.sandbox.revoke_token(APPID);
    assert!(
        service.invalidate(&rig.app, &first).await.unwrap(),
        "first report invalidates"
    );
    let second = service.access_token(&rig.app).await.unwrap();
    assert_ne!(first, second);
    // Late reports of the old token (other callers that saw it) change nothing.
    for _ in 0..5 {
        assert!(!rig.lambda().invalidate(&rig.app, &first).await.unwrap());
    }
    assert_eq!(rig.lambda().access_token(&rig.app).await.unwrap(), second);
    assert_eq!(rig.sandbox.call_count(STABLE_TOKEN), 2);
}

#[tokio::test]
async fn stable_token_returning_the_rejected_token_is_forced() {
    let rig = Rig::new().await;
    let service = rig.lambda();
    let token = service.access_token(&rig.app).await.unwrap();
    // The token is fine for WeChat's token endpoint but an API rejected it (40001): normal
    // mode would hand the same token back, so the refresher must force a new one.
    assert!(service.invalidate(&rig.app, &token).await.unwrap());
    let fresh = service.access_token(&rig.app).await.unwrap();
    assert_ne!(fresh, token);
    assert_eq!(
        rig.sandbox.call_count(STABLE_TOKEN),
        3,
        "first fetch, normal refresh, forced refresh"
    );
}

#[tokio::test]
async fn a_crashed_refreshers_lease_is_taken_over() {
    let rig = Rig::new().await;
    // A refresher took the lease and died: lease still running, no token yet.
    let until = now_ms() + 1_500;
    rig.set_numbers(APPID, &[("lease_until_ms", until)]).await;
    let started = std::time::Instant::now();
    let token = rig
        .lambda()
        .access_token(&rig.app)
        .await
        .expect("token after the lease ran out");
    assert!(
        started.elapsed() >= Duration::from_millis(1_000),
        "waited for the lease"
    );
    assert!(!token.is_empty());
    assert_eq!(rig.sandbox.call_count(STABLE_TOKEN), 1);
}

#[tokio::test]
async fn waiting_is_bounded() {
    let rig = Rig::new().await;
    rig.set_numbers(APPID, &[("lease_until_ms", now_ms() + 60_000)])
        .await;
    let config = TokenServiceConfig {
        max_wait: Duration::from_millis(300),
        ..fast_config()
    };
    let service = TokenService::with_config(
        rig.dynamo.clone(),
        rig.table.clone(),
        rig.client.clone(),
        config,
    );
    let err = service.access_token(&rig.app).await.unwrap_err();
    assert!(matches!(err, WechatError::TokenUnavailable { .. }), "{err}");
    assert_eq!(err.action(), ErrorAction::RetryLater);
    assert_eq!(rig.sandbox.call_count(STABLE_TOKEN), 0);
}

#[tokio::test]
async fn a_failing_token_endpoint_frees_the_lease() {
    let rig = Rig::new().await;
    rig.sandbox.inject(Fault::sequence(STABLE_TOKEN, [-1]));
    let err = rig.lambda().access_token(&rig.app).await.unwrap_err();
    assert_eq!(err.action(), ErrorAction::RetryLater, "{err}");
    assert!(
        !rig.item(APPID).await.contains_key("lease_owner"),
        "lease released"
    );
    // The next caller need not wait for the lease to expire.
    let started = std::time::Instant::now();
    rig.lambda()
        .access_token(&rig.app)
        .await
        .expect("token on retry");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn wrong_secret_is_fatal_not_a_refresh_loop() {
    let rig = Rig::new().await;
    let bad = TokenAccount::App(AppCredentials::new(APPID, "not-the-secret"));
    let err = rig.lambda().access_token(&bad).await.unwrap_err();
    assert_eq!(err.action(), ErrorAction::FatalForJob, "{err}");
}

#[tokio::test]
async fn due_token_is_refreshed_once_while_others_keep_using_it() {
    let rig = Rig::new().await;
    let token = rig.lambda().access_token(&rig.app).await.unwrap();
    // Due for its ahead-of-expiry refresh, still valid for minutes.
    rig.set_numbers(APPID, &[("refresh_after_ms", now_ms() - 1)])
        .await;
    rig.sandbox.reset_counters();
    let tasks = (0..20).map(|_| {
        let service = rig.lambda();
        let account = rig.app.clone();
        tokio::spawn(async move { service.access_token(&account).await })
    });
    for result in join_all(tasks).await {
        // stable_token hands back the same token while valid; nobody waited for anything else.
        assert_eq!(result.unwrap().unwrap(), token);
    }
    assert_eq!(rig.sandbox.call_count(STABLE_TOKEN), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wecom_tokens_are_cached_per_corp_and_agent_and_refreshed_once() {
    let rig = Rig::new().await;
    let members = rig.sandbox.add_followers(CORPID, 20);
    assert_eq!(rig.wecom.cache_key(), format!("wecom:{CORPID}:{AGENTID}"));
    rig.lambda().access_token(&rig.wecom).await.unwrap();
    assert!(
        !rig.item(&rig.wecom.cache_key()).await.is_empty(),
        "cached under wecom:<corp>:<agent>"
    );
    rig.sandbox.expire_token(CORPID);
    rig.sandbox.reset_counters();
    let tasks = members.iter().map(|member| {
        let service = rig.lambda();
        let account = rig.wecom.clone();
        let message = WecomMessage::new(
            WecomRecipients::users([member.clone()]),
            AGENTID,
            WecomMessageBody::Text {
                content: "直播即将开始".into(),
            },
        );
        tokio::spawn(async move {
            let client = service.client().clone();
            let (client, message) = (&client, &message);
            service
                .call(&account, |token| async move {
                    client.send_wecom_message(&token, message).await
                })
                .await
        })
    });
    for result in join_all(tasks).await {
        let sent = result.unwrap().expect("sent after one refresh");
        assert!(sent.invalid_users.is_empty());
    }
    assert_eq!(rig.sandbox.call_count(WECOM_GETTOKEN), 1);
}
