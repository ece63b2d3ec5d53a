//! An account's follower count moves with the follower's state in one transaction (#20): a
//! callback retried after a cut-short attempt, or many at once, count a person exactly once.

use livenotify::domain::*;
use livenotify_tests::TestAws;

fn account(id: &str) -> Account {
    Account {
        id: AccountId::new(id).unwrap(),
        name: id.into(),
        kind: AccountKind::Service,
        appid: id.into(),
        original_id: format!("gh_{id}"),
        wecom_agent_id: None,
        callback_mode: CallbackMode::Safe,
        follower_count: 0,
        follow_url: None,
        keyword_replies: Vec::new(),
        created_at: now(),
        updated_at: now(),
    }
}

fn follower(account: &AccountId, openid: &str) -> Follower {
    Follower {
        account_id: account.clone(),
        openid: openid.into(),
        unionid: None,
        subscribed: true,
        subscribe_time: Some(now()),
        unsubscribed_at: None,
        remark: String::new(),
        tag_ids: Vec::new(),
        subscribe_scene: None,
        qr_scene: None,
        language: None,
        last_interaction_at: None,
        muted: false,
        synced_at: None,
        updated_at: now(),
    }
}

#[tokio::test]
async fn subscribing_and_unsubscribing_count_once_however_often_and_however_parallel() {
    let aws = TestAws::connect().await;
    let store = aws.fresh_store().await;
    let a = account("wxcount000000001");
    let secrets = AccountSecrets {
        app_secret: "s".into(),
        callback_token: "t".into(),
        encoding_aes_key: None,
    };
    store.create_account(&a, &secrets).await.unwrap();
    let count = || async { store.get_account(&a.id).await.unwrap().follower_count };

    // 12 parallel subscribes of one person (WeChat's retries, two instances): one counted.
    let f = follower(&a.id, "o_parallel");
    let results = futures::future::join_all((0..12).map(|_| store.subscribe_follower(&f))).await;
    let counted = results.into_iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(counted, 1);
    assert_eq!(count().await, 1);
    assert!(
        store
            .get_follower(&a.id, "o_parallel")
            .await
            .unwrap()
            .subscribed
    );
    // Again later: written, not counted.
    assert!(!store.subscribe_follower(&f).await.unwrap());
    assert_eq!(count().await, 1);

    // 12 parallel unsubscribes: one counted off, the follower kept as an unfollower.
    let results = futures::future::join_all(
        (0..12).map(|_| store.unsubscribe_follower(&a.id, "o_parallel", now())),
    )
    .await;
    assert_eq!(results.iter().filter(|r| *r.as_ref().unwrap()).count(), 1);
    assert_eq!(count().await, 0);
    let gone = store.get_follower(&a.id, "o_parallel").await.unwrap();
    assert!(!gone.subscribed && gone.unsubscribed_at.is_some());
    // An unknown person unsubscribing changes nothing.
    assert!(
        !store
            .unsubscribe_follower(&a.id, "o_nobody", now())
            .await
            .unwrap()
    );
    assert_eq!(count().await, 0);

    // Coming back counts again, once.
    assert!(store.subscribe_follower(&f).await.unwrap());
    assert_eq!(count().await, 1);
    // Many people at once: each counted once.
    let people: Vec<Follower> = (0..20)
        .map(|i| follower(&a.id, &format!("o_many_{i}")))
        .collect();
    let results = futures::future::join_all(
        people
            .iter()
            .chain(people.iter())
            .map(|p| store.subscribe_follower(p)),
    )
    .await;
    assert_eq!(results.iter().filter(|r| *r.as_ref().unwrap()).count(), 20);
    assert_eq!(count().await, 21);
}
