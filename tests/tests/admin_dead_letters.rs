//! admin-api dead-letter view over HTTP against moto's SQS: messages of each DLQ are listed
//! and left in place, a redrive moves them back to the source queue where the real worker
//! runs them, and roles apply.

use livenotify::domain::Role;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{call, login_as, operator, viewer};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wechat_sandbox::{EncryptionMode, SandboxAccount};

const SUBSCRIPTION: &str = "wxdeadletter0001";

async fn put(stack: &TestStack, dlq_url: &str, body: &str) {
    stack
        .aws
        .clients
        .sqs
        .send_message()
        .queue_url(dlq_url)
        .message_body(body)
        .send()
        .await
        .expect("send to DLQ");
}

fn bodies(list: &Value) -> Vec<Value> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["body"].clone())
        .collect()
}

#[tokio::test]
async fn dead_letters_are_listed_in_place_and_redriven_to_their_queue() {
    let stack = TestStack::start().await;
    stack
        .add_account(
            SandboxAccount::subscription(SUBSCRIPTION),
            EncryptionMode::Plaintext,
        )
        .await;
    stack.sandbox.add_followers(SUBSCRIPTION, 3);
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    let viewer = login_as(&stack, "viewer", viewer(&[SUBSCRIPTION])).await;
    let op = login_as(&stack, "op", operator(&[SUBSCRIPTION])).await;
    let sync_job = json!({"type": "account", "account_id": SUBSCRIPTION, "trigger": "manual"});
    put(&stack, &stack.resources.sync.dlq_url, &sync_job.to_string()).await;
    put(&stack, &stack.resources.push.dlq_url, "not json at all").await;
    let qr_job = json!({"type": "generate", "course_id": "01J0000000000000000000000Z"});
    put(&stack, &stack.resources.qr.dlq_url, &qr_job.to_string()).await;
    let export_job = json!({"export_id": "01J0000000000000000000000Y"});
    put(
        &stack,
        &stack.resources.export.dlq_url,
        &export_job.to_string(),
    )
    .await;

    // Super admins see every message; looking twice shows the same message (left in place).
    for _ in 0..2 {
        let sync = root.get("/api/dead-letters?queue=sync").await.expect(200);
        assert_eq!(bodies(&sync), std::slice::from_ref(&sync_job));
        let item = &sync["items"][0];
        assert_eq!(item["queue"], "sync");
        assert!(item["message_id"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(item["receive_count"].is_u64());
        assert!(item["sent_at"].is_string());
        assert!(sync["next_cursor"].is_null());
    }
    let push = root.get("/api/dead-letters?queue=push").await.expect(200);
    assert_eq!(
        bodies(&push),
        [json!("not json at all")],
        "text bodies stay text"
    );
    let qr = root
        .get("/api/dead-letters?queue=qr&limit=5")
        .await
        .expect(200);
    assert_eq!(bodies(&qr), [qr_job]);
    let export = root.get("/api/dead-letters?queue=export").await.expect(200);
    assert_eq!(bodies(&export), std::slice::from_ref(&export_job));
    assert_eq!(export["items"][0]["queue"], "export");

    // Viewers see no dead letters (bodies carry openids); an operator sees only the jobs of
    // its own accounts (the sync of its account, not the unreadable push message nor the QR
    // job of a course it cannot see).
    let refused = viewer.get("/api/dead-letters?queue=sync").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let theirs = op.get("/api/dead-letters?queue=sync").await.expect(200);
    assert_eq!(bodies(&theirs), std::slice::from_ref(&sync_job));
    for queue in ["push", "qr", "export"] {
        let none = op
            .get(&format!("/api/dead-letters?queue={queue}"))
            .await
            .expect(200);
        assert!(bodies(&none).is_empty(), "{queue}: {none}");
    }

    // Bad input.
    for path in [
        "/api/dead-letters",
        "/api/dead-letters?queue=exports",
        "/api/dead-letters?queue=push&limit=0",
        "/api/dead-letters?queue=push&limit=1001",
    ] {
        let reply = root.get(path).await;
        assert_eq!(reply.status, 422, "{path}: {}", reply.body);
        assert_eq!(reply.code(), "validation_failed");
    }
    assert_eq!(
        root.post("/api/dead-letters/exports/redrive", json!({}))
            .await
            .status,
        422
    );
    assert_eq!(
        call(&stack, Method::GET, "/api/dead-letters?queue=sync", None)
            .await
            .status,
        401
    );
    assert_eq!(
        call(&stack, Method::POST, "/api/dead-letters/sync/redrive", None)
            .await
            .status,
        401
    );

    // Viewers may not redrive; nothing moves.
    let refused = viewer
        .post("/api/dead-letters/sync/redrive", json!({}))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        bodies(&root.get("/api/dead-letters?queue=sync").await.expect(200)).len(),
        1
    );

    // Redrive: the message leaves the DLQ and follower-sync runs it.
    let moved = root
        .post("/api/dead-letters/sync/redrive", json!({}))
        .await
        .expect(200);
    assert_eq!(moved["moved"], 1);
    assert!(bodies(&root.get("/api/dead-letters?queue=sync").await.expect(200)).is_empty());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = root
            .get(&format!("/api/accounts/{SUBSCRIPTION}/sync-runs"))
            .await
            .expect(200);
        let items = runs["items"].as_array().unwrap();
        if items.iter().any(|r| r["status"] == "completed") {
            assert_eq!(items[0]["trigger"], "manual");
            break;
        }
        assert!(Instant::now() < deadline, "redriven sync never ran: {runs}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Operators redrive only their own messages: the QR job of a course they cannot see
    // stays; a super admin moves it; an empty DLQ moves nothing.
    let moved = op
        .post("/api/dead-letters/qr/redrive", json!({}))
        .await
        .expect(200);
    assert_eq!(moved["moved"], 0);
    assert_eq!(
        bodies(&root.get("/api/dead-letters?queue=qr").await.expect(200)).len(),
        1,
        "the operator's redrive left the message in place"
    );
    let moved = root
        .post("/api/dead-letters/qr/redrive", json!({}))
        .await
        .expect(200);
    assert_eq!(moved["moved"], 1);
    let again = op
        .post("/api/dead-letters/qr/redrive", json!({}))
        .await
        .expect(200);
    assert_eq!(again["moved"], 0);

    // The export queue's dead letters go back to the export queue (its worker drops a job
    // the table does not know).
    let moved = root
        .post("/api/dead-letters/export/redrive", json!({}))
        .await
        .expect(200);
    assert_eq!(moved["moved"], 1);
    assert!(bodies(&root.get("/api/dead-letters?queue=export").await.expect(200)).is_empty());

    let audit = root.all_pages("/api/audit", 100).await;
    let redrives: Vec<(String, String, String)> = audit
        .iter()
        .filter(|e| e["action"] == "POST /api/dead-letters/{queue}/redrive")
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or_default().to_string(),
                e["target"].as_str().unwrap_or_default().to_string(),
                e["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for expected in [
        ("viewer", "/api/dead-letters/sync/redrive", "refused"),
        ("root", "dead-letters/sync", "succeeded"),
        ("op", "dead-letters/qr", "succeeded"),
    ] {
        assert!(
            redrives.contains(&(
                expected.0.to_string(),
                expected.1.to_string(),
                expected.2.to_string()
            )),
            "{expected:?} not in {redrives:?}"
        );
    }
    stack.shutdown().await;
}
