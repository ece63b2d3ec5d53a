//! admin-api authentication, roles and the audit log, over HTTP against the local stack.

use livenotify::domain::Role;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{PASSWORD, call, create_admin, login, login_as, operator, viewer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn login_gives_a_token_that_opens_the_api_and_bad_logins_are_refused() {
    let stack = TestStack::start().await;
    create_admin(&stack, "root", Role::SuperAdmin).await;

    // No token, a garbage token, a token for another purpose: 401 with the error body.
    let reply = call(&stack, Method::GET, "/api/courses", None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "unauthenticated");
    assert!(reply.body["message"].is_string());
    let forged = stack.platform.signer.sign(
        "session",
        &json!({"sub": "root"}),
        std::time::Duration::from_secs(60),
    );
    for token in ["garbage", forged.as_str()] {
        let reply = stack
            .http
            .get(format!("{}/api/courses", stack.url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 401, "{token}");
    }

    let wrong = call(
        &stack,
        Method::POST,
        "/api/auth/login",
        Some(json!({"username": "root", "password": "wrong password"})),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.code(), "invalid_credentials");
    let unknown = call(
        &stack,
        Method::POST,
        "/api/auth/login",
        Some(json!({"username": "nobody", "password": PASSWORD})),
    )
    .await;
    assert_eq!(unknown.code(), "invalid_credentials");
    let empty = call(
        &stack,
        Method::POST,
        "/api/auth/login",
        Some(json!({"username": "", "password": ""})),
    )
    .await;
    assert_eq!(empty.status, 422);
    let fields: Vec<&str> = empty.body["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "password"]);

    let root = login(&stack, "root").await;
    let me = root.get("/api/auth/me").await.expect(200);
    assert_eq!(me["username"], "root");
    assert_eq!(me["role"], "super_admin");
    assert!(me.get("password_hash").is_none());
    stack.shutdown().await;
}

#[tokio::test]
async fn five_failed_logins_lock_the_username_until_a_super_admin_unlocks_it() {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    create_admin(&stack, "alice", viewer(&[])).await;
    let attempt = |password: &'static str| {
        call(
            &stack,
            Method::POST,
            "/api/auth/login",
            Some(json!({"username": "alice", "password": password})),
        )
    };
    for _ in 0..4 {
        assert_eq!(
            attempt("nope nope nope").await.code(),
            "invalid_credentials"
        );
    }
    let locked = attempt("nope nope nope").await;
    assert_eq!(locked.status, 429);
    assert_eq!(locked.code(), "login_locked");
    assert!(locked.body["details"]["locked_until"].is_string());
    // Even the right password is refused while locked.
    assert_eq!(attempt(PASSWORD).await.status, 429);
    let shown = root.get("/api/admins/alice").await.expect(200);
    assert!(shown["locked_until"].is_string(), "{shown}");
    assert_eq!(shown["locked_from"], json!(["127.0.0.1"]));

    root.patch("/api/admins/alice", json!({"unlock": true}))
        .await
        .expect(200);
    assert_eq!(attempt(PASSWORD).await.status, 200);
    stack.shutdown().await;
}

#[tokio::test]
async fn roles_decide_what_is_allowed_and_forbidden_calls_change_nothing() {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    let viewer = login_as(&stack, "view", viewer(&[])).await;
    let op = login_as(&stack, "op", operator(&["wxop"])).await;

    // Only super admins manage admins and read the audit log.
    for client in [&viewer, &op] {
        assert_eq!(client.get("/api/admins").await.status, 403);
        assert_eq!(client.get("/api/audit").await.status, 403);
        let reply = client
            .post(
                "/api/admins",
                json!({"username": "mallory", "password": "0123456789ab", "role": "super_admin"}),
            )
            .await;
        assert_eq!(reply.status, 403);
        assert_eq!(reply.code(), "forbidden");
    }
    assert!(stack.store().find_admin("mallory").await.unwrap().is_none());

    // Super admin creates, lists, changes and deletes admins.
    let bad = root
        .post(
            "/api/admins",
            json!({"username": "x", "password": "short", "role": "operator"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let keys: Vec<(String, String)> = bad.body["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                f["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(keys.contains(&("username".into(), "invalid_username".into())));
    assert!(keys.contains(&("password".into(), "invalid_length".into())));
    assert!(keys.contains(&("accounts".into(), "required".into())));

    let created = root
        .post(
            "/api/admins",
            json!({"username": "carol", "password": PASSWORD, "role": "operator", "accounts": ["wxa"]}),
        )
        .await
        .expect(201);
    assert_eq!(created["accounts"], json!(["wxa"]));
    let carol = login(&stack, "carol").await;
    assert_eq!(
        carol.get("/api/auth/me").await.expect(200)["role"],
        "operator"
    );
    let listed = root.all_pages("/api/admins", 2).await;
    assert_eq!(listed.len(), 4);
    root.patch("/api/admins/carol", json!({"disabled": true}))
        .await
        .expect(200);
    // A disabled admin's token stops working at once.
    assert_eq!(carol.get("/api/auth/me").await.status, 401);
    assert_eq!(
        root.patch("/api/admins/root", json!({"role": "viewer"}))
            .await
            .status,
        422
    );
    assert_eq!(root.delete("/api/admins/root").await.status, 409);
    root.delete("/api/admins/carol").await.expect(204);
    assert_eq!(root.get("/api/admins/carol").await.status, 404);
    stack.shutdown().await;
}

#[tokio::test]
async fn every_mutating_call_is_in_the_audit_log() {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    let viewer = login_as(&stack, "view", viewer(&[])).await;
    root.post(
        "/api/admins",
        json!({"username": "dave", "password": PASSWORD, "role": "viewer", "accounts": ["wxaudit"]}),
    )
    .await
    .expect(201);
    assert_eq!(
        viewer
            .post("/api/courses", json!({"title": "x"}))
            .await
            .status,
        // The body is not even read: a viewer may not create anything.
        403
    );
    let entries = root.all_pages("/api/audit", 100).await;
    let find = |action: &str, actor: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action && e["actor"] == actor)
            .cloned()
            .unwrap_or_else(|| panic!("no {action} by {actor} in {entries:#?}"))
    };
    let create = find("POST /api/admins", "root");
    assert_eq!(create["outcome"], "succeeded");
    assert_eq!(create["target"], "admin/dave");
    let refused = find("POST /api/courses", "view");
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["details"]["status"], 403);
    let login = find("POST /api/auth/login", "view");
    assert_eq!(login["outcome"], "succeeded");
    // Reads are not audited; newest first.
    assert!(
        entries
            .iter()
            .all(|e| !e["action"].as_str().unwrap().starts_with("GET"))
    );
    let times: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    stack.shutdown().await;
}
