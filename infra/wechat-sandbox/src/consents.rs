//! Subscription-message consents: each one-time consent allows one send of that template to
//! that user; a long-term consent allows any number until the user revokes it.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Consent of one user for one template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// One-time consents not yet used.
    pub one_time: u32,
    /// Long-term (长期订阅) consent.
    pub long_term: bool,
}

/// Consents keyed by (appid, openid, template_id).
#[derive(Debug, Default)]
pub struct Consents {
    by_key: HashMap<(String, String, String), Consent>,
}

impl Consents {
    /// Records one consent (one-time adds one send; long-term allows all).
    pub fn grant(&mut self, appid: &str, openid: &str, template_id: &str, long_term: bool) {
        let c = self
            .by_key
            .entry(key(appid, openid, template_id))
            .or_default();
        if long_term {
            c.long_term = true;
        } else {
            c.one_time = c.one_time.saturating_add(1);
        }
    }

    /// Withdraws every consent of the user for this template (`subscribe_msg_change_event` reject).
    pub fn revoke(&mut self, appid: &str, openid: &str, template_id: &str) {
        self.by_key.remove(&key(appid, openid, template_id));
    }

    /// Uses one consent; false if none is left.
    pub fn consume(&mut self, appid: &str, openid: &str, template_id: &str) -> bool {
        let Some(c) = self.by_key.get_mut(&key(appid, openid, template_id)) else {
            return false;
        };
        if c.long_term {
            return true;
        }
        if c.one_time == 0 {
            return false;
        }
        c.one_time -= 1;
        true
    }

    /// The consents of one user (template id -> consent).
    pub fn of(&self, appid: &str, openid: &str) -> HashMap<String, Consent> {
        self.by_key
            .iter()
            .filter(|((a, o, _), _)| a == appid && o == openid)
            .map(|((_, _, t), c)| (t.clone(), *c))
            .collect()
    }
}

fn key(appid: &str, openid: &str, template_id: &str) -> (String, String, String) {
    (
        appid.to_string(),
        openid.to_string(),
        template_id.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_consents_are_used_up() {
        let mut c = Consents::default();
        assert!(!c.consume("a", "o", "t"));
        c.grant("a", "o", "t", false);
        c.grant("a", "o", "t", false);
        assert!(c.consume("a", "o", "t"));
        assert!(c.consume("a", "o", "t"));
        assert!(!c.consume("a", "o", "t"));
        c.grant("a", "o", "t", true);
        assert!((0..5).all(|_| c.consume("a", "o", "t")));
        c.revoke("a", "o", "t");
        assert!(!c.consume("a", "o", "t"));
    }
}
