//! Seed files for the binary: settings, accounts and follower counts to create at start.
//!
//! ```json
//! {
//!   "settings": {"callback_timeout_ms": 5000},
//!   "accounts": [
//!     {"appid": "wxhtology00000001", "kind": "service", "open_platform": "medu",
//!      "callback_url": "http://127.0.0.1:9000/wechat/callback/wxhtology00000001",
//!      "encryption_mode": "safe", "followers": 1000}
//!   ]
//! }
//! ```

use crate::accounts::AccountSpec;
use crate::sandbox::Sandbox;
use crate::settings::{Settings, SettingsPatch};
use serde::{Deserialize, Serialize};

/// Contents of a seed file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Settings to change from the defaults.
    #[serde(default)]
    pub settings: Option<SettingsPatch>,
    /// Accounts to create, each with an optional `followers` count.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
}

impl Seed {
    /// Parses a seed file.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid seed file: {e}"))
    }

    /// Default settings with the seed's changes.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::default();
        if let Some(p) = &self.settings {
            p.apply(&mut s);
        }
        s
    }

    /// Creates the accounts and followers in `sandbox`.
    pub fn apply(&self, sandbox: &Sandbox) -> Result<(), String> {
        for spec in &self.accounts {
            let account = spec.to_account();
            account
                .validate()
                .map_err(|e| format!("account {}: {e}", spec.appid))?;
            sandbox.add_account(account);
            if let Some(n) = spec.followers {
                let n = usize::try_from(n)
                    .map_err(|_| format!("account {}: too many followers", spec.appid))?;
                sandbox
                    .add_follower_count(&spec.appid, n)
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_creates_accounts_and_followers() {
        let seed = Seed::from_json(
            r#"{"settings": {"token_ttl_secs": 60},
                "accounts": [{"appid": "wxseed", "kind": "service", "followers": 25}]}"#,
        )
        .unwrap_or_default();
        assert_eq!(seed.settings().token_ttl.as_secs(), 60);
        let sb = Sandbox::new(seed.settings());
        assert!(seed.apply(&sb).is_ok());
        assert_eq!(sb.follower_count("wxseed"), 25);
        assert!(Seed::from_json(r#"{"acounts": []}"#).is_err());
    }
}
