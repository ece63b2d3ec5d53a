//! The WeChat client over real HTTP against the WeChat sandbox: every endpoint livenotify
//! calls, and every error class (WeChat errcodes via fault injection, timeouts, refused
//! connections, 5xx, garbage bodies).

use livenotify::wechat::api::oauth::OAuthScope;
use livenotify::wechat::api::user::Lang;
use livenotify::wechat::{
    AppCredentials, BizSubscribeMessage, CustomMessage, DataValue, ErrorAction, JobFatal,
    MiniProgramLink, MiniProgramState, MiniProgramSubscribeMessage, NewsArticle, QrCodeRequest,
    TemplateMessage, UserSkip, WechatClient, WechatEndpoints, WechatError, WecomCredentials,
    WecomMessage, WecomMessageBody, WecomRecipients,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wechat_sandbox::{Fault, FollowerUpdate, MessageKind, Sandbox, SandboxAccount, Settings};

const SERVICE: &str = "wx1111111111111111";
const SUBSCRIPTION: &str = "wx2222222222222222";
const MINI: &str = "wx3333333333333333";
const CORPID: &str = "ww4444444444444444";
const AGENTID: i64 = 1_000_002;
const TEMPLATE: &str = "TPL_LIVE_START";
const TEMPLATE_SEND: &str = "/cgi-bin/message/template/send";

struct Rig {
    sandbox: Sandbox,
    base: String,
    client: WechatClient,
}

impl Rig {
    async fn new() -> Self {
        Self::with_settings(Settings::default()).await
    }

    async fn with_settings(settings: Settings) -> Self {
        let sandbox = Sandbox::new(settings);
        sandbox.add_account(SandboxAccount::service(SERVICE));
        sandbox.add_account(SandboxAccount::subscription(SUBSCRIPTION));
        sandbox.add_account(SandboxAccount::mini_program(MINI));
        sandbox.add_account(SandboxAccount::wecom(CORPID, AGENTID));
        let base = sandbox.spawn_local().await.expect("sandbox listens");
        let client = WechatClient::new(endpoints(&base)).expect("client");
        Self {
            sandbox,
            base,
            client,
        }
    }

    fn creds(&self, appid: &str) -> AppCredentials {
        AppCredentials::new(appid, self.sandbox.account(appid).expect("account").secret)
    }

    async fn token(&self, appid: &str) -> String {
        self.client
            .fetch_stable_token(&self.creds(appid), false)
            .await
            .expect("token")
            .access_token
    }
}

fn endpoints(base: &str) -> WechatEndpoints {
    WechatEndpoints::new(base, format!("{base}/wecom"), base).with_mp_base(base)
}

fn template(openid: &str) -> TemplateMessage {
    TemplateMessage::new(openid, TEMPLATE)
        .field("thing1", "肿瘤学直播：免疫治疗")
        .field("time2", "2025-06-01 19:00")
}

// ----- tokens -----

#[tokio::test]
async fn tokens_classic_and_stable() {
    let rig = Rig::new().await;
    let creds = rig.creds(SERVICE);
    let classic = rig.client.fetch_token(&creds).await.unwrap();
    assert_eq!(classic.expires_in, 7200);
    assert!(!classic.access_token.is_empty());
    let stable = rig.client.fetch_stable_token(&creds, false).await.unwrap();
    let again = rig.client.fetch_stable_token(&creds, false).await.unwrap();
    assert_eq!(
        stable.access_token, again.access_token,
        "normal mode reuses the valid token"
    );
    assert!(again.expires_in <= 7200);
    let forced = rig.client.fetch_stable_token(&creds, true).await.unwrap();
    assert_ne!(
        forced.access_token, stable.access_token,
        "force_refresh issues a new one"
    );
    assert_eq!(rig.sandbox.call_count("/cgi-bin/token"), 1);
    assert_eq!(rig.sandbox.call_count("/cgi-bin/stable_token"), 3);
    // Debug never shows the token.
    assert!(!format!("{forced:?}").contains(&forced.access_token));
}

#[tokio::test]
async fn token_endpoint_errors() {
    let rig = Rig::new().await;
    let wrong = AppCredentials::new(SERVICE, "wrong-secret");
    for err in [
        rig.client.fetch_token(&wrong).await.unwrap_err(),
        rig.client
            .fetch_stable_token(&wrong, false)
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                WechatError::JobFatal {
                    reason: JobFatal::InvalidCredentials,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            !err.to_string().contains("wrong-secret"),
            "secret must not leak: {err}"
        );
    }
    let wecom_wrong = WecomCredentials::new(CORPID, "wrong", AGENTID);
    let err = rig
        .client
        .fetch_wecom_token(&wecom_wrong)
        .await
        .unwrap_err();
    assert_eq!(
        err.action(),
        ErrorAction::FatalForJob,
        "WeCom's 40001 from gettoken is a bad secret: {err}"
    );
    rig.sandbox
        .inject(Fault::sequence("/cgi-bin/stable_token", [-1]));
    let err = rig
        .client
        .fetch_stable_token(&rig.creds(SERVICE), false)
        .await
        .unwrap_err();
    assert_eq!(err.action(), ErrorAction::RetryLater);
}

// ----- template messages -----

#[tokio::test]
async fn template_send_delivers_every_field() {
    let rig = Rig::new().await;
    let openid = rig.sandbox.add_followers(SERVICE, 1).remove(0);
    let token = rig.token(SERVICE).await;
    let mut message = template(&openid);
    message.url = Some("https://live.example.com/c/01HX".into());
    message.miniprogram = Some(MiniProgramLink {
        appid: MINI.into(),
        pagepath: "pages/live?c=01HX".into(),
    });
    message.client_msg_id = Some("push-01HX:1".into());
    message.data.insert(
        "remark".into(),
        DataValue {
            value: "点击进入直播间".into(),
            color: Some("#173177".into()),
        },
    );
    let msgid = rig.client.send_template(&token, &message).await.unwrap();
    let got = rig.sandbox.messages_to(&openid);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].kind, MessageKind::Template);
    assert_eq!(got[0].msgid, Some(msgid as u64));
    assert_eq!(got[0].template_id.as_deref(), Some(TEMPLATE));
    assert_eq!(got[0].client_msg_id.as_deref(), Some("push-01HX:1"));
    let body = &got[0].body;
    assert_eq!(body["url"], "https://live.example.com/c/01HX");
    assert_eq!(body["miniprogram"]["pagepath"], "pages/live?c=01HX");
    assert_eq!(body["data"]["thing1"]["value"], "肿瘤学直播：免疫治疗");
    assert_eq!(body["data"]["remark"]["color"], "#173177");

    // Same client_msg_id again: WeChat sends nothing new and answers with the first msgid.
    let again = rig.client.send_template(&token, &message).await.unwrap();
    assert_eq!(again, msgid);
    assert_eq!(rig.sandbox.messages_to(&openid).len(), 1);
}

#[tokio::test]
async fn template_send_real_error_paths() {
    let rig = Rig::new().await;
    let followers = rig.sandbox.add_followers(SERVICE, 3);
    let token = rig.token(SERVICE).await;

    // 43004: the user unfollowed.
    rig.sandbox.set_following(&followers[0], false).unwrap();
    let err = rig
        .client
        .send_template(&token, &template(&followers[0]))
        .await
        .unwrap_err();
    assert_eq!(err.user_skip(), Some(UserSkip::NotFollowing), "{err}");

    // 40003: an openid of another account.
    let err = rig
        .client
        .send_template(&token, &template("oNotAnOpenidOfThisAccount"))
        .await
        .unwrap_err();
    assert_eq!(err.user_skip(), Some(UserSkip::InvalidOpenid), "{err}");

    // 43101: the user blocked the account's template messages.
    let blocked = FollowerUpdate {
        blocked: Some(true),
        ..FollowerUpdate::default()
    };
    rig.sandbox
        .update_follower(&followers[1], &blocked)
        .unwrap();
    let err = rig
        .client
        .send_template(&token, &template(&followers[1]))
        .await
        .unwrap_err();
    assert_eq!(err.user_skip(), Some(UserSkip::NoConsent), "{err}");

    // 45009: daily quota used up.
    rig.sandbox.set_quota(SERVICE, TEMPLATE_SEND, Some(0));
    let err = rig
        .client
        .send_template(&token, &template(&followers[2]))
        .await
        .unwrap_err();
    assert_eq!(err.action(), ErrorAction::QuotaExhausted, "{err}");
    rig.sandbox.set_quota(SERVICE, TEMPLATE_SEND, None);

    // 40037: a template the account does not own.
    let mut account = rig.sandbox.account(SERVICE).unwrap();
    account.templates = vec!["OTHER_TEMPLATE".into()];
    rig.sandbox.add_account(account);
    let err = rig
        .client
        .send_template(&token, &template(&followers[2]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WechatError::JobFatal {
                reason: JobFatal::BadTemplateId,
                code: 40037,
                ..
            }
        ),
        "{err}"
    );

    // 48001: subscription accounts have no template messages.
    let sub_token = rig.token(SUBSCRIPTION).await;
    let sub_follower = rig.sandbox.add_followers(SUBSCRIPTION, 1).remove(0);
    let err = rig
        .client
        .send_template(&sub_token, &template(&sub_follower))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WechatError::JobFatal {
                reason: JobFatal::ApiUnauthorized,
                ..
            }
        ),
        "{err}"
    );

    // 40001 / 42001: revoked and expired tokens.
    rig.sandbox.revoke_token(SERVICE);
    let err = rig
        .client
        .send_template(&token, &template(&followers[2]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WechatError::TokenRejected { code: 40001, .. }),
        "{err}"
    );
    let fresh = rig.token(SERVICE).await;
    rig.sandbox.expire_token(SERVICE);
    let err = rig
        .client
        .send_template(&fresh, &template(&followers[2]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WechatError::TokenRejected { code: 42001, .. }),
        "{err}"
    );
    assert_eq!(err.action(), ErrorAction::RefreshTokenAndRetry);
}

#[tokio::test]
async fn invalid_template_data_is_refused_before_sending() {
    let rig = Rig::new().await;
    let openid = rig.sandbox.add_followers(SERVICE, 1).remove(0);
    let token = rig.token(SERVICE).await;
    let too_long = TemplateMessage::new(&openid, TEMPLATE)
        .field("thing1", "这是一个超过二十个字符长度限制的课程标题会被拒绝");
    let err = rig
        .client
        .send_template(&token, &too_long)
        .await
        .unwrap_err();
    assert!(
        matches!(err, WechatError::InvalidTemplateData { ref key, .. } if key == "thing1"),
        "{err}"
    );
    assert_eq!(err.action(), ErrorAction::FatalForJob);
    assert_eq!(rig.sandbox.call_count(TEMPLATE_SEND), 0, "refused locally");
}

/// Every errcode class through fault injection on the template endpoint.
#[tokio::test]
async fn every_errcode_class_maps_to_its_action() {
    let rig = Rig::new().await;
    let openid = rig.sandbox.add_followers(SERVICE, 1).remove(0);
    let token = rig.token(SERVICE).await;
    let cases: &[(i64, ErrorAction)] = &[
        (-1, ErrorAction::RetryLater),
        (45011, ErrorAction::RetryLater),
        (40001, ErrorAction::RefreshTokenAndRetry),
        (42001, ErrorAction::RefreshTokenAndRetry),
        (40014, ErrorAction::RefreshTokenAndRetry),
        (40003, ErrorAction::SkipUser),
        (43004, ErrorAction::SkipUser),
        (43101, ErrorAction::SkipUser),
        (45015, ErrorAction::SkipUser),
        (45047, ErrorAction::SkipUser),
        (45009, ErrorAction::QuotaExhausted),
        (47003, ErrorAction::FatalForJob),
        (48001, ErrorAction::FatalForJob),
        (40037, ErrorAction::FatalForJob),
        (40164, ErrorAction::FatalForJob),
        (44002, ErrorAction::Invalid),
    ];
    rig.sandbox.inject(Fault::sequence(
        TEMPLATE_SEND,
        cases.iter().map(|(code, _)| *code),
    ));
    for (code, action) in cases {
        let err = rig
            .client
            .send_template(&token, &template(&openid))
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(*code), "{err}");
        assert_eq!(err.action(), *action, "errcode {code}: {err}");
    }
    let unknown = WechatError::from_errcode(44002, "empty post data");
    assert!(matches!(unknown, WechatError::Api { code: 44002, .. }));
    // The sequence is used up: normal service resumes.
    rig.client
        .send_template(&token, &template(&openid))
        .await
        .unwrap();
}

// ----- subscription and customer-service messages -----

#[tokio::test]
async fn biz_subscribe_needs_consent() {
    let rig = Rig::new().await;
    let openid = rig.sandbox.add_followers(SERVICE, 1).remove(0);
    let token = rig.token(SERVICE).await;
    let message = BizSubscribeMessage {
        touser: openid.clone(),
        template_id: "SUB_TPL".into(),
        page: Some("https://live.example.com/c/1".into()),
        miniprogram: None,
        data: [("thing1".to_string(), DataValue::new("直播提醒"))].into(),
    };
    let err = rig
        .client
        .send_biz_subscribe(&token, &message)
        .await
        .unwrap_err();
    assert_eq!(err.user_skip(), Some(UserSkip::NoConsent), "{err}");
    rig.sandbox
        .grant_consent(&openid, "SUB_TPL", false)
        .unwrap();
    rig.client
        .send_biz_subscribe(&token, &message)
        .await
        .unwrap();
    let got = rig.sandbox.messages_to(&openid);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].kind, MessageKind::Subscribe);
    assert_eq!(got[0].body["page"], "https://live.example.com/c/1");
    // One consent, one send.
    let err = rig
        .client
        .send_biz_subscribe(&token, &message)
        .await
        .unwrap_err();
    assert_eq!(err.user_skip(), Some(UserSkip::NoConsent));
}

#[tokio::test]
async fn mini_program_subscribe_send() {
    let rig = Rig::new().await;
    let openid = rig.sandbox.add_followers(MINI, 1).remove(0);
    let token = rig.token(MINI).await;
    rig.sandbox.grant_consent(&openid, "MP_TPL", false).unwrap();
    let message = MiniProgramSubscribeMessage {
        touser: openid.clone(),
        template_id: "MP_TPL".into(),
        page: Some("pages/course?id=1".into()),
        data: [
            ("thing1".to_string(), DataValue::new("课程即将开始")),
            ("time2".to_string(), DataValue::new("19:00")),
        ]
        .into(),
        miniprogram_state: Some(MiniProgramState::Trial),
        lang: Some("zh_CN".into()),
    };
    let receipt = rig
        .client
        .send_miniprogram_subscribe(&token, &message)
        .await
        .unwrap();
    assert!(receipt.msgid.is_some());
    let got = rig.sandbox.messages_to(&openid);
    assert_eq!(got[0].kind, MessageKind::MiniProgramSubscribe);
    assert_eq!(got[0].body["miniprogram_state"], "trial");
    let err = rig
        .client
        .send_miniprogram_subscribe(&token, &message)
        .await
        .unwrap_err();
    assert_eq!(
        err.user_skip(),
        Some(UserSkip::NoConsent),
        "consent used up: {err}"
    );
}

#[tokio::test]
async fn custom_messages_respect_the_service_window() {
    let rig = Rig::with_settings(Settings {
        custom_messages_per_window: 2,
        ..Settings::default()
    })
    .await;
    let openid = rig.sandbox.add_followers(SERVICE, 1).remove(0);
    let token = rig.token(SERVICE).await;
    let text = CustomMessage::text(&openid, "直播已开始，点击进入");
    let err = rig.client.send_custom(&token, &text).await.unwrap_err();
    assert_eq!(
        err.user_skip(),
        Some(UserSkip::OutsideServiceWindow),
        "{err}"
    );

    rig.sandbox.touch(&openid).unwrap();
    rig.client.send_custom(&token, &text).await.unwrap();
    let link = CustomMessage::link(
        &openid,
        NewsArticle {
            title: "免疫治疗进展".into(),
            description: Some("今晚 19:00".into()),
            url: "https://live.example.com/c/1".into(),
            picurl: Some("https://cdn.example.com/cover.png".into()),
        },
    );
    rig.client.send_custom(&token, &link).await.unwrap();
    let got = rig.sandbox.messages_to(&openid);
    assert_eq!(
        got.iter()
            .map(|m| m.msgtype.clone().unwrap())
            .collect::<Vec<_>>(),
        ["text", "news"]
    );
    assert_eq!(got[1].body["news"]["articles"][0]["title"], "免疫治疗进展");
    let err = rig.client.send_custom(&token, &text).await.unwrap_err();
    assert_eq!(
        err.user_skip(),
        Some(UserSkip::ServiceMessageLimit),
        "{err}"
    );
}

// ----- QR codes -----

#[tokio::test]
async fn qrcodes_of_every_kind() {
    let rig = Rig::new().await;
    let token = rig.token(SERVICE).await;
    let requests = [
        QrCodeRequest::Scene {
            scene_id: 4_000_000_000,
            expire_seconds: 2_592_000,
        },
        QrCodeRequest::StrScene {
            scene_str: "course:01HXYZ".into(),
            expire_seconds: 604_800,
        },
        QrCodeRequest::LimitScene { scene_id: 100_000 },
        QrCodeRequest::LimitStrScene {
            scene_str: "account:follow".into(),
        },
    ];
    for request in &requests {
        let ticket = rig.client.create_qrcode(&token, request).await.unwrap();
        assert!(!ticket.ticket.is_empty() && !ticket.url.is_empty());
        assert_eq!(
            ticket.expire_seconds.is_none(),
            request.is_permanent(),
            "{request:?}"
        );
        let stored = rig
            .sandbox
            .qr_ticket(&ticket.ticket)
            .expect("sandbox knows the ticket");
        assert_eq!(stored.url, ticket.url);
        // WeChat's own image, fetched through the URL builder (ticket URL-encoded).
        let image_url = rig.client.show_qrcode_url(&ticket.ticket).unwrap();
        assert!(image_url.starts_with(&format!("{}/cgi-bin/showqrcode?ticket=", rig.base)));
        let image = reqwest::get(&image_url).await.unwrap();
        assert_eq!(image.status(), 200, "{image_url}");
        assert_eq!(image.headers()["content-type"], "image/png");
    }
    let bad = [
        QrCodeRequest::LimitScene { scene_id: 100_001 },
        QrCodeRequest::LimitScene { scene_id: 0 },
        QrCodeRequest::Scene {
            scene_id: 1,
            expire_seconds: 2_592_001,
        },
        QrCodeRequest::LimitStrScene {
            scene_str: "x".repeat(65),
        },
        QrCodeRequest::StrScene {
            scene_str: String::new(),
            expire_seconds: 60,
        },
    ];
    for request in &bad {
        let err = rig.client.create_qrcode(&token, request).await.unwrap_err();
        assert_eq!(err.action(), ErrorAction::Invalid, "{request:?}: {err}");
    }
    assert_eq!(
        rig.sandbox.call_count("/cgi-bin/qrcode/create"),
        4,
        "invalid requests never left the client"
    );
}

// ----- followers -----

#[tokio::test]
async fn follower_pages_and_batchget() {
    let rig = Rig::with_settings(Settings {
        user_get_page_size: 3,
        ..Settings::default()
    })
    .await;
    let openids = rig.sandbox.add_followers(SERVICE, 7);
    let token = rig.token(SERVICE).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = rig
            .client
            .get_followers(&token, cursor.as_deref())
            .await
            .unwrap();
        assert_eq!(page.total, 7);
        pages += 1;
        seen.extend(page.openids);
        match page.next_openid {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 10, "pagination must end");
    }
    assert_eq!(seen, openids);
    assert_eq!(
        pages, 4,
        "3 + 3 + 1, then the empty page that ends the list"
    );

    let infos = rig
        .client
        .batch_get_user_info(&token, &openids, Lang::ZhCn)
        .await
        .unwrap();
    assert_eq!(infos.len(), 7);
    assert!(
        infos
            .iter()
            .all(|u| u.is_subscribed() && u.subscribe_time.is_some())
    );
    assert_eq!(
        infos.iter().map(|u| u.openid.clone()).collect::<Vec<_>>(),
        openids
    );

    let hundred_one: Vec<String> = (0..101).map(|i| format!("o{i}")).collect();
    let err = rig
        .client
        .batch_get_user_info(&token, &hundred_one, Lang::ZhCn)
        .await
        .unwrap_err();
    assert!(matches!(err, WechatError::InvalidRequest(_)), "{err}");
    assert!(
        rig.client
            .batch_get_user_info(&token, &[], Lang::En)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        rig.sandbox.call_count("/cgi-bin/user/info/batchget"),
        1,
        "no call for 0 or 101 openids"
    );

    // A hundred (the maximum) in one call, unfollowed users included.
    let more = rig.sandbox.add_followers(SERVICE, 100);
    rig.sandbox.set_following(&more[0], false).unwrap();
    let infos = rig
        .client
        .batch_get_user_info(&token, &more, Lang::ZhCn)
        .await
        .unwrap();
    assert_eq!(infos.len(), 100);
    assert!(!infos[0].is_subscribed());
}

// ----- web OAuth -----

#[tokio::test]
async fn oauth_authorize_and_code_exchange() {
    let rig = Rig::new().await;
    let openid = rig.sandbox.add_followers(SERVICE, 1).remove(0);
    let url = rig
        .client
        .oauth_authorize_url(
            SERVICE,
            "https://live.example.com/oauth/cb?course=01HX",
            OAuthScope::Base,
            "csrf01HX",
        )
        .unwrap();
    assert!(url.starts_with(&format!(
        "{}/connect/oauth2/authorize?appid={SERVICE}&redirect_uri=",
        rig.base
    )));
    assert!(url.ends_with("#wechat_redirect"));
    // Play the phone: open the page as this follower, follow the redirect by hand.
    let mut page = reqwest::Url::parse(&url).unwrap();
    page.set_fragment(None);
    page.query_pairs_mut()
        .append_pair("sandbox_openid", &openid);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = browser.get(page).send().await.unwrap();
    assert_eq!(redirect.status(), 302);
    let location = reqwest::Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.path(), "/oauth/cb");
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("course").as_deref(), Some("01HX"));
    assert_eq!(
        param("state").as_deref(),
        Some("csrf01HX"),
        "state comes back for the CSRF check"
    );
    let code = param("code").expect("code");

    let creds = rig.creds(SERVICE);
    let grant = rig.client.exchange_oauth_code(&creds, &code).await.unwrap();
    assert_eq!(grant.openid, openid);
    assert_eq!(grant.scope, "snsapi_base");
    let reused = rig
        .client
        .exchange_oauth_code(&creds, &code)
        .await
        .unwrap_err();
    assert_eq!(
        reused.action(),
        ErrorAction::Invalid,
        "a used code cannot be exchanged twice: {reused}"
    );
}

// ----- WeCom -----

#[tokio::test]
async fn wecom_messages_of_every_type() {
    let rig = Rig::new().await;
    let members = rig.sandbox.add_followers(CORPID, 2);
    let creds = WecomCredentials::new(CORPID, rig.sandbox.account(CORPID).unwrap().secret, AGENTID);
    let token = rig.client.fetch_wecom_token(&creds).await.unwrap();
    assert_eq!(
        rig.client
            .fetch_wecom_token(&creds)
            .await
            .unwrap()
            .access_token,
        token.access_token
    );
    let token = token.access_token;
    let recipients = WecomRecipients {
        users: vec![members[0].clone(), members[1].clone(), "ghost".into()],
        parties: vec!["2".into()],
        tags: vec!["7".into()],
    };
    let bodies = [
        WecomMessageBody::Text {
            content: "直播即将开始".into(),
        },
        WecomMessageBody::TextCard {
            title: "血液学周会".into(),
            description: "<div class=\"gray\">今晚 19:00</div>".into(),
            url: "https://live.example.com/c/1".into(),
            btntxt: Some("进入".into()),
        },
        WecomMessageBody::Markdown {
            content: "**直播**：[进入](https://live.example.com/c/1)".into(),
        },
        WecomMessageBody::News {
            articles: vec![NewsArticle {
                title: "免疫治疗".into(),
                description: None,
                url: "https://live.example.com/c/2".into(),
                picurl: None,
            }],
        },
    ];
    for body in bodies {
        let msgtype = body.msgtype();
        let result = rig
            .client
            .send_wecom_message(
                &token,
                &WecomMessage::new(recipients.clone(), AGENTID, body),
            )
            .await
            .unwrap();
        assert_eq!(result.invalid_users, vec!["ghost".to_string()]);
        assert!(!result.msgid.is_empty());
        let last = rig.sandbox.messages_to(&members[1]).pop().unwrap();
        assert_eq!(last.msgtype.as_deref(), Some(msgtype));
        assert_eq!(
            last.body["touser"],
            format!("{}|{}|ghost", members[0], members[1])
        );
        assert_eq!(last.body["agentid"], AGENTID);
    }
    assert_eq!(rig.sandbox.messages_to("party:2").len(), 4);
    assert_eq!(rig.sandbox.messages_to("tag:7").len(), 4);

    // Duplicate check: the same content again inside the window is not delivered twice.
    let mut message = WecomMessage::new(
        WecomRecipients::users([members[0].clone()]),
        AGENTID,
        WecomMessageBody::Text {
            content: "只发一次".into(),
        },
    );
    message.enable_duplicate_check = true;
    message.duplicate_check_interval = Some(600);
    let first = rig
        .client
        .send_wecom_message(&token, &message)
        .await
        .unwrap();
    let second = rig
        .client
        .send_wecom_message(&token, &message)
        .await
        .unwrap();
    assert_eq!(first.msgid, second.msgid);
    let once = rig
        .sandbox
        .messages_to(&members[0])
        .into_iter()
        .filter(|m| m.body["text"]["content"] == "只发一次")
        .count();
    assert_eq!(once, 1);

    // Wrong agent id and all-invalid recipients are WeCom errcodes, kept with code and message.
    let wrong_agent = WecomMessage::new(
        WecomRecipients::users([members[0].clone()]),
        42,
        WecomMessageBody::Text {
            content: "x".into(),
        },
    );
    let err = rig
        .client
        .send_wecom_message(&token, &wrong_agent)
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40056), "{err}");
    rig.sandbox.expire_token(CORPID);
    let err = rig
        .client
        .send_wecom_message(&token, &message)
        .await
        .unwrap_err();
    assert_eq!(err.action(), ErrorAction::RefreshTokenAndRetry, "{err}");
}

// ----- transport failures -----

#[tokio::test]
async fn timeouts_are_retry_later_and_never_show_the_token() {
    let rig = Rig::new().await;
    let openid = rig.sandbox.add_followers(SERVICE, 1).remove(0);
    let token = rig.token(SERVICE).await;
    let impatient =
        WechatClient::with_timeout(endpoints(&rig.base), Duration::from_millis(200)).unwrap();
    rig.sandbox
        .inject(Fault::latency(TEMPLATE_SEND, Duration::from_secs(2)));
    let err = impatient
        .send_template(&token, &template(&openid))
        .await
        .unwrap_err();
    assert!(matches!(err, WechatError::Timeout { .. }), "{err}");
    assert_eq!(err.action(), ErrorAction::RetryLater);
    assert!(!format!("{err} {err:?}").contains(&token));
}

#[tokio::test]
async fn refused_connections_are_retry_later_and_never_show_the_token() {
    // A port that was free a moment ago and has no listener now.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = WechatClient::new(endpoints(&base)).unwrap();
    let token = "ACCESS_TOKEN_THAT_MUST_NOT_LEAK";
    let err = client
        .send_template(token, &template("o1"))
        .await
        .unwrap_err();
    assert!(matches!(err, WechatError::Transport { .. }), "{err}");
    assert_eq!(err.action(), ErrorAction::RetryLater);
    assert!(!format!("{err} {err:?}").contains(token), "{err:?}");
    let secret_err = client
        .fetch_token(&AppCredentials::new("wx1", "SECRET_THAT_MUST_NOT_LEAK"))
        .await
        .unwrap_err();
    assert!(!format!("{secret_err} {secret_err:?}").contains("SECRET_THAT_MUST_NOT_LEAK"));
}

/// A one-shot HTTP server answering every request with `response`.
async fn canned_server(response: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                // Read the request head and whatever body arrived with it; the answer is fixed.
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    base
}

#[tokio::test]
async fn server_errors_and_garbage() {
    let gateway = canned_server(
        "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 11\r\nconnection: close\r\n\r\nbad gateway",
    )
    .await;
    let client = WechatClient::new(endpoints(&gateway)).unwrap();
    let err = client
        .send_template("t", &template("o1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WechatError::HttpStatus { status: 502, .. }),
        "{err}"
    );
    assert_eq!(err.action(), ErrorAction::RetryLater);

    let garbage = canned_server(
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 13\r\nconnection: close\r\n\r\n<html></html>",
    )
    .await;
    let client = WechatClient::new(endpoints(&garbage)).unwrap();
    let err = client
        .send_template("t", &template("o1"))
        .await
        .unwrap_err();
    assert!(matches!(err, WechatError::Decode { .. }), "{err}");
    assert_eq!(err.action(), ErrorAction::Invalid);

    let busy_500 = canned_server(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: 37\r\nconnection: close\r\n\r\n{\"errcode\":-1,\"errmsg\":\"system busy\"}",
    )
    .await;
    let client = WechatClient::new(endpoints(&busy_500)).unwrap();
    let err = client
        .send_template("t", &template("o1"))
        .await
        .unwrap_err();
    assert!(matches!(err, WechatError::Busy { code: -1, .. }), "{err}");
}
