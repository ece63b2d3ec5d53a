//! qrcode/create and showqrcode.

use super::*;
use serde_json::json;

#[tokio::test]
async fn create_and_show() {
    let env = Env::new().await;
    let t = env.token(SERVICE).await;
    let path = format!("/cgi-bin/qrcode/create?access_token={t}");
    let v = env
        .post(
            &path,
            &json!({"expire_seconds": 604800, "action_name": "QR_STR_SCENE",
                             "action_info": {"scene": {"scene_str": "course:42"}}}),
        )
        .await;
    assert_eq!(v["expire_seconds"], 604_800, "{v}");
    assert!(v.get("errcode").is_none());
    let ticket = v["ticket"].as_str().unwrap_or_default().to_string();
    assert!(
        v["url"]
            .as_str()
            .unwrap_or_default()
            .starts_with("http://weixin.qq.com/q/")
    );
    assert!(ticket.contains('+') && ticket.contains('/') && ticket.ends_with("=="));

    // Properly URL-encoded ticket: a PNG.
    let r = env
        .http
        .get(format!("{}/cgi-bin/showqrcode", env.base))
        .query(&[("ticket", &ticket)])
        .send()
        .await
        .expect("showqrcode");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|h| h.to_str().ok()),
        Some("image/png")
    );
    let png = r.bytes().await.expect("bytes");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    // Raw ticket in the URL ('+' decodes to a space): not found, as on WeChat.
    let raw = env
        .http
        .get(format!("{}/cgi-bin/showqrcode?ticket={ticket}", env.base))
        .send()
        .await
        .expect("raw");
    assert_eq!(raw.status(), 404);

    let perm = json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 7}}});
    let p1 = env.post(&path, &perm).await;
    let p2 = env.post(&path, &perm).await;
    assert_eq!(p1["ticket"], p2["ticket"]);
    assert!(p1.get("expire_seconds").is_none());
    assert_eq!(env.sb.qr_tickets(Some(SERVICE)).len(), 2);
}

#[tokio::test]
async fn create_validation() {
    let env = Env::new().await;
    let t = env.token(SERVICE).await;
    let path = format!("/cgi-bin/qrcode/create?access_token={t}");
    let cases = [
        (json!({"action_name": "QR_WHATEVER"}), 40052),
        (
            json!({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": -1}}}),
            40053,
        ),
        (
            json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100001}}}),
            40053,
        ),
        (
            json!({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": ""}}}),
            40053,
        ),
        (
            json!({"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "y".repeat(65)}}}),
            40053,
        ),
    ];
    for (body, code) in cases {
        assert_eq!(errcode(&env.post(&path, &body).await), code, "{body}");
    }
    let ts = env.token(SUBSCRIPTION).await;
    let v = env
        .post(
            &format!("/cgi-bin/qrcode/create?access_token={ts}"),
            &json!({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 1}}}),
        )
        .await;
    assert_eq!(errcode(&v), 48001);
    let (status, _) = env.get("/cgi-bin/showqrcode?ticket=nope").await;
    assert_eq!(status, 404);
    let (status, _) = env.get("/cgi-bin/showqrcode").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn default_expiry_is_60s() {
    let env = Env::new().await;
    let t = env.token(SERVICE).await;
    let v = env
        .post(
            &format!("/cgi-bin/qrcode/create?access_token={t}"),
            &json!({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 9}}}),
        )
        .await;
    assert_eq!(v["expire_seconds"], 60);
    env.sb.advance_clock(std::time::Duration::from_secs(61));
    let ticket = v["ticket"].as_str().unwrap_or_default().to_string();
    let r = env
        .http
        .get(format!("{}/cgi-bin/showqrcode", env.base))
        .query(&[("ticket", &ticket)])
        .send()
        .await;
    assert_eq!(r.map(|r| r.status().as_u16()).ok(), Some(404));
}
