//! The push channels other than template messages, end to end through the local stack:
//! official-account subscription messages (bizsend) and mini program subscription messages
//! (one send per consent, consents counted), customer-service link cards (only within 48 h of
//! the user's last interaction, recorded from the user's callbacks), and WeCom app messages
//! to members, departments and tags. What each phone got is read from the sandbox.

#[path = "push_fixture/mod.rs"]
mod fixture;

use fixture::*;
use livenotify::domain::{Audience, Channel, DeliveryStatus, PushStatus, now};
use livenotify::store::ConsentChange;
use livenotify_tests::TestStack;
use std::time::Duration;
use wechat_sandbox::{EncryptionMode, MessageKind, SandboxAccount};

const BIZSEND: &str = "/cgi-bin/message/subscribe/bizsend";
const CUSTOM_SEND: &str = "/cgi-bin/message/custom/send";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscription_messages_use_one_consent_per_send() {
    configure_worker_env();
    let appid = "wxpushbizsend001";
    let stack = TestStack::start().await;
    let account = stack
        .add_account(SandboxAccount::service(appid), EncryptionMode::Plaintext)
        .await;
    let o = stack.sandbox.add_followers(appid, 5);
    seed_followers(stack.store(), &account.id, &o).await;
    let course = course(stack.store(), &account.id, "订阅通知测试").await;
    let template = "TPL-COURSE";
    let store = stack.store();
    let at = now();
    // o0: one one-time consent, seen by the platform and by WeChat.
    stack.sandbox.grant_consent(&o[0], template, false).unwrap();
    store
        .apply_consent(&account.id, &o[0], template, ConsentChange::GrantOnce, at)
        .await
        .unwrap();
    // o1: a long-term subscription.
    stack.sandbox.grant_consent(&o[1], template, true).unwrap();
    store
        .apply_consent(
            &account.id,
            &o[1],
            template,
            ConsentChange::GrantLongTerm,
            at,
        )
        .await
        .unwrap();
    // o2: declined: not even tried.
    store
        .apply_consent(&account.id, &o[2], template, ConsentChange::Decline, at)
        .await
        .unwrap();
    // o3: consented before the platform knew the account: WeChat decides, and accepts.
    stack.sandbox.grant_consent(&o[3], template, false).unwrap();
    // o4: no consent anywhere: WeChat answers 43101.
    let id = start_push_on(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
        Channel::Subscribe,
    )
    .await;
    let push = wait_for(store, id, &[PushStatus::Completed], Duration::from_secs(60)).await;
    assert_eq!(push.counters.targeted, 5);
    assert_eq!(push.counters.sent, 3, "{:?}", push.counters);
    assert_eq!(push.counters.skipped, 2, "{:?}", push.counters);
    let got = messages_of(&stack.sandbox, MessageKind::Subscribe);
    assert_eq!(got.len(), 3, "{got:?}");
    for openid in [&o[0], &o[1], &o[3]] {
        assert_eq!(got.get(openid), Some(&1), "{openid}");
    }
    assert_eq!(
        stack.sandbox.call_count(BIZSEND),
        4,
        "o2 is skipped without a call"
    );
    let message = &stack.sandbox.messages_to(&o[0])[0];
    assert_eq!(message.body["data"]["thing1"]["value"], "订阅通知测试");
    assert_eq!(
        message.body["page"],
        format!("{}/c/{}", stack.url(), course.id)
    );
    let skipped = store.find_delivery(id, &o[4]).await.unwrap().unwrap();
    assert_eq!(skipped.status, DeliveryStatus::Skipped);
    assert_eq!(skipped.error_code, Some(43101));
    let declined = store.find_delivery(id, &o[2]).await.unwrap().unwrap();
    assert_eq!(declined.error_message.as_deref(), Some("no_consent"));
    // The one-time consent is used up; the long-term one is not.
    let used = store
        .find_consent(&account.id, &o[0], template)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.available, 0);
    let missing = store
        .find_consent(&account.id, &o[4], template)
        .await
        .unwrap();
    assert!(missing.is_none(), "a 43101 creates no consent");

    // A second push: only the long-term subscriber (and WeChat's own o3 consent is gone).
    let again = start_push_on(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
        Channel::Subscribe,
    )
    .await;
    let push = wait_for(
        store,
        again,
        &[PushStatus::Completed],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(push.counters.sent, 1, "{:?}", push.counters);
    let got = messages_of(&stack.sandbox, MessageKind::Subscribe);
    assert_eq!(got.get(&o[1]), Some(&2));
    assert_eq!(got.get(&o[0]), Some(&1), "a used consent was sent on again");
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mini_program_subscription_goes_to_an_uploaded_list_once_per_consent() {
    configure_worker_env();
    let appid = "wxpushminiprog01";
    let stack = TestStack::start().await;
    let account = stack
        .add_account(
            SandboxAccount::mini_program(appid),
            EncryptionMode::Plaintext,
        )
        .await;
    let users = stack.sandbox.add_followers(appid, 3);
    let course = course(stack.store(), &account.id, "小程序订阅测试").await;
    let template = "TPL-COURSE";
    let store = stack.store();
    // Two popups accepted: two sends allowed.
    for _ in 0..2 {
        stack
            .sandbox
            .grant_consent(&users[0], template, false)
            .unwrap();
        store
            .apply_consent(
                &account.id,
                &users[0],
                template,
                ConsentChange::GrantOnce,
                now(),
            )
            .await
            .unwrap();
    }
    // users[1] has no consent; users[2] is not in the list.
    let list = upload_list(&stack.platform, &[&users[0], &users[1], "bad line!"]).await;
    let id = start_push_on(
        &stack.platform,
        &account,
        &course,
        list,
        None,
        Channel::MiniProgramSubscribe,
    )
    .await;
    let push = wait_for(store, id, &[PushStatus::Completed], Duration::from_secs(60)).await;
    assert_eq!(push.counters.targeted, 3, "{:?}", push.counters);
    assert_eq!(push.counters.sent, 1, "{:?}", push.counters);
    assert_eq!(push.counters.skipped, 2, "no consent + malformed line");
    let got = messages_of(&stack.sandbox, MessageKind::MiniProgramSubscribe);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got.get(&users[0]), Some(&1));
    let record = store.find_delivery(id, &users[0]).await.unwrap().unwrap();
    let sent = &stack.sandbox.messages_to(&users[0])[0];
    assert_eq!(record.msgid, sent.msgid.map(|m| m.to_string()));
    assert_eq!(sent.body["data"]["thing1"]["value"], "小程序订阅测试");
    let consent = store
        .find_consent(&account.id, &users[0], template)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(consent.available, 1, "one of two consents used");
    let refused = store.find_delivery(id, &users[1]).await.unwrap().unwrap();
    assert_eq!(refused.error_code, Some(43101));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn customer_service_links_go_only_within_48_hours_of_an_interaction() {
    configure_worker_env();
    let appid = "wxpushcustomer01";
    let stack = TestStack::start().await;
    let account = stack
        .add_account(SandboxAccount::service(appid), EncryptionMode::Safe)
        .await;
    let o = stack.sandbox.add_followers(appid, 4);
    seed_followers(stack.store(), &account.id, &o).await;
    let store = stack.store();
    // o0 and o1 write to the account: the callback records their last interaction.
    for openid in &o[..2] {
        let outcome = stack.sandbox.send_text(openid, "你好").await.unwrap();
        assert!(outcome.delivered(), "{outcome:?}");
        let follower = store.get_follower(&account.id, openid).await.unwrap();
        assert!(
            follower
                .last_interaction_at
                .is_some_and(|t| now() - t < chrono::Duration::minutes(1))
        );
    }
    // o2: the table says an hour ago, but WeChat's window is closed (45015 at send time).
    let mut stale = store.get_follower(&account.id, &o[2]).await.unwrap();
    stale.last_interaction_at = Some(now() - chrono::Duration::hours(1));
    store.put_follower(&stale).await.unwrap();
    // o3: never interacted: left out when the audience is paged.
    let course = course(store, &account.id, "客服消息测试").await;
    let id = start_push_on(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
        Channel::CustomerService,
    )
    .await;
    let push = wait_for(store, id, &[PushStatus::Completed], Duration::from_secs(60)).await;
    assert_eq!(push.counters.targeted, 4);
    assert_eq!(push.counters.sent, 2, "{:?}", push.counters);
    assert_eq!(push.counters.skipped, 2, "{:?}", push.counters);
    let got = messages_of(&stack.sandbox, MessageKind::Custom);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got.get(&o[0]), got.get(&o[1])), (Some(&1), Some(&1)));
    assert_eq!(
        stack.sandbox.call_count(CUSTOM_SEND),
        3,
        "o3 is never tried"
    );
    let card = &stack.sandbox.messages_to(&o[0])[0].body;
    assert_eq!(card["msgtype"], "news");
    assert_eq!(card["news"]["articles"][0]["title"], "客服消息测试");
    assert_eq!(
        card["news"]["articles"][0]["url"],
        format!("{}/c/{}", stack.url(), course.id)
    );
    let closed = store.find_delivery(id, &o[2]).await.unwrap().unwrap();
    assert_eq!(closed.status, DeliveryStatus::Skipped);
    assert_eq!(closed.error_code, Some(45015));
    assert!(store.find_delivery(id, &o[3]).await.unwrap().is_none());
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wecom_app_message_reaches_members_departments_and_tags_once() {
    configure_worker_env();
    let corpid = "wwpushwecom00001";
    let stack = TestStack::start().await;
    let account = stack
        .add_account(
            SandboxAccount::wecom(corpid, 1000002),
            EncryptionMode::Plaintext,
        )
        .await;
    let members = stack.sandbox.add_followers(corpid, 3);
    let course = course(stack.store(), &account.id, "企业微信测试").await;
    let store = stack.store();
    let list = upload_list(
        &stack.platform,
        &[&members[0], &members[1], "nobody99", "party:2", "tag:7"],
    )
    .await;
    let id = start_push_on(
        &stack.platform,
        &account,
        &course,
        list,
        None,
        Channel::Wecom,
    )
    .await;
    let push = wait_for(store, id, &[PushStatus::Completed], Duration::from_secs(60)).await;
    assert_eq!(push.counters.targeted, 5);
    assert_eq!(push.counters.sent, 4, "{:?}", push.counters);
    assert_eq!(push.counters.skipped, 1, "the unknown member");
    let got = messages_of(&stack.sandbox, MessageKind::Wecom);
    for to in [&members[0], &members[1], "party:2", "tag:7"] {
        assert_eq!(got.get(to), Some(&1), "{to}: {got:?}");
    }
    assert_eq!(got.len(), 4, "{got:?}");
    let card = &stack.sandbox.messages_to(&members[0])[0];
    assert_eq!(card.body["msgtype"], "textcard");
    assert_eq!(card.body["agentid"], 1000002);
    assert_eq!(card.body["textcard"]["title"], "企业微信测试");
    let record = store.find_delivery(id, &members[0]).await.unwrap().unwrap();
    assert_eq!(record.msgid, card.msgid.map(|m| m.to_string()));

    // The whole app range: one message to @all.
    let all = start_push_on(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
        Channel::Wecom,
    )
    .await;
    let push = wait_for(
        store,
        all,
        &[PushStatus::Completed],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!((push.counters.targeted, push.counters.sent), (1, 1));
    assert_eq!(
        messages_of(&stack.sandbox, MessageKind::Wecom).get("@all"),
        Some(&1)
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_channel_the_account_cannot_use_fails_before_anything_is_sent() {
    configure_worker_env();
    let appid = "wxpushwrongchan1";
    let stack = TestStack::start().await;
    let account = stack
        .add_account(
            SandboxAccount::subscription(appid),
            EncryptionMode::Plaintext,
        )
        .await;
    let o = stack.sandbox.add_followers(appid, 3);
    seed_followers(stack.store(), &account.id, &o).await;
    let course = course(stack.store(), &account.id, "渠道测试").await;
    // Template messages are for service accounts only.
    let id = start_push(
        &stack.platform,
        &account,
        &course,
        Audience::AllFollowers,
        None,
    )
    .await;
    let push = wait_for(
        stack.store(),
        id,
        &[PushStatus::Failed],
        Duration::from_secs(30),
    )
    .await;
    let reason = push.status_reason.unwrap_or_default();
    assert!(reason.contains("模板消息"), "{reason}");
    assert_eq!(push.counters.targeted, 0);
    assert!(stack.sandbox.messages().is_empty());
    stack.shutdown().await;
}
