//! Ending sessions (#20): a logout, a password change, a role or scope change and a disable
//! each end that admin's existing tokens on the very next request, and nobody else's.

use livenotify::domain::Role;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{
    AdminClient, PASSWORD, call, create_admin, login, login_as, operator,
};
use reqwest::Method;
use serde_json::json;

async fn ended(client: &AdminClient) -> bool {
    let reply = client.get("/api/auth/me").await;
    reply.status == 401 && reply.code() == "session_ended"
}

#[tokio::test]
async fn each_way_of_ending_a_session_ends_every_token_of_that_admin_at_once() {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    create_admin(&stack, "alice", operator(&["wxa"])).await;

    // Logout: this token and the admin's other tokens (another device), nobody else's.
    let laptop = login(&stack, "alice").await;
    let phone = login(&stack, "alice").await;
    let bob = login_as(&stack, "bob", operator(&["wxa"])).await;
    let out = laptop.post("/api/auth/logout", json!({})).await;
    assert_eq!(out.status, 204, "{:?}", out.body);
    assert!(ended(&laptop).await, "the logged-out token");
    assert!(ended(&phone).await, "the admin's other token");
    assert_eq!(laptop.post("/api/auth/logout", json!({})).await.status, 401);
    bob.get("/api/auth/me").await.expect(200);
    root.get("/api/auth/me").await.expect(200);

    // A new password ends the sessions; the new password logs in.
    let before = login(&stack, "alice").await;
    root.patch(
        "/api/admins/alice",
        json!({"password": "a brand new password"}),
    )
    .await
    .expect(200);
    assert!(ended(&before).await, "after a password change");
    let relog = call(
        &stack,
        Method::POST,
        "/api/auth/login",
        Some(json!({"username": "alice", "password": "a brand new password"})),
    )
    .await
    .expect(200);
    let fresh = relog["token"].as_str().unwrap().to_string();

    // A role change and a scope change each end them.
    let send_me = |token: String| {
        let stack = &stack;
        async move {
            stack
                .http
                .get(format!("{}/api/auth/me", stack.url()))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(send_me(fresh.clone()).await, 200);
    root.patch(
        "/api/admins/alice",
        json!({"role": "viewer", "accounts": ["wxa"]}),
    )
    .await
    .expect(200);
    assert_eq!(send_me(fresh).await, 401, "after a role change");
    root.patch("/api/admins/alice", json!({"password": PASSWORD}))
        .await
        .expect(200);
    let viewer = login(&stack, "alice").await;
    root.patch(
        "/api/admins/alice",
        json!({"role": "viewer", "accounts": ["wxa", "wxb"]}),
    )
    .await
    .expect(200);
    assert!(ended(&viewer).await, "after a scope change");

    // A change that grants nothing new (the shown name) keeps them.
    let kept = login(&stack, "alice").await;
    root.patch("/api/admins/alice", json!({"display_name": "爱丽丝"}))
        .await
        .expect(200);
    kept.get("/api/auth/me").await.expect(200);

    // A disable ends them, and the disabled admin cannot log in again.
    root.patch("/api/admins/alice", json!({"disabled": true}))
        .await
        .expect(200);
    assert!(ended(&kept).await, "after a disable");
    let refused = call(
        &stack,
        Method::POST,
        "/api/auth/login",
        Some(json!({"username": "alice", "password": PASSWORD})),
    )
    .await;
    assert_eq!(refused.status, 401);
    root.patch("/api/admins/alice", json!({"disabled": false}))
        .await
        .expect(200);
    login(&stack, "alice")
        .await
        .get("/api/auth/me")
        .await
        .expect(200);
    stack.shutdown().await;
}

#[tokio::test]
async fn an_edit_from_a_stale_read_cannot_bring_ended_sessions_back() {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    create_admin(&stack, "carol", operator(&["wxa"])).await;
    // Many edits and logouts at once: every token issued before the last end stays ended.
    let carol = login(&stack, "carol").await;
    let edits = (0..6).map(|i| {
        let root = root.clone();
        async move {
            root.patch(
                "/api/admins/carol",
                json!({"display_name": format!("卡罗尔{i}")}),
            )
            .await
            .status
            .as_u16()
        }
    });
    let logout = async {
        carol
            .post("/api/auth/logout", json!({}))
            .await
            .status
            .as_u16()
    };
    let (statuses, out) = tokio::join!(futures::future::join_all(edits), logout);
    assert_eq!(out, 204);
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "an edit either lands or is told it raced: {statuses:?}"
    );
    assert!(ended(&carol).await, "no edit wrote the old epoch back");
    let stored = stack.store().find_admin("carol").await.unwrap().unwrap();
    assert!(stored.session_epoch >= 1);
    stack.shutdown().await;
}
