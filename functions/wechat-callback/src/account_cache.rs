//! Accounts as the callback needs them (record, credentials, AES context), cached per
//! process for a minute: WeChat posts in bursts, and two table reads per event would be
//! most of the handler's time.

use livenotify::domain::{Account, AccountId, AccountSecrets};
use livenotify::platform::Platform;
use livenotify::store::StoreError;
use livenotify::wechat::MessageCrypto;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a cached account is used before it is read again (credential rotations and
/// mode changes in the console take effect within this time).
const TTL: Duration = Duration::from_secs(60);

/// One account, ready to verify, decrypt and answer callbacks.
#[derive(Debug)]
pub struct CallbackAccount {
    /// The account record.
    pub account: Account,
    /// Its credentials.
    pub secrets: AccountSecrets,
    /// AES context, when an EncodingAESKey is configured and valid.
    pub crypto: Option<MessageCrypto>,
}

/// Why an account could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No such account (or a malformed id).
    #[error("unknown account")]
    Unknown,
    /// The table could not be read.
    #[error(transparent)]
    Store(StoreError),
}

/// A cached account and when it was read.
type Entry = (Instant, Arc<CallbackAccount>);

/// The per-process cache.
#[derive(Debug, Clone, Default)]
pub struct AccountCache {
    entries: Arc<Mutex<HashMap<AccountId, Entry>>>,
}

impl AccountCache {
    /// The account `appid` of a callback URL.
    pub async fn load(
        &self,
        platform: &Platform,
        appid: &str,
    ) -> Result<Arc<CallbackAccount>, LoadError> {
        let id = AccountId::new(appid).map_err(|_| LoadError::Unknown)?;
        if let Some(hit) = self.fresh(&id) {
            return Ok(hit);
        }
        let not_found = |e: StoreError| match e {
            StoreError::NotFound { .. } => LoadError::Unknown,
            other => LoadError::Store(other),
        };
        let account = platform.store.get_account(&id).await.map_err(not_found)?;
        let secrets = platform
            .store
            .get_account_secrets(&id)
            .await
            .map_err(not_found)?;
        let crypto = secrets
            .encoding_aes_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .and_then(|key| match MessageCrypto::new(key, &account.appid) {
                Ok(crypto) => Some(crypto),
                Err(e) => {
                    tracing::error!(account = %id, error = %e, "account has an unusable EncodingAESKey");
                    None
                }
            });
        let loaded = Arc::new(CallbackAccount {
            account,
            secrets,
            crypto,
        });
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(id, (Instant::now(), loaded.clone()));
        }
        Ok(loaded)
    }

    fn fresh(&self, id: &AccountId) -> Option<Arc<CallbackAccount>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(id)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, account)| account.clone())
    }
}
