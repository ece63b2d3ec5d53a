//! access_token, stable_token, expiry, revocation, WeCom gettoken.

use super::*;
use serde_json::json;
use std::time::Duration;
use wechat_sandbox::{Fault, Settings};

#[tokio::test]
async fn token_is_issued_and_validated() {
    let env = Env::new().await;
    let secret = env.secret(SERVICE);
    let (status, v) = env
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={SERVICE}&secret={secret}"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["expires_in"], 7200);
    assert!(
        v.get("errcode").is_none(),
        "success omits errcode like WeChat: {v}"
    );
    let token = v["access_token"].as_str().unwrap_or_default();
    assert!(token.len() > 100);
    assert_eq!(env.sb.call_count("/cgi-bin/token"), 1);
    assert_eq!(env.sb.call_count_for("/cgi-bin/token", SERVICE), 1);
    // The token works on an authenticated API.
    let (_, list) = env
        .get(&format!("/cgi-bin/user/get?access_token={token}"))
        .await;
    assert_eq!(errcode(&list), 0, "{list}");
}

#[tokio::test]
async fn token_errors() {
    let env = Env::new().await;
    let cases = [
        (
            "/cgi-bin/token?grant_type=nope&appid=x&secret=y".to_string(),
            40002,
        ),
        (
            "/cgi-bin/token?grant_type=client_credential&secret=y".to_string(),
            41002,
        ),
        (
            "/cgi-bin/token?grant_type=client_credential&appid=x".to_string(),
            41004,
        ),
        (
            "/cgi-bin/token?grant_type=client_credential&appid=wxunknown&secret=y".to_string(),
            40013,
        ),
        (
            format!("/cgi-bin/token?grant_type=client_credential&appid={SERVICE}&secret=wrong"),
            40125,
        ),
        (
            format!("/cgi-bin/token?grant_type=client_credential&appid={CORP}&secret=wrong"),
            40013,
        ),
    ];
    for (path, code) in cases {
        let (status, v) = env.get(&path).await;
        assert_eq!(status, 200);
        assert_eq!(errcode(&v), code, "{path}: {v}");
        assert!(v["errmsg"].as_str().unwrap_or_default().contains("rid: "));
    }
    let (_, v) = env.get("/cgi-bin/user/get").await;
    assert_eq!(errcode(&v), 41001);
    let (_, v) = env.get("/cgi-bin/user/get?access_token=garbage").await;
    assert_eq!(errcode(&v), 40001);
}

#[tokio::test]
async fn new_token_invalidates_old_after_overlap() {
    let env = Env::with_settings(Settings {
        token_overlap: Duration::from_secs(300),
        ..Settings::default()
    })
    .await;
    let first = env.token(SERVICE).await;
    let second = env.token(SERVICE).await;
    assert_ne!(first, second);
    let (_, v) = env
        .get(&format!("/cgi-bin/user/get?access_token={first}"))
        .await;
    assert_eq!(errcode(&v), 0, "old token still valid during the overlap");
    env.sb.advance_clock(Duration::from_secs(301));
    let (_, v) = env
        .get(&format!("/cgi-bin/user/get?access_token={first}"))
        .await;
    assert_eq!(errcode(&v), 40001);
    let (_, v) = env
        .get(&format!("/cgi-bin/user/get?access_token={second}"))
        .await;
    assert_eq!(errcode(&v), 0);
}

#[tokio::test]
async fn expiry_and_revocation() {
    let env = Env::with_settings(Settings {
        token_ttl: Duration::from_secs(60),
        ..Settings::default()
    })
    .await;
    let t = env.token(SERVICE).await;
    env.sb.advance_clock(Duration::from_secs(61));
    let (_, v) = env
        .get(&format!("/cgi-bin/user/get?access_token={t}"))
        .await;
    assert_eq!(errcode(&v), 42001);
    let t = env.token(SERVICE).await;
    env.sb.expire_token(SERVICE);
    let (_, v) = env
        .get(&format!("/cgi-bin/user/get?access_token={t}"))
        .await;
    assert_eq!(errcode(&v), 42001);
    let t = env.token(SERVICE).await;
    env.sb.revoke_token(SERVICE);
    let (_, v) = env
        .get(&format!("/cgi-bin/user/get?access_token={t}"))
        .await;
    assert_eq!(errcode(&v), 40001);
}

#[tokio::test]
async fn stable_token_is_reused_until_forced() {
    let env = Env::new().await;
    let body =
        json!({"grant_type": "client_credential", "appid": SERVICE, "secret": env.secret(SERVICE)});
    let a = env.post("/cgi-bin/stable_token", &body).await;
    let b = env.post("/cgi-bin/stable_token", &body).await;
    assert_eq!(a["access_token"], b["access_token"]);
    assert!(a["expires_in"].as_i64().unwrap_or(0) > 7190);
    let mut forced = body.clone();
    forced["force_refresh"] = json!(true);
    let c = env.post("/cgi-bin/stable_token", &forced).await;
    assert_ne!(a["access_token"], c["access_token"]);
    let (_, v) = env
        .get(&format!(
            "/cgi-bin/user/get?access_token={}",
            a["access_token"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(
        errcode(&v),
        40001,
        "force_refresh kills the previous stable token"
    );
    // Stable and regular tokens are independent.
    let regular = env.token(SERVICE).await;
    let d = env.post("/cgi-bin/stable_token", &body).await;
    assert_eq!(c["access_token"], d["access_token"]);
    assert_ne!(d["access_token"].as_str(), Some(regular.as_str()));
    // Errors.
    assert_eq!(
        env.post_raw("/cgi-bin/stable_token", "").await.1["errcode"],
        44002
    );
    assert_eq!(
        env.post_raw("/cgi-bin/stable_token", "{not json").await.1["errcode"],
        47001
    );
    let mut bad = body.clone();
    bad["secret"] = json!("nope");
    assert_eq!(
        env.post("/cgi-bin/stable_token", &bad).await["errcode"],
        40125
    );
}

#[tokio::test]
async fn token_quota_is_enforced_and_resettable() {
    let env = Env::new().await;
    env.sb.set_quota(SERVICE, "/cgi-bin/token", Some(2));
    env.token(SERVICE).await;
    env.token(SERVICE).await;
    let (_, v) = env
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={SERVICE}&secret={}",
            env.secret(SERVICE)
        ))
        .await;
    assert_eq!(errcode(&v), 45009);
    assert_eq!(env.sb.quota(SERVICE, "/cgi-bin/token").used, 2);
    env.sb.reset_quotas(SERVICE);
    env.token(SERVICE).await;
}

#[tokio::test]
async fn wecom_gettoken_reuses_token() {
    let env = Env::new().await;
    let secret = env.secret(CORP);
    let (_, a) = env
        .get(&format!(
            "/wecom/cgi-bin/gettoken?corpid={CORP}&corpsecret={secret}"
        ))
        .await;
    assert_eq!(a["errcode"], 0);
    assert_eq!(a["errmsg"], "ok");
    let (_, b) = env
        .get(&format!(
            "/wecom/cgi-bin/gettoken?corpid={CORP}&corpsecret={secret}"
        ))
        .await;
    assert_eq!(a["access_token"], b["access_token"]);
    let (_, bad) = env
        .get(&format!(
            "/wecom/cgi-bin/gettoken?corpid={CORP}&corpsecret=nope"
        ))
        .await;
    assert_eq!(errcode(&bad), 40001);
    let (_, other) = env
        .get(&format!(
            "/wecom/cgi-bin/gettoken?corpid={SERVICE}&corpsecret=x"
        ))
        .await;
    assert_eq!(errcode(&other), 40013);
    // A WeCom token is not an official-account token and vice versa.
    let wt = a["access_token"].as_str().unwrap_or_default();
    let (_, v) = env
        .get(&format!("/cgi-bin/user/get?access_token={wt}"))
        .await;
    assert_eq!(errcode(&v), 40001);
    let ot = env.token(SERVICE).await;
    let v = env
        .post(
            &format!("/wecom/cgi-bin/message/send?access_token={ot}"),
            &json!({}),
        )
        .await;
    assert_eq!(errcode(&v), 40014);
}

#[tokio::test]
async fn exactly_one_token_request_is_countable() {
    let env = Env::new().await;
    env.sb.inject(Fault::sequence("/cgi-bin/token", [-1]));
    let (_, v) = env
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={SERVICE}&secret={}",
            env.secret(SERVICE)
        ))
        .await;
    assert_eq!(errcode(&v), -1);
    env.token(SERVICE).await;
    assert_eq!(env.sb.call_count("/cgi-bin/token"), 2);
    env.sb.reset_counters();
    assert_eq!(env.sb.call_count("/cgi-bin/token"), 0);
}
