//! admin-api followers (直播用户 / 关注用户), notification records and sync runs over HTTP.

use livenotify::domain::{
    AccountId, CourseId, Delivery, DeliveryStatus, Follower, PushId, Role, SyncCounts, SyncRun,
    SyncRunId, SyncRunStatus, SyncTrigger, now,
};
use livenotify_tests::TestStack;
use livenotify_tests::admin::{AdminClient, login_as, operator, viewer};
use serde_json::json;

async fn setup() -> (TestStack, AdminClient) {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    for (id, kind) in [
        ("wxa", "service"),
        ("wxsub", "subscription"),
        ("mini", "mini_program"),
    ] {
        root.post(
            "/api/accounts",
            json!({"name": id, "kind": kind, "appid": id, "app_secret": "s3cret-value",
                   "callback_token": "tok123"}),
        )
        .await
        .expect(201);
    }
    (stack, root)
}

fn follower(account: &str, openid: &str, subscribed: bool, days_ago: i64) -> Follower {
    let at = now() - chrono::Duration::days(days_ago);
    Follower {
        account_id: AccountId::new(account).unwrap(),
        openid: openid.to_string(),
        unionid: Some(format!("u-{openid}")),
        subscribed,
        subscribe_time: Some(at),
        unsubscribed_at: (!subscribed).then_some(at),
        remark: format!("备注 {openid}"),
        tag_ids: if openid.ends_with('1') {
            vec![7]
        } else {
            vec![]
        },
        subscribe_scene: Some("ADD_SCENE_QR_CODE".into()),
        qr_scene: None,
        language: None,
        last_interaction_at: None,
        muted: false,
        synced_at: None,
        updated_at: at,
    }
}

fn delivery(push: PushId, course: CourseId, openid: &str, status: DeliveryStatus) -> Delivery {
    Delivery {
        push_id: push,
        course_id: course,
        account_id: AccountId::new("wxa").unwrap(),
        openid: openid.to_string(),
        status,
        msgid: None,
        client_msg_id: format!("{push}-{openid}"),
        attempts: 1,
        error_code: None,
        error_message: None,
        created_at: now(),
        updated_at: now(),
        expires_at: None,
    }
}

#[tokio::test]
async fn followers_are_listed_filtered_paged_and_found_across_accounts() {
    let (stack, root) = setup().await;
    for i in 0..5 {
        stack
            .store()
            .put_follower(&follower("wxa", &format!("o{i}"), i != 4, 10 - i))
            .await
            .unwrap();
    }
    stack
        .store()
        .put_follower(&follower("wxsub", "o1", true, 1))
        .await
        .unwrap();

    let all = root.all_pages("/api/accounts/wxa/followers", 2).await;
    assert_eq!(all.len(), 5);
    let subscribed = root
        .all_pages("/api/accounts/wxa/followers?subscribed=true", 3)
        .await;
    assert_eq!(subscribed.len(), 4);
    let from = (now() - chrono::Duration::hours(8 * 24 + 12)).to_rfc3339();
    let recent = root
        .get(&format!(
            "/api/accounts/wxa/followers?subscribed=true&from={}",
            urlencode(&from)
        ))
        .await
        .expect(200);
    let openids: Vec<&str> = recent["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["openid"].as_str().unwrap())
        .collect();
    assert_eq!(openids, ["o2", "o3"], "by subscribe time");
    let tagged = root
        .get("/api/accounts/wxa/followers?tag_id=7")
        .await
        .expect(200);
    assert_eq!(tagged["items"].as_array().unwrap().len(), 1);
    let remark = root
        .get(&format!(
            "/api/accounts/wxa/followers?remark={}",
            urlencode("备注 O3")
        ))
        .await
        .expect(200);
    assert_eq!(remark["items"][0]["openid"], "o3");
    let bad = root
        .get(&format!(
            "/api/accounts/wxa/followers?from={}",
            urlencode(&from)
        ))
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        root.get("/api/accounts/wxa/followers?subscribed=maybe")
            .await
            .status,
        400
    );
    assert_eq!(root.get("/api/accounts/nope/followers").await.status, 404);

    let one = root.get("/api/accounts/wxa/followers/o1").await.expect(200);
    assert_eq!(one["unionid"], "u-o1");
    assert_eq!(
        root.get("/api/accounts/wxa/followers/zzz").await.status,
        404
    );
    let person = root.get("/api/followers/by-unionid/u-o1").await.expect(200);
    let accounts: Vec<&str> = person["followers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["wxa", "wxsub"]);

    let push = PushId::generate();
    let course = CourseId::generate();
    for status in [DeliveryStatus::Sent] {
        stack
            .store()
            .claim_delivery(&delivery(push, course, "o1", status))
            .await
            .unwrap();
    }
    let records = root
        .get("/api/accounts/wxa/followers/o1/deliveries")
        .await
        .expect(200);
    assert_eq!(records["items"][0]["push_id"], json!(push.to_string()));
    stack.shutdown().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A course with two pushes on wxa (3 and 2 records) made through the API.
async fn course_with_records(stack: &TestStack, root: &AdminClient) -> (String, Vec<PushId>) {
    let course = root
        .post(
            "/api/courses",
            json!({"title": "记录", "starts_at": (now() + chrono::Duration::days(1)).to_rfc3339(),
                   "live_url": "https://live.example.com/x",
                   "templates": {"wxa": {"template_id": "tpl", "fields": {"thing1": "{title}"}}}}),
        )
        .await
        .expect(201);
    let course_id = course["id"].as_str().unwrap().to_string();
    let later = (now() + chrono::Duration::hours(2)).to_rfc3339();
    let mut pushes = Vec::new();
    for _ in 0..2 {
        let created = root
            .post(
                "/api/pushes",
                json!({"course_id": course_id, "account_ids": ["wxa"],
                       "audience": {"type": "all_followers"}, "scheduled_at": later}),
            )
            .await
            .expect(201);
        pushes.push(
            created["pushes"][0]["id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    let course: CourseId = course_id.parse().unwrap();
    for (push, openids) in pushes.iter().zip([&["a", "b", "c"][..], &["d", "e"][..]]) {
        for (i, openid) in openids.iter().enumerate() {
            let status = if i == 0 {
                DeliveryStatus::Failed
            } else {
                DeliveryStatus::Delivered
            };
            stack
                .store()
                .claim_delivery(&delivery(*push, course, openid, status))
                .await
                .unwrap();
        }
    }
    (course_id, pushes)
}

#[tokio::test]
async fn records_are_listed_by_push_and_course_filtered_and_deleted() {
    let (stack, root) = setup().await;
    let (course_id, pushes) = course_with_records(&stack, &root).await;

    let by_course = root
        .all_pages(&format!("/api/courses/{course_id}/deliveries"), 2)
        .await;
    let mut openids: Vec<&str> = by_course
        .iter()
        .map(|d| d["openid"].as_str().unwrap())
        .collect();
    openids.sort();
    assert_eq!(
        openids,
        ["a", "b", "c", "d", "e"],
        "every record once across pages"
    );
    let failed = root
        .all_pages(
            &format!("/api/courses/{course_id}/deliveries?status=failed"),
            1,
        )
        .await;
    assert_eq!(failed.len(), 2);
    let other_course = CourseId::generate();
    let page = root
        .get(&format!("/api/courses/{course_id}/deliveries?limit=1"))
        .await
        .expect(200);
    let cursor = page["next_cursor"].as_str().unwrap();
    assert_eq!(
        root.get(&format!(
            "/api/courses/{other_course}/deliveries?cursor={cursor}"
        ))
        .await
        .status,
        404,
        "unknown course"
    );
    let by_push = root
        .all_pages(&format!("/api/pushes/{}/deliveries", pushes[0]), 2)
        .await;
    assert_eq!(by_push.len(), 3);
    let future = (now() + chrono::Duration::days(1)).to_rfc3339();
    let none = root
        .get(&format!(
            "/api/pushes/{}/deliveries?from={}",
            pushes[0],
            urlencode(&future)
        ))
        .await
        .expect(200);
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    // Viewers cannot delete; to operators of other accounts the records are absent (one:
    // 404; many: counted like absent ones, and left alone). Nothing changes.
    let viewer = login_as(&stack, "view", viewer(&["wxa"])).await;
    let other = login_as(&stack, "op2", operator(&["wxsub"])).await;
    let one = format!("/api/deliveries/{}/a", pushes[0]);
    assert_eq!(viewer.delete(&one).await.status, 403);
    assert_eq!(other.delete(&one).await.status, 404);
    let many = json!({"records": [{"push_id": pushes[1].to_string(), "openid": "d"},
                                  {"push_id": pushes[1].to_string(), "openid": "e"}]});
    assert_eq!(
        other
            .post("/api/deliveries/delete", many.clone())
            .await
            .expect(200)["deleted"],
        2
    );
    for (push, openid) in [(pushes[0], "a"), (pushes[1], "d"), (pushes[1], "e")] {
        assert!(
            stack
                .store()
                .find_delivery(push, openid)
                .await
                .unwrap()
                .is_some(),
            "{openid} is still there"
        );
    }
    assert_eq!(
        other
            .get(&format!("/api/pushes/{}/deliveries", pushes[0]))
            .await
            .status,
        404,
        "nor can they read them"
    );

    let op = login_as(&stack, "op", operator(&["wxa"])).await;
    op.delete(&one).await.expect(204);
    assert!(
        stack
            .store()
            .find_delivery(pushes[0], "a")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(root.delete(&one).await.status, 404);
    let deleted = root.post("/api/deliveries/delete", many).await.expect(200);
    assert_eq!(deleted["deleted"], 2);
    let left = root
        .all_pages(&format!("/api/courses/{course_id}/deliveries"), 50)
        .await;
    assert_eq!(left.len(), 2);
    let bad = root
        .post(
            "/api/deliveries/delete",
            json!({"records": [{"push_id": "nope", "openid": ""}]}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["details"]["fields"].as_array().unwrap().len(), 2);
    assert_eq!(
        root.post("/api/deliveries/delete", json!({"records": []}))
            .await
            .status,
        422
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn sync_can_be_triggered_and_its_runs_are_listed() {
    let (stack, root) = setup().await;
    root.post("/api/accounts/wxsub/sync-runs", json!({}))
        .await
        .expect(202);
    assert_eq!(
        root.post("/api/accounts/mini/sync-runs", json!({}))
            .await
            .status,
        422
    );
    assert_eq!(
        root.post("/api/accounts/nope/sync-runs", json!({}))
            .await
            .status,
        404
    );
    let viewer = login_as(&stack, "view", viewer(&["wxa", "wxsub"])).await;
    assert_eq!(
        viewer
            .post("/api/accounts/wxsub/sync-runs", json!({}))
            .await
            .status,
        403
    );
    let op = login_as(&stack, "op", operator(&["wxa"])).await;
    assert_eq!(
        op.post("/api/accounts/wxsub/sync-runs", json!({}))
            .await
            .status,
        404,
        "another account is absent to an operator"
    );
    op.post("/api/accounts/wxa/sync-runs", json!({}))
        .await
        .expect(202);

    // Runs as follower-sync records them.
    let mut ids = Vec::new();
    for account in ["wxa", "wxsub", "wxa"] {
        let run = SyncRun {
            id: SyncRunId::generate(),
            account_id: AccountId::new(account).unwrap(),
            trigger: SyncTrigger::Manual,
            status: SyncRunStatus::Completed,
            started_at: now(),
            finished_at: Some(now()),
            checkpoint: None,
            counts: SyncCounts {
                total: 3,
                ..Default::default()
            },
            error: None,
        };
        stack.store().save_sync_run(&run).await.unwrap();
        ids.push(run.id);
    }
    let wxa = root.all_pages("/api/accounts/wxa/sync-runs", 1).await;
    let wxa_ids: Vec<&str> = wxa.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(wxa_ids.contains(&ids[0].to_string().as_str()));
    assert!(wxa_ids.contains(&ids[2].to_string().as_str()));
    let all = root.all_pages("/api/sync-runs", 2).await;
    assert!(all.len() >= 3);
    // An operator of wxa sees only wxa's runs, here and in the account's own list.
    let theirs = op.all_pages("/api/sync-runs", 1).await;
    assert!(!theirs.is_empty());
    assert!(
        theirs.iter().all(|r| r["account_id"] == "wxa"),
        "{theirs:?}"
    );
    assert_eq!(
        op.get(&format!("/api/accounts/wxsub/sync-runs/{}", ids[1]))
            .await
            .status,
        404
    );
    assert_eq!(op.get("/api/accounts/wxsub/sync-runs").await.status, 404);
    let run = root
        .get(&format!("/api/accounts/wxsub/sync-runs/{}", ids[1]))
        .await
        .expect(200);
    assert_eq!(run["counts"]["total"], 3);
    assert_eq!(run["status"], "completed");
    assert_eq!(
        root.get(&format!("/api/accounts/wxa/sync-runs/{}", ids[1]))
            .await
            .status,
        404
    );
    stack.shutdown().await;
}
