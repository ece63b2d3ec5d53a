//! Simulated followers of one account, stored compactly.
//!
//! A person is a number (`pid`); its openid is derived (see [`crate::ids`]). Per person the
//! table keeps one flag and one timestamp; everything rarer (remark, tags, QR scene, last
//! interaction) lives in a sparse map. A million followers cost about 5 MB and are created in
//! milliseconds; `user/get` pages walk person numbers in order, which is stable under churn.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Most people one call may create (guards the control API against allocation failures).
pub const MAX_NEW_PER_CALL: usize = 50_000_000;

/// Default scene of generated followers and phone follows.
pub const SCENE_SEARCH: &str = "ADD_SCENE_SEARCH";
/// Scene of a follow through a parametric QR code.
pub const SCENE_QR_CODE: &str = "ADD_SCENE_QR_CODE";

/// Rarely-set per-person data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extras {
    /// Remark set by the account.
    pub remark: String,
    /// Tags set by the account.
    pub tagid_list: Vec<u32>,
    /// Language, `zh_CN` when unset.
    pub language: Option<String>,
    /// Subscribe scene, [`SCENE_SEARCH`] when unset.
    pub subscribe_scene: Option<String>,
    /// QR scene id of the follow (0 = none).
    pub qr_scene: u64,
    /// QR scene string of the follow.
    pub qr_scene_str: String,
    /// Last interaction (message, scan, follow...) in Unix seconds, for customer-service rules.
    pub last_interaction: Option<i64>,
    /// Customer-service messages sent since the last interaction.
    pub custom_sent: u32,
    /// The user blocks template messages (template send -> 43101).
    pub blocked: bool,
}

/// Persons known to one account and whether they follow it.
#[derive(Debug, Clone, Default)]
pub struct Population {
    subscribed: Vec<bool>,
    subscribe_time: Vec<u32>,
    extras: HashMap<u64, Extras>,
    total: u64,
}

impl Population {
    /// Persons ever known (followers, former followers, visitors).
    pub fn persons(&self) -> u64 {
        self.subscribed.len() as u64
    }

    /// Current followers.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether `pid` is a known person.
    pub fn exists(&self, pid: u64) -> bool {
        pid < self.persons()
    }

    /// Whether `pid` follows.
    pub fn is_subscribed(&self, pid: u64) -> bool {
        usize::try_from(pid)
            .ok()
            .and_then(|i| self.subscribed.get(i).copied())
            .unwrap_or(false)
    }

    /// Subscribe time of `pid` (Unix seconds; 0 if never followed).
    pub fn subscribe_time(&self, pid: u64) -> u32 {
        usize::try_from(pid)
            .ok()
            .and_then(|i| self.subscribe_time.get(i).copied())
            .unwrap_or(0)
    }

    /// Adds `n` followers who followed one second apart, the last at `now`; returns the first pid.
    pub fn add_followers(&mut self, n: usize, now: i64) -> u64 {
        let first = self.persons();
        self.subscribed.resize(self.subscribed.len() + n, true);
        self.subscribe_time.reserve(n);
        let now = u32::try_from(now.max(0)).unwrap_or(u32::MAX);
        for i in 0..n {
            let back = u32::try_from(n - i).unwrap_or(u32::MAX);
            self.subscribe_time.push(now.saturating_sub(back));
        }
        self.total += n as u64;
        first
    }

    /// Adds a person who does not follow (yet); returns its pid.
    pub fn add_visitor(&mut self) -> u64 {
        self.subscribed.push(false);
        self.subscribe_time.push(0);
        self.persons() - 1
    }

    /// Makes `pid` a follower as of `now`; false if unknown or already following.
    pub fn subscribe(
        &mut self,
        pid: u64,
        now: i64,
        scene: &str,
        qr: Option<(u64, String)>,
    ) -> bool {
        let Some(i) = self.index(pid) else {
            return false;
        };
        if self.subscribed[i] {
            return false;
        }
        self.subscribed[i] = true;
        self.subscribe_time[i] = u32::try_from(now.max(0)).unwrap_or(u32::MAX);
        self.total += 1;
        let e = self.extras.entry(pid).or_default();
        e.subscribe_scene = (scene != SCENE_SEARCH).then(|| scene.to_string());
        let (qr_scene, qr_scene_str) = qr.unwrap_or_default();
        e.qr_scene = qr_scene;
        e.qr_scene_str = qr_scene_str;
        true
    }

    /// Makes `pid` stop following; false if unknown or not following.
    pub fn unsubscribe(&mut self, pid: u64) -> bool {
        let Some(i) = self.index(pid) else {
            return false;
        };
        if !self.subscribed[i] {
            return false;
        }
        self.subscribed[i] = false;
        self.total -= 1;
        // WeChat forgets remark and tags when a user leaves.
        if let Some(e) = self.extras.get_mut(&pid) {
            e.remark.clear();
            e.tagid_list.clear();
        }
        true
    }

    /// Sparse data of `pid`, if any was ever set.
    pub fn extras(&self, pid: u64) -> Option<&Extras> {
        self.extras.get(&pid)
    }

    /// Sparse data of `pid`, created on first use.
    pub fn extras_mut(&mut self, pid: u64) -> &mut Extras {
        self.extras.entry(pid).or_default()
    }

    /// Up to `limit` followers with pid >= `start`, in pid order.
    pub fn page(&self, start: u64, limit: usize) -> Vec<u64> {
        let Ok(start) = usize::try_from(start) else {
            return Vec::new();
        };
        let from = start.min(self.subscribed.len());
        self.subscribed[from..]
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .take(limit)
            .map(|(i, _)| (from + i) as u64)
            .collect()
    }

    /// Up to `n` distinct random followers not in `exclude`.
    pub fn sample_followers(
        &self,
        rng: &mut impl Rng,
        n: usize,
        exclude: &HashSet<u64>,
    ) -> Vec<u64> {
        let available =
            self.total as usize - exclude.iter().filter(|p| self.is_subscribed(**p)).count();
        if n >= available {
            return self
                .page(0, usize::MAX)
                .into_iter()
                .filter(|p| !exclude.contains(p))
                .collect();
        }
        let mut picked = HashSet::with_capacity(n);
        let mut out = Vec::with_capacity(n);
        // Rejection sampling is fast while followers are dense; the scan below covers the rest.
        let mut tries = n.saturating_mul(20) + 100;
        while out.len() < n && tries > 0 {
            tries -= 1;
            let pid = rng.random_range(0..self.persons());
            if self.is_subscribed(pid) && !exclude.contains(&pid) && picked.insert(pid) {
                out.push(pid);
            }
        }
        for pid in self.page(0, usize::MAX) {
            if out.len() >= n {
                break;
            }
            if !exclude.contains(&pid) && picked.insert(pid) {
                out.push(pid);
            }
        }
        out
    }

    fn index(&self, pid: u64) -> Option<usize> {
        usize::try_from(pid)
            .ok()
            .filter(|i| *i < self.subscribed.len())
    }
}

/// A follower as the sandbox sees it: WeChat's `user/info` fields plus sandbox-only state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowerInfo {
    /// appid of the account.
    pub appid: String,
    /// Person number inside the account (same number = same person across an open-platform group).
    pub person: u64,
    /// 1 if following, else 0.
    pub subscribe: u8,
    /// openid (WeCom: userid).
    pub openid: String,
    /// unionid, when the account is in an open-platform group.
    pub unionid: Option<String>,
    /// Language.
    pub language: String,
    /// Subscribe time (Unix seconds).
    pub subscribe_time: u32,
    /// Remark.
    pub remark: String,
    /// Group id (first tag, else 0, as WeChat derives it).
    pub groupid: u32,
    /// Tags.
    pub tagid_list: Vec<u32>,
    /// Subscribe scene.
    pub subscribe_scene: String,
    /// QR scene id.
    pub qr_scene: u64,
    /// QR scene string.
    pub qr_scene_str: String,
    /// Last interaction (Unix seconds).
    pub last_interaction: Option<i64>,
    /// Blocks template messages.
    pub blocked: bool,
}

impl FollowerInfo {
    /// Builds the view of `pid`.
    pub fn build(
        appid: &str,
        pop: &Population,
        pid: u64,
        openid: String,
        unionid: Option<String>,
    ) -> Self {
        let e = pop.extras(pid);
        let tagid_list = e.map(|e| e.tagid_list.clone()).unwrap_or_default();
        Self {
            appid: appid.to_string(),
            person: pid,
            subscribe: u8::from(pop.is_subscribed(pid)),
            openid,
            unionid,
            language: e
                .and_then(|e| e.language.clone())
                .unwrap_or_else(|| "zh_CN".into()),
            subscribe_time: pop.subscribe_time(pid),
            remark: e.map(|e| e.remark.clone()).unwrap_or_default(),
            groupid: tagid_list.first().copied().unwrap_or(0),
            tagid_list,
            subscribe_scene: e
                .and_then(|e| e.subscribe_scene.clone())
                .unwrap_or_else(|| SCENE_SEARCH.to_string()),
            qr_scene: e.map(|e| e.qr_scene).unwrap_or(0),
            qr_scene_str: e.map(|e| e.qr_scene_str.clone()).unwrap_or_default(),
            last_interaction: e.and_then(|e| e.last_interaction),
            blocked: e.is_some_and(|e| e.blocked),
        }
    }

    /// The object `user/info/batchget` returns: non-followers get only subscribe, openid and
    /// unionid; nickname and avatar are no longer part of the API.
    pub fn to_wechat_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("subscribe".into(), self.subscribe.into());
        m.insert("openid".into(), self.openid.clone().into());
        if self.subscribe == 1 {
            m.insert("language".into(), self.language.clone().into());
            m.insert("subscribe_time".into(), self.subscribe_time.into());
        }
        if let Some(u) = &self.unionid {
            m.insert("unionid".into(), u.clone().into());
        }
        if self.subscribe == 1 {
            m.insert("remark".into(), self.remark.clone().into());
            m.insert("groupid".into(), self.groupid.into());
            m.insert("tagid_list".into(), self.tagid_list.clone().into());
            m.insert(
                "subscribe_scene".into(),
                self.subscribe_scene.clone().into(),
            );
            m.insert("qr_scene".into(), self.qr_scene.into());
            m.insert("qr_scene_str".into(), self.qr_scene_str.clone().into());
        }
        serde_json::Value::Object(m)
    }
}

/// Changes to one follower; unset fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowerUpdate {
    /// New remark.
    pub remark: Option<String>,
    /// New tags.
    pub tagid_list: Option<Vec<u32>>,
    /// New language.
    pub language: Option<String>,
    /// Blocks (or unblocks) template messages.
    pub blocked: Option<bool>,
    /// Follow / unfollow silently (no callback).
    pub subscribed: Option<bool>,
}

/// What [`crate::Sandbox::churn`] changed, as openids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Churn {
    /// New followers.
    pub followed: Vec<String>,
    /// Former followers.
    pub unfollowed: Vec<String>,
    /// Followers whose remark and tags changed.
    pub changed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn add_page_unsubscribe() {
        let mut p = Population::default();
        let first = p.add_followers(5, 1_000);
        assert_eq!(first, 0);
        assert_eq!(p.total(), 5);
        assert!(p.unsubscribe(1));
        assert!(!p.unsubscribe(1));
        assert_eq!(p.page(0, 10), vec![0, 2, 3, 4]);
        assert_eq!(p.page(3, 1), vec![3]);
        assert_eq!(p.page(99, 10), Vec::<u64>::new());
        assert!(p.subscribe(1, 2_000, SCENE_QR_CODE, Some((7, String::new()))));
        assert_eq!(p.subscribe_time(1), 2_000);
        assert_eq!(p.subscribe_time(4), 999);
        assert_eq!(p.extras(1).map(|e| e.qr_scene), Some(7));
    }

    #[test]
    fn sampling_is_distinct_and_respects_exclusions() {
        let mut p = Population::default();
        p.add_followers(100, 0);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let exclude: HashSet<u64> = (0..10).collect();
        let s = p.sample_followers(&mut rng, 50, &exclude);
        let set: HashSet<u64> = s.iter().copied().collect();
        assert_eq!(set.len(), 50);
        assert!(set.is_disjoint(&exclude));
        assert_eq!(p.sample_followers(&mut rng, 1_000, &exclude).len(), 90);
    }

    #[test]
    fn million_followers_are_cheap() {
        let mut p = Population::default();
        p.add_followers(1_000_000, 1_700_000_000);
        assert_eq!(p.total(), 1_000_000);
        assert_eq!(p.page(999_990, 10_000).len(), 10);
    }
}
