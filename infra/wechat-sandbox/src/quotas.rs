//! Daily API quotas per account and endpoint (45009 when used up). Like WeChat, usage resets
//! when the day changes in China time; tests reset it explicitly.

use crate::clock::china_day;
use crate::errcode::{self, WxError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Limit and usage of one API for one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// Calls allowed per day; `None` = unlimited.
    pub limit: Option<u64>,
    /// Calls counted today.
    pub used: u64,
}

#[derive(Debug, Clone, Default)]
struct Usage {
    day: i64,
    used: u64,
}

/// Quota limits (overrides of the defaults) and usage.
#[derive(Debug, Default)]
pub struct QuotaStore {
    limits: HashMap<(String, String), Option<u64>>,
    usage: HashMap<(String, String), Usage>,
}

impl QuotaStore {
    /// Counts one call of `api` by `appid`, or refuses with 45009 when the limit is reached.
    pub fn take(
        &mut self,
        appid: &str,
        api: &str,
        now: i64,
        defaults: &BTreeMap<String, u64>,
    ) -> Result<(), WxError> {
        let limit = self.limit(appid, api, defaults);
        let day = china_day(now);
        let usage = self
            .usage
            .entry((appid.to_string(), api.to_string()))
            .or_default();
        if usage.day != day {
            *usage = Usage { day, used: 0 };
        }
        if limit.is_some_and(|l| usage.used >= l) {
            return Err(WxError::new(errcode::QUOTA_REACHED));
        }
        usage.used += 1;
        Ok(())
    }

    /// Sets the daily limit of `api` for `appid` (`None` = unlimited).
    pub fn set_limit(&mut self, appid: &str, api: &str, limit: Option<u64>) {
        self.limits
            .insert((appid.to_string(), api.to_string()), limit);
    }

    /// Forgets the usage of every API of `appid`.
    pub fn reset(&mut self, appid: &str) {
        self.usage.retain(|(a, _), _| a != appid);
    }

    /// Forgets all usage.
    pub fn reset_all(&mut self) {
        self.usage.clear();
    }

    /// Limit and usage of one API.
    pub fn get(&self, appid: &str, api: &str, now: i64, defaults: &BTreeMap<String, u64>) -> Quota {
        let used = self
            .usage
            .get(&(appid.to_string(), api.to_string()))
            .filter(|u| u.day == china_day(now))
            .map_or(0, |u| u.used);
        Quota {
            limit: self.limit(appid, api, defaults),
            used,
        }
    }

    /// Every API with a limit or usage for `appid`.
    pub fn all(
        &self,
        appid: &str,
        now: i64,
        defaults: &BTreeMap<String, u64>,
    ) -> BTreeMap<String, Quota> {
        let apis = defaults
            .keys()
            .cloned()
            .chain(
                self.limits
                    .keys()
                    .filter(|(a, _)| a == appid)
                    .map(|(_, api)| api.clone()),
            )
            .chain(
                self.usage
                    .keys()
                    .filter(|(a, _)| a == appid)
                    .map(|(_, api)| api.clone()),
            );
        apis.map(|api| {
            let q = self.get(appid, &api, now, defaults);
            (api, q)
        })
        .collect()
    }

    fn limit(&self, appid: &str, api: &str, defaults: &BTreeMap<String, u64>) -> Option<u64> {
        match self.limits.get(&(appid.to_string(), api.to_string())) {
            Some(l) => *l,
            None => defaults.get(api).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_then_reset() {
        let mut q = QuotaStore::default();
        let defaults = BTreeMap::new();
        q.set_limit("wx1", "/x", Some(2));
        assert!(q.take("wx1", "/x", 0, &defaults).is_ok());
        assert!(q.take("wx1", "/x", 0, &defaults).is_ok());
        assert_eq!(
            q.take("wx1", "/x", 0, &defaults).map_err(|e| e.errcode),
            Err(45009)
        );
        assert_eq!(
            q.get("wx1", "/x", 0, &defaults),
            Quota {
                limit: Some(2),
                used: 2
            }
        );
        // Next China day: usage starts over.
        assert!(q.take("wx1", "/x", 86_400, &defaults).is_ok());
        q.reset("wx1");
        assert_eq!(q.get("wx1", "/x", 86_400, &defaults).used, 0);
        assert!(q.take("wx2", "/x", 0, &defaults).is_ok());
    }
}
