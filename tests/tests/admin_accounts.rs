//! admin-api accounts: `follow_url` and `keyword_replies` are created, read, changed and
//! cleared over HTTP, validated field by field, written by super admins only, and a reply set
//! through the API is what a follower gets from the callback.

use livenotify::domain::Role;
use livenotify_tests::TestStack;
use livenotify_tests::admin::{login_as, operator, viewer};
use serde_json::{Value, json};
use wechat_sandbox::{EncryptionMode, SandboxAccount, UserSaw};

const SERVICE: &str = "wxaccountsvc0001";

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
async fn follow_url_and_keyword_replies_are_read_patched_validated_and_used() {
    let stack = TestStack::start().await;
    stack
        .add_account(SandboxAccount::service(SERVICE), EncryptionMode::Plaintext)
        .await;
    let root = login_as(&stack, "root", Role::SuperAdmin).await;

    // Created with both.
    let created = root
        .post(
            "/api/accounts",
            json!({"name": "onco", "kind": "subscription", "appid": "wxonco",
                   "app_secret": "s3cret-value", "callback_token": "tok123",
                   "follow_url": "http://weixin.qq.com/r/abc",
                   "keyword_replies": [{"keyword": " 会议 ", "reply": "会议日程请见官网。"}]}),
        )
        .await
        .expect(201);
    assert_eq!(created["follow_url"], "http://weixin.qq.com/r/abc");
    assert_eq!(
        created["keyword_replies"],
        json!([{"keyword": "会议", "reply": "会议日程请见官网。"}])
    );
    let read = root.get("/api/accounts/wxonco").await.expect(200);
    assert_eq!(read["follow_url"], created["follow_url"]);
    assert_eq!(read["keyword_replies"], created["keyword_replies"]);
    // Defaults: none.
    let plain = root
        .get(&format!("/api/accounts/{SERVICE}"))
        .await
        .expect(200);
    assert!(plain["follow_url"].is_null());
    assert_eq!(plain["keyword_replies"], json!([]));

    // PATCH replaces the list and sets the URL; absent fields stay.
    let patched = root
        .patch(
            &format!("/api/accounts/{SERVICE}"),
            json!({"follow_url": "https://mp.weixin.qq.com/follow",
                   "keyword_replies": [{"keyword": "资料", "reply": "课件在课程页下载。"},
                                       {"keyword": "Help", "reply": "回复“课程”看近期直播。"}]}),
        )
        .await
        .expect(200);
    assert_eq!(patched["follow_url"], "https://mp.weixin.qq.com/follow");
    assert_eq!(patched["keyword_replies"].as_array().unwrap().len(), 2);
    let renamed = root
        .patch(
            &format!("/api/accounts/{SERVICE}"),
            json!({"name": "htology"}),
        )
        .await
        .expect(200);
    assert_eq!(renamed["follow_url"], "https://mp.weixin.qq.com/follow");
    assert_eq!(renamed["keyword_replies"], patched["keyword_replies"]);

    // The follower gets the reply set through the API (matched case-insensitively).
    let user = stack.sandbox.add_followers(SERVICE, 1).remove(0);
    let outcome = stack.sandbox.send_text(&user, "help").await.unwrap();
    assert_eq!(
        outcome.user_saw(),
        UserSaw::Message {
            msg_type: "text".into(),
            content: Some("回复“课程”看近期直播。".into())
        }
    );

    // Validation: every bad field at once, nothing changed.
    let too_many: Vec<Value> = (0..201)
        .map(|i| json!({"keyword": format!("k{i}"), "reply": "r"}))
        .collect();
    for (body, expected) in [
        (
            json!({"follow_url": "weixin://x",
                   "keyword_replies": [{"keyword": "", "reply": "r"},
                                       {"keyword": "a", "reply": ""},
                                       {"keyword": "资料", "reply": "x"},
                                       {"keyword": " 资料", "reply": "y"},
                                       {"keyword": "长".repeat(31), "reply": "z"},
                                       {"keyword": "b", "reply": "长".repeat(601)}]}),
            vec![
                ("follow_url", "invalid_url"),
                ("keyword_replies[0].keyword", "required"),
                ("keyword_replies[1].reply", "required"),
                ("keyword_replies[3].keyword", "duplicate"),
                ("keyword_replies[4].keyword", "too_long"),
                ("keyword_replies[5].reply", "too_long"),
            ],
        ),
        (
            json!({"keyword_replies": too_many}),
            vec![("keyword_replies", "too_many")],
        ),
    ] {
        let reply = root.patch(&format!("/api/accounts/{SERVICE}"), body).await;
        assert_eq!(reply.status, 422, "{}", reply.body);
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(f, k)| (f.to_string(), k.to_string()))
            .collect();
        assert_eq!(fields(&reply.body), expected);
    }
    let bad_create = root
        .post(
            "/api/accounts",
            json!({"name": "x", "kind": "service", "appid": "wxbad",
                   "app_secret": "s", "callback_token": "tok123", "follow_url": "not a url"}),
        )
        .await;
    assert_eq!(
        fields(&bad_create.body),
        [("follow_url".to_string(), "invalid_url".to_string())]
    );
    let unchanged = root
        .get(&format!("/api/accounts/{SERVICE}"))
        .await
        .expect(200);
    assert_eq!(unchanged["keyword_replies"], patched["keyword_replies"]);

    // Only super admins write; others read.
    for (name, role) in [("viewer", viewer(&[SERVICE])), ("op", operator(&[SERVICE]))] {
        let admin = login_as(&stack, name, role).await;
        let refused = admin
            .patch(
                &format!("/api/accounts/{SERVICE}"),
                json!({"follow_url": ""}),
            )
            .await;
        assert_eq!(refused.status, 403, "{name}");
        let seen = admin
            .get(&format!("/api/accounts/{SERVICE}"))
            .await
            .expect(200);
        assert_eq!(seen["follow_url"], "https://mp.weixin.qq.com/follow");
    }

    // Clearing: "" removes the URL, [] removes every reply.
    let cleared = root
        .patch(
            &format!("/api/accounts/{SERVICE}"),
            json!({"follow_url": "", "keyword_replies": []}),
        )
        .await
        .expect(200);
    assert!(cleared["follow_url"].is_null());
    assert_eq!(cleared["keyword_replies"], json!([]));
    stack.shutdown().await;
}
