//! Security: forged credentials on every route, and secrets kept out of logs and API
//! responses. Routes are taken from the served OpenAPI document, so a new route is covered
//! the day it is added. Who may call what, in and out of scope: `security_scope.rs`.

use livenotify::domain::Role;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{PASSWORD, call, login_as};
use reqwest::Method;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use wechat_sandbox::{EncryptionMode, SandboxAccount};

const PUBLIC: [&str; 3] = ["/api/health", "/api/openapi.json", "/api/auth/login"];

/// Every operation of the served document, with its path made concrete.
async fn operations(stack: &TestStack) -> Vec<(Method, String)> {
    let doc = call(stack, Method::GET, "/api/openapi.json", None)
        .await
        .expect(200);
    let ulid = "01J0000000000000000000000Z";
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if PUBLIC.contains(&path.as_str()) {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{course_id}", ulid)
                .replace("{push_id}", ulid)
                .replace("{run_id}", ulid)
                .replace("{export_id}", ulid)
                .replace("{account_id}", "wxforeign")
                .replace("{openid}", "o1")
                .replace("{unionid}", "u1")
                .replace("{username}", "nobody")
                .replace("{queue}", "push");
            assert!(!concrete.contains('{'), "unknown path parameter in {path}");
            out.push((
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                concrete,
            ));
        }
    }
    assert!(out.len() > 30, "the document lists the API");
    out
}

fn mutating(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

async fn send(
    stack: &TestStack,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = stack.http.request(method, format!("{}{path}", stack.url()));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Everything in the table but the audit trail and login bookkeeping (which refused calls
/// are supposed to write), as sorted JSON lines.
async fn table_state(stack: &TestStack) -> Vec<String> {
    let client = stack.store().client();
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(stack.store().table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in out.items.unwrap_or_default() {
            let pk = item
                .get("PK")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if pk.starts_with("AUDIT") || pk.starts_with("LOGIN") {
                continue;
            }
            let mut keys: Vec<_> = item.keys().cloned().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}={}", canonical(&item[k])))
                .collect();
            items.push(fields.join(";"));
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    items.sort();
    items
}

/// An attribute value as text with map keys in order (`Debug` of a map is unordered).
fn canonical(value: &aws_sdk_dynamodb::types::AttributeValue) -> String {
    use aws_sdk_dynamodb::types::AttributeValue;
    match value {
        AttributeValue::M(map) => {
            let mut keys: Vec<_> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", canonical(&map[*k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        AttributeValue::L(list) => {
            let items: Vec<String> = list.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => format!("{other:?}"),
    }
}

/// Asserts two table states are equal, naming only the items that differ.
fn assert_unchanged(before: &[String], after: &[String]) {
    let gone: Vec<&String> = before.iter().filter(|i| !after.contains(i)).collect();
    let new: Vec<&String> = after.iter().filter(|i| !before.contains(i)).collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "refused calls changed data:\nbefore: {gone:#?}\nafter: {new:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_forged_tampered_and_expired_tokens_get_401_on_every_route() {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    let (payload, tag) = root.token.split_once('.').unwrap();
    // Same claims, another purpose's key use; a flipped signature; a re-signed payload claiming
    // another user; an expired token made with the real key.
    let other_purpose = stack.platform.signer.sign(
        "session",
        &json!({"sub": "root"}),
        Duration::from_secs(3600),
    );
    let flipped = format!(
        "{payload}.{}{}",
        if tag.starts_with('A') { 'B' } else { 'A' },
        &tag[1..]
    );
    let foreign_key = livenotify::signed::Signer::new(b"not-the-platform-key-0123456789ab").sign(
        "admin",
        &json!({"sub": "root"}),
        Duration::from_secs(3600),
    );
    let expired = stack
        .platform
        .signer
        .sign("admin", &json!({"sub": "root"}), Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let bad_tokens = [
        None,
        Some("garbage".to_string()),
        Some(String::new()),
        Some(other_purpose),
        Some(flipped),
        Some(foreign_key),
        Some(expired),
    ];
    let before = table_state(&stack).await;
    for (method, path) in operations(&stack).await {
        for token in &bad_tokens {
            let body = mutating(&method).then(|| json!({}));
            let (status, reply) = send(&stack, token.as_deref(), method.clone(), &path, body).await;
            assert_eq!(status, 401, "{method} {path} with {token:?}: {reply}");
            // An expired token is told so (the console says "log in again"); every other
            // bad token is just unauthenticated.
            let expected = if token.as_ref() == bad_tokens.last().and_then(Option::as_ref) {
                "session_expired"
            } else {
                "unauthenticated"
            };
            assert_eq!(reply["code"], expected, "{method} {path}: {reply}");
        }
    }
    assert_unchanged(&before, &table_state(&stack).await);
    // The real token still works.
    root.get("/api/auth/me").await.expect(200);
    stack.shutdown().await;
}

/// Captured log lines of this test process.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        // Debug for the platform's own crates: more than production logs, so a secret that
        // would leak at any level we might switch on is caught.
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,livenotify=debug,admin_api=debug,wechat_callback=debug,push_worker=debug,\
                 follower_sync=debug,qr_generator=debug,local_gateway=debug",
            ))
            .with_writer(move || writer.clone())
            .init();
        logs
    })
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_logs_or_api_responses() {
    let logs = capture_logs();
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    let appid = "wxsecretscan0001";
    let account = SandboxAccount::service(appid)
        .with_secret("AppSecret-0123456789abcdef0123")
        .with_token("CallbackTokenS3cr3t")
        .with_callback(
            format!("{}/wechat/{appid}", stack.url()),
            EncryptionMode::Safe,
        );
    stack.sandbox.add_account(account.clone());
    stack.sandbox.add_followers(appid, 3);

    // Credentials go in through the API, in safe mode.
    let created = root
        .post(
            "/api/accounts",
            json!({"name": "密钥扫描", "kind": "service", "appid": appid,
                   "original_id": account.original_id, "callback_mode": "safe",
                   "app_secret": account.secret, "callback_token": account.token,
                   "encoding_aes_key": account.encoding_aes_key}),
        )
        .await
        .expect(201);
    // WeChat is used: a sync (access token fetched and used) and encrypted callbacks.
    root.post(&format!("/api/accounts/{appid}/sync-runs"), json!({}))
        .await
        .expect(202);
    let mut synced = false;
    for _ in 0..100 {
        let runs = root
            .get(&format!("/api/accounts/{appid}/sync-runs"))
            .await
            .expect(200);
        if runs["items"][0]["status"] == "completed" {
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(synced, "the sync did not complete");
    let visitor = stack.sandbox.new_user(appid).unwrap();
    assert!(stack.sandbox.follow(&visitor).await.unwrap().delivered());
    stack.sandbox.send_text(&visitor, "课程").await.unwrap();
    let access_token = stack
        .sandbox
        .current_token(appid)
        .or_else(|| stack.sandbox.current_stable_token(appid))
        .expect("an access token was issued");

    // API responses: the account read back, listed and changed.
    let mut responses = vec![created];
    responses.push(
        root.get(&format!("/api/accounts/{appid}"))
            .await
            .expect(200),
    );
    responses.push(root.get("/api/accounts").await.expect(200));
    responses.push(
        root.patch(
            &format!("/api/accounts/{appid}"),
            json!({"app_secret": "AppSecret-rotated-9876543210fedcba"}),
        )
        .await
        .expect(200),
    );
    responses.push(root.get("/api/audit").await.expect(200));

    let secrets = [
        account.secret.as_str(),
        "AppSecret-rotated-9876543210fedcba",
        account.token.as_str(),
        account.encoding_aes_key.as_str(),
        access_token.as_str(),
        PASSWORD,
        root.token.as_str(),
    ];
    for body in &responses {
        let text = body.to_string();
        for secret in &secrets[..4] {
            assert!(
                !text.contains(secret),
                "API response leaks {secret}: {text}"
            );
        }
    }
    stack.shutdown().await;
    let captured = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        captured.lines().count() > 5 && captured.contains(appid),
        "logs were captured: {} lines, first: {:?}",
        captured.lines().count(),
        captured.lines().take(3).collect::<Vec<_>>()
    );
    for secret in secrets {
        assert!(
            !captured.contains(secret),
            "logs contain the secret {}…",
            &secret[..4]
        );
    }
}
