//! Follower lists, user info, churn, unionids.

use super::*;
use serde_json::json;
use std::collections::HashSet;
use std::time::Instant;

/// Pages through user/get like a sync would; returns (openids, calls).
async fn list_all(env: &Env, token: &str) -> (Vec<String>, u64) {
    let mut all = Vec::new();
    let mut next = String::new();
    let mut calls = 0;
    loop {
        let (_, v) = env
            .get(&format!(
                "/cgi-bin/user/get?access_token={token}&next_openid={next}"
            ))
            .await;
        calls += 1;
        assert_eq!(errcode(&v), 0, "{v}");
        let count = v["count"].as_u64().unwrap_or(0);
        if count == 0 {
            assert_eq!(v["next_openid"], "");
            assert!(v.get("data").is_none());
            break;
        }
        let ids = v["data"]["openid"].as_array().cloned().unwrap_or_default();
        assert_eq!(ids.len() as u64, count);
        assert_eq!(
            v["next_openid"],
            ids[ids.len() - 1],
            "next_openid is the page's last openid"
        );
        all.extend(
            ids.into_iter()
                .filter_map(|x| x.as_str().map(str::to_string)),
        );
        next = v["next_openid"].as_str().unwrap_or_default().to_string();
    }
    (all, calls)
}

#[tokio::test]
async fn user_get_pages_like_wechat() {
    let env = Env::new().await;
    let created = env.sb.add_followers(SERVICE, 25_000);
    let t = env.token(SERVICE).await;
    let (_, first) = env
        .get(&format!("/cgi-bin/user/get?access_token={t}"))
        .await;
    assert_eq!(first["total"], 25_000);
    assert_eq!(first["count"], 10_000);
    let (all, calls) = list_all(&env, &t).await;
    assert_eq!(calls, 4, "3 pages + the empty call after the last openid");
    assert_eq!(all, created);
    let (_, bad) = env
        .get(&format!(
            "/cgi-bin/user/get?access_token={t}&next_openid=bogus"
        ))
        .await;
    assert_eq!(errcode(&bad), 40003);
}

#[tokio::test]
async fn million_followers_fast_and_paged() {
    let env = Env::new().await;
    let started = Instant::now();
    let created = env.sb.add_followers(SERVICE, 1_000_000);
    let took = started.elapsed();
    eprintln!("created 1,000,000 followers (with openids) in {took:?}");
    assert!(took.as_secs() < 10, "creating 1M followers took {took:?}");
    let t = env.token(SERVICE).await;
    env.sb.reset_counters();
    let (all, calls) = list_all(&env, &t).await;
    assert_eq!(calls, 101);
    assert_eq!(env.sb.call_count("/cgi-bin/user/get"), 101);
    assert_eq!(all.len(), 1_000_000);
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), 1_000_000);
    assert_eq!(all.first(), created.first());
    assert_eq!(all.last(), created.last());
}

#[tokio::test]
async fn batchget_returns_wechat_fields() {
    let env = Env::new().await;
    let users = env.sb.add_followers(SERVICE, 150);
    env.sb.set_following(&users[1], false).expect("unfollow");
    let t = env.token(SERVICE).await;
    let path = format!("/cgi-bin/user/info/batchget?access_token={t}");
    let list: Vec<Value> = users[..100]
        .iter()
        .map(|o| json!({"openid": o, "lang": "zh_CN"}))
        .collect();
    let v = env.post(&path, &json!({"user_list": list})).await;
    let infos = v["user_info_list"].as_array().cloned().unwrap_or_default();
    assert_eq!(infos.len(), 100, "{v}");
    let u0 = &infos[0];
    for field in [
        "subscribe",
        "openid",
        "language",
        "subscribe_time",
        "unionid",
        "remark",
        "groupid",
        "tagid_list",
        "subscribe_scene",
        "qr_scene",
        "qr_scene_str",
    ] {
        assert!(u0.get(field).is_some(), "missing {field}: {u0}");
    }
    assert!(u0.get("nickname").is_none() && u0.get("headimgurl").is_none());
    assert_eq!(u0["subscribe"], 1);
    assert_eq!(infos[1]["subscribe"], 0);
    assert!(infos[1].get("subscribe_time").is_none());
    let over: Vec<Value> = users[..101].iter().map(|o| json!({"openid": o})).collect();
    assert_eq!(
        errcode(&env.post(&path, &json!({"user_list": over})).await),
        40032
    );
    assert_eq!(
        errcode(&env.post(&path, &json!({"user_list": []})).await),
        40032
    );
    assert_eq!(
        errcode(
            &env.post(&path, &json!({"user_list": [{"openid": "oBAD"}]}))
                .await
        ),
        40003
    );
    assert_eq!(
        errcode(&env.post(&path, &json!({"user_list": "x"})).await),
        47001
    );
    assert_eq!(errcode(&env.post_raw(&path, " ").await.1), 44002);
    let (_, one) = env
        .get(&format!(
            "/cgi-bin/user/info?access_token={t}&openid={}&lang=zh_CN",
            users[0]
        ))
        .await;
    assert_eq!(one["openid"], users[0].as_str());
}

#[tokio::test]
async fn unionid_is_shared_inside_an_open_platform_group() {
    let env = Env::new().await;
    let service_users = env.sb.add_followers(SERVICE, 3);
    let sub_users = env.sb.add_followers(SUBSCRIPTION, 3);
    let a = env.sb.follower(&service_users[2]).expect("a");
    let b = env.sb.follower(&sub_users[2]).expect("b");
    assert_ne!(a.openid, b.openid);
    assert!(a.unionid.is_some());
    assert_eq!(a.unionid, b.unionid, "same person in the same group");
    assert_ne!(
        a.unionid,
        env.sb.follower(&service_users[1]).and_then(|f| f.unionid)
    );
    assert_eq!(
        env.sb.openid_in(&service_users[2], SUBSCRIPTION).as_deref(),
        Some(sub_users[2].as_str())
    );
    // A person known to the service account only: created (not following) in the other.
    let stranger = env.sb.new_user(SERVICE).expect("user");
    let there = env.sb.openid_in(&stranger, SUBSCRIPTION).expect("openid");
    assert_eq!(env.sb.follower(&there).map(|f| f.subscribe), Some(0));
    // Accounts outside a group have no unionid.
    env.sb
        .add_account(wechat_sandbox::SandboxAccount::service("wxlonely000000001"));
    let lonely = env.sb.add_followers("wxlonely000000001", 1);
    assert_eq!(env.sb.follower(&lonely[0]).and_then(|f| f.unionid), None);
}

#[tokio::test]
async fn churn_for_sync_tests() {
    let env = Env::new().await;
    env.sb.add_followers(SERVICE, 10_000);
    let churn = env.sb.churn(SERVICE, 1_000, 1_000, 500).expect("churn");
    assert_eq!(
        (
            churn.followed.len(),
            churn.unfollowed.len(),
            churn.changed.len()
        ),
        (1_000, 1_000, 500)
    );
    assert_eq!(env.sb.follower_count(SERVICE), 10_000);
    let t = env.token(SERVICE).await;
    let (all, _) = list_all(&env, &t).await;
    let listed: HashSet<&String> = all.iter().collect();
    assert!(churn.followed.iter().all(|o| listed.contains(o)));
    assert!(churn.unfollowed.iter().all(|o| !listed.contains(o)));
    let changed = env.sb.follower(&churn.changed[0]).expect("changed");
    assert!(!changed.remark.is_empty());
    assert_eq!(changed.subscribe, 1);
    let v = env
        .post(
            &format!("/cgi-bin/user/info/batchget?access_token={t}"),
            &json!({"user_list": [{"openid": churn.changed[0]}, {"openid": churn.unfollowed[0]}]}),
        )
        .await;
    assert_eq!(v["user_info_list"][0]["remark"], changed.remark.as_str());
    assert_eq!(v["user_info_list"][1]["subscribe"], 0);
}
