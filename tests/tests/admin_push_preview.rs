//! admin-api push preview and test-send over HTTP, against the WeChat sandbox: the preview is
//! the message WeChat would get, field rules are checked before sending, a test message
//! reaches the sandbox, WeChat's refusal comes back as 502 with its errcode, roles apply and
//! the send is audited.

use livenotify::domain::Role;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{AdminClient, call, login_as, operator, viewer};
use reqwest::Method;
use serde_json::{Value, json};
use wechat_sandbox::{EncryptionMode, SandboxAccount};

const SERVICE: &str = "wxpreview0000001";
const OTHER: &str = "wxpreview0000002";
const SUBSCRIPTION: &str = "wxpreviewsub0001";
const WECOM: &str = "wwpreviewwecom01";

fn course_body(title: &str) -> Value {
    json!({
        "title": title, "speaker": "张医生", "description": "心血管",
        "starts_at": "2030-01-02T11:30:00Z",
        "live_url": "https://live.example.com/1",
        "templates": {
            SERVICE: {"template_id": "tpl-1", "fields": {"thing1": "{title}", "time2": "{start_time}", "name3": "{speaker}"}},
            SUBSCRIPTION: {"template_id": "tpl-2", "fields": {"thing1": "{title}"}}
        }
    })
}

async fn setup() -> (TestStack, AdminClient, Vec<String>) {
    let stack = TestStack::start().await;
    for account in [
        SandboxAccount::service(SERVICE),
        SandboxAccount::service(OTHER),
        SandboxAccount::subscription(SUBSCRIPTION),
    ] {
        stack.add_account(account, EncryptionMode::Plaintext).await;
    }
    let openids = stack.sandbox.add_followers(SERVICE, 2);
    let root = login_as(&stack, "root", Role::SuperAdmin).await;
    (stack, root, openids)
}

async fn create_course(root: &AdminClient, title: &str) -> String {
    root.post("/api/courses", course_body(title))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn fields(body: &Value) -> Vec<(String, String)> {
    body["details"]["fields"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap_or_default().to_string(),
                f["key"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn preview_renders_the_message_as_sent_and_refuses_what_wechat_would_refuse() {
    let (stack, root, _) = setup().await;
    let course = create_course(&root, "心内科病例讨论").await;
    let viewer = login_as(
        &stack,
        "viewer",
        viewer(&[SERVICE, OTHER, SUBSCRIPTION, WECOM]),
    )
    .await;
    // Previewing is reading: a viewer may.
    let preview = viewer
        .post(
            "/api/pushes/preview",
            json!({"course_id": course, "account_id": SERVICE}),
        )
        .await
        .expect(200);
    assert_eq!(preview["account_id"], SERVICE);
    assert_eq!(preview["channel"], "template");
    let rendered = &preview["rendered"];
    assert_eq!(rendered["template_id"], "tpl-1");
    assert_eq!(rendered["data"]["thing1"]["value"], "心内科病例讨论");
    // China time, as followers read it.
    assert_eq!(rendered["data"]["time2"]["value"], "2030-01-02 19:30");
    assert_eq!(rendered["data"]["name3"]["value"], "张医生");
    assert_eq!(rendered["url"], format!("{}/c/{course}", stack.url()));
    let text = preview["text"].as_str().unwrap();
    assert!(
        text.contains("thing1：心内科病例讨论") && text.contains("链接："),
        "{text}"
    );

    // Title longer than a `thing` field's 20 characters: refused when saved, so this course
    // is one stored before that rule (written to the table directly).
    let long_title = "一个非常非常非常非常非常非常长的课程标题超过二十字";
    let refused = root.post("/api/courses", course_body(long_title)).await;
    assert_eq!(
        refused.status, 422,
        "saving it is refused: {}",
        refused.body
    );
    let long = create_course(&root, "短标题").await;
    let mut stored = stack
        .store()
        .get_course(long.parse().unwrap())
        .await
        .unwrap();
    stored.title = long_title.into();
    stack.store().update_course(&stored).await.unwrap();
    let reply = root
        .post(
            "/api/pushes/preview",
            json!({"course_id": long, "account_id": SERVICE}),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.code(), "validation_failed");
    assert_eq!(
        fields(&reply.body),
        [(
            format!("templates.{SERVICE}.fields.thing1"),
            "invalid_field_value".to_string()
        )]
    );
    assert!(
        reply.body["details"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("thing1")
    );

    // No mapping for the account; a template from a subscription account; unknown and
    // malformed ids: each a field error.
    let cases = [
        (
            json!({"course_id": course, "account_id": OTHER}),
            ("account_id", "no_template"),
        ),
        (
            json!({"course_id": course, "account_id": SUBSCRIPTION, "channel": "template"}),
            ("channel", "channel_not_allowed"),
        ),
        (
            json!({"course_id": "01J0000000000000000000000Z", "account_id": SERVICE}),
            ("course_id", "unknown_course"),
        ),
        (
            json!({"course_id": course, "account_id": "a b"}),
            ("account_id", "invalid_id"),
        ),
    ];
    for (body, (field, key)) in cases {
        let reply = root.post("/api/pushes/preview", body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_eq!(
            fields(&reply.body),
            [(field.to_string(), key.to_string())],
            "{body}"
        );
    }
    let reply = root
        .post("/api/pushes/preview", json!({"course_id": course}))
        .await;
    assert_eq!(reply.status, 400, "missing account_id is unreadable");
    let anonymous = call(
        &stack,
        Method::POST,
        "/api/pushes/preview",
        Some(json!({"course_id": course, "account_id": SERVICE})),
    )
    .await;
    assert_eq!(anonymous.status, 401);
    stack.shutdown().await;
}

#[tokio::test]
async fn test_send_reaches_the_follower_and_wechat_refusals_come_back_as_502() {
    let (stack, root, openids) = setup().await;
    let course = create_course(&root, "心内科病例讨论").await;
    let sent = root
        .post(
            "/api/pushes/test-send",
            json!({"course_id": course, "account_id": SERVICE, "openid": openids[0]}),
        )
        .await
        .expect(200);
    assert_eq!(sent["sent"], true);
    let msgid = sent["msgid"].as_str().unwrap().to_string();
    let received = stack.sandbox.messages_to(&openids[0]);
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].msgid.map(|m| m.to_string()),
        Some(msgid.clone())
    );
    assert_eq!(received[0].body["template_id"], "tpl-1");
    assert_eq!(
        received[0].body["data"]["thing1"]["value"],
        "心内科病例讨论"
    );
    assert!(stack.sandbox.messages_to(&openids[1]).is_empty());

    // Someone who does not follow the account: WeChat answers 43004.
    let stranger = stack.sandbox.new_user(SERVICE).unwrap();
    let refused = root
        .post(
            "/api/pushes/test-send",
            json!({"course_id": course, "account_id": SERVICE, "openid": stranger}),
        )
        .await;
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert_eq!(refused.code(), "wechat_error");
    assert_eq!(refused.body["details"]["errcode"], 43004);
    assert!(refused.body["details"]["errmsg"].is_string());
    assert!(refused.body["message"].as_str().unwrap().contains("43004"));

    // Validation before anything is sent.
    let bad = root
        .post(
            "/api/pushes/test-send",
            json!({"course_id": course, "account_id": SERVICE, "openid": "有 空格"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        fields(&bad.body),
        [("openid".to_string(), "invalid_openid".to_string())]
    );
    assert_eq!(stack.sandbox.messages_to(&openids[0]).len(), 1);

    // Roles: viewers never, operators only for their accounts, and a refusal sends nothing.
    let viewer = login_as(
        &stack,
        "viewer",
        viewer(&[SERVICE, OTHER, SUBSCRIPTION, WECOM]),
    )
    .await;
    let elsewhere = login_as(&stack, "op-other", operator(&[OTHER])).await;
    let own = login_as(&stack, "op-own", operator(&[SERVICE])).await;
    let body = json!({"course_id": course, "account_id": SERVICE, "openid": openids[1]});
    assert_eq!(
        viewer
            .post("/api/pushes/test-send", body.clone())
            .await
            .status,
        403
    );
    assert_eq!(
        elsewhere
            .post("/api/pushes/test-send", body.clone())
            .await
            .status,
        403
    );
    assert!(stack.sandbox.messages_to(&openids[1]).is_empty());
    own.post("/api/pushes/test-send", body.clone())
        .await
        .expect(200);
    assert_eq!(stack.sandbox.messages_to(&openids[1]).len(), 1);
    let anonymous = call(&stack, Method::POST, "/api/pushes/test-send", Some(body)).await;
    assert_eq!(anonymous.status, 401);

    // Every test send, sent or refused, is in the audit log.
    let audit = root.all_pages("/api/audit", 100).await;
    let sends: Vec<&Value> = audit
        .iter()
        .filter(|e| e["action"] == "POST /api/pushes/test-send")
        .collect();
    let outcomes = |actor: &str| -> Vec<String> {
        sends
            .iter()
            .filter(|e| e["actor"] == actor)
            .map(|e| e["outcome"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(outcomes("root").len(), 3);
    assert!(outcomes("root").contains(&"succeeded".to_string()));
    assert!(sends.iter().any(|e| e["actor"] == "root"
        && e["target"] == format!("course/{course}/account/{SERVICE}/openid/{}", openids[0])));
    assert_eq!(outcomes("viewer"), ["refused"]);
    assert_eq!(outcomes("op-other"), ["refused"]);
    assert_eq!(outcomes("op-own"), ["succeeded"]);
    stack.shutdown().await;
}

#[tokio::test]
async fn every_channel_previews_and_test_sends_as_the_worker_would() {
    let (stack, root, openids) = setup().await;
    stack
        .add_account(
            SandboxAccount::wecom(WECOM, 1000002),
            EncryptionMode::Plaintext,
        )
        .await;
    let members = stack.sandbox.add_followers(WECOM, 1);
    let readers = stack.sandbox.add_followers(SUBSCRIPTION, 1);
    let course = create_course(&root, "心内科病例讨论").await;
    let preview = |account: &str, channel: &str| {
        root.post(
            "/api/pushes/preview",
            json!({"course_id": course, "account_id": account, "channel": channel}),
        )
    };

    let subscribe = preview(SUBSCRIPTION, "subscribe").await.expect(200);
    assert_eq!(subscribe["channel"], "subscribe");
    assert_eq!(subscribe["rendered"]["template_id"], "tpl-2");
    assert_eq!(
        subscribe["rendered"]["data"]["thing1"]["value"],
        "心内科病例讨论"
    );
    assert!(subscribe["rendered"].get("touser").is_none());
    let custom = preview(SERVICE, "customer_service").await.expect(200);
    assert_eq!(custom["rendered"]["msgtype"], "news");
    assert_eq!(
        custom["rendered"]["news"]["articles"][0]["title"],
        "心内科病例讨论"
    );
    assert!(
        custom["text"]
            .as_str()
            .unwrap()
            .starts_with("标题：心内科病例讨论")
    );
    let wecom = preview(WECOM, "wecom").await.expect(200);
    assert_eq!(wecom["rendered"]["msgtype"], "textcard");
    assert_eq!(wecom["rendered"]["agentid"], 1000002);
    assert!(wecom["rendered"].get("touser").is_none());

    let test_send = |account: &str, channel: &str, to: &str| {
        root.post(
            "/api/pushes/test-send",
            json!({"course_id": course, "account_id": account, "channel": channel, "openid": to}),
        )
    };
    // Customer service: inside the follower's 48 h window; the API returns no msgid.
    stack.sandbox.touch(&openids[0]).unwrap();
    let sent = test_send(SERVICE, "customer_service", &openids[0])
        .await
        .expect(200);
    assert_eq!(sent["msgid"], Value::Null);
    let got = stack.sandbox.messages_to(&openids[0]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].kind, wechat_sandbox::MessageKind::Custom);
    // A subscription message needs the reader's consent: WeChat's 43101 comes back as is,
    // and once the reader consents the message goes out and uses the consent up.
    let refused = test_send(SUBSCRIPTION, "subscribe", &readers[0]).await;
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert_eq!(refused.body["details"]["errcode"], 43101);
    stack
        .sandbox
        .grant_consent(&readers[0], "tpl-2", false)
        .unwrap();
    test_send(SUBSCRIPTION, "subscribe", &readers[0])
        .await
        .expect(200);
    let got = stack.sandbox.messages_to(&readers[0]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].kind, wechat_sandbox::MessageKind::Subscribe);
    // WeCom: a member of the app gets the card; an unknown member id is a field error.
    test_send(WECOM, "wecom", &members[0]).await.expect(200);
    assert_eq!(stack.sandbox.messages_to(&members[0]).len(), 1);
    let unknown = test_send(WECOM, "wecom", "nobody99").await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(
        fields(&unknown.body),
        [("openid".to_string(), "unknown_recipient".to_string())]
    );

    // Creating a push refuses, field by field, what the worker could not send.
    let reply = root
        .post(
            "/api/pushes",
            json!({"course_id": course, "account_ids": [SUBSCRIPTION], "channel": "template",
                   "audience": {"type": "all_followers"}}),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(
        fields(&reply.body),
        [("channel".to_string(), "channel_not_allowed".to_string())]
    );
    stack.shutdown().await;
}
