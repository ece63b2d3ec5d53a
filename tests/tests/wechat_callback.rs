//! wechat-callback through the local stack: the sandbox's phones fire signed callbacks (in
//! all three encryption modes) at the gateway running the real function, against moto.

use chrono::Duration;
use livenotify::domain::{
    AccountId, Audience, Channel, Course, CourseId, CourseStatus, Delivery, DeliveryStatus, Push,
    PushCounters, PushId, PushStatus, Scene, now,
};
use livenotify::store::PageRequest;
use livenotify::wechat::QrCodeRequest;
use livenotify::wechat::crypto::{self, MessageCrypto};
use livenotify_tests::TestStack;
use std::collections::BTreeMap;
use wechat_sandbox::{EncryptionMode, SandboxAccount, TemplateStatus, UserSaw};

const SERVICE: &str = "wxcbservice000001";
const SUBSCRIPTION: &str = "wxcbsubscribe0001";

fn course(title: &str, starts_in: Duration, required: Option<&str>) -> Course {
    let at = now();
    Course {
        id: CourseId::generate(),
        title: title.into(),
        speaker: "王教授".into(),
        description: "肿瘤免疫治疗进展".into(),
        starts_at: at + starts_in,
        ends_at: None,
        live_url: "https://live.example.com/room/1".into(),
        cover_url: None,
        required_account: required.map(|r| AccountId::new(r).unwrap()),
        templates: BTreeMap::new(),
        reminder_minutes: vec![30],
        status: CourseStatus::Published,
        qr: None,
        permanent_qr: false,
        qr_error: None,
        version: 0,
        created_at: at,
        updated_at: at,
    }
}

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

fn saw_text(saw: &UserSaw) -> String {
    match saw {
        UserSaw::Message {
            content: Some(content),
            ..
        } => content.clone(),
        other => panic!("expected a text reply, the user saw {other:?}"),
    }
}

#[tokio::test]
async fn scan_follow_sign_up_and_reply_in_every_mode() {
    let stack = TestStack::start().await;
    let modes = [
        ("wxcbplain00000001", EncryptionMode::Plaintext),
        ("wxcbcompat0000001", EncryptionMode::Compatible),
        ("wxcbsafe000000001", EncryptionMode::Safe),
    ];
    let c = course("胸部肿瘤影像诊断", Duration::days(2), None);
    stack.store().create_course(&c).await.unwrap();
    for (appid, mode) in modes {
        stack
            .add_account(
                SandboxAccount::service(appid).in_open_platform("medu"),
                mode,
            )
            .await;
        let account = AccountId::new(appid).unwrap();
        let ticket = course_ticket(&stack, appid, c.id).await;
        let user = stack.sandbox.new_user(appid).unwrap();

        // Not following: subscribe with qrscene_, sign-up, reply with the course.
        let first = stack.sandbox.scan(&user, &ticket).await.unwrap();
        let text = saw_text(&first.user_saw());
        assert!(text.contains("胸部肿瘤影像诊断"), "{mode:?}: {text}");
        assert!(text.contains(&format!("/c/{}", c.id)), "{text}");
        if mode == EncryptionMode::Safe {
            assert!(
                first.reply.as_ref().unwrap().encrypted,
                "safe mode replies encrypted"
            );
        }
        let follower = stack.store().get_follower(&account, &user).await.unwrap();
        assert!(follower.subscribed);
        assert_eq!(
            follower.qr_scene.as_deref(),
            Some(Scene::Course(c.id).encode().as_str())
        );
        assert!(
            follower.unionid.is_some(),
            "unionid looked up for the follow gate"
        );
        assert_eq!(
            stack
                .store()
                .get_account(&account)
                .await
                .unwrap()
                .follower_count,
            1
        );

        // Following: SCAN, same reply, still one sign-up, still one follower counted.
        let again = stack.sandbox.scan(&user, &ticket).await.unwrap();
        assert_eq!(again.event, "SCAN");
        assert!(saw_text(&again.user_saw()).contains("胸部肿瘤影像诊断"));
        let signups = stack
            .store()
            .list_signups_by_user(&account, &user, &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(signups.items.len(), 1);
        assert_eq!(signups.items[0].course_id, c.id);
        assert_eq!(
            stack
                .store()
                .get_account(&account)
                .await
                .unwrap()
                .follower_count,
            1
        );

        // Unfollow: kept, marked, counted down once.
        let gone = stack.sandbox.unfollow(&user).await.unwrap();
        assert_eq!(gone.user_saw(), UserSaw::Nothing);
        let follower = stack.store().get_follower(&account, &user).await.unwrap();
        assert!(!follower.subscribed && follower.unsubscribed_at.is_some());
        assert_eq!(
            stack
                .store()
                .get_account(&account)
                .await
                .unwrap()
                .follower_count,
            0
        );
    }
    let signups = stack
        .store()
        .list_signups_by_course(c.id, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(signups.items.len(), 3, "one sign-up per account");
    stack.shutdown().await;
}

/// Re-posts exactly what the phone sent, as WeChat does when an answer is late.
async fn repost(stack: &TestStack, outcome: &wechat_sandbox::CallbackOutcome) -> (u16, String) {
    let response = stack
        .http
        .post(outcome.url.clone().unwrap())
        .query(&outcome.query)
        .header("content-type", "text/xml")
        .body(outcome.body.clone())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn wechat_retries_apply_once_and_get_the_same_answer() {
    let stack = TestStack::start().await;
    stack
        .add_account(
            SandboxAccount::service(SERVICE).in_open_platform("medu"),
            EncryptionMode::Plaintext,
        )
        .await;
    let account = AccountId::new(SERVICE).unwrap();
    let c = course("重复投递测试", Duration::days(1), None);
    stack.store().create_course(&c).await.unwrap();
    let ticket = course_ticket(&stack, SERVICE, c.id).await;
    let user = stack.sandbox.new_user(SERVICE).unwrap();
    let first = stack.sandbox.scan(&user, &ticket).await.unwrap();
    let first_text = saw_text(&first.user_saw());
    for _ in 0..3 {
        let (status, body) = repost(&stack, &first).await;
        assert_eq!(status, 200);
        assert!(
            body.contains("重复投递测试"),
            "a retry gets the reply too: {body}"
        );
    }
    assert!(first_text.contains("重复投递测试"));
    assert_eq!(
        stack
            .store()
            .get_account(&account)
            .await
            .unwrap()
            .follower_count,
        1
    );

    // A receipt applied once however often WeChat sends it.
    let push = Push {
        id: PushId::generate(),
        course_id: c.id,
        account_id: account.clone(),
        audience: Audience::AllFollowers,
        channel: Channel::Template,
        status: PushStatus::Running,
        scheduled_at: None,
        created_by: "test".into(),
        created_at: now(),
        started_at: Some(now()),
        finished_at: None,
        status_reason: None,
        counters: PushCounters {
            targeted: 2,
            sent: 2,
            ..PushCounters::default()
        },
    };
    stack.store().create_push(&push).await.unwrap();
    let mut sent = Vec::new();
    for (i, openid) in [user.clone(), stack.sandbox.new_user(SERVICE).unwrap()]
        .into_iter()
        .enumerate()
    {
        let delivery = Delivery {
            push_id: push.id,
            course_id: c.id,
            account_id: account.clone(),
            openid: openid.clone(),
            status: DeliveryStatus::Sending,
            msgid: None,
            client_msg_id: format!("{}-{openid}", push.id),
            attempts: 1,
            error_code: None,
            error_message: None,
            created_at: now(),
            updated_at: now(),
            expires_at: None,
        };
        assert!(stack.store().claim_delivery(&delivery).await.unwrap());
        let mut delivered = delivery.clone();
        delivered.status = DeliveryStatus::Sent;
        delivered.msgid = Some(format!("{}", 9_000_000 + i));
        stack
            .store()
            .update_delivery(&delivered, &[DeliveryStatus::Sending])
            .await
            .unwrap();
        sent.push(delivered);
    }
    let ok = stack
        .sandbox
        .template_job_finished_as(SERVICE, &sent[0].openid, 9_000_000, TemplateStatus::Success)
        .await
        .unwrap();
    assert!(ok.delivered());
    repost(&stack, &ok).await;
    // A second, different callback for the same msgid (WeChat never does this, a replay might).
    stack
        .sandbox
        .template_job_finished_as(
            SERVICE,
            &sent[0].openid,
            9_000_000,
            TemplateStatus::SystemFailed,
        )
        .await
        .unwrap();
    stack
        .sandbox
        .template_job_finished_as(
            SERVICE,
            &sent[1].openid,
            9_000_001,
            TemplateStatus::UserBlock,
        )
        .await
        .unwrap();
    let pushed = stack.store().get_push(push.id).await.unwrap();
    assert_eq!(pushed.counters.delivered, 1);
    assert_eq!(pushed.counters.user_blocked, 1);
    assert_eq!(pushed.counters.failed, 0);
    let d0 = stack
        .store()
        .find_delivery(push.id, &sent[0].openid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d0.status, DeliveryStatus::Delivered);
    let d1 = stack
        .store()
        .find_delivery(push.id, &sent[1].openid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d1.status, DeliveryStatus::UserBlocked);
    // A receipt for a message the platform never sent changes nothing and is acknowledged.
    let foreign = stack
        .sandbox
        .template_job_finished_as(SERVICE, &user, 123, TemplateStatus::Success)
        .await
        .unwrap();
    assert_eq!(foreign.reply.unwrap().status, 200);

    // A receipt that beats the worker's record of the send is parked, then settled by it.
    let early = stack.sandbox.new_user(SERVICE).unwrap();
    stack
        .sandbox
        .template_job_finished_as(SERVICE, &early, 9_000_002, TemplateStatus::Success)
        .await
        .unwrap();
    let mut late = sent[0].clone();
    late.openid = early.clone();
    late.status = DeliveryStatus::Sending;
    late.msgid = None;
    assert!(stack.store().claim_delivery(&late).await.unwrap());
    late.status = DeliveryStatus::Sent;
    late.msgid = Some("9000002".into());
    stack
        .store()
        .update_delivery(&late, &[DeliveryStatus::Sending])
        .await
        .unwrap();
    livenotify::receipts::settle_parked(stack.store(), &late, now())
        .await
        .unwrap();
    let settled = stack
        .store()
        .find_delivery(push.id, &early)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settled.status, DeliveryStatus::Delivered);
    assert_eq!(
        stack
            .store()
            .get_push(push.id)
            .await
            .unwrap()
            .counters
            .delivered,
        2
    );
    // Settling twice changes nothing.
    livenotify::receipts::settle_parked(stack.store(), &late, now())
        .await
        .unwrap();
    assert_eq!(
        stack
            .store()
            .get_push(push.id)
            .await
            .unwrap()
            .counters
            .delivered,
        2
    );
    stack.shutdown().await;
}

/// A signed POST of `body` to the stack, as WeChat would send it in plaintext mode.
async fn post_signed(
    stack: &TestStack,
    appid: &str,
    timestamp: i64,
    body: String,
) -> reqwest::Response {
    let token = stack.sandbox.account(appid).unwrap().token;
    let ts = timestamp.to_string();
    // A fresh nonce per request, as WeChat does (a signed query is good for one body).
    let nonce = ulid::Ulid::new().to_string();
    stack
        .http
        .post(format!("{}/wechat/{appid}", stack.url()))
        .query(&[
            ("signature", crypto::signature(&token, &ts, &nonce)),
            ("timestamp", ts),
            ("nonce", nonce),
        ])
        .body(body)
        .send()
        .await
        .unwrap()
}

fn subscribe_xml(openid: &str) -> String {
    format!(
        "<xml><ToUserName>gh_x</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>{}</CreateTime>\
         <MsgType>event</MsgType><Event>subscribe</Event><EventKey></EventKey></xml>",
        now().timestamp()
    )
}

#[tokio::test]
async fn bad_callbacks_get_4xx_and_change_nothing() {
    let stack = TestStack::start().await;
    stack
        .add_account(
            SandboxAccount::service(SERVICE).in_open_platform("medu"),
            EncryptionMode::Safe,
        )
        .await;
    let account = AccountId::new(SERVICE).unwrap();
    let url = format!("{}/wechat/{SERVICE}", stack.url());
    let ts = now().timestamp();

    // Forged signature.
    let forged = stack
        .http
        .post(&url)
        .query(&[
            ("signature", "0".repeat(40)),
            ("timestamp", ts.to_string()),
            ("nonce", "n".into()),
        ])
        .body(subscribe_xml("o_forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // No signature at all.
    assert_eq!(
        stack
            .http
            .post(&url)
            .body(subscribe_xml("o_forged"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // Replayed: correctly signed, but from an hour ago.
    let replayed = post_signed(&stack, SERVICE, ts - 3600, subscribe_xml("o_replay")).await;
    assert_eq!(replayed.status(), 403);
    // Oversized.
    let huge = post_signed(
        &stack,
        SERVICE,
        ts,
        "x".repeat(wechat_callback::MAX_CALLBACK_BYTES + 1),
    )
    .await;
    assert_eq!(huge.status(), 413);
    // Correctly signed plaintext to a safe-mode account: refused before it is read.
    for body in [subscribe_xml("o_plain"), "<xml><ToUserName>".into()] {
        let response = post_signed(&stack, SERVICE, ts, body.clone()).await;
        assert_eq!(response.status(), 403, "{body}");
    }
    // Malformed XML, correctly signed, to a plaintext account.
    stack
        .add_account(
            SandboxAccount::subscription(SUBSCRIPTION),
            EncryptionMode::Plaintext,
        )
        .await;
    for body in ["<xml><ToUserName>", "not xml at all", "<xml></xml>"] {
        let response = post_signed(&stack, SUBSCRIPTION, ts, body.into()).await;
        assert_eq!(response.status(), 400, "{body}");
    }
    // Safe mode with a correct msg_signature over garbage ciphertext.
    let sandbox_account = stack.sandbox.account(SERVICE).unwrap();
    let token = sandbox_account.token.clone();
    let garbage = "bm90IGEgY2lwaGVydGV4dA==";
    let ts_text = ts.to_string();
    let response = stack
        .http
        .post(&url)
        .query(&[
            ("signature", crypto::signature(&token, &ts_text, "n")),
            ("timestamp", ts_text.clone()),
            ("nonce", "n".into()),
            ("encrypt_type", "aes".into()),
            (
                "msg_signature",
                crypto::msg_signature(&token, &ts_text, "n", garbage),
            ),
        ])
        .body(format!(
            "<xml><ToUserName>gh</ToUserName><Encrypt>{garbage}</Encrypt></xml>"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Encrypted for another app (right key, wrong appid).
    let other = MessageCrypto::new(&sandbox_account.encoding_aes_key, "wxsomeoneelse0001").unwrap();
    let encrypt = other.encrypt(subscribe_xml("o_other").as_bytes());
    let response = stack
        .http
        .post(&url)
        .query(&[
            ("signature", crypto::signature(&token, &ts_text, "n")),
            ("timestamp", ts_text.clone()),
            ("nonce", "n".into()),
            ("encrypt_type", "aes".into()),
            (
                "msg_signature",
                crypto::msg_signature(&token, &ts_text, "n", &encrypt),
            ),
        ])
        .body(format!(
            "<xml><ToUserName>gh</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Unknown account.
    let unknown = stack
        .http
        .post(format!("{}/wechat/wxnobody000000001", stack.url()))
        .body(subscribe_xml("o"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    for openid in ["o_forged", "o_replay", "o_other", "o_plain"] {
        assert!(
            stack
                .store()
                .find_follower(&account, openid)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(
        stack
            .store()
            .get_account(&account)
            .await
            .unwrap()
            .follower_count,
        0
    );

    // Server-URL verification: only a correct signature is echoed.
    let verified = stack.sandbox.verify_callback(SERVICE).await.unwrap();
    assert_eq!(verified.status, Some(200));
    let refused = stack
        .http
        .get(&url)
        .query(&[
            ("signature", "bad"),
            ("timestamp", "1"),
            ("nonce", "n"),
            ("echostr", "e"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    stack.shutdown().await;
}

#[tokio::test]
async fn keywords_consents_and_preferences() {
    let stack = TestStack::start().await;
    stack
        .add_account(
            SandboxAccount::service(SERVICE).in_open_platform("medu"),
            EncryptionMode::Compatible,
        )
        .await;
    let account = AccountId::new(SERVICE).unwrap();
    let mut platform_account = stack.store().get_account(&account).await.unwrap();
    platform_account.keyword_replies = vec![livenotify::domain::KeywordReply {
        keyword: "会议".into(),
        reply: "会议日程请见官网。".into(),
    }];
    stack
        .store()
        .update_account(&platform_account)
        .await
        .unwrap();
    let soon = course("乳腺癌新辅助治疗", Duration::hours(5), None);
    stack.store().create_course(&soon).await.unwrap();
    let user = stack.sandbox.add_followers(SERVICE, 1).remove(0);

    let courses = stack.sandbox.send_text(&user, "课程").await.unwrap();
    let text = saw_text(&courses.user_saw());
    assert!(
        text.contains("乳腺癌新辅助治疗") && text.contains(&soon.id.to_string()),
        "{text}"
    );
    let custom = stack.sandbox.send_text(&user, "会议").await.unwrap();
    assert_eq!(saw_text(&custom.user_saw()), "会议日程请见官网。");
    let nothing = stack.sandbox.send_text(&user, "你好").await.unwrap();
    assert_eq!(nothing.user_saw(), UserSaw::Nothing);
    let follower = stack.store().get_follower(&account, &user).await.unwrap();
    assert!(
        follower.last_interaction_at.is_some(),
        "the 48 h window opened"
    );

    let muted = stack.sandbox.send_text(&user, "退订").await.unwrap();
    assert!(saw_text(&muted.user_saw()).contains("关闭"));
    assert!(
        stack
            .store()
            .get_follower(&account, &user)
            .await
            .unwrap()
            .muted
    );
    stack.sandbox.send_text(&user, "订阅").await.unwrap();
    assert!(
        !stack
            .store()
            .get_follower(&account, &user)
            .await
            .unwrap()
            .muted
    );

    // Subscription-message consents.
    stack
        .sandbox
        .subscription_popup(&user, &[("tpl_a".into(), true), ("tpl_b".into(), false)])
        .await
        .unwrap();
    let second = stack
        .sandbox
        .subscription_popup(&user, &[("tpl_a".into(), true)])
        .await
        .unwrap();
    assert_eq!(
        second.reply.as_ref().map(|r| r.status),
        Some(200),
        "{second:?}"
    );
    let a = stack
        .store()
        .find_consent(&account, &user, "tpl_a")
        .await
        .unwrap()
        .unwrap();
    assert!(a.accepted);
    assert_eq!(a.available, 2);
    let b = stack
        .store()
        .find_consent(&account, &user, "tpl_b")
        .await
        .unwrap()
        .unwrap();
    assert!(!b.accepted);
    assert_eq!(b.available, 0);
    stack
        .sandbox
        .subscription_sent(&user, "tpl_a", 77, false)
        .await
        .unwrap();
    let a = stack
        .store()
        .find_consent(&account, &user, "tpl_a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.last_send_error, Some(43101));
    stack
        .sandbox
        .subscription_change(&user, "tpl_a", false)
        .await
        .unwrap();
    let a = stack
        .store()
        .find_consent(&account, &user, "tpl_a")
        .await
        .unwrap()
        .unwrap();
    assert!(!a.accepted && a.available == 0);
    stack
        .sandbox
        .subscription_change(&user, "tpl_b", true)
        .await
        .unwrap();
    let b = stack
        .store()
        .find_consent(&account, &user, "tpl_b")
        .await
        .unwrap()
        .unwrap();
    assert!(b.accepted && b.long_term);
    stack.shutdown().await;
}

const WECHAT_UA: &str = "Mozilla/5.0 (iPhone) AppleWebKit MicroMessenger/8.0.50";

/// Signs `openid` in through the service account's OAuth, following every redirect by hand
/// (the sandbox needs `sandbox_openid` before the fragment); returns the session cookie.
async fn sign_in(stack: &TestStack, course: CourseId, openid: &str) -> String {
    let start = stack
        .http
        .get(format!("{}/c/{course}", stack.url()))
        .header("user-agent", WECHAT_UA)
        .send()
        .await
        .unwrap();
    assert_eq!(
        start.status(),
        303,
        "WeChat visitors are sent to OAuth first"
    );
    let to_start = start.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        to_start,
        format!("/wechat/{SERVICE}/oauth/start?course={course}")
    );
    let to_wechat = stack
        .http
        .get(format!("{}{to_start}", stack.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(to_wechat.status(), 303);
    let authorize = to_wechat.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(authorize.starts_with(&stack.sandbox_url), "{authorize}");
    assert!(authorize.contains("snsapi_userinfo"));
    let authorize = authorize.replace(
        "#wechat_redirect",
        &format!("&sandbox_openid={openid}#wechat_redirect"),
    );
    let back = stack.http.get(&authorize).send().await.unwrap();
    assert_eq!(back.status(), 302);
    let callback = back.headers()["location"].to_str().unwrap().to_string();

    // A tampered state is refused.
    let tampered = callback.replace("state=", "state=9");
    assert_eq!(
        stack.http.get(&tampered).send().await.unwrap().status(),
        400
    );

    let done = stack.http.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(
        done.headers()["location"].to_str().unwrap(),
        format!("/c/{course}")
    );
    let cookie = done.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly"));
    cookie.split(';').next().unwrap().to_string()
}

async fn page(
    stack: &TestStack,
    course: CourseId,
    cookie: Option<&str>,
) -> (u16, String, Option<String>) {
    let mut request = stack
        .http
        .get(format!("{}/c/{course}", stack.url()))
        .header("user-agent", WECHAT_UA);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (status, response.text().await.unwrap(), location)
}

#[tokio::test]
async fn course_page_lets_followers_in_and_shows_others_the_follow_code() {
    let stack = TestStack::start().await;
    stack
        .add_account(
            SandboxAccount::service(SERVICE).in_open_platform("medu"),
            EncryptionMode::Safe,
        )
        .await;
    stack
        .add_account(
            SandboxAccount::subscription(SUBSCRIPTION).in_open_platform("medu"),
            EncryptionMode::Plaintext,
        )
        .await;
    let sub_id = AccountId::new(SUBSCRIPTION).unwrap();
    let mut sub = stack.store().get_account(&sub_id).await.unwrap();
    sub.name = "医学前沿订阅号".into();
    sub.follow_url = Some("http://weixin.qq.com/r/follow-subscription".into());
    stack.store().update_account(&sub).await.unwrap();

    // Unknown and malformed course ids.
    let (status, body, _) = page(&stack, CourseId::generate(), None).await;
    assert_eq!(status, 404);
    assert!(body.contains("课程不存在"));
    let bad = stack
        .http
        .get(format!("{}/c/not-an-id", stack.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 404);

    // No gate: upcoming shows the way in, live goes straight to the room.
    let open = course("开放课程", Duration::hours(2), None);
    stack.store().create_course(&open).await.unwrap();
    let (status, body, _) = page(&stack, open.id, None).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("进入直播间") && body.contains("开放课程") && body.contains("距开播还有")
    );
    let live = course("正在直播", Duration::minutes(-10), None);
    stack.store().create_course(&live).await.unwrap();
    let (status, _, location) = page(&stack, live.id, None).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some(live.live_url.as_str()));

    // Gated, outside WeChat: cannot tell, so explain and offer the code.
    let gated = course(
        "需关注订阅号的课程",
        Duration::minutes(-5),
        Some(SUBSCRIPTION),
    );
    stack.store().create_course(&gated).await.unwrap();
    let outside = stack
        .http
        .get(format!("{}/c/{}", stack.url(), gated.id))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 200);
    let body = outside.text().await.unwrap();
    assert!(
        body.contains("医学前沿订阅号") && body.contains("<svg") && body.contains("无法确认"),
        "{body}"
    );

    // A person who follows the subscription account (the follow arrives as a callback).
    let fan_service = stack.sandbox.new_user(SERVICE).unwrap();
    let fan_sub = stack.sandbox.openid_in(&fan_service, SUBSCRIPTION).unwrap();
    stack.sandbox.follow(&fan_sub).await.unwrap();
    let cookie = sign_in(&stack, gated.id, &fan_service).await;
    let (status, _, location) = page(&stack, gated.id, Some(&cookie)).await;
    assert_eq!(status, 303, "a follower goes straight into the live room");
    assert_eq!(location.as_deref(), Some(gated.live_url.as_str()));

    // A person who does not follow it sees its code.
    let stranger = stack.sandbox.new_user(SERVICE).unwrap();
    let cookie = sign_in(&stack, gated.id, &stranger).await;
    let (status, body, _) = page(&stack, gated.id, Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("需先关注公众号「医学前沿订阅号」") && body.contains("<svg"),
        "{body}"
    );
    assert!(!body.contains(&gated.live_url), "no way around the gate");

    // Once they follow, the same page lets them in.
    let stranger_sub = stack.sandbox.openid_in(&stranger, SUBSCRIPTION).unwrap();
    stack.sandbox.follow(&stranger_sub).await.unwrap();
    let (status, _, _) = page(&stack, gated.id, Some(&cookie)).await;
    assert_eq!(status, 303);

    // A tampered cookie is no identity: back to OAuth.
    let tampered = cookie.replacen('.', "A.", 1);
    let (status, _, location) = page(&stack, gated.id, Some(&tampered)).await;
    assert_eq!(status, 303);
    assert!(location.unwrap().contains("/oauth/start"));
    stack.shutdown().await;
}
