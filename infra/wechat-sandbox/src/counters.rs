//! Call counters per endpoint (and per endpoint and appid once the caller is known), so tests
//! can assert "exactly one token request".

use std::collections::{BTreeMap, HashMap};

/// Calls received per endpoint.
#[derive(Debug, Default)]
pub struct Counters {
    per_endpoint: HashMap<String, u64>,
    per_account: HashMap<(String, String), u64>,
}

impl Counters {
    /// Counts one call of `endpoint`.
    pub fn hit(&mut self, endpoint: &str) {
        *self.per_endpoint.entry(endpoint.to_string()).or_default() += 1;
    }

    /// Counts one call of `endpoint` attributed to `appid`.
    pub fn hit_account(&mut self, endpoint: &str, appid: &str) {
        *self
            .per_account
            .entry((endpoint.to_string(), appid.to_string()))
            .or_default() += 1;
    }

    /// Calls of `endpoint` so far.
    pub fn get(&self, endpoint: &str) -> u64 {
        self.per_endpoint.get(endpoint).copied().unwrap_or(0)
    }

    /// Calls of `endpoint` attributed to `appid` (credentials or token resolved to it).
    pub fn get_account(&self, endpoint: &str, appid: &str) -> u64 {
        self.per_account
            .get(&(endpoint.to_string(), appid.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// All endpoint counts.
    pub fn all(&self) -> BTreeMap<String, u64> {
        self.per_endpoint
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Back to zero.
    pub fn reset(&mut self) {
        self.per_endpoint.clear();
        self.per_account.clear();
    }
}
