//! OAuth, faults, robustness.

use super::*;
use serde_json::json;
use std::time::{Duration, Instant};
use wechat_sandbox::Fault;

fn code_from(location: &str) -> (String, String) {
    let url = reqwest::Url::parse(location).expect("location");
    let get = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    (get("code"), get("state"))
}

#[tokio::test]
async fn oauth_round_trip() {
    let env = Env::new().await;
    let users = env.sb.add_followers(SERVICE, 2);
    let redirect = "https://course.example.com/oauth/back?course=42";
    let r = env
        .http
        .get(format!("{}/connect/oauth2/authorize", env.base))
        .query(&[
            ("appid", SERVICE),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("scope", "snsapi_userinfo"),
            ("state", "csrf-123"),
            ("sandbox_openid", &users[1]),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(r.status(), 302);
    let location = r
        .headers()
        .get("location")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        location.starts_with("https://course.example.com/oauth/back?course=42&code="),
        "{location}"
    );
    let (code, state) = code_from(&location);
    assert_eq!(state, "csrf-123");
    let secret = env.secret(SERVICE);
    let path = format!(
        "/sns/oauth2/access_token?appid={SERVICE}&secret={secret}&code={code}&grant_type=authorization_code"
    );
    let (_, v) = env.get(&path).await;
    assert_eq!(v["openid"], users[1].as_str(), "{v}");
    assert_eq!(v["scope"], "snsapi_userinfo");
    assert_eq!(
        v["unionid"].as_str(),
        env.sb
            .follower(&users[1])
            .and_then(|f| f.unionid)
            .as_deref()
    );
    let (_, again) = env.get(&path).await;
    assert_eq!(errcode(&again), 40163, "codes are single-use");
    let (_, bogus) = env
        .get(&format!("/sns/oauth2/access_token?appid={SERVICE}&secret={secret}&code=nope&grant_type=authorization_code"))
        .await;
    assert_eq!(errcode(&bogus), 40029);
}

#[tokio::test]
async fn oauth_phone_user_and_visitors() {
    let env = Env::new().await;
    let users = env.sb.add_followers(SERVICE, 1);
    let authorize = |env: &Env| {
        env.http
            .get(format!("{}/connect/oauth2/authorize", env.base))
            .query(&[
                ("appid", SERVICE),
                ("redirect_uri", "http://127.0.0.1:1/cb"),
                ("response_type", "code"),
                ("scope", "snsapi_base"),
                ("state", "s"),
            ])
            .send()
    };
    let secret = env.secret(SERVICE);
    let openid_of = |loc: String| {
        let (code, _) = code_from(&loc);
        format!(
            "/sns/oauth2/access_token?appid={SERVICE}&secret={secret}&code={code}&grant_type=authorization_code"
        )
    };
    env.sb.set_phone_user(SERVICE, Some(&users[0]));
    let r = authorize(&env).await.expect("authorize");
    let loc = r
        .headers()
        .get("location")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (_, v) = env.get(&openid_of(loc)).await;
    assert_eq!(v["openid"], users[0].as_str());
    assert!(v.get("unionid").is_none(), "snsapi_base carries no unionid");
    env.sb.set_phone_user(SERVICE, None);
    let r = authorize(&env).await.expect("authorize");
    let loc = r
        .headers()
        .get("location")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (_, v) = env.get(&openid_of(loc)).await;
    let visitor = v["openid"].as_str().unwrap_or_default();
    assert_ne!(visitor, users[0]);
    assert_eq!(env.sb.follower(visitor).map(|f| f.subscribe), Some(0));
    // Errors are pages, not redirects.
    let bad = env
        .http
        .get(format!("{}/connect/oauth2/authorize?appid={SUBSCRIPTION}&redirect_uri=http://x/&response_type=code&scope=snsapi_base", env.base))
        .send()
        .await
        .expect("authorize");
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn fault_sequence_rate_and_latency() {
    let env = Env::new().await;
    let users = env.sb.add_followers(SERVICE, 1);
    let t = env.token(SERVICE).await;
    let path = format!("/cgi-bin/user/get?access_token={t}");
    env.sb
        .inject(Fault::sequence("/cgi-bin/user/get", [40001, -1, 0, 45009]));
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(errcode(&env.get(&path).await.1));
    }
    assert_eq!(codes, vec![40001, -1, 0, 45009, 0]);
    env.sb.inject(Fault::rate("/cgi-bin/user/get", -1, 0.5));
    let mut busy = 0;
    for _ in 0..200 {
        if errcode(&env.get(&path).await.1) == -1 {
            busy += 1;
        }
    }
    assert!((60..140).contains(&busy), "{busy} of 200");
    env.sb.clear_faults();
    env.sb.inject(Fault::latency(
        "/cgi-bin/user/get",
        Duration::from_millis(300),
    ));
    let started = Instant::now();
    let (_, v) = env.get(&path).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(v["data"]["openid"][0], users[0].as_str());
    env.sb.inject(Fault::always("*", 45009));
    assert_eq!(errcode(&env.get(&path).await.1), 45009);
    env.sb.clear_faults();
    assert_eq!(errcode(&env.get(&path).await.1), 0);
}

#[tokio::test]
async fn bad_input_never_breaks_the_sandbox() {
    let env = Env::new().await;
    let t = env.token(SERVICE).await;
    let bodies = [
        "",
        "   ",
        "null",
        "[]",
        "\"x\"",
        "{",
        "{\"touser\": 5, \"data\": 7}",
        "\u{0}\u{1}binary",
        "{\"user_list\": [{\"openid\": null}]}",
        "{\"action_name\": \"QR_SCENE\", \"action_info\": 5}",
    ];
    let endpoints = [
        "/cgi-bin/message/template/send",
        "/cgi-bin/message/subscribe/bizsend",
        "/cgi-bin/message/subscribe/send",
        "/cgi-bin/message/custom/send",
        "/cgi-bin/qrcode/create",
        "/cgi-bin/user/info/batchget",
        "/cgi-bin/stable_token",
    ];
    for ep in endpoints {
        for b in bodies {
            let (status, v) = env.post_raw(&format!("{ep}?access_token={t}"), b).await;
            assert_eq!(status, 200, "{ep} {b:?}");
            assert_ne!(errcode(&v), 0, "{ep} {b:?}: {v}");
        }
    }
    for q in [
        "?%zz",
        "?access_token=%FF%FE",
        "?next_openid=\u{e9}\u{e9}\u{e9}",
        "?a=b&&&==",
    ] {
        let (status, v) = env.get(&format!("/cgi-bin/user/get{q}")).await;
        assert_eq!(status, 200, "{q}");
        assert_ne!(errcode(&v), 0);
    }
    let (_, v) = env
        .get(&format!(
            "/cgi-bin/user/get?access_token={t}&next_openid=o{}",
            "\u{e9}".repeat(13)
        ))
        .await;
    assert_eq!(errcode(&v), 40003);
    let (status, v) = env.get("/cgi-bin/not/emulated").await;
    assert_eq!(status, 404);
    assert!(
        v["errmsg"]
            .as_str()
            .unwrap_or_default()
            .contains("does not emulate")
    );
    // Absurd control requests are refused, not fatal.
    let (status, _) = env
        .post_raw(
            "/sandbox/accounts/wxservice00000001/followers",
            "{\"count\": 18446744073709551615}",
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = env
        .post_raw(
            "/sandbox/clock/advance",
            "{\"seconds\": 18446744073709551615}",
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = env
        .post_raw(
            "/sandbox/settings",
            "{\"oauth_code_ttl_secs\": 18446744073709551615}",
        )
        .await;
    assert_eq!(status, 405);
    env.http
        .patch(format!("{}/sandbox/settings", env.base))
        .body("{\"oauth_code_ttl_secs\": 18446744073709551615, \"token_ttl_secs\": 18446744073709551615}")
        .send()
        .await
        .expect("patch");
    let t = env.token(SERVICE).await;
    let r = env
        .http
        .get(format!("{}/connect/oauth2/authorize?appid={SERVICE}&redirect_uri=http://x/&response_type=code&scope=snsapi_base", env.base))
        .send()
        .await
        .expect("authorize");
    assert_eq!(r.status(), 302);
    // Still serving.
    assert_eq!(
        errcode(
            &env.get(&format!("/cgi-bin/user/get?access_token={t}"))
                .await
                .1
        ),
        0
    );
    let _ = json!({});
}
