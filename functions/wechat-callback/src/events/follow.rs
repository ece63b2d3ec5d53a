//! Follows, unfollows and any sign of life of a user (which opens the 48-hour window for
//! customer-service messages).

use livenotify::domain::{Account, AccountKind, Follower, Timestamp};
use livenotify::platform::Platform;
use livenotify::store::StoreResult;
use livenotify::wechat::Lang;
use std::time::Duration;

/// The callback must answer within WeChat's 5 s; the unionid lookup gets at most this.
const UNIONID_LOOKUP_BUDGET: Duration = Duration::from_millis(1500);

/// WeChat's `subscribe_scene` for a follow through a parametric QR code.
const SCENE_QR_CODE: &str = "ADD_SCENE_QR_CODE";

fn new_follower(account: &Account, openid: &str, at: Timestamp) -> Follower {
    Follower {
        account_id: account.id.clone(),
        openid: openid.to_string(),
        unionid: None,
        subscribed: true,
        subscribe_time: Some(at),
        unsubscribed_at: None,
        remark: String::new(),
        tag_ids: Vec::new(),
        subscribe_scene: None,
        qr_scene: None,
        language: None,
        last_interaction_at: Some(at),
        muted: false,
        synced_at: None,
        updated_at: at,
    }
}

/// The user follows (again). Creates or revives the follower, counts them once, and looks up
/// the unionid the follow gate needs when it is not known yet.
pub async fn subscribed(
    platform: &Platform,
    account: &Account,
    openid: &str,
    event_key: Option<&str>,
    at: Timestamp,
) -> StoreResult<Follower> {
    let store = &platform.store;
    let existing = store.find_follower(&account.id, openid).await?;
    let was_subscribed = existing.as_ref().is_some_and(|f| f.subscribed);
    let mut follower = existing.unwrap_or_else(|| new_follower(account, openid, at));
    if !was_subscribed {
        follower.subscribed = true;
        follower.subscribe_time = Some(at);
        follower.unsubscribed_at = None;
    }
    if let Some(key) = event_key {
        follower.subscribe_scene = Some(SCENE_QR_CODE.into());
        follower.qr_scene = Some(key.strip_prefix("qrscene_").unwrap_or(key).to_string());
    }
    follower.last_interaction_at = Some(at);
    follower.updated_at = at;
    if follower.unionid.is_none() {
        follower.unionid = lookup_unionid(platform, account, openid).await;
    }
    if was_subscribed {
        store.put_follower(&follower).await?;
    } else {
        // Written and counted together: a retry after a cut-short attempt counts once.
        store.subscribe_follower(&follower).await?;
    }
    Ok(follower)
}

/// The user unfollows: kept with `subscribed = false`, counted down once.
pub async fn unsubscribed(
    platform: &Platform,
    account: &Account,
    openid: &str,
    at: Timestamp,
) -> StoreResult<()> {
    let store = &platform.store;
    if store.unsubscribe_follower(&account.id, openid, at).await? {
        return Ok(());
    }
    if store.find_follower(&account.id, openid).await?.is_none() {
        // Someone who followed before the platform knew the account: keep the history.
        let mut follower = new_follower(account, openid, at);
        follower.subscribed = false;
        follower.subscribe_time = None;
        follower.unsubscribed_at = Some(at);
        store.put_follower(&follower).await?;
    }
    Ok(())
}

/// The user did something (message, scan, consent popup): they follow, and their 48-hour
/// window starts now. Unknown users are recorded as followers (only followers can do this).
pub async fn interacted(
    platform: &Platform,
    account: &Account,
    openid: &str,
    at: Timestamp,
) -> StoreResult<Follower> {
    let store = &platform.store;
    match store.find_follower(&account.id, openid).await? {
        Some(mut follower) if follower.subscribed => {
            follower.last_interaction_at = Some(at);
            follower.updated_at = at;
            store.put_follower(&follower).await?;
            Ok(follower)
        }
        _ if account.kind.has_followers() => subscribed(platform, account, openid, None, at).await,
        // Mini programs and WeCom apps have users, not followers.
        _ => Ok(new_follower(account, openid, at)),
    }
}

/// The follower as recorded (for replies to retries), or a fresh record if unknown.
pub async fn known(
    platform: &Platform,
    account: &Account,
    openid: &str,
    at: Timestamp,
) -> StoreResult<Follower> {
    Ok(platform
        .store
        .find_follower(&account.id, openid)
        .await?
        .unwrap_or_else(|| new_follower(account, openid, at)))
}

/// The user's unionid from WeChat, best effort: the nightly sync fills it in otherwise.
async fn lookup_unionid(platform: &Platform, account: &Account, openid: &str) -> Option<String> {
    if !matches!(
        account.kind,
        AccountKind::Service | AccountKind::Subscription
    ) {
        return None;
    }
    let lookup = async {
        let credentials = platform.token_account(&account.id).await.ok()?;
        let openids = vec![openid.to_string()];
        let infos = platform
            .tokens
            .call(&credentials, |token| {
                let openids = openids.clone();
                async move {
                    platform
                        .wechat()
                        .batch_get_user_info(&token, &openids, Lang::ZhCn)
                        .await
                }
            })
            .await;
        match infos {
            Ok(infos) => infos.into_iter().find_map(|i| i.unionid),
            Err(e) => {
                tracing::warn!(error = %e, "unionid lookup failed; the nightly sync will fill it in");
                None
            }
        }
    };
    tokio::time::timeout(UNIONID_LOOKUP_BUDGET, lookup)
        .await
        .unwrap_or_else(|_| {
            tracing::warn!("unionid lookup timed out; the nightly sync will fill it in");
            None
        })
}
