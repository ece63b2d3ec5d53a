//! The phone: signed callbacks in every mode, retries, replies.

use super::*;
use livenotify::wechat::crypto::{self, MessageCrypto};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use wechat_sandbox::xml::parse_flat;
use wechat_sandbox::{EncryptionMode, SandboxError, TemplateStatus, UserSaw};

/// Points the service account at `r` in `mode`.
fn route(env: &Env, r: &Receiver, mode: EncryptionMode) {
    let acc = env
        .sb
        .account(SERVICE)
        .expect("account")
        .with_callback(r.url.clone(), mode);
    env.sb.add_account(acc);
}

/// Creates a QR code through the API and returns its ticket.
async fn qr(env: &Env, scene: Value) -> String {
    let t = env.token(SERVICE).await;
    let v = env
        .post(&format!("/cgi-bin/qrcode/create?access_token={t}"), &scene)
        .await;
    v["ticket"].as_str().expect("ticket").to_string()
}

fn check_signature(env: &Env, hit: &Hit) {
    let acc = env.sb.account(SERVICE).expect("account");
    let q = &hit.query;
    assert!(
        crypto::verify_signature(&q["signature"], &acc.token, &q["timestamp"], &q["nonce"]),
        "{q:?}"
    );
    assert_eq!(
        q.get("account").map(String::as_str),
        Some("test"),
        "the URL's own query is kept"
    );
}

#[tokio::test]
async fn scan_subscribe_then_scan_plaintext() {
    let env = Env::new().await;
    let r = Receiver::success().await;
    route(&env, &r, EncryptionMode::Plaintext);
    let ticket = qr(&env, json!({"action_name": "QR_SCENE", "expire_seconds": 3600, "action_info": {"scene": {"scene_id": 42}}})).await;
    let user = env.sb.new_user(SERVICE).expect("user");

    let first = env.sb.scan(&user, &ticket).await.expect("scan");
    assert!(first.delivered());
    assert_eq!(first.user_saw(), UserSaw::Nothing);
    let hits = r.hits();
    assert_eq!(hits.len(), 1);
    check_signature(&env, &hits[0]);
    assert_eq!(hits[0].query["openid"], user);
    assert!(!hits[0].query.contains_key("encrypt_type"));
    let x = parse_flat(&hits[0].body).expect("xml");
    let acc = env.sb.account(SERVICE).expect("account");
    assert_eq!(x["ToUserName"], acc.original_id);
    assert_eq!(x["FromUserName"], user);
    assert_eq!(x["MsgType"], "event");
    assert_eq!(x["Event"], "subscribe");
    assert_eq!(x["EventKey"], "qrscene_42");
    assert_eq!(x["Ticket"], ticket);
    assert!(x["CreateTime"].parse::<i64>().is_ok());
    let f = env.sb.follower(&user).expect("follower");
    assert_eq!(
        (f.subscribe, f.subscribe_scene.as_str(), f.qr_scene),
        (1, "ADD_SCENE_QR_CODE", 42)
    );

    env.sb.scan(&user, &ticket).await.expect("scan again");
    let x = parse_flat(&r.hits()[1].body).expect("xml");
    assert_eq!(x["Event"], "SCAN");
    assert_eq!(x["EventKey"], "42");

    // String scenes, and errors.
    let st = qr(&env, json!({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "course:9"}}})).await;
    let other = env.sb.new_user(SERVICE).expect("user");
    env.sb.scan(&other, &st).await.expect("scan str");
    assert_eq!(
        parse_flat(&r.hits()[2].body).expect("xml")["EventKey"],
        "qrscene_course:9"
    );
    assert_eq!(
        env.sb.follower(&other).map(|f| f.qr_scene_str),
        Some("course:9".to_string())
    );
    assert!(matches!(
        env.sb.scan(&other, "nope").await,
        Err(SandboxError::UnknownTicket(_))
    ));
    let sub_user = env.sb.new_user(SUBSCRIPTION).expect("user");
    assert!(matches!(
        env.sb.scan(&sub_user, &ticket).await,
        Err(SandboxError::WrongAccount { .. })
    ));
    env.sb.advance_clock(Duration::from_secs(3601));
    assert_eq!(
        env.sb.scan(&other, &ticket).await.err(),
        Some(SandboxError::TicketExpired)
    );
}

fn encrypted_reply(env: &Env, to: &str, content: &str) -> String {
    let acc = env.sb.account(SERVICE).expect("account");
    let plain = format!(
        "<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{}]]></FromUserName>\
         <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>{}</Content></xml>",
        acc.original_id,
        wechat_sandbox::xml::cdata(content)
    );
    let c = MessageCrypto::new(&acc.encoding_aes_key, &acc.appid).expect("crypto");
    let enc = c.encrypt(plain.as_bytes());
    let sig = crypto::msg_signature(&acc.token, "1700000001", "777", &enc);
    format!(
        "<xml><Encrypt><![CDATA[{enc}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature>\
         <TimeStamp>1700000001</TimeStamp><Nonce><![CDATA[777]]></Nonce></xml>"
    )
}

#[tokio::test]
async fn safe_mode_encrypts_and_reads_encrypted_replies() {
    let env = Env::new().await;
    let acc = env.sb.account(SERVICE).expect("account");
    let (token, key, appid) = (
        acc.token.clone(),
        acc.encoding_aes_key.clone(),
        acc.appid.clone(),
    );
    let reply_env = Arc::new(Env {
        sb: env.sb.clone(),
        base: env.base.clone(),
        http: env.http.clone(),
    });
    let r = Receiver::spawn(Arc::new(move |hit: &Hit, _| {
        let to = hit.query.get("openid").cloned().unwrap_or_default();
        (
            Duration::ZERO,
            200,
            encrypted_reply(&reply_env, &to, "欢迎关注 ]]> welcome"),
        )
    }))
    .await;
    route(&env, &r, EncryptionMode::Safe);
    let users = env.sb.add_followers(SERVICE, 1);
    let out = env.sb.send_text(&users[0], "hello").await.expect("text");

    let hit = &r.hits()[0];
    check_signature(&env, hit);
    assert_eq!(hit.query["encrypt_type"], "aes");
    let outer = parse_flat(&hit.body).expect("xml");
    assert_eq!(
        outer.keys().cloned().collect::<Vec<_>>(),
        vec!["Encrypt", "ToUserName"]
    );
    let enc = &outer["Encrypt"];
    assert!(crypto::verify_msg_signature(
        &hit.query["msg_signature"],
        &token,
        &hit.query["timestamp"],
        &hit.query["nonce"],
        enc
    ));
    let plain = MessageCrypto::new(&key, &appid)
        .expect("crypto")
        .decrypt(enc)
        .expect("decrypt");
    let inner = parse_flat(&String::from_utf8(plain).expect("utf8")).expect("inner xml");
    assert_eq!(inner["MsgType"], "text");
    assert_eq!(inner["Content"], "hello");
    assert!(inner["MsgId"].parse::<u64>().is_ok());

    let reply = out.reply.as_ref().expect("reply");
    assert!(reply.encrypted);
    assert_eq!(reply.signature_valid, Some(true));
    assert_eq!(out.reply_text(), Some("欢迎关注 ]]> welcome"));
    assert_eq!(
        out.user_saw(),
        UserSaw::Message {
            msg_type: "text".into(),
            content: Some("欢迎关注 ]]> welcome".into())
        }
    );
    assert_eq!(env.sb.callbacks().len(), 1);
}

#[tokio::test]
async fn compatible_mode_sends_both() {
    let env = Env::new().await;
    let r = Receiver::success().await;
    route(&env, &r, EncryptionMode::Compatible);
    let users = env.sb.add_followers(SERVICE, 1);
    env.sb.unfollow(&users[0]).await.expect("unfollow");
    let hit = &r.hits()[0];
    assert_eq!(hit.query["encrypt_type"], "aes");
    let x = parse_flat(&hit.body).expect("xml");
    assert_eq!(x["Event"], "unsubscribe");
    assert_eq!(x["EventKey"], "");
    assert!(x.contains_key("Encrypt"));
    let acc = env.sb.account(SERVICE).expect("account");
    let plain = MessageCrypto::new(&acc.encoding_aes_key, &acc.appid)
        .expect("crypto")
        .decrypt(&x["Encrypt"])
        .expect("dec");
    assert_eq!(
        parse_flat(&String::from_utf8(plain).expect("utf8")).expect("xml")["Event"],
        "unsubscribe"
    );
    assert_eq!(env.sb.follower_count(SERVICE), 0);
    assert!(matches!(
        env.sb.unfollow(&users[0]).await,
        Err(SandboxError::NotFollowing(_))
    ));
    env.sb.follow(&users[0]).await.expect("follow back");
    assert_eq!(
        parse_flat(&r.hits()[1].body).expect("xml")["Event"],
        "subscribe"
    );
}

#[tokio::test]
async fn slow_server_gets_retries() {
    let env = Env::with_settings(Settings {
        callback_timeout: Duration::from_millis(150),
        ..Settings::default()
    })
    .await;
    let r = Receiver::spawn(Arc::new(|_, n| {
        let delay = if n == 0 {
            Duration::from_millis(600)
        } else {
            Duration::ZERO
        };
        (delay, 200, "success".into())
    }))
    .await;
    route(&env, &r, EncryptionMode::Plaintext);
    let users = env.sb.add_followers(SERVICE, 1);
    let out = env.sb.send_text(&users[0], "hi").await.expect("text");
    assert_eq!(out.attempts.len(), 2);
    assert_eq!(out.attempts[0].status, None);
    assert_eq!(out.attempts[1].status, Some(200));
    assert!(out.delivered());
    let hits = r.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].body, hits[1].body, "a retry is the same message");
    assert_eq!(hits[0].query, hits[1].query);

    // Never answering in time: 3 attempts, then WeChat's notice.
    let slow = Receiver::spawn(Arc::new(|_, _| {
        (Duration::from_millis(600), 200, "success".into())
    }))
    .await;
    route(&env, &slow, EncryptionMode::Plaintext);
    let out = env.sb.send_text(&users[0], "hi").await.expect("text");
    assert_eq!(out.attempts.len(), 3);
    assert!(!out.delivered());
    assert!(matches!(out.user_saw(), UserSaw::ServiceUnavailable { .. }));
}

#[tokio::test]
async fn plaintext_replies_and_bad_replies() {
    let env = Env::new().await;
    let acc = env.sb.account(SERVICE).expect("account");
    let gh = acc.original_id.clone();
    let r = Receiver::spawn(Arc::new(move |hit: &Hit, n| {
        let to = hit.query.get("openid").cloned().unwrap_or_default();
        let body = match n {
            0 => format!("<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{gh}]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[Hi!]]></Content></xml>"),
            1 => "oops".to_string(),
            _ => String::new(),
        };
        (Duration::ZERO, if n == 3 { 500 } else { 200 }, body)
    }))
    .await;
    route(&env, &r, EncryptionMode::Plaintext);
    let users = env.sb.add_followers(SERVICE, 1);
    assert_eq!(
        env.sb
            .send_text(&users[0], "a")
            .await
            .expect("t")
            .reply_text(),
        Some("Hi!")
    );
    assert!(matches!(
        env.sb
            .send_text(&users[0], "b")
            .await
            .expect("t")
            .user_saw(),
        UserSaw::ServiceUnavailable { .. }
    ));
    assert_eq!(
        env.sb
            .send_text(&users[0], "c")
            .await
            .expect("t")
            .user_saw(),
        UserSaw::Nothing
    );
    let e = env.sb.send_text(&users[0], "d").await.expect("t");
    assert_eq!(
        e.attempts.len(),
        1,
        "an HTTP error is an answer, not a timeout"
    );
    assert!(matches!(e.user_saw(), UserSaw::ServiceUnavailable { .. }));
}

#[tokio::test]
async fn template_job_finished_and_subscription_events() {
    let env = Env::new().await;
    let r = Receiver::success().await;
    route(&env, &r, EncryptionMode::Plaintext);
    let users = env.sb.add_followers(SERVICE, 1);
    let t = env.token(SERVICE).await;
    let v = env
        .post(
            &format!("/cgi-bin/message/template/send?access_token={t}"),
            &json!({"touser": users[0], "template_id": "T", "data": {"thing1": {"value": "x"}}}),
        )
        .await;
    let msgid = v["msgid"].as_u64().expect("msgid");
    env.sb
        .template_job_finished(msgid, TemplateStatus::UserBlock)
        .await
        .expect("finished");
    let x = parse_flat(&r.hits()[0].body).expect("xml");
    assert_eq!(x["Event"], "TEMPLATESENDJOBFINISH");
    assert_eq!(x["MsgID"], msgid.to_string());
    assert_eq!(x["Status"], "failed:user block");
    assert!(
        r.hits()[0]
            .body
            .contains(&format!("<MsgID>{msgid}</MsgID>"))
    );
    assert!(matches!(
        env.sb
            .template_job_finished(1, TemplateStatus::Success)
            .await,
        Err(SandboxError::UnknownMsgid(1))
    ));

    env.sb
        .subscription_popup(
            &users[0],
            &[("SUB_A".into(), true), ("SUB_B".into(), false)],
        )
        .await
        .expect("popup");
    let body = &r.hits()[1].body;
    assert!(body.contains("<Event><![CDATA[subscribe_msg_popup_event]]></Event>"));
    assert!(body.contains("<TemplateId><![CDATA[SUB_A]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>"));
    assert!(body.contains("<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>"));
    assert_eq!(
        env.sb.consents(&users[0]).get("SUB_A").map(|c| c.one_time),
        Some(1)
    );
    assert!(!env.sb.consents(&users[0]).contains_key("SUB_B"));
    env.sb
        .subscription_change(&users[0], "SUB_A", false)
        .await
        .expect("change");
    assert!(r.hits()[2].body.contains("subscribe_msg_change_event"));
    assert!(env.sb.consents(&users[0]).is_empty());
    env.sb
        .subscription_sent(&users[0], "SUB_A", 99, true)
        .await
        .expect("sent");
    assert!(r.hits()[3].body.contains("<MsgID>99</MsgID>"));
}

#[tokio::test]
async fn automatic_receipts() {
    let env = Env::with_settings(Settings {
        auto_template_receipts: true,
        ..Settings::default()
    })
    .await;
    let r = Receiver::success().await;
    route(&env, &r, EncryptionMode::Plaintext);
    let users = env.sb.add_followers(SERVICE, 1);
    let t = env.token(SERVICE).await;
    env.post(
        &format!("/cgi-bin/message/template/send?access_token={t}"),
        &json!({"touser": users[0], "template_id": "T"}),
    )
    .await;
    for _ in 0..50 {
        if !r.hits().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        r.hits()
            .first()
            .is_some_and(|h| h.body.contains("TEMPLATESENDJOBFINISH"))
    );
}

#[tokio::test]
async fn url_verification_and_missing_url() {
    let env = Env::new().await;
    let users = env.sb.add_followers(SERVICE, 1);
    let out = env
        .sb
        .send_text(&users[0], "nobody listens")
        .await
        .expect("text");
    assert!(out.skipped.is_some());
    assert_eq!(out.user_saw(), UserSaw::Nothing);
    let acc = env.sb.account(SERVICE).expect("account");
    let token = acc.token.clone();
    let r = Receiver::spawn(Arc::new(move |hit: &Hit, _| {
        let q = &hit.query;
        let ok = hit.method == "GET"
            && crypto::verify_signature(&q["signature"], &token, &q["timestamp"], &q["nonce"]);
        (
            Duration::ZERO,
            200,
            if ok {
                q["echostr"].clone()
            } else {
                "bad".into()
            },
        )
    }))
    .await;
    route(&env, &r, EncryptionMode::Safe);
    let v = env.sb.verify_callback(SERVICE).await.expect("verify");
    assert!(v.verified, "{v:?}");
}
