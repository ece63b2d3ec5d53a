//! admin-api accounts, courses (QR codes, versions, scope) and pushes over HTTP.

use livenotify::domain::{CourseId, Role, now};
use livenotify_tests::TestStack;
use livenotify_tests::admin::{AdminClient, login_as, operator, viewer};
use serde_json::{Value, json};

fn account_body(id: &str, kind: &str) -> Value {
    json!({
        "name": format!("{id} 名称"), "kind": kind, "appid": id,
        "app_secret": "topsecret-app-secret", "callback_token": "tok123",
        "encoding_aes_key": "a".repeat(43), "callback_mode": "safe"
    })
}

fn course_body(title: &str, accounts: &[&str]) -> Value {
    let templates: serde_json::Map<String, Value> = accounts
        .iter()
        .map(|a| {
            (
                (*a).to_string(),
                json!({"template_id": "tpl-1", "fields": {"thing1": "{title}"}}),
            )
        })
        .collect();
    json!({
        "title": title, "speaker": "张医生", "description": "心血管",
        "starts_at": (now() + chrono::Duration::days(2)).to_rfc3339(),
        "live_url": "https://live.example.com/1", "templates": templates
    })
}

async fn setup() -> (TestStack, AdminClient) {
    let stack = TestStack::start().await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    for (id, kind) in [
        ("wxa", "service"),
        ("wxb", "service"),
        ("wxsub", "subscription"),
    ] {
        root.post("/api/accounts", account_body(id, kind))
            .await
            .expect(201);
    }
    (stack, root)
}

fn field_keys(body: &Value) -> Vec<(String, String)> {
    body["details"]["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| {
                    (
                        f["field"].as_str().unwrap_or_default().to_string(),
                        f["key"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn accounts_keep_credentials_sealed_and_out_of_responses() {
    let (stack, root) = setup().await;
    let listed = root.get("/api/accounts?kind=service").await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let one = root.get("/api/accounts/wxa").await.expect(200);
    let text = one.to_string();
    assert!(
        !text.contains("topsecret") && !text.contains("tok123"),
        "{text}"
    );
    assert_eq!(one["callback_mode"], "safe");

    let bad = root
        .post(
            "/api/accounts",
            json!({"id": "bad id", "name": "", "kind": "wecom", "appid": "corp",
                   "app_secret": "", "callback_token": "x", "callback_mode": "safe"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let keys = field_keys(&bad.body);
    for expected in [
        ("id", "invalid_id"),
        ("name", "required"),
        ("wecom_agent_id", "required"),
        ("app_secret", "required"),
        ("callback_token", "invalid_token"),
        ("encoding_aes_key", "required"),
    ] {
        assert!(
            keys.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing from {keys:?}"
        );
    }
    assert_eq!(
        root.post("/api/accounts", account_body("wxa", "service"))
            .await
            .code(),
        "conflict"
    );

    root.patch(
        "/api/accounts/wxa",
        json!({"name": "htology", "app_secret": "rotated-secret"}),
    )
    .await
    .expect(200);
    let id = livenotify::domain::AccountId::new("wxa").unwrap();
    let secrets = stack.store().get_account_secrets(&id).await.unwrap();
    assert_eq!(secrets.app_secret, "rotated-secret");
    assert_eq!(
        secrets.callback_token, "tok123",
        "untouched credentials stay"
    );
    assert_eq!(
        stack.store().get_account(&id).await.unwrap().name,
        "htology"
    );

    let viewer = login_as(&stack, "view", viewer(&["wxa"])).await;
    assert_eq!(viewer.get("/api/accounts/wxa").await.status, 200);
    assert_eq!(viewer.delete("/api/accounts/wxa").await.status, 403);
    let op = login_as(&stack, "op", operator(&["wxa"])).await;
    assert_eq!(
        op.patch("/api/accounts/wxa", json!({"name": "x"}))
            .await
            .status,
        403
    );
    root.delete("/api/accounts/wxb").await.expect(204);
    assert_eq!(root.get("/api/accounts/wxb").await.code(), "not_found");
    assert_eq!(root.get("/api/accounts/bad%20id").await.status, 422);
    stack.shutdown().await;
}

#[tokio::test]
async fn courses_are_validated_versioned_listed_and_deleted() {
    let (stack, root) = setup().await;
    let bad = root
        .post(
            "/api/courses",
            json!({"title": " ", "starts_at": now().to_rfc3339(),
                   "ends_at": (now() - chrono::Duration::hours(1)).to_rfc3339(),
                   "live_url": "javascript:alert(1)", "required_account": "nope",
                   "templates": {"wxzzz": {"template_id": ""}}}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let keys = field_keys(&bad.body);
    for expected in [
        ("title", "required"),
        ("live_url", "invalid_url"),
        ("ends_at", "before_start"),
        ("required_account", "unknown_account"),
        ("templates.wxzzz", "unknown_account"),
    ] {
        assert!(
            keys.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing from {keys:?}"
        );
    }
    assert!(bad.body["details"]["fields"][0]["message"].is_string());
    assert_eq!(
        root.post("/api/courses", json!({"title": 5})).await.code(),
        "bad_request"
    );

    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = course_body(&format!("课程{i}"), &["wxa"]);
        body["starts_at"] = json!((now() + chrono::Duration::days(i + 1)).to_rfc3339());
        body["required_account"] = json!("wxsub");
        let created = root.post("/api/courses", body).await.expect(201);
        assert_eq!(created["version"], 1);
        assert_eq!(created["phase"], "upcoming");
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    let all = root.all_pages("/api/courses", 2).await;
    let listed: Vec<&str> = all.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let desc = root.get("/api/courses?sort=desc&limit=1").await.expect(200);
    assert_eq!(desc["items"][0]["id"], json!(ids[4]));
    let found = root
        .get("/api/courses?q=%E8%AF%BE%E7%A8%8B3")
        .await
        .expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(root.get("/api/courses?sort=sideways").await.status, 422);
    assert_eq!(root.get("/api/courses?limit=0").await.status, 422);
    let page = root.get("/api/accounts?limit=1").await.expect(200);
    let cursor = page["next_cursor"].as_str().unwrap();
    let refused = root.get(&format!("/api/courses?cursor={cursor}")).await;
    assert_eq!(refused.status, 422);
    assert_eq!(field_keys(&refused.body)[0].0, "cursor");

    let path = format!("/api/courses/{}", ids[0]);
    let mut update = course_body("改名了", &["wxa"]);
    update["version"] = json!(1);
    let updated = root.put(&path, update.clone()).await.expect(200);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["title"], "改名了");
    let stale = root.put(&path, update).await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.code(), "conflict");
    assert_eq!(root.get(&path).await.expect(200)["title"], "改名了");

    root.delete(&path).await.expect(204);
    assert_eq!(root.get(&path).await.status, 404);
    assert_eq!(root.delete(&path).await.status, 404);
    assert_eq!(root.get("/api/courses/not-a-ulid").await.status, 422);
    stack.shutdown().await;
}

#[tokio::test]
async fn a_mapping_every_push_would_refuse_is_refused_when_the_course_is_saved() {
    let (stack, root) = setup().await;
    let with_fields = |title: &str, fields: Value| {
        let mut body = course_body(title, &["wxa", "wxsub"]);
        body["templates"]["wxa"]["fields"] = fields;
        body
    };
    // An unknown placeholder, an unbalanced brace, and a thing field longer than WeChat's 20.
    for (fields, field, key) in [
        (
            json!({"thing1": "{nope}"}),
            "templates.wxa.fields.thing1",
            "invalid_placeholder",
        ),
        (
            json!({"thing1": "{title"}),
            "templates.wxa.fields.thing1",
            "invalid_placeholder",
        ),
        (
            json!({"thing1": "一二三四五六七八九十一二三四五六七八九十一"}),
            "templates.wxa.fields.thing1",
            "invalid_field_value",
        ),
        (
            json!({"thing1": "第\n二行"}),
            "templates.wxa.fields.thing1",
            "invalid_field_value",
        ),
    ] {
        let refused = root
            .post("/api/courses", with_fields("映射", fields.clone()))
            .await;
        assert_eq!(refused.status, 422, "{fields}: {:?}", refused.body);
        assert!(
            field_keys(&refused.body).contains(&(field.to_string(), key.to_string())),
            "{fields}: {:?}",
            refused.body
        );
    }
    // A placeholder that fills past the limit: the course's own title is too long for it.
    let long_title = "很长的课程标题超过了二十个字符的微信限制很长很长";
    let refused = root
        .post("/api/courses", course_body(long_title, &["wxa"]))
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        field_keys(&refused.body).contains(&(
            "templates.wxa.fields.thing1".into(),
            "invalid_field_value".into()
        )),
        "{:?}",
        refused.body
    );
    let listed = root.get("/api/courses").await.expect(200);
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        0,
        "nothing saved"
    );

    // Saved when right; an update to a bad mapping is refused and changes nothing.
    let created = root
        .post(
            "/api/courses",
            with_fields(
                "映射",
                json!({"thing1": "{title}", "time2": "{start_time}"}),
            ),
        )
        .await
        .expect(201);
    let path = format!("/api/courses/{}", created["id"].as_str().unwrap());
    let mut update = with_fields("映射", json!({"thing1": "{speaker}{nope}"}));
    update["version"] = json!(1);
    let refused = root.put(&path, update).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    let kept = root.get(&path).await.expect(200);
    assert_eq!(kept["version"], 1);
    assert_eq!(kept["templates"]["wxa"]["fields"]["thing1"], "{title}");
    stack.shutdown().await;
}

#[tokio::test]
async fn operators_manage_only_courses_of_their_accounts_and_viewers_nothing() {
    let (stack, root) = setup().await;
    let op = login_as(&stack, "op", operator(&["wxa"])).await;
    let viewer = login_as(&stack, "view", viewer(&["wxa"])).await;
    op.post("/api/courses", course_body("mine", &["wxa"]))
        .await
        .expect(201);
    let outside = op
        .post("/api/courses", course_body("theirs", &["wxb"]))
        .await;
    assert_eq!(outside.status, 403);
    assert_eq!(
        viewer
            .post("/api/courses", course_body("v", &["wxa"]))
            .await
            .status,
        403
    );
    let titles: Vec<String> = root
        .all_pages("/api/courses", 10)
        .await
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles, ["mine"], "refused calls created nothing");

    let theirs = root
        .post("/api/courses", course_body("theirs", &["wxb"]))
        .await
        .expect(201);
    let path = format!("/api/courses/{}", theirs["id"].as_str().unwrap());
    // Outside the scope a course is answered as absent; viewers are refused any write first.
    assert_eq!(op.delete(&path).await.status, 404);
    assert_eq!(viewer.delete(&path).await.status, 403);
    assert_eq!(op.post(&format!("{path}/qr"), json!({})).await.status, 404);
    assert_eq!(root.get(&path).await.status, 200, "still there");
    // Reading is scoped too: a viewer of wxa does not see it, a viewer of wxb does.
    assert_eq!(viewer.get(&path).await.status, 404);
    assert_eq!(op.get(&path).await.status, 404);
    let wxb_viewer = login_as(&stack, "view-b", livenotify_tests::admin::viewer(&["wxb"])).await;
    assert_eq!(wxb_viewer.get(&path).await.status, 200);
    let listed: Vec<String> = viewer
        .all_pages("/api/courses", 10)
        .await
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ["mine"], "the list holds only in-scope courses");
    stack.shutdown().await;
}

#[tokio::test]
async fn qr_codes_are_served_as_presigned_links_and_can_be_regenerated() {
    let (stack, root) = setup().await;
    let created = root
        .post("/api/courses", course_body("二维码", &["wxa"]))
        .await
        .expect(201);
    let id: CourseId = created["id"].as_str().unwrap().parse().unwrap();
    let qr_path = format!("/api/courses/{id}/qr");
    let pending = root.get(&qr_path).await.expect(200);
    assert_eq!(pending["ready"], false);

    // The stack's qr-generator renders the codes (the landing code at least: these test
    // accounts are unknown to the WeChat sandbox, so their parametric codes fail).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ready = loop {
        let answer = root.get(&qr_path).await.expect(200);
        if answer["ready"] == true {
            break answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no QR codes: {answer}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    let landing = ready["landing"]["png_url"].as_str().unwrap();
    let bytes = stack
        .http
        .get(landing)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG is downloaded");

    let queued = root.post(&qr_path, json!({})).await.expect(202);
    assert_eq!(queued["queued"], true);
    let viewer = login_as(&stack, "view", viewer(&["wxa"])).await;
    assert_eq!(viewer.post(&qr_path, json!({})).await.status, 403);
    assert_eq!(
        root.post("/api/courses/01J0000000000000000000000Z/qr", json!({}))
            .await
            .status,
        404
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn pushes_are_created_per_account_scheduled_listed_and_cancelled() {
    let (stack, root) = setup().await;
    let course = root
        .post("/api/courses", course_body("推送", &["wxa", "wxb"]))
        .await
        .expect(201);
    let course_id = course["id"].as_str().unwrap();
    let later = (now() + chrono::Duration::hours(1)).to_rfc3339();

    let bad = root
        .post(
            "/api/pushes",
            json!({"course_id": course_id, "account_ids": ["wxa", "wxsub", "wxa", "nope"],
                   "audience": {"type": "all_followers"}, "scheduled_at": later,
                   "minutes_before_start": 5}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let keys = field_keys(&bad.body);
    for expected in [
        ("account_ids[1]", "no_template"),
        ("account_ids[2]", "duplicate"),
        ("account_ids[3]", "unknown_account"),
        ("scheduled_at", "conflicting_schedule"),
    ] {
        assert!(
            keys.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing from {keys:?}"
        );
    }
    let created = root
        .post(
            "/api/pushes",
            json!({"course_id": course_id, "account_ids": ["wxa", "wxb"],
                   "audience": {"type": "tag", "tag_id": 7}, "scheduled_at": later}),
        )
        .await
        .expect(201);
    let pushes = created["pushes"].as_array().unwrap();
    assert_eq!(pushes.len(), 2);
    assert!(
        pushes
            .iter()
            .all(|p| p["status"] == "pending" && p["channel"] == "template")
    );
    assert_eq!(pushes[0]["audience"], json!({"type": "tag", "tag_id": 7}));
    assert_eq!(pushes[0]["created_by"], "root");

    let by_course = root
        .all_pages(&format!("/api/courses/{course_id}/pushes"), 1)
        .await;
    assert_eq!(by_course.len(), 2);
    let recent = root
        .get(&format!("/api/pushes?course_id={course_id}"))
        .await
        .expect(200);
    assert_eq!(recent["items"].as_array().unwrap().len(), 2);
    let push_id = pushes[0]["id"].as_str().unwrap();
    let one = root
        .get(&format!("/api/pushes/{push_id}"))
        .await
        .expect(200);
    assert_eq!(one["counters"]["targeted"], 0);

    // An uploaded openid list is stored in S3 for the worker.
    let listed = root
        .post(
            "/api/pushes",
            json!({"course_id": course_id, "account_ids": ["wxa"], "scheduled_at": later,
                   "audience": {"type": "openid_list", "openids": ["o1", "o2", "o3"]}}),
        )
        .await
        .expect(201);
    let audience = &listed["pushes"][0]["audience"];
    assert_eq!(audience["count"], 3);
    let object = stack
        .platform
        .s3
        .get_object()
        .bucket(&stack.resources.bucket)
        .key(audience["s3_key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let text = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(&text[..], b"o1\no2\no3");

    let op = login_as(&stack, "op", operator(&["wxa"])).await;
    let outside = op
        .post(
            "/api/pushes",
            json!({"course_id": course_id, "account_ids": ["wxb"], "audience": {"type": "signed_up"}}),
        )
        .await;
    assert_eq!(outside.status, 403);
    let wxb_push = pushes.iter().find(|p| p["account_id"] == "wxb").unwrap();
    let cancel_path = format!("/api/pushes/{}/cancel", wxb_push["id"].as_str().unwrap());
    assert_eq!(op.post(&cancel_path, json!({})).await.status, 404);
    let cancelled = root.post(&cancel_path, json!({})).await.expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert!(
        cancelled["status_reason"]
            .as_str()
            .unwrap()
            .contains("root")
    );
    assert_eq!(root.post(&cancel_path, json!({})).await.status, 409);

    // A draft course cannot be pushed.
    let mut draft = course_body("草稿", &["wxa"]);
    draft["status"] = json!("draft");
    let draft = root.post("/api/courses", draft).await.expect(201);
    let refused = root
        .post(
            "/api/pushes",
            json!({"course_id": draft["id"], "account_ids": ["wxa"], "audience": {"type": "all_followers"}}),
        )
        .await;
    assert_eq!(
        field_keys(&refused.body),
        [("course_id".to_string(), "course_not_published".to_string())]
    );
    stack.shutdown().await;
}
