//! A cheap equality check of the WeChat-owned fields of a follower.

use crate::domain::Follower;
use std::hash::{DefaultHasher, Hash, Hasher};

/// 64-bit hash of the fields the nightly sync takes from WeChat (subscribed, subscribe time,
/// unionid, remark, tags, subscribe scene, QR scene, language), normalised so that an empty
/// string equals an absent value and tag order does not matter. Fields only the platform
/// knows (muted, last interaction, unsubscribe history) are left out.
///
/// Both sides of a comparison are hashed by the same process, so the hasher only has to be
/// deterministic within one run (std's `DefaultHasher::new()` is, with fixed keys).
pub fn fingerprint(follower: &Follower) -> u64 {
    let mut hasher = DefaultHasher::new();
    follower.subscribed.hash(&mut hasher);
    follower
        .subscribe_time
        .map(|t| t.timestamp())
        .hash(&mut hasher);
    non_empty(follower.unionid.as_deref()).hash(&mut hasher);
    follower.remark.hash(&mut hasher);
    let mut tags = follower.tag_ids.clone();
    tags.sort_unstable();
    tags.dedup();
    tags.hash(&mut hasher);
    non_empty(follower.subscribe_scene.as_deref()).hash(&mut hasher);
    non_empty(follower.qr_scene.as_deref()).hash(&mut hasher);
    non_empty(follower.language.as_deref()).hash(&mut hasher);
    hasher.finish()
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, now};

    fn follower() -> Follower {
        Follower {
            account_id: AccountId::new("wxa").unwrap(),
            openid: "o1".into(),
            unionid: Some("u1".into()),
            subscribed: true,
            subscribe_time: Some(now()),
            unsubscribed_at: None,
            remark: "张三".into(),
            tag_ids: vec![2, 1],
            subscribe_scene: Some("ADD_SCENE_QR_CODE".into()),
            qr_scene: Some("course:1".into()),
            language: Some("zh_CN".into()),
            last_interaction_at: None,
            muted: false,
            synced_at: None,
            updated_at: now(),
        }
    }

    #[test]
    fn wechat_fields_change_the_fingerprint() {
        let base = follower();
        let changes: [fn(&mut Follower); 8] = [
            |f| f.subscribed = false,
            |f| f.subscribe_time = None,
            |f| f.unionid = None,
            |f| f.remark = "李四".into(),
            |f| f.tag_ids.push(3),
            |f| f.subscribe_scene = Some("ADD_SCENE_SEARCH".into()),
            |f| f.qr_scene = None,
            |f| f.language = Some("en".into()),
        ];
        for change in changes {
            let mut other = base.clone();
            change(&mut other);
            assert_ne!(fingerprint(&base), fingerprint(&other), "{other:?}");
        }
    }

    #[test]
    fn local_fields_order_and_empty_values_do_not() {
        let base = follower();
        let mut other = base.clone();
        other.muted = true;
        other.last_interaction_at = Some(now());
        other.unsubscribed_at = Some(now());
        other.synced_at = Some(now());
        other.updated_at = now() + chrono::Duration::days(1);
        other.tag_ids = vec![1, 2];
        assert_eq!(fingerprint(&base), fingerprint(&other));
        let mut a = base.clone();
        a.language = None;
        let mut b = base;
        b.language = Some(String::new());
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }
}
