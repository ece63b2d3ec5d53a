//! The JSON control API.

use super::*;
use serde_json::json;

#[tokio::test]
async fn control_api_end_to_end() {
    let env = Env::new().await;
    let r = Receiver::success().await;
    let created = env
        .post("/sandbox/accounts", &json!({"appid": "wxctl000000000001", "kind": "service", "open_platform": "medu",
                                          "callback_url": r.url, "encryption_mode": "safe", "followers": 5}))
        .await;
    assert_eq!(created["follower_count"], 5, "{created}");
    assert_eq!(created["account"]["encryption_mode"], "safe");
    let secret = created["account"]["secret"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (status, bad) = env
        .post_raw(
            "/sandbox/accounts",
            "{\"appid\": \"x\", \"encoding_aes_key\": \"short\"}",
        )
        .await;
    assert_eq!(status, 400, "{bad}");

    let add = env
        .post(
            "/sandbox/accounts/wxctl000000000001/followers",
            &json!({"count": 3, "return_openids": true}),
        )
        .await;
    assert_eq!(add["total"], 8);
    let openids: Vec<String> = serde_json::from_value(add["openids"].clone()).unwrap_or_default();
    assert_eq!(openids.len(), 3);
    assert_eq!(add["first_openid"], openids[0].as_str());
    let (_, list) = env
        .get("/sandbox/accounts/wxctl000000000001/followers?limit=2&subscribed=true")
        .await;
    assert_eq!(list["followers"].as_array().map(Vec::len), Some(2));

    let token_path = format!(
        "/cgi-bin/token?grant_type=client_credential&appid=wxctl000000000001&secret={secret}"
    );
    let (_, tok) = env.get(&token_path).await;
    let (_, calls) = env.get("/sandbox/calls?endpoint=/cgi-bin/token").await;
    assert_eq!(calls["/cgi-bin/token"], 1);
    env.post_raw("/sandbox/accounts/wxctl000000000001/token/expire", "")
        .await;
    let (_, v) = env
        .get(&format!(
            "/cgi-bin/user/get?access_token={}",
            tok["access_token"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(v["errcode"], 42001);
    env.post_raw("/sandbox/accounts/wxctl000000000001/token/revoke", "")
        .await;
    let (_, v) = env
        .get(&format!(
            "/cgi-bin/user/get?access_token={}",
            tok["access_token"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(v["errcode"], 40001);

    let f = env
        .post(
            "/sandbox/faults",
            &json!({"endpoint": "/cgi-bin/token", "errcodes": [-1]}),
        )
        .await;
    assert_eq!(f["/cgi-bin/token"]["sequence"], json!([-1]));
    assert_eq!(env.get(&token_path).await.1["errcode"], -1);
    let (status, _) = env
        .post_raw("/sandbox/faults", "{\"endpoint\": \"\"}")
        .await;
    assert_eq!(status, 400);
    env.http
        .delete(format!("{}/sandbox/faults", env.base))
        .send()
        .await
        .expect("delete");

    let q = env
        .http
        .put(format!(
            "{}/sandbox/accounts/wxctl000000000001/quotas",
            env.base
        ))
        .json(&json!({"api": "/cgi-bin/token", "limit": 0}))
        .send()
        .await
        .expect("put");
    assert_eq!(q.status(), 200);
    assert_eq!(env.get(&token_path).await.1["errcode"], 45009);
    env.post_raw("/sandbox/accounts/wxctl000000000001/quotas/reset", "")
        .await;
    let (_, quotas) = env.get("/sandbox/accounts/wxctl000000000001/quotas").await;
    assert_eq!(quotas["/cgi-bin/token"]["limit"], 0);

    // Phone over HTTP.
    let follow = env
        .post(
            "/sandbox/phone/follow",
            &json!({"appid": "wxctl000000000001"}),
        )
        .await;
    assert_eq!(follow["delivered"], true, "{follow}");
    assert_eq!(follow["user_saw"]["kind"], "nothing");
    let new_openid = follow["openid"].as_str().unwrap_or_default().to_string();
    let text = env
        .post(
            "/sandbox/phone/text",
            &json!({"openid": new_openid, "content": "hi"}),
        )
        .await;
    assert_eq!(text["event"], "text");
    let (status, conflict) = env
        .post_raw(
            "/sandbox/phone/follow",
            &json!({"openid": new_openid}).to_string(),
        )
        .await;
    assert_eq!(status, 409, "{conflict}");
    let (status, _) = env
        .post_raw(
            "/sandbox/phone/scan",
            &json!({"openid": new_openid, "ticket": "nope"}).to_string(),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(r.hits().len(), 2);
    let (_, cbs) = env.get("/sandbox/callbacks?appid=wxctl000000000001").await;
    assert_eq!(cbs.as_array().map(Vec::len), Some(2));

    let (_, follower) = env.get(&format!("/sandbox/followers/{new_openid}")).await;
    assert_eq!(follower["subscribe"], 1);
    let patched = env
        .http
        .patch(format!("{}/sandbox/followers/{new_openid}", env.base))
        .json(&json!({"remark": "VIP", "tagid_list": [2, 3]}))
        .send()
        .await
        .expect("patch")
        .json::<Value>()
        .await
        .unwrap_or_default();
    assert_eq!(patched["groupid"], 2);
    let churn = env
        .post(
            "/sandbox/accounts/wxctl000000000001/followers/churn",
            &json!({"follow": 2, "unfollow": 1, "change": 1}),
        )
        .await;
    assert_eq!(churn["followed"].as_array().map(Vec::len), Some(2));

    let (_, msgs) = env
        .get(&format!("/sandbox/messages?openid={new_openid}"))
        .await;
    assert_eq!(msgs, json!([]));
    let (_, clock) = env.get("/sandbox/clock").await;
    let adv = env
        .post("/sandbox/clock/advance", &json!({"seconds": 3600}))
        .await;
    assert!(adv["unix"].as_i64().unwrap_or(0) >= clock["unix"].as_i64().unwrap_or(0) + 3600);
    let settings = env
        .http
        .patch(format!("{}/sandbox/settings", env.base))
        .json(&json!({"callback_timeout_ms": 1234}))
        .send()
        .await
        .expect("patch")
        .json::<Value>()
        .await
        .unwrap_or_default();
    assert_eq!(settings["callback_timeout_ms"], 1234);
    let (status, _) = env.get("/sandbox/accounts/nope").await;
    assert_eq!(status, 404);
    let (status, _) = env
        .post_raw("/sandbox/clock/advance", "{\"seconds\": \"soon\"}")
        .await;
    assert_eq!(status, 400);
}
