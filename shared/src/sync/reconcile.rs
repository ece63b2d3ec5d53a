//! What to write for one follower WeChat reported.

use super::{Known, fingerprint};
use crate::domain::{AccountId, Follower, Timestamp};
use crate::wechat::UserInfo;
use chrono::{TimeZone, Utc};

/// The write one WeChat user record calls for.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Not in the table yet: write the follower.
    Add(Follower),
    /// Stored as unfollowed, follows again: overwrite the WeChat fields.
    Resubscribe(Follower),
    /// Stored and following, but WeChat's fields differ: overwrite them.
    Update(Follower),
    /// Listed, but no longer following by the time its details were read.
    Unsubscribe,
    /// The table already says what WeChat says.
    Unchanged,
}

/// The follower as WeChat describes it now (platform-only fields empty).
pub fn follower_from_wechat(account: &AccountId, info: &UserInfo, now: Timestamp) -> Follower {
    let text = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let qr_scene = text(&info.qr_scene_str)
        .or_else(|| info.qr_scene.filter(|s| *s != 0).map(|s| s.to_string()));
    Follower {
        account_id: account.clone(),
        openid: info.openid.clone(),
        unionid: text(&info.unionid),
        subscribed: info.is_subscribed(),
        subscribe_time: info
            .subscribe_time
            .and_then(|secs| Utc.timestamp_opt(secs, 0).single()),
        unsubscribed_at: None,
        remark: info.remark.clone().unwrap_or_default(),
        // Tag ids are small positive numbers; anything else cannot be a WeChat tag.
        tag_ids: info
            .tagid_list
            .iter()
            .filter_map(|t| u32::try_from(*t).ok())
            .collect(),
        subscribe_scene: text(&info.subscribe_scene),
        qr_scene,
        language: text(&info.language),
        last_interaction_at: None,
        muted: false,
        synced_at: Some(now),
        updated_at: now,
    }
}

/// Compares one WeChat record with the stored state of that openid.
pub fn reconcile(
    account: &AccountId,
    known: Option<&Known>,
    info: &UserInfo,
    now: Timestamp,
) -> Change {
    if !info.is_subscribed() {
        return match known {
            Some(k) if k.subscribed => Change::Unsubscribe,
            _ => Change::Unchanged,
        };
    }
    let follower = follower_from_wechat(account, info, now);
    match known {
        None => Change::Add(follower),
        Some(k) if !k.subscribed => Change::Resubscribe(follower),
        Some(k) if k.fingerprint != fingerprint(&follower) => Change::Update(follower),
        Some(_) => Change::Unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::now;

    fn info(openid: &str, remark: &str) -> UserInfo {
        serde_json::from_value(serde_json::json!({
            "subscribe": 1, "openid": openid, "language": "zh_CN", "subscribe_time": 1_700_000_000,
            "unionid": "u1", "remark": remark, "tagid_list": [2, 100], "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0, "qr_scene_str": "course:7"
        }))
        .unwrap()
    }

    fn known(f: &Follower) -> Known {
        Known {
            fingerprint: fingerprint(f),
            subscribed: f.subscribed,
            seen: false,
        }
    }

    #[test]
    fn maps_wechat_fields() {
        let account = AccountId::new("wxa").unwrap();
        let f = follower_from_wechat(&account, &info("o1", "备注"), now());
        assert!(f.subscribed);
        assert_eq!(f.unionid.as_deref(), Some("u1"));
        assert_eq!(f.qr_scene.as_deref(), Some("course:7"));
        assert_eq!(f.tag_ids, [2, 100]);
        assert_eq!(f.subscribe_time.unwrap().timestamp(), 1_700_000_000);
        let mut numeric = info("o1", "");
        numeric.qr_scene_str = Some(String::new());
        numeric.qr_scene = Some(42);
        numeric.unionid = Some(String::new());
        let f = follower_from_wechat(&account, &numeric, now());
        assert_eq!(f.qr_scene.as_deref(), Some("42"));
        assert_eq!(f.unionid, None);
    }

    #[test]
    fn decides_the_write() {
        let account = AccountId::new("wxa").unwrap();
        let t = now();
        let stored = follower_from_wechat(&account, &info("o1", "a"), t);
        assert!(matches!(
            reconcile(&account, None, &info("o1", "a"), t),
            Change::Add(_)
        ));
        assert_eq!(
            reconcile(&account, Some(&known(&stored)), &info("o1", "a"), t),
            Change::Unchanged
        );
        match reconcile(&account, Some(&known(&stored)), &info("o1", "b"), t) {
            Change::Update(f) => assert_eq!(f.remark, "b"),
            other => panic!("{other:?}"),
        }
        let mut gone = stored.clone();
        gone.subscribed = false;
        assert!(matches!(
            reconcile(&account, Some(&known(&gone)), &info("o1", "a"), t),
            Change::Resubscribe(_)
        ));
        let unfollowed: UserInfo =
            serde_json::from_value(serde_json::json!({"subscribe": 0, "openid": "o1"})).unwrap();
        assert_eq!(
            reconcile(&account, Some(&known(&stored)), &unfollowed, t),
            Change::Unsubscribe
        );
        assert_eq!(
            reconcile(&account, Some(&known(&gone)), &unfollowed, t),
            Change::Unchanged
        );
        assert_eq!(reconcile(&account, None, &unfollowed, t), Change::Unchanged);
    }
}
