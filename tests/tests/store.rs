//! The DynamoDB repository against moto: every entity's create/get/list/update/delete, the
//! conditional writes, and cursor pagination.

use chrono::{Duration, TimeZone, Utc};
use livenotify::domain::*;
use livenotify::store::{CounterDelta, PageRequest, Store, StoreError};
use livenotify_tests::TestAws;
use std::collections::BTreeMap;

async fn store() -> Store {
    TestAws::connect().await.fresh_store().await
}

fn account(id: &str, kind: AccountKind) -> Account {
    Account {
        id: AccountId::new(id).unwrap(),
        name: format!("{id} name"),
        kind,
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

fn secrets(token: &str) -> AccountSecrets {
    AccountSecrets {
        app_secret: format!("secret-{token}"),
        callback_token: token.into(),
        encoding_aes_key: None,
    }
}

fn course(title: &str, starts_in_hours: i64) -> Course {
    Course {
        id: CourseId::generate(),
        title: title.into(),
        speaker: "张医生".into(),
        description: String::new(),
        starts_at: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
            + Duration::hours(starts_in_hours),
        ends_at: None,
        live_url: "https://live.example.com/1".into(),
        cover_url: None,
        required_account: None,
        templates: BTreeMap::new(),
        reminder_minutes: vec![30],
        status: CourseStatus::Published,
        qr: None,
        permanent_qr: false,
        qr_error: None,
        version: 0,
        created_at: now(),
        updated_at: now(),
    }
}

fn follower(account: &AccountId, openid: &str, subscribed: bool, minute: i64) -> Follower {
    Follower {
        account_id: account.clone(),
        openid: openid.into(),
        unionid: Some(format!("u-{openid}")),
        subscribed,
        subscribe_time: Some(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minute),
        ),
        unsubscribed_at: None,
        remark: if minute % 2 == 0 {
            "VIP 心内科".into()
        } else {
            String::new()
        },
        tag_ids: vec![u32::try_from(minute % 3).unwrap()],
        subscribe_scene: Some("ADD_SCENE_QR_CODE".into()),
        qr_scene: None,
        language: Some("zh_CN".into()),
        last_interaction_at: None,
        muted: false,
        synced_at: None,
        updated_at: now(),
    }
}

fn push(course: CourseId, account: &AccountId) -> Push {
    Push {
        id: PushId::generate(),
        course_id: course,
        account_id: account.clone(),
        audience: Audience::AllFollowers,
        channel: Channel::Template,
        status: PushStatus::Pending,
        scheduled_at: None,
        created_by: "admin".into(),
        created_at: now(),
        started_at: None,
        finished_at: None,
        status_reason: None,
        counters: PushCounters::default(),
    }
}

fn delivery(push: &Push, openid: &str) -> Delivery {
    Delivery {
        push_id: push.id,
        course_id: push.course_id,
        account_id: push.account_id.clone(),
        openid: openid.into(),
        status: DeliveryStatus::Sending,
        msgid: None,
        client_msg_id: format!("{}-{openid}", push.id),
        attempts: 1,
        error_code: None,
        error_message: None,
        created_at: now(),
        updated_at: now(),
        expires_at: Some((now() + Duration::days(180)).timestamp()),
    }
}

/// Reads every page of size `limit` and returns them.
async fn all_pages<T, F, Fut>(limit: u32, mut read: F) -> Vec<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<livenotify::store::Page<T>, StoreError>>,
{
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = read(PageRequest::new(Some(limit), cursor).unwrap())
            .await
            .unwrap();
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return pages,
        }
    }
}

#[tokio::test]
async fn accounts_crud_with_sealed_secrets() {
    let store = store().await;
    let htology = account("wxhtology", AccountKind::Service);
    store
        .create_account(&htology, &secrets("tok1"))
        .await
        .unwrap();
    store
        .create_account(&account("wxonco", AccountKind::Service), &secrets("tok2"))
        .await
        .unwrap();
    store
        .create_account(
            &account("wxsub", AccountKind::Subscription),
            &secrets("tok3"),
        )
        .await
        .unwrap();

    let err = store
        .create_account(&htology, &secrets("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");

    assert_eq!(store.get_account(&htology.id).await.unwrap(), htology);
    assert_eq!(
        store.get_account_secrets(&htology.id).await.unwrap(),
        secrets("tok1")
    );

    // The secret is sealed at rest: the raw item holds no clear text.
    let raw = store
        .client()
        .scan()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    assert!(!format!("{:?}", raw.items).contains("secret-tok1"));

    let services = store
        .list_accounts(
            Some(AccountKind::Service),
            &livenotify::domain::Scope::All,
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(services.items.len(), 2);
    assert_eq!(store.all_accounts().await.unwrap().len(), 3);

    let mut renamed = htology.clone();
    renamed.name = "htology 服务号".into();
    store.update_account(&renamed).await.unwrap();
    assert_eq!(
        store.get_account(&htology.id).await.unwrap().name,
        "htology 服务号"
    );
    store
        .set_account_secrets(&htology.id, &secrets("tok9"))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_account_secrets(&htology.id)
            .await
            .unwrap()
            .callback_token,
        "tok9"
    );

    store.adjust_follower_count(&htology.id, 5).await.unwrap();
    store.adjust_follower_count(&htology.id, -2).await.unwrap();
    assert_eq!(
        store.get_account(&htology.id).await.unwrap().follower_count,
        3
    );
    // An edit made from a read taken before a follow keeps the follow's count, and clearing
    // an optional field removes it.
    let mut stale = store.get_account(&htology.id).await.unwrap();
    store.adjust_follower_count(&htology.id, 1).await.unwrap();
    stale.follow_url = Some("https://mp.weixin.qq.com/follow".into());
    store.update_account(&stale).await.unwrap();
    let edited = store.get_account(&htology.id).await.unwrap();
    assert_eq!(
        edited.follower_count, 4,
        "a stale edit put an old count back"
    );
    assert_eq!(
        edited.follow_url.as_deref(),
        Some("https://mp.weixin.qq.com/follow")
    );
    stale.follow_url = None;
    store.update_account(&stale).await.unwrap();
    assert_eq!(
        store.get_account(&htology.id).await.unwrap().follow_url,
        None
    );

    store.delete_account(&htology.id).await.unwrap();
    assert!(matches!(
        store.get_account(&htology.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get_account_secrets(&htology.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_account(&htology.id).await,
        Err(StoreError::NotFound { .. })
    ));
    let missing = account("wxnone", AccountKind::Service);
    assert!(matches!(
        store.update_account(&missing).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn courses_crud_optimistic_update_search_and_pages() {
    let store = store().await;
    let mut created = Vec::new();
    for i in 0..7 {
        let c = course(&format!("Cardiology Live {i}"), i);
        store.create_course(&c).await.unwrap();
        created.push(c);
    }
    let other = course("肿瘤免疫治疗进展", 100);
    store.create_course(&other).await.unwrap();

    let got = store.get_course(created[0].id).await.unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.title, created[0].title);

    // Pages of 3 over 8 courses, ordered by start time, no duplicates, nothing missing.
    let filter = livenotify::store::CourseFilter::default();
    let pages = all_pages(3, |p| {
        let store = store.clone();
        let filter = filter.clone();
        async move { store.list_courses(&filter, &p).await }
    })
    .await;
    let ids: Vec<_> = pages.iter().flatten().map(|c| c.id).collect();
    assert_eq!(pages[0].len(), 3);
    assert_eq!(ids.len(), 8);
    let mut everything: Vec<_> = created.iter().chain([&other]).collect();
    everything.sort_by_key(|c| c.starts_at);
    let expected: Vec<_> = everything.iter().map(|c| c.id).collect();
    assert_eq!(ids, expected);

    // Search is case-insensitive on title and speaker; time range and order apply.
    let search = livenotify::store::CourseFilter {
        text: Some("cardiology".into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_courses(&search, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .len(),
        7
    );
    let search = livenotify::store::CourseFilter {
        text: Some("免疫".into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_courses(&search, &PageRequest::first(50))
            .await
            .unwrap()
            .items,
        vec![{
            let mut o = other.clone();
            o.version = 1;
            o
        }]
    );
    let window = livenotify::store::CourseFilter {
        starts_from: Some(created[2].starts_at),
        starts_to: Some(created[4].starts_at),
        newest_first: true,
        ..Default::default()
    };
    let in_window: Vec<_> = store
        .list_courses(&window, &PageRequest::first(50))
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(in_window, vec![created[4].id, created[3].id, created[2].id]);

    // Optimistic concurrency: a stale version loses.
    let mut edit = got.clone();
    edit.title = "新标题".into();
    let stored = store.update_course(&edit).await.unwrap();
    assert_eq!(stored.version, 2);
    let err = store.update_course(&edit).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");

    store.delete_course(got.id).await.unwrap();
    assert!(matches!(
        store.get_course(got.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_course(got.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn followers_by_account_state_time_unionid_and_unsubscribe() {
    let store = store().await;
    let acct = AccountId::new("wxsvc").unwrap();
    let other = AccountId::new("wxsub").unwrap();
    for i in 0..25 {
        store
            .put_follower(&follower(&acct, &format!("o{i:03}"), i % 5 != 0, i))
            .await
            .unwrap();
    }
    store
        .put_follower(&follower(&other, "p001", true, 1))
        .await
        .unwrap();
    let mut same_person = follower(&other, "p002", true, 2);
    same_person.unionid = Some("u-o007".into());
    store.put_follower(&same_person).await.unwrap();

    let f = store.get_follower(&acct, "o007").await.unwrap();
    assert_eq!(f.unionid.as_deref(), Some("u-o007"));
    assert!(
        store
            .find_follower(&acct, "nobody")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.get_follower(&acct, "nobody").await,
        Err(StoreError::NotFound { .. })
    ));

    // All followers of the account, paged by 10: 25, each once, by openid.
    let all = livenotify::store::FollowerFilter::default();
    let pages = all_pages(10, |p| {
        let (store, acct, all) = (store.clone(), acct.clone(), all.clone());
        async move { store.list_followers(&acct, &all, &p).await }
    })
    .await;
    let openids: Vec<_> = pages.iter().flatten().map(|f| f.openid.clone()).collect();
    assert_eq!(
        openids,
        (0..25).map(|i| format!("o{i:03}")).collect::<Vec<_>>()
    );

    // Subscribed only (20), in subscribe-time order, with a time range.
    let subscribed = livenotify::store::FollowerFilter {
        subscribed: Some(true),
        ..Default::default()
    };
    let page = store
        .list_followers(&acct, &subscribed, &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 20);
    assert!(
        page.items
            .windows(2)
            .all(|w| w[0].subscribe_time <= w[1].subscribe_time)
    );
    let ranged = livenotify::store::FollowerFilter {
        subscribed: Some(true),
        subscribed_from: f.subscribe_time,
        subscribed_to: f.subscribe_time.map(|t| t + Duration::minutes(3)),
        ..Default::default()
    };
    let in_range: Vec<_> = store
        .list_followers(&acct, &ranged, &PageRequest::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|f| f.openid)
        .collect();
    assert_eq!(in_range, ["o007", "o008", "o009"]);
    let vip = livenotify::store::FollowerFilter {
        remark: Some("vip".into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_followers(&acct, &vip, &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .len(),
        13
    );
    let tagged = livenotify::store::FollowerFilter {
        tag_id: Some(1),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_followers(&acct, &tagged, &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .len(),
        8
    );

    // One person across accounts.
    let person = store.followers_by_unionid("u-o007").await.unwrap();
    let mut accounts: Vec<_> = person.iter().map(|f| f.account_id.to_string()).collect();
    accounts.sort();
    assert_eq!(accounts, ["wxsub", "wxsvc"]);

    assert_eq!(store.count_followers(&acct, true).await.unwrap(), 20);
    assert_eq!(store.count_followers(&acct, false).await.unwrap(), 5);

    // Unsubscribe once: the second call reports nothing changed; history is kept.
    assert!(store.mark_unsubscribed(&acct, "o007", now()).await.unwrap());
    assert!(!store.mark_unsubscribed(&acct, "o007", now()).await.unwrap());
    assert!(
        !store
            .mark_unsubscribed(&acct, "nobody", now())
            .await
            .unwrap()
    );
    let gone = store.get_follower(&acct, "o007").await.unwrap();
    assert!(!gone.subscribed);
    assert!(gone.unsubscribed_at.is_some());
    assert_eq!(store.count_followers(&acct, true).await.unwrap(), 19);
    assert_eq!(store.count_followers(&acct, false).await.unwrap(), 6);
}

#[tokio::test]
async fn signups_once_by_course_and_by_user() {
    let store = store().await;
    let acct = AccountId::new("wxsvc").unwrap();
    let c1 = CourseId::generate();
    let c2 = CourseId::generate();
    let signup = |course, openid: &str| SignUp {
        course_id: course,
        account_id: acct.clone(),
        openid: openid.into(),
        unionid: None,
        scene: format!("course:{course}"),
        source: Some(SignUpSource::Scan),
        signed_up_at: now(),
    };
    assert!(store.add_signup(&signup(c1, "o1")).await.unwrap());
    assert!(
        !store.add_signup(&signup(c1, "o1")).await.unwrap(),
        "a repeated scan is not a new sign-up"
    );
    for i in 2..=5 {
        store
            .add_signup(&signup(c1, &format!("o{i}")))
            .await
            .unwrap();
    }
    store.add_signup(&signup(c2, "o1")).await.unwrap();

    let pages = all_pages(2, |p| {
        let store = store.clone();
        async move { store.list_signups_by_course(c1, &p).await }
    })
    .await;
    assert_eq!(pages.iter().flatten().count(), 5);
    let mine = store
        .list_signups_by_user(&acct, "o1", &PageRequest::first(10))
        .await
        .unwrap();
    let mut courses: Vec<_> = mine.items.iter().map(|s| s.course_id).collect();
    courses.sort();
    let mut expected = vec![c1, c2];
    expected.sort();
    assert_eq!(courses, expected);

    store.delete_signup(c1, &acct, "o1").await.unwrap();
    assert_eq!(
        store
            .list_signups_by_user(&acct, "o1", &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(matches!(
        store.delete_signup(c1, &acct, "o1").await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn pushes_lifecycle_counters_and_lists() {
    let store = store().await;
    let acct = AccountId::new("wxsvc").unwrap();
    let c1 = CourseId::generate();
    let mut pushes = Vec::new();
    for _ in 0..3 {
        let p = push(c1, &acct);
        store.create_push(&p).await.unwrap();
        pushes.push(p);
    }
    let elsewhere = push(CourseId::generate(), &acct);
    store.create_push(&elsewhere).await.unwrap();
    assert!(matches!(
        store.create_push(&elsewhere).await,
        Err(StoreError::Conflict { .. })
    ));

    let by_course = store
        .list_pushes_by_course(c1, &livenotify::domain::Scope::All, &PageRequest::first(10))
        .await
        .unwrap();
    let ids: Vec<_> = by_course.items.iter().map(|p| p.id).collect();
    assert_eq!(
        ids,
        pushes.iter().rev().map(|p| p.id).collect::<Vec<_>>(),
        "newest first"
    );
    let recent = store
        .list_recent_pushes(&livenotify::domain::Scope::All, &PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(recent.items[0].id, elsewhere.id);
    assert!(recent.next_cursor.is_some());

    let p = &pushes[0];
    store
        .transition_push(
            p.id,
            &[PushStatus::Pending],
            PushStatus::Running,
            None,
            now(),
        )
        .await
        .unwrap();
    let err = store
        .transition_push(
            p.id,
            &[PushStatus::Pending],
            PushStatus::Running,
            None,
            now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { .. }),
        "a push starts once"
    );

    // Concurrent counter updates are never lost.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let id = p.id;
            tokio::spawn(async move {
                store
                    .add_push_counters(
                        id,
                        CounterDelta {
                            sent: 1,
                            targeted: 2,
                            ..Default::default()
                        },
                    )
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    store
        .add_push_counters(
            p.id,
            CounterDelta {
                failed: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .transition_push(
            p.id,
            &[PushStatus::Running, PushStatus::Paused],
            PushStatus::Failed,
            Some("47003 模板参数不准确"),
            now(),
        )
        .await
        .unwrap();
    let done = store.get_push(p.id).await.unwrap();
    assert_eq!(
        done.counters,
        PushCounters {
            targeted: 40,
            sent: 20,
            failed: 1,
            ..Default::default()
        }
    );
    assert_eq!(done.status, PushStatus::Failed);
    assert_eq!(done.status_reason.as_deref(), Some("47003 模板参数不准确"));
    assert!(done.started_at.is_some() && done.finished_at.is_some());
    assert!(matches!(
        store.get_push(PushId::generate()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .add_push_counters(
                PushId::generate(),
                CounterDelta {
                    sent: 1,
                    ..Default::default()
                }
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn deliveries_claimed_once_found_by_msgid_and_user_deleted() {
    let store = store().await;
    let acct = AccountId::new("wxsvc").unwrap();
    let p = push(CourseId::generate(), &acct);
    store.create_push(&p).await.unwrap();
    for i in 0..12 {
        assert!(
            store
                .claim_delivery(&delivery(&p, &format!("o{i:02}")))
                .await
                .unwrap()
        );
    }
    assert!(
        !store.claim_delivery(&delivery(&p, "o03")).await.unwrap(),
        "claimed twice"
    );

    let mut sent = delivery(&p, "o03");
    sent.status = DeliveryStatus::Sent;
    sent.msgid = Some("1234567890".into());
    store
        .update_delivery(&sent, &[DeliveryStatus::Sending])
        .await
        .unwrap();
    let err = store
        .update_delivery(&sent, &[DeliveryStatus::Sending])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }));

    let found = store
        .find_delivery_by_msgid(&acct, "1234567890")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.openid, "o03");
    assert!(
        store
            .find_delivery_by_msgid(&acct, "999")
            .await
            .unwrap()
            .is_none()
    );

    let pages = all_pages(5, |page| {
        let store = store.clone();
        let id = p.id;
        async move { store.list_deliveries_by_push(id, None, &page).await }
    })
    .await;
    assert_eq!(pages.len(), 3);
    assert_eq!(pages.iter().flatten().count(), 12);
    let only_sent = store
        .list_deliveries_by_push(p.id, Some(DeliveryStatus::Sent), &PageRequest::first(5))
        .await
        .unwrap();
    assert_eq!(only_sent.items.len(), 1);
    assert!(only_sent.next_cursor.is_none());

    let by_user = store
        .list_deliveries_by_user(&acct, "o03", &PageRequest::first(5))
        .await
        .unwrap();
    assert_eq!(by_user.items.len(), 1);

    let doomed: Vec<_> = (0..12)
        .map(|i| (p.id, format!("o{i:02}")))
        .filter(|(_, o)| o != "o11")
        .collect();
    store.delete_deliveries(&doomed).await.unwrap();
    let left = store
        .list_deliveries_by_push(p.id, None, &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(
        left.items
            .iter()
            .map(|d| d.openid.as_str())
            .collect::<Vec<_>>(),
        ["o11"]
    );
    assert!(store.find_delivery(p.id, "o03").await.unwrap().is_none());
}

#[tokio::test]
async fn admins_audit_sync_runs_lease_and_dedupe() {
    let store = store().await;
    let admin = AdminUser {
        username: "root".into(),
        display_name: "管理员".into(),
        role: Role::SuperAdmin,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$abc$def".into(),
        disabled: false,
        session_epoch: 0,
        created_at: now(),
        updated_at: now(),
    };
    store.create_admin(&admin).await.unwrap();
    assert!(matches!(
        store.create_admin(&admin).await,
        Err(StoreError::Conflict { .. })
    ));
    let op = AdminUser {
        username: "op".into(),
        role: Role::Operator {
            accounts: [AccountId::new("wxsvc").unwrap()].into(),
        },
        ..admin.clone()
    };
    store.create_admin(&op).await.unwrap();
    assert_eq!(store.find_admin("op").await.unwrap(), Some(op.clone()));
    // Updates are conditional on the session epoch read: a stale one is a conflict.
    let mut renamed = op.clone();
    renamed.display_name = "运营".into();
    store.update_admin(&renamed, 0).await.unwrap();
    store.end_sessions("op").await.unwrap();
    let stored = store.find_admin("op").await.unwrap().unwrap();
    assert_eq!(
        (stored.display_name.as_str(), stored.session_epoch),
        ("运营", 1)
    );
    assert!(matches!(
        store.update_admin(&renamed, 0).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.find_admin("op").await.unwrap().unwrap().session_epoch,
        1
    );
    assert_eq!(
        store
            .list_admins(&PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    store.delete_admin("op").await.unwrap();
    assert!(store.find_admin("op").await.unwrap().is_none());

    for i in 0..3 {
        store
            .record_audit(&AuditEntry {
                id: AuditId::generate(),
                at: now(),
                actor: "root".into(),
                action: format!("course.create.{i}"),
                target: "course/x".into(),
                outcome: AuditOutcome::Succeeded,
                details: serde_json::json!({ "i": i }),
            })
            .await
            .unwrap();
    }
    let audit = store.list_audit(&PageRequest::first(2)).await.unwrap();
    assert_eq!(audit.items[0].action, "course.create.2", "newest first");
    assert!(audit.next_cursor.is_some());

    let acct = AccountId::new("wxsvc").unwrap();
    let mut run = SyncRun {
        id: SyncRunId::generate(),
        account_id: acct.clone(),
        trigger: SyncTrigger::Schedule,
        status: SyncRunStatus::Running,
        started_at: now(),
        finished_at: None,
        checkpoint: None,
        counts: SyncCounts::default(),
        error: None,
    };
    store.save_sync_run(&run).await.unwrap();
    run.checkpoint = Some("o9999".into());
    run.counts.added = 10_000;
    store.save_sync_run(&run).await.unwrap();
    assert_eq!(store.get_sync_run(&acct, run.id).await.unwrap(), run);
    let second = SyncRun {
        id: SyncRunId::generate(),
        ..run.clone()
    };
    store.save_sync_run(&second).await.unwrap();
    let runs = store
        .list_sync_runs(&acct, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        runs.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [second.id, run.id]
    );
    assert_eq!(
        store
            .list_all_sync_runs(&livenotify::domain::Scope::All, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    let t0 = now();
    assert!(
        store
            .acquire_sync_lease(&acct, "a", t0, t0 + Duration::minutes(15))
            .await
            .unwrap()
    );
    assert!(
        !store
            .acquire_sync_lease(&acct, "b", t0, t0 + Duration::minutes(15))
            .await
            .unwrap(),
        "no overlap"
    );
    assert!(
        store
            .acquire_sync_lease(&acct, "a", t0, t0 + Duration::minutes(20))
            .await
            .unwrap(),
        "owner renews"
    );
    assert!(
        store
            .acquire_sync_lease(
                &acct,
                "b",
                t0 + Duration::minutes(21),
                t0 + Duration::minutes(30)
            )
            .await
            .unwrap(),
        "expired lease is free"
    );
    store.release_sync_lease(&acct, "a").await.unwrap();
    assert!(
        !store
            .acquire_sync_lease(
                &acct,
                "c",
                t0 + Duration::minutes(22),
                t0 + Duration::minutes(30)
            )
            .await
            .unwrap(),
        "a cannot release b's lease"
    );
    store.release_sync_lease(&acct, "b").await.unwrap();
    assert!(
        store
            .acquire_sync_lease(
                &acct,
                "c",
                t0 + Duration::minutes(22),
                t0 + Duration::minutes(30)
            )
            .await
            .unwrap()
    );

    // Callback dedupe: claimed while applying, then applied; a failed attempt releases; a
    // lease that ran out is taken over; the late owner can neither finish nor release it.
    use livenotify::store::CallbackClaim;
    let at = now();
    let expires = at + Duration::hours(1);
    let lease = at + Duration::seconds(30);
    let key = "oX:1700000000:subscribe";
    let claim = |owner: &'static str, at: Timestamp| {
        let store = store.clone();
        let acct = acct.clone();
        async move {
            store
                .claim_callback(&acct, key, owner, at, at + Duration::seconds(30), expires)
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("first", at).await, CallbackClaim::First);
    assert_eq!(claim("retry", at).await, CallbackClaim::Applying);
    store.release_callback(&acct, key, "first").await.unwrap();
    assert_eq!(claim("retry", at).await, CallbackClaim::First);
    assert!(store.finish_callback(&acct, key, "retry").await.unwrap());
    assert_eq!(claim("third", at).await, CallbackClaim::Applied);
    let other = "oX:1700000001:subscribe";
    assert_eq!(
        store
            .claim_callback(&acct, other, "slow", at, lease, expires)
            .await
            .unwrap(),
        CallbackClaim::First
    );
    assert_eq!(
        store
            .claim_callback(
                &acct,
                other,
                "late",
                lease + Duration::seconds(1),
                lease + Duration::seconds(31),
                expires
            )
            .await
            .unwrap(),
        CallbackClaim::First,
        "an expired lease is taken over"
    );
    assert!(!store.finish_callback(&acct, other, "slow").await.unwrap());
    store.release_callback(&acct, other, "slow").await.unwrap();
    assert_eq!(
        store
            .claim_callback(&acct, other, "x", at, lease, expires)
            .await
            .unwrap(),
        CallbackClaim::Applying,
        "still the late attempt's"
    );
}

#[tokio::test]
async fn foreign_or_garbage_cursors_are_refused() {
    let store = store().await;
    let acct = AccountId::new("wxsvc").unwrap();
    for i in 0..3 {
        store
            .put_follower(&follower(&acct, &format!("o{i}"), true, i))
            .await
            .unwrap();
    }
    let page = store
        .list_followers(&acct, &Default::default(), &PageRequest::first(1))
        .await
        .unwrap();
    let cursor = page.next_cursor.unwrap();
    // The same cursor on another account's list or another list type is refused.
    let other = AccountId::new("wxother").unwrap();
    let err = store
        .list_followers(
            &other,
            &Default::default(),
            &PageRequest::new(Some(1), Some(cursor.clone())).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidCursor(_)), "{err:?}");
    let err = store
        .list_recent_pushes(
            &livenotify::domain::Scope::All,
            &PageRequest::new(Some(1), Some(cursor)).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidCursor(_)), "{err:?}");
    let err = store
        .list_recent_pushes(
            &livenotify::domain::Scope::All,
            &PageRequest::new(Some(1), Some("garbage!".into())).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidCursor(_)), "{err:?}");
}

#[tokio::test]
async fn scoped_lists_page_through_exactly_the_scopes_items() {
    let store = store().await;
    let mine = AccountId::new("wxscopemine").unwrap();
    let theirs = AccountId::new("wxscopetheirs").unwrap();
    let course = CourseId::generate();
    // Interleaved, with long runs of the other account's pushes between ours, so pages
    // must read past filtered-out items and cut mid-page.
    let mut expected = Vec::new();
    for i in 0..30 {
        let account = if i % 7 == 0 || i % 7 == 3 {
            &mine
        } else {
            &theirs
        };
        let p = push(course, account);
        store.create_push(&p).await.unwrap();
        if account == &mine {
            expected.push(p.id);
        }
    }
    expected.reverse();
    let scope = Scope::Accounts([mine.clone()].into());
    for limit in [1, 2, 3, 5] {
        for by_course in [false, true] {
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = PageRequest::new(Some(limit), cursor.take()).unwrap();
                let result = if by_course {
                    store.list_pushes_by_course(course, &scope, &page).await
                } else {
                    store.list_recent_pushes(&scope, &page).await
                }
                .unwrap();
                assert!(result.items.len() <= limit as usize);
                assert!(result.items.iter().all(|p| p.account_id == mine));
                seen.extend(result.items.iter().map(|p| p.id));
                match result.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, expected, "limit {limit}, by course {by_course}");
        }
    }
    let nobody = Scope::Accounts(Default::default());
    let empty = store
        .list_recent_pushes(&nobody, &PageRequest::first(10))
        .await
        .unwrap();
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());
}
