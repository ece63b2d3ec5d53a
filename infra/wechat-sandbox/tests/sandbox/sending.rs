//! Template, subscription, customer-service and WeCom messages.

use super::*;
use serde_json::json;
use std::time::Duration;
use wechat_sandbox::{FollowerUpdate, MessageKind, SandboxAccount};

fn template_body(touser: &str, client_msg_id: Option<&str>) -> Value {
    let mut b = json!({
        "touser": touser,
        "template_id": "TPL_COURSE_START",
        "url": "https://example.com/course/1",
        "miniprogram": {"appid": MINI, "pagepath": "pages/index"},
        "data": {"thing1": {"value": "Cardiology live"}, "time2": {"value": "2024-05-01 20:00"}},
    });
    if let Some(c) = client_msg_id {
        b["client_msg_id"] = json!(c);
    }
    b
}

#[tokio::test]
async fn template_send_records_message_and_returns_msgid() {
    let env = Env::new().await;
    let users = env.sb.add_followers(SERVICE, 3);
    let t = env.token(SERVICE).await;
    let v = env
        .post(
            &format!("/cgi-bin/message/template/send?access_token={t}"),
            &template_body(&users[0], None),
        )
        .await;
    assert_eq!(v["errcode"], 0, "{v}");
    assert_eq!(v["errmsg"], "ok");
    let msgid = v["msgid"].as_u64().expect("msgid");
    let got = env.sb.messages_to(&users[0]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].kind, MessageKind::Template);
    assert_eq!(got[0].msgid, Some(msgid));
    assert_eq!(got[0].template_id.as_deref(), Some("TPL_COURSE_START"));
    assert_eq!(got[0].body["data"]["thing1"]["value"], "Cardiology live");
    assert!(env.sb.messages_to(&users[1]).is_empty());
}

#[tokio::test]
async fn client_msg_id_makes_sends_idempotent() {
    let env = Env::new().await;
    let users = env.sb.add_followers(SERVICE, 2);
    let t = env.token(SERVICE).await;
    let path = format!("/cgi-bin/message/template/send?access_token={t}");
    let a = env
        .post(&path, &template_body(&users[0], Some("push-1:u0")))
        .await;
    let b = env
        .post(&path, &template_body(&users[0], Some("push-1:u0")))
        .await;
    assert_eq!(a["msgid"], b["msgid"]);
    assert_eq!(b["errcode"], 0);
    assert_eq!(env.sb.messages_to(&users[0]).len(), 1);
    // Same client_msg_id to another user is another message.
    let c = env
        .post(&path, &template_body(&users[1], Some("push-1:u0")))
        .await;
    assert_ne!(a["msgid"], c["msgid"]);
    // After the window it is sent again.
    env.sb.advance_clock(Duration::from_secs(601));
    let d = env
        .post(&path, &template_body(&users[0], Some("push-1:u0")))
        .await;
    assert_ne!(a["msgid"], d["msgid"]);
    assert_eq!(env.sb.messages_to(&users[0]).len(), 2);
    assert_eq!(
        env.sb.messages_to(&users[0])[0].client_msg_id.as_deref(),
        Some("push-1:u0")
    );
}

#[tokio::test]
async fn template_send_errors() {
    let env = Env::new().await;
    env.sb
        .add_account(SandboxAccount::service("wxtemplates000001").with_templates(["TPL_A"]));
    let users = env.sb.add_followers(SERVICE, 3);
    let others = env.sb.add_followers(SUBSCRIPTION, 1);
    let t = env.token(SERVICE).await;
    let path = format!("/cgi-bin/message/template/send?access_token={t}");
    env.sb.set_following(&users[1], false).expect("unfollow");
    env.sb
        .update_follower(
            &users[2],
            &FollowerUpdate {
                blocked: Some(true),
                ..Default::default()
            },
        )
        .expect("block");
    let mut too_long = template_body(&users[0], None);
    too_long["data"]["thing1"]["value"] = json!("x".repeat(21));
    let mut no_template = template_body(&users[0], None);
    no_template["template_id"] = json!("");
    let cases = [
        (template_body(&users[1], None), 43004),
        (template_body(&users[2], None), 43101),
        (template_body("oNOTAREALOPENID", None), 40003),
        (template_body(&others[0], None), 40003),
        (too_long, 47003),
        (no_template, 40037),
    ];
    for (body, code) in cases {
        let v = env.post(&path, &body).await;
        assert_eq!(errcode(&v), code, "{body}: {v}");
    }
    assert_eq!(env.post_raw(&path, "").await.1["errcode"], 44002);
    assert_eq!(env.post_raw(&path, "[1,2]").await.1["errcode"], 47001);
    assert_eq!(
        env.post_raw(&path, "{\"touser\":").await.1["errcode"],
        47001
    );
    // Template whitelist.
    let users2 = env.sb.add_followers("wxtemplates000001", 1);
    let t2 = env.token("wxtemplates000001").await;
    let v = env
        .post(
            &format!("/cgi-bin/message/template/send?access_token={t2}"),
            &template_body(&users2[0], None),
        )
        .await;
    assert_eq!(errcode(&v), 40037);
    // Subscription accounts have no template messages.
    let ts = env.token(SUBSCRIPTION).await;
    let v = env
        .post(
            &format!("/cgi-bin/message/template/send?access_token={ts}"),
            &template_body(&others[0], None),
        )
        .await;
    assert_eq!(errcode(&v), 48001);
    assert!(env.sb.messages().is_empty());
}

#[tokio::test]
async fn template_quota_45009() {
    let env = Env::new().await;
    let users = env.sb.add_followers(SERVICE, 3);
    env.sb
        .set_quota(SERVICE, "/cgi-bin/message/template/send", Some(2));
    let t = env.token(SERVICE).await;
    let path = format!("/cgi-bin/message/template/send?access_token={t}");
    let codes: Vec<i64> = futures_codes(&env, &path, &users).await;
    assert_eq!(codes, vec![0, 0, 45009]);
    env.sb.reset_quotas(SERVICE);
    assert_eq!(
        errcode(&env.post(&path, &template_body(&users[2], None)).await),
        0
    );
}

async fn futures_codes(env: &Env, path: &str, users: &[String]) -> Vec<i64> {
    let mut out = Vec::new();
    for u in users {
        out.push(errcode(&env.post(path, &template_body(u, None)).await));
    }
    out
}

#[tokio::test]
async fn bizsend_needs_consent() {
    let env = Env::new().await;
    let users = env.sb.add_followers(SERVICE, 1);
    let t = env.token(SERVICE).await;
    let path = format!("/cgi-bin/message/subscribe/bizsend?access_token={t}");
    let body = json!({"touser": users[0], "template_id": "SUB_TPL", "page": "https://example.com",
                      "data": {"thing1": {"value": "Live soon"}}});
    assert_eq!(errcode(&env.post(&path, &body).await), 43101);
    env.sb
        .grant_consent(&users[0], "SUB_TPL", false)
        .expect("consent");
    let v = env.post(&path, &body).await;
    assert_eq!(v["errcode"], 0, "{v}");
    assert_eq!(
        errcode(&env.post(&path, &body).await),
        43101,
        "one consent, one send"
    );
    env.sb
        .grant_consent(&users[0], "SUB_TPL", true)
        .expect("long-term consent");
    assert_eq!(errcode(&env.post(&path, &body).await), 0);
    assert_eq!(errcode(&env.post(&path, &body).await), 0);
    let msgs = env.sb.messages_to(&users[0]);
    assert_eq!(msgs.len(), 3);
    assert!(msgs.iter().all(|m| m.kind == MessageKind::Subscribe));
}

#[tokio::test]
async fn mini_program_subscribe_send() {
    let env = Env::new().await;
    let users = env.sb.add_followers(MINI, 1);
    let t = env.token(MINI).await;
    let path = format!("/cgi-bin/message/subscribe/send?access_token={t}");
    let body = json!({"touser": users[0], "template_id": "MP_TPL", "page": "pages/course?id=1",
                      "miniprogram_state": "formal", "lang": "zh_CN",
                      "data": {"thing1": {"value": "Course"}, "time2": {"value": "2024-05-01 20:00"}}});
    assert_eq!(errcode(&env.post(&path, &body).await), 43101);
    env.sb
        .grant_consent(&users[0], "MP_TPL", false)
        .expect("consent");
    let mut bad_state = body.clone();
    bad_state["miniprogram_state"] = json!("prod");
    assert_eq!(errcode(&env.post(&path, &bad_state).await), 47003);
    let v = env.post(&path, &body).await;
    assert_eq!(v["errcode"], 0, "{v}");
    assert!(v["msgid"].as_u64().is_some());
    assert_eq!(errcode(&env.post(&path, &body).await), 43101);
    assert_eq!(
        env.sb.messages_to(&users[0])[0].kind,
        MessageKind::MiniProgramSubscribe
    );
    // Official accounts cannot use the mini program API.
    let ts = env.token(SERVICE).await;
    let v = env
        .post(
            &format!("/cgi-bin/message/subscribe/send?access_token={ts}"),
            &body,
        )
        .await;
    assert_eq!(errcode(&v), 48001);
}

#[tokio::test]
async fn custom_messages_follow_the_48h_window() {
    let env = Env::with_settings(Settings {
        custom_messages_per_window: 2,
        ..Settings::default()
    })
    .await;
    let users = env.sb.add_followers(SERVICE, 1);
    let t = env.token(SERVICE).await;
    let path = format!("/cgi-bin/message/custom/send?access_token={t}");
    let body = json!({"touser": users[0], "msgtype": "text", "text": {"content": "Your course starts soon"}});
    assert_eq!(
        errcode(&env.post(&path, &body).await),
        45015,
        "never interacted"
    );
    env.sb.touch(&users[0]).expect("touch");
    assert_eq!(errcode(&env.post(&path, &body).await), 0);
    assert_eq!(errcode(&env.post(&path, &body).await), 0);
    assert_eq!(errcode(&env.post(&path, &body).await), 45047);
    env.sb.touch(&users[0]).expect("touch");
    env.sb.advance_clock(Duration::from_secs(48 * 3600 + 1));
    let t = env.token(SERVICE).await;
    let path = format!("/cgi-bin/message/custom/send?access_token={t}");
    assert_eq!(
        errcode(&env.post(&path, &body).await),
        45015,
        "window closed"
    );
    let bad_type = json!({"touser": users[0], "msgtype": "hologram", "hologram": {}});
    assert_eq!(errcode(&env.post(&path, &bad_type).await), 40008);
    let msgs = env.sb.messages_to(&users[0]);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].kind, MessageKind::Custom);
    assert_eq!(msgs[0].msgid, None);
}

#[tokio::test]
async fn wecom_message_send() {
    let env = Env::new().await;
    let members = env.sb.add_followers(CORP, 2);
    let (_, tok) = env
        .get(&format!(
            "/wecom/cgi-bin/gettoken?corpid={CORP}&corpsecret={}",
            env.secret(CORP)
        ))
        .await;
    let path = format!(
        "/wecom/cgi-bin/message/send?access_token={}",
        tok["access_token"].as_str().unwrap_or_default()
    );
    let body = json!({"touser": format!("{}|{}|nobody", members[0], members[1]), "toparty": "7", "msgtype": "text",
                      "agentid": AGENT, "text": {"content": "Live course at 20:00"}, "safe": 0,
                      "enable_duplicate_check": 1, "duplicate_check_interval": 600});
    let v = env.post(&path, &body).await;
    assert_eq!(v["errcode"], 0, "{v}");
    assert_eq!(v["invaliduser"], "nobody");
    assert!(v["msgid"].is_string());
    assert_eq!(env.sb.messages_to(&members[0]).len(), 1);
    assert_eq!(env.sb.messages_to("party:7").len(), 1);
    // Duplicate check: same content, nothing new, same msgid.
    let again = env.post(&path, &body).await;
    assert_eq!(again["msgid"], v["msgid"]);
    assert_eq!(env.sb.messages_to(&members[0]).len(), 1);
    let mut wrong_agent = body.clone();
    wrong_agent["agentid"] = json!(1);
    assert_eq!(errcode(&env.post(&path, &wrong_agent).await), 40056);
    let nobody =
        json!({"touser": "ghost", "msgtype": "text", "agentid": AGENT, "text": {"content": "x"}});
    assert_eq!(errcode(&env.post(&path, &nobody).await), 81013);
    let bad_type = json!({"touser": members[0], "msgtype": "fax", "agentid": AGENT});
    assert_eq!(errcode(&env.post(&path, &bad_type).await), 40008);
}
