//! Login throttling (#20): failures are counted atomically per (username, client address)
//! and per address; a storm from one address locks that address out, not the admin.

use livenotify::domain::Role;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{PASSWORD, create_admin};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};

/// An HTTP client whose requests come from `ip` (any 127.x address is this machine).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(IpAddr::V4(Ipv4Addr::from(ip)))
        .build()
        .unwrap()
}

async fn login(
    stack: &TestStack,
    http: &reqwest::Client,
    username: &str,
    password: &str,
) -> (StatusCode, Value) {
    let response = http
        .post(format!("{}/api/auth/login", stack.url()))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn parallel_wrong_passwords_all_count_and_lock_only_that_address() {
    let stack = TestStack::start().await;
    create_admin(&stack, "root", Role::SuperAdmin).await;
    let attacker = client_from([127, 0, 0, 2]);
    let admin_desk = client_from([127, 0, 0, 3]);

    // 20 wrong passwords at once from one address.
    let tries = (0..20).map(|_| login(&stack, &attacker, "root", "wrong password!"));
    let answers = futures::future::join_all(tries).await;
    assert!(
        answers
            .iter()
            .all(|(s, b)| *s == StatusCode::UNAUTHORIZED || b["code"] == "login_locked"),
        "{answers:?}"
    );
    let failures = stack
        .store()
        .login_failures("root", "127.0.0.2", livenotify::domain::now())
        .await
        .unwrap();
    assert_eq!(
        failures.user_at_address.map(|c| c.failures),
        Some(20),
        "every parallel try counted, none lost"
    );
    // Locked from there, even with the right password.
    let (status, body) = login(&stack, &attacker, "root", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "login_locked");
    assert!(body["details"]["locked_until"].is_string());
    // The admin at another address logs in.
    let (status, body) = login(&stack, &admin_desk, "root", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A super admin sees where the admin is locked out from, and unlocks it.
    let token = body["token"].as_str().unwrap();
    let shown: Value = admin_desk
        .get(format!("{}/api/admins/root", stack.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["locked_from"], json!(["127.0.0.2"]), "{shown}");
    let unlocked = admin_desk
        .patch(format!("{}/api/admins/root", stack.url()))
        .bearer_auth(token)
        .json(&json!({"unlock": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(unlocked.status(), StatusCode::OK);
    assert_eq!(
        login(&stack, &attacker, "root", PASSWORD).await.0,
        StatusCode::OK
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn a_storm_across_usernames_locks_the_address_and_a_success_resets_only_its_own_count() {
    let stack = TestStack::start().await;
    for name in ["alice", "bob"] {
        create_admin(&stack, name, Role::SuperAdmin).await;
    }
    let storm = client_from([127, 0, 0, 4]);
    let elsewhere = client_from([127, 0, 0, 5]);
    // Four failures for alice, then her right password: the count starts again.
    for _ in 0..4 {
        assert_eq!(
            login(&stack, &storm, "alice", "wrong password!").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login(&stack, &storm, "alice", PASSWORD).await.0,
        StatusCode::OK
    );
    assert_eq!(
        login(&stack, &storm, "alice", "wrong password!").await.0,
        StatusCode::UNAUTHORIZED
    );
    // 30 failures from one address over many usernames (at most 4 each): the 30th is told
    // the address is locked, and so is everyone after.
    for i in 0..24 {
        let (status, _) = login(&stack, &storm, &format!("user{}", i / 4), "wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "try {i}");
    }
    let (status, body) = login(&stack, &storm, "user6", "wrong password!").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the 30th failure: {body}"
    );
    let (status, body) = login(&stack, &storm, "bob", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // Not the admins: from elsewhere both log in.
    for name in ["alice", "bob"] {
        assert_eq!(
            login(&stack, &elsewhere, name, PASSWORD).await.0,
            StatusCode::OK
        );
    }
    // Unknown usernames are counted and answered like wrong passwords (no existence leak).
    let (status, body) = login(&stack, &elsewhere, "nobody", "wrong password!").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    stack.shutdown().await;
}
