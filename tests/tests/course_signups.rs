//! A course's sign-ups (issue #21): real scans through the sandbox's phones, then listed,
//! counted and filtered in the admin API within each admin's accounts.

use livenotify::domain::{AccountId, CourseId, Role, Scene, now};
use livenotify::wechat::QrCodeRequest;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{AdminClient, login_as, operator, viewer};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use wechat_sandbox::{EncryptionMode, SandboxAccount};

const A: &str = "wxsignupa00000001";
const B: &str = "wxsignupb00000001";

/// A parametric code for `course` on `appid`, created through the platform's WeChat client.
async fn course_ticket(stack: &TestStack, appid: &str, course: CourseId) -> String {
    let account = stack
        .platform
        .token_account(&AccountId::new(appid).unwrap())
        .await
        .unwrap();
    let request = QrCodeRequest::StrScene {
        scene_str: Scene::Course(course).encode(),
        expire_seconds: 3600,
    };
    stack
        .platform
        .tokens
        .call(&account, |token| {
            let request = request.clone();
            async move {
                stack
                    .platform
                    .wechat()
                    .create_qrcode(&token, &request)
                    .await
            }
        })
        .await
        .unwrap()
        .ticket
}

async fn create_course(root: &AdminClient, title: &str, accounts: &[&str]) -> CourseId {
    let templates: serde_json::Map<String, Value> = accounts
        .iter()
        .map(|a| {
            (
                a.to_string(),
                json!({"template_id": "tpl-1", "fields": {"thing1": "{title}"}}),
            )
        })
        .collect();
    let created = root
        .post(
            "/api/courses",
            json!({"title": title, "live_url": "https://live.example.com/s",
                   "starts_at": (now() + chrono::Duration::days(1)).to_rfc3339(),
                   "templates": templates}),
        )
        .await
        .expect(201);
    created["id"].as_str().unwrap().parse().unwrap()
}

fn openids(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|s| s["openid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn sign_ups_are_listed_counted_and_scoped_with_their_source() {
    let stack = TestStack::start().await;
    for appid in [A, B] {
        stack
            .add_account(SandboxAccount::service(appid), EncryptionMode::Safe)
            .await;
    }
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    let course = create_course(&root, "报名课程", &[A, B]).await;
    let only_b = create_course(&root, "只在 B", &[B]).await;

    // On A: one user follows through the course code, one follower scans it (twice).
    let ticket_a = course_ticket(&stack, A, course).await;
    let newcomer = stack.sandbox.new_user(A).unwrap();
    assert_eq!(
        stack
            .sandbox
            .scan(&newcomer, &ticket_a)
            .await
            .unwrap()
            .event,
        "subscribe"
    );
    let follower = stack.sandbox.new_user(A).unwrap();
    assert!(stack.sandbox.follow(&follower).await.unwrap().delivered());
    for _ in 0..2 {
        assert_eq!(
            stack
                .sandbox
                .scan(&follower, &ticket_a)
                .await
                .unwrap()
                .event,
            "SCAN"
        );
    }
    // On B: two users.
    let ticket_b = course_ticket(&stack, B, course).await;
    let mut on_b = BTreeSet::new();
    for _ in 0..2 {
        let user = stack.sandbox.new_user(B).unwrap();
        stack.sandbox.scan(&user, &ticket_b).await.unwrap();
        on_b.insert(user);
    }

    let path = format!("/api/courses/{course}/signups");
    let all = root.all_pages(&path, 1).await;
    assert_eq!(
        all.len(),
        4,
        "one sign-up per person, pages of one: {all:?}"
    );
    let by_openid = |openid: &str| {
        all.iter()
            .find(|s| s["openid"] == openid)
            .unwrap_or_else(|| panic!("{openid} signed up"))
            .clone()
    };
    let first = by_openid(&newcomer);
    assert_eq!(first["source"], "follow_through_code");
    assert_eq!(first["source_label"], "扫码关注报名");
    assert_eq!(first["account_id"], A);
    assert_eq!(by_openid(&follower)["source"], "scan");
    let counts = root.get(&format!("{path}/counts")).await.expect(200);
    assert_eq!(counts, json!({"total": 4, "by_account": {A: 2, B: 2}}));
    let filtered = root.all_pages(&format!("{path}?account_id={B}"), 10).await;
    assert_eq!(openids(&filtered), on_b);

    // An operator of A sees A's sign-ups only; B's filter is refused, a course of B alone absent.
    let op = login_as(&stack, "op-a", operator(&[A])).await;
    let seen = op.all_pages(&path, 10).await;
    assert_eq!(
        openids(&seen),
        BTreeSet::from([newcomer.clone(), follower.clone()])
    );
    assert_eq!(
        op.get(&format!("{path}/counts")).await.expect(200),
        json!({"total": 2, "by_account": {A: 2}})
    );
    assert_eq!(op.get(&format!("{path}?account_id={B}")).await.status, 403);
    assert_eq!(
        op.get(&format!("/api/courses/{only_b}/signups"))
            .await
            .status,
        404
    );
    let view_b = login_as(&stack, "view-b", viewer(&[B])).await;
    assert_eq!(openids(&view_b.all_pages(&path, 10).await), on_b);

    // Exported as each admin sees them.
    let export = root
        .export(json!({"kind": "signups", "format": "csv", "course_id": course.to_string()}))
        .await;
    assert_eq!(export["status"], "succeeded", "{export}");
    assert_eq!(export["rows"], 4);
    let csv = stack
        .http
        .get(export["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csv = csv.trim_start_matches('\u{feff}');
    assert!(
        csv.starts_with("课程编号,公众号,openid,unionid,来源,报名时间"),
        "{csv}"
    );
    assert!(csv.contains(&format!("{A},{newcomer},")), "{csv}");
    assert!(
        csv.contains("扫码关注报名") && csv.contains("扫码报名"),
        "{csv}"
    );
    let mine = op
        .export(json!({"kind": "signups", "format": "xlsx", "course_id": course.to_string()}))
        .await;
    assert_eq!(
        mine["rows"], 2,
        "an operator exports its accounts' sign-ups: {mine}"
    );
    let refused = op
        .post(
            "/api/exports",
            json!({"kind": "signups", "format": "csv", "course_id": course.to_string(), "account_id": B}),
        )
        .await;
    assert_eq!(refused.status, 403);
    let absent = op
        .post(
            "/api/exports",
            json!({"kind": "signups", "format": "csv", "course_id": only_b.to_string()}),
        )
        .await;
    assert_eq!(absent.status, 404);

    // Bad input is a clear 422.
    assert_eq!(
        root.get(&format!("{path}?account_id=a%20b")).await.status,
        422
    );
    assert_eq!(root.get(&format!("{path}?limit=0")).await.status, 422);
    assert_eq!(root.get("/api/courses/nope/signups").await.status, 422);
    stack.shutdown().await;
}
