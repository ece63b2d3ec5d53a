//! The access-token service every Lambda shares: tokens cached in DynamoDB per appid (and per
//! WeCom corp + agent), refreshed ahead of expiry by ONE refresher at a time.
//!
//! Fetching a token can invalidate the previous one (WeChat's 40001), so independent refreshers
//! break each other; this module makes refreshing a leased, compare-and-swap operation.
//!
//! # Token item
//! Key: `PK = "TOKEN#<cache key>"`, `SK = "TOKEN"` ([`keys::token_pk`], [`keys::TOKEN_SK`]);
//! the cache key is the appid or `wecom:<corpid>:<agentid>`. Attributes:
//!
//! | attribute             | type | meaning |
//! |-----------------------|------|---------|
//! | `entity`              | S    | `"token"` |
//! | `token`               | S    | current access token (absent before the first refresh) |
//! | `token_expires_at_ms` | N    | when WeChat said it expires, epoch ms (`0` once invalidated) |
//! | `refresh_after_ms`    | N    | when the next refresh is due, epoch ms (`0` once invalidated) |
//! | `refreshed_at_ms`     | N    | when it was fetched, epoch ms |
//! | `invalidated_token`   | S    | a token callers reported rejected (40001/42001/40014) and not yet replaced |
//! | `lease_owner`         | S    | random id of the refresher holding the lease |
//! | `lease_until_ms`      | N    | lease expiry, epoch ms (a crashed refresher frees it by time) |
//! | `version`             | N    | +1 on every refresh and invalidation: the compare-and-swap value |
//! | `expires_at`          | N    | table TTL, epoch s: a day after the token expires |
//!
//! # Protocol
//! - Read (consistent). Before `refresh_after_ms`: use the token.
//! - Due, and the lease is free: take it with a conditional update that also requires
//!   `version` to be the one just read (so a refresh finished in between is never repeated, even
//!   when it returned the same token, as `stable_token` does), confirm the lease with a
//!   consistent read, fetch a token from WeChat, write it conditional on still owning the
//!   lease, which frees the lease.
//! - Due, lease held by someone else: use the current token while it is still valid; if it is
//!   not (expired or invalidated), poll with growing sleeps up to `max_wait`, then re-read.
//! - [`TokenService::invalidate`] sets the expiry to 0 only if the cached token is still the
//!   rejected one, so 50 callers that saw one bad token cause one refresh, not 50.
//!
//! Inside one process an async lock per cache key makes concurrent callers share one DynamoDB
//! round and an in-memory copy serves calls until the token is due.

use super::client::{WechatClient, token_prefix};
use super::credentials::TokenAccount;
use super::error::{ErrorAction, WechatError};
use crate::store::keys;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

const ATTR_TOKEN: &str = "token";
const ATTR_TOKEN_EXPIRES_AT_MS: &str = "token_expires_at_ms";
const ATTR_REFRESH_AFTER_MS: &str = "refresh_after_ms";
const ATTR_REFRESHED_AT_MS: &str = "refreshed_at_ms";
const ATTR_INVALIDATED_TOKEN: &str = "invalidated_token";
const ATTR_LEASE_OWNER: &str = "lease_owner";
const ATTR_LEASE_UNTIL_MS: &str = "lease_until_ms";
const ATTR_VERSION: &str = "version";
/// Value of the `entity` attribute of token items.
const ENTITY_TOKEN: &str = "token";
/// Token items linger this long after expiry before the table TTL removes them.
const TTL_AFTER_EXPIRY_SECS: i64 = 86_400;
/// A token this close to expiry is not handed out while someone else refreshes it: a call
/// started with it could reach WeChat after it expired.
const USABLE_SAFETY_MS: i64 = 10_000;

/// Timing of the token service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenServiceConfig {
    /// Refresh this long before the token expires.
    pub refresh_margin: Duration,
    /// How long a refresher may hold the lease (longer than one token request).
    pub lease_duration: Duration,
    /// How long a caller waits for another refresher before giving up.
    pub max_wait: Duration,
    /// First sleep between polls while waiting (doubles up to `max_poll_interval`).
    pub poll_interval: Duration,
    /// Longest sleep between polls.
    pub max_poll_interval: Duration,
    /// Use `stable_token` (true) or the classic `cgi-bin/token` for official accounts / mini programs.
    pub use_stable_token: bool,
}

impl Default for TokenServiceConfig {
    fn default() -> Self {
        Self {
            refresh_margin: Duration::from_secs(300),
            lease_duration: Duration::from_secs(15),
            max_wait: Duration::from_secs(20),
            poll_interval: Duration::from_millis(50),
            max_poll_interval: Duration::from_millis(500),
            use_stable_token: true,
        }
    }
}

/// A token as cached in memory or read from the table.
#[derive(Clone)]
struct CachedToken {
    token: String,
    expires_at_ms: i64,
    refresh_after_ms: i64,
}

/// The token item as read from DynamoDB.
#[derive(Default)]
struct TokenItem {
    token: Option<String>,
    expires_at_ms: i64,
    refresh_after_ms: i64,
    invalidated_token: Option<String>,
    lease_owner: Option<String>,
    lease_until_ms: i64,
    version: Option<i64>,
}

impl TokenItem {
    fn from_attributes(item: &HashMap<String, AttributeValue>) -> Self {
        let string = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        // A malformed number reads as 0, i.e. "due now", which heals the item on next refresh.
        let number = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Self {
            token: string(ATTR_TOKEN).filter(|t| !t.is_empty()),
            expires_at_ms: number(ATTR_TOKEN_EXPIRES_AT_MS),
            refresh_after_ms: number(ATTR_REFRESH_AFTER_MS),
            invalidated_token: string(ATTR_INVALIDATED_TOKEN),
            lease_owner: string(ATTR_LEASE_OWNER),
            lease_until_ms: number(ATTR_LEASE_UNTIL_MS),
            version: item
                .get(ATTR_VERSION)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok()),
        }
    }

    /// The token when no refresh is due yet.
    fn fresh(&self, now_ms: i64) -> Option<CachedToken> {
        let token = self.token.as_ref()?;
        (now_ms < self.refresh_after_ms && now_ms < self.expires_at_ms).then(|| CachedToken {
            token: token.clone(),
            expires_at_ms: self.expires_at_ms,
            refresh_after_ms: self.refresh_after_ms,
        })
    }

    /// The token when it is due for refresh but still valid for a while.
    fn still_valid(&self, now_ms: i64) -> Option<&str> {
        let token = self.token.as_deref()?;
        (now_ms + USABLE_SAFETY_MS < self.expires_at_ms).then_some(token)
    }

    fn lease_free(&self, now_ms: i64) -> bool {
        self.lease_until_ms <= now_ms
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn store_error<E, R>(operation: &str, err: SdkError<E, R>) -> WechatError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    WechatError::TokenStore(format!("{operation}: {}", DisplayErrorContext(&err)))
}

/// Access tokens for every account, cached in DynamoDB with one refresher at a time.
#[derive(Clone)]
pub struct TokenService {
    inner: Arc<Inner>,
}

struct Inner {
    dynamo: aws_sdk_dynamodb::Client,
    table: String,
    client: WechatClient,
    config: TokenServiceConfig,
    /// Tokens this process already read, until they are due.
    memory: Mutex<HashMap<String, CachedToken>>,
    /// One async lock per cache key: concurrent callers in this process share one table round.
    key_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("table", &self.inner.table)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    /// A service over the platform table with default timing.
    pub fn new(dynamo: aws_sdk_dynamodb::Client, table: String, client: WechatClient) -> Self {
        Self::with_config(dynamo, table, client, TokenServiceConfig::default())
    }

    /// A service with explicit timing.
    pub fn with_config(
        dynamo: aws_sdk_dynamodb::Client,
        table: String,
        client: WechatClient,
        config: TokenServiceConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                dynamo,
                table,
                client,
                config,
                memory: Mutex::new(HashMap::new()),
                key_locks: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The WeChat client tokens are fetched with (and that callers send with).
    pub fn client(&self) -> &WechatClient {
        &self.inner.client
    }

    /// Calls `api` with a valid token; if WeChat rejects the token (40001/42001/40014),
    /// invalidates it, gets a fresh one and retries exactly once.
    ///
    /// `api` gets the token by value so its future borrows nothing from this call and stays
    /// `Send` (callers fan sends out with `tokio::spawn`):
    /// `service.call(&account, |token| async move { client.send_template(&token, message).await })`.
    pub async fn call<T, F, Fut>(&self, account: &TokenAccount, api: F) -> Result<T, WechatError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, WechatError>>,
    {
        let token = self.access_token(account).await?;
        match api(token.clone()).await {
            Err(err) if err.action() == ErrorAction::RefreshTokenAndRetry => {
                tracing::info!(account = %account.cache_key(), token = token_prefix(&token), error = %err, "token rejected, refreshing once");
                self.invalidate(account, &token).await?;
                let fresh = self.access_token(account).await?;
                api(fresh).await
            }
            other => other,
        }
    }

    /// A valid access token for `account`, refreshing it (as the single refresher) when due.
    pub async fn access_token(&self, account: &TokenAccount) -> Result<String, WechatError> {
        let cache_key = account.cache_key();
        if let Some(token) = self.memory_token(&cache_key) {
            return Ok(token);
        }
        let lock = self.key_lock(&cache_key);
        let _guard = lock.lock().await;
        // Another task of this process may have loaded it while we queued for the lock.
        if let Some(token) = self.memory_token(&cache_key) {
            return Ok(token);
        }
        let cached = self.load_or_refresh(account, &cache_key).await?;
        let token = cached.token.clone();
        self.memory().insert(cache_key, cached);
        Ok(token)
    }

    /// Marks `bad_token` rejected so the next caller refreshes; a no-op (returns false) when
    /// the cache already holds another token, so many reports of one bad token refresh once.
    pub async fn invalidate(
        &self,
        account: &TokenAccount,
        bad_token: &str,
    ) -> Result<bool, WechatError> {
        let cache_key = account.cache_key();
        {
            let mut memory = self.memory();
            if memory.get(&cache_key).is_some_and(|c| c.token == bad_token) {
                memory.remove(&cache_key);
            }
        }
        let result = self
            .update(&cache_key)
            .update_expression("SET #exp = :zero, #due = :zero, #bad = :bad ADD #ver :one")
            .condition_expression("#tok = :bad")
            .expression_attribute_names("#tok", ATTR_TOKEN)
            .expression_attribute_names("#ver", ATTR_VERSION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_names("#exp", ATTR_TOKEN_EXPIRES_AT_MS)
            .expression_attribute_names("#due", ATTR_REFRESH_AFTER_MS)
            .expression_attribute_names("#bad", ATTR_INVALIDATED_TOKEN)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":bad", s(bad_token))
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::info!(account = %cache_key, token = token_prefix(bad_token), "access token invalidated");
                Ok(true)
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(store_error("invalidate token", err)),
        }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedToken>> {
        // The map only holds copies of table data, so a panic elsewhere cannot corrupt it.
        self.inner
            .memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn memory_token(&self, cache_key: &str) -> Option<String> {
        let now = now_ms();
        self.memory()
            .get(cache_key)
            .filter(|c| now < c.refresh_after_ms && now < c.expires_at_ms)
            .map(|c| c.token.clone())
    }

    fn key_lock(&self, cache_key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .inner
            .key_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        locks.entry(cache_key.to_string()).or_default().clone()
    }

    fn update(
        &self,
        cache_key: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.inner
            .dynamo
            .update_item()
            .table_name(&self.inner.table)
            .key(keys::PK, s(&keys::token_pk(cache_key)))
            .key(keys::SK, s(keys::TOKEN_SK))
    }

    async fn read(&self, cache_key: &str) -> Result<TokenItem, WechatError> {
        let output = self
            .inner
            .dynamo
            .get_item()
            .table_name(&self.inner.table)
            .key(keys::PK, s(&keys::token_pk(cache_key)))
            .key(keys::SK, s(keys::TOKEN_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("read token", e))?;
        Ok(output
            .item()
            .map(TokenItem::from_attributes)
            .unwrap_or_default())
    }

    /// The read / lease / wait loop described in the module docs.
    async fn load_or_refresh(
        &self,
        account: &TokenAccount,
        cache_key: &str,
    ) -> Result<CachedToken, WechatError> {
        let config = &self.inner.config;
        let deadline = Instant::now() + config.max_wait;
        let mut pause = config.poll_interval;
        loop {
            let now = now_ms();
            let item = self.read(cache_key).await?;
            if let Some(fresh) = item.fresh(now) {
                return Ok(fresh);
            }
            if item.lease_free(now) {
                if let Some(lease) = self.try_lease(cache_key, &item, now).await? {
                    if let Some(leased) = self.confirm_lease(cache_key, &lease).await? {
                        return self.refresh(account, cache_key, &leased, &lease).await;
                    }
                    tracing::warn!(account = %cache_key, "token lease overwritten by another refresher");
                }
                // Lost the race for the lease: the next read shows who has it.
            } else if let Some(token) = item.still_valid(now) {
                // Someone is refreshing ahead of expiry; the current token still works.
                return Ok(CachedToken {
                    token: token.to_string(),
                    expires_at_ms: item.expires_at_ms,
                    // Not cached in memory past now: the refreshed one should be read next time.
                    refresh_after_ms: now,
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!(account = %cache_key, "gave up waiting for the token refresher");
                return Err(WechatError::TokenUnavailable {
                    cache_key: cache_key.to_string(),
                });
            }
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(config.max_poll_interval);
        }
    }

    /// Takes the refresh lease if it is free and nobody refreshed or invalidated since `item`.
    async fn try_lease(
        &self,
        cache_key: &str,
        item: &TokenItem,
        now: i64,
    ) -> Result<Option<String>, WechatError> {
        let lease_id = ulid::Ulid::new().to_string();
        let lease_until = now + millis(self.inner.config.lease_duration);
        let mut request = self
            .update(cache_key)
            .update_expression("SET #owner = :owner, #until = :until, #entity = :entity, #ttl = if_not_exists(#ttl, :ttl)")
            .expression_attribute_names("#owner", ATTR_LEASE_OWNER)
            .expression_attribute_names("#until", ATTR_LEASE_UNTIL_MS)
            .expression_attribute_names("#entity", keys::ENTITY_TYPE)
            .expression_attribute_names("#ttl", keys::EXPIRES_AT)
            .expression_attribute_names("#ver", ATTR_VERSION)
            .expression_attribute_values(":owner", s(&lease_id))
            .expression_attribute_values(":until", n(lease_until))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":entity", s(ENTITY_TOKEN))
            .expression_attribute_values(":ttl", n(now / 1000 + TTL_AFTER_EXPIRY_SECS));
        request = match item.version {
            Some(seen) => request
                .condition_expression(
                    "(attribute_not_exists(#until) OR #until <= :now) AND #ver = :seen",
                )
                .expression_attribute_values(":seen", n(seen)),
            None => request.condition_expression(
                "(attribute_not_exists(#until) OR #until <= :now) AND attribute_not_exists(#ver)",
            ),
        };
        match request.send().await {
            Ok(_) => {
                tracing::debug!(account = %cache_key, "token refresh lease taken");
                Ok(Some(lease_id))
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(store_error("take token lease", err)),
        }
    }

    /// Re-reads the item to check the lease is ours. DynamoDB's conditional write already
    /// guarantees it; the read (one per refresh, so rare) keeps the single-refresher promise on
    /// stand-ins such as moto, whose conditional writes are not atomic under concurrency.
    /// Returns the item as of the lease (its `invalidated_token` is the newest report).
    async fn confirm_lease(
        &self,
        cache_key: &str,
        lease_id: &str,
    ) -> Result<Option<TokenItem>, WechatError> {
        let item = self.read(cache_key).await?;
        Ok((item.lease_owner.as_deref() == Some(lease_id)).then_some(item))
    }

    /// Fetches a token from WeChat while holding the lease and stores it (freeing the lease).
    async fn refresh(
        &self,
        account: &TokenAccount,
        cache_key: &str,
        item: &TokenItem,
        lease_id: &str,
    ) -> Result<CachedToken, WechatError> {
        let requested_at = now_ms();
        let fetched = match self.fetch(account, item.invalidated_token.as_deref()).await {
            Ok(fetched) => fetched,
            Err(err) => {
                self.release_lease(cache_key, lease_id).await;
                return Err(err);
            }
        };
        let expires_in_ms = i64::try_from(fetched.expires_in)
            .unwrap_or(i64::MAX / 4)
            .saturating_mul(1000);
        // Measured from before the request, so we never think a token lives longer than it does.
        let expires_at_ms = requested_at.saturating_add(expires_in_ms);
        // stable_token hands back the same token with its *remaining* lifetime, so a margin
        // larger than that lifetime would make it due at once; refresh after half of it then.
        let margin_ms = millis(self.inner.config.refresh_margin).min(expires_in_ms / 2);
        let cached = CachedToken {
            token: fetched.access_token,
            expires_at_ms,
            refresh_after_ms: expires_at_ms - margin_ms,
        };
        let stored = self
            .update(cache_key)
            .update_expression(
                "SET #tok = :tok, #exp = :exp, #due = :due, #at = :at, #ttl = :ttl, #entity = :entity \
                 REMOVE #owner, #until, #bad ADD #ver :one",
            )
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#ver", ATTR_VERSION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_names("#tok", ATTR_TOKEN)
            .expression_attribute_names("#exp", ATTR_TOKEN_EXPIRES_AT_MS)
            .expression_attribute_names("#due", ATTR_REFRESH_AFTER_MS)
            .expression_attribute_names("#at", ATTR_REFRESHED_AT_MS)
            .expression_attribute_names("#ttl", keys::EXPIRES_AT)
            .expression_attribute_names("#entity", keys::ENTITY_TYPE)
            .expression_attribute_names("#owner", ATTR_LEASE_OWNER)
            .expression_attribute_names("#until", ATTR_LEASE_UNTIL_MS)
            .expression_attribute_names("#bad", ATTR_INVALIDATED_TOKEN)
            .expression_attribute_values(":tok", s(&cached.token))
            .expression_attribute_values(":exp", n(cached.expires_at_ms))
            .expression_attribute_values(":due", n(cached.refresh_after_ms))
            .expression_attribute_values(":at", n(requested_at))
            .expression_attribute_values(":ttl", n(cached.expires_at_ms / 1000 + TTL_AFTER_EXPIRY_SECS))
            .expression_attribute_values(":entity", s(ENTITY_TOKEN))
            .expression_attribute_values(":owner", s(lease_id))
            .send()
            .await;
        match stored {
            Ok(_) => {
                tracing::info!(account = %cache_key, token = token_prefix(&cached.token), expires_in = fetched.expires_in, "access token refreshed");
                Ok(cached)
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // Our lease ran out and someone else took over; the token is still good to use,
                // but theirs wins the table, so do not cache ours beyond this call.
                tracing::warn!(account = %cache_key, "token refresh outlived its lease; not stored");
                Ok(CachedToken {
                    refresh_after_ms: requested_at,
                    ..cached
                })
            }
            Err(err) => Err(store_error("store token", err)),
        }
    }

    /// Asks WeChat for a token; forces a new stable token when WeChat hands back the one that
    /// was just reported rejected (normal mode returns the same token while it thinks it valid).
    async fn fetch(
        &self,
        account: &TokenAccount,
        rejected: Option<&str>,
    ) -> Result<super::api::token::AccessToken, WechatError> {
        let client = &self.inner.client;
        match account {
            TokenAccount::App(app) if self.inner.config.use_stable_token => {
                let token = client.fetch_stable_token(app, false).await?;
                if rejected == Some(token.access_token.as_str()) {
                    tracing::warn!(account = %app.appid, "stable_token returned the rejected token; forcing a refresh");
                    return client.fetch_stable_token(app, true).await;
                }
                Ok(token)
            }
            TokenAccount::App(app) => client.fetch_token(app).await,
            TokenAccount::Wecom(app) => {
                let token = client.fetch_wecom_token(app).await?;
                if rejected == Some(token.access_token.as_str()) {
                    // WeCom has no forced refresh; the caller's retry will tell.
                    tracing::warn!(account = %account.cache_key(), "gettoken returned the rejected token");
                }
                Ok(token)
            }
        }
    }

    /// Frees the lease after a failed fetch so the next caller can try at once.
    async fn release_lease(&self, cache_key: &str, lease_id: &str) {
        let result = self
            .update(cache_key)
            .update_expression("REMOVE #owner, #until")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", ATTR_LEASE_OWNER)
            .expression_attribute_names("#until", ATTR_LEASE_UNTIL_MS)
            .expression_attribute_values(":owner", s(lease_id))
            .send()
            .await;
        if let Err(err) = result {
            // The lease expires by itself; failing to free it early only delays the next try.
            tracing::warn!(account = %cache_key, error = %DisplayErrorContext(&err), "could not release token lease");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn parses_item_and_judges_freshness() {
        let now = 1_000_000;
        let parsed = TokenItem::from_attributes(&item(&[
            (ATTR_TOKEN, s("TOK")),
            (ATTR_TOKEN_EXPIRES_AT_MS, n(now + 600_000)),
            (ATTR_REFRESH_AFTER_MS, n(now + 300_000)),
            (ATTR_LEASE_UNTIL_MS, n(now - 1)),
        ]));
        assert_eq!(parsed.fresh(now).map(|c| c.token), Some("TOK".to_string()));
        assert!(
            parsed.fresh(now + 300_000).is_none(),
            "due at refresh_after"
        );
        assert_eq!(parsed.still_valid(now + 300_000), Some("TOK"));
        assert!(
            parsed
                .still_valid(now + 600_000 - USABLE_SAFETY_MS)
                .is_none()
        );
        assert!(parsed.lease_free(now));
    }

    #[test]
    fn missing_or_malformed_attributes_mean_due() {
        let empty = TokenItem::from_attributes(&HashMap::new());
        assert!(empty.fresh(0).is_none() && empty.still_valid(0).is_none() && empty.lease_free(0));
        let bad = TokenItem::from_attributes(&item(&[
            (ATTR_TOKEN, s("T")),
            (ATTR_TOKEN_EXPIRES_AT_MS, AttributeValue::N("x".into())),
            (ATTR_REFRESH_AFTER_MS, s("not a number")),
        ]));
        assert!(bad.fresh(0).is_none());
    }

    #[test]
    fn invalidated_item_is_neither_fresh_nor_valid() {
        let invalidated = TokenItem::from_attributes(&item(&[
            (ATTR_TOKEN, s("BAD")),
            (ATTR_TOKEN_EXPIRES_AT_MS, n(0)),
            (ATTR_REFRESH_AFTER_MS, n(0)),
            (ATTR_INVALIDATED_TOKEN, s("BAD")),
        ]));
        assert!(invalidated.fresh(1).is_none());
        assert!(invalidated.still_valid(1).is_none());
        assert_eq!(invalidated.invalidated_token.as_deref(), Some("BAD"));
    }

    #[test]
    fn default_timing_is_sane() {
        let c = TokenServiceConfig::default();
        assert!(
            c.max_wait > c.lease_duration,
            "waiters must outlast a crashed refresher's lease"
        );
        assert!(
            c.lease_duration > Duration::from_secs(10),
            "lease must cover one token request"
        );
        assert!(c.use_stable_token);
    }

    fn assert_send<T: Send>(value: T) -> T {
        value
    }

    #[test]
    fn call_futures_can_be_spawned() {
        // Callers fan sends out with tokio::spawn: the helper's future must be Send.
        let dynamo = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version_latest()
                .build(),
        );
        let client = WechatClient::new(super::super::client::WechatEndpoints::default()).unwrap();
        let service = TokenService::new(dynamo, "t".into(), client);
        let account = TokenAccount::App(super::super::credentials::AppCredentials::new("wx", "s"));
        let message = super::super::api::message::TemplateMessage::new("o", "t");
        let future = async move {
            let client = service.client();
            let message = &message;
            service
                .call(&account, |token| async move {
                    client.send_template(&token, message).await
                })
                .await
        };
        drop(assert_send(future));
    }
}
