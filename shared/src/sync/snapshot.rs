//! What the table knows about an account's followers, reduced to a few bytes each.

use super::fingerprint;
use crate::domain::Follower;
use std::collections::HashMap;

/// One stored follower as the sync needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// [`fingerprint`] of the stored WeChat-owned fields.
    pub fingerprint: u64,
    /// Follows, as stored.
    pub subscribed: bool,
    /// In WeChat's list this run.
    pub seen: bool,
}

/// Every stored follower of one account by openid (about 100 bytes each: a million followers
/// take ~100 MB).
#[derive(Debug, Default)]
pub struct Snapshot {
    entries: HashMap<Box<str>, Known>,
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a stored follower.
    pub fn insert(&mut self, follower: &Follower) {
        self.record(&follower.openid, fingerprint(follower), follower.subscribed);
    }

    /// Records what was just written for `openid`.
    pub fn record(&mut self, openid: &str, fingerprint: u64, subscribed: bool) {
        match self.entries.get_mut(openid) {
            Some(known) => {
                known.fingerprint = fingerprint;
                known.subscribed = subscribed;
            }
            None => {
                self.entries.insert(
                    openid.into(),
                    Known {
                        fingerprint,
                        subscribed,
                        seen: false,
                    },
                );
            }
        }
    }

    /// The stored state of `openid`, if any.
    pub fn get(&self, openid: &str) -> Option<&Known> {
        self.entries.get(openid)
    }

    /// Notes that WeChat listed `openid`.
    pub fn mark_seen(&mut self, openid: &str) {
        if let Some(known) = self.entries.get_mut(openid) {
            known.seen = true;
        }
    }

    /// Stored as following but not in WeChat's list: they unfollowed. Sorted, so retries
    /// walk them in the same order.
    pub fn unseen_subscribed(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, k)| k.subscribed && !k.seen)
            .map(|(openid, _)| openid.to_string())
            .collect();
        out.sort_unstable();
        out
    }

    /// Followers known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No follower known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
