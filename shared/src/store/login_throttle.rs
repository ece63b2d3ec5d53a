//! Failed-login counters: one per (admin, client address) and one per address, each counted
//! atomically in a fixed window (a conditional `ADD`, so parallel tries are all counted) and
//! expired by the table's TTL. Kept apart from the admin record, so a failed login never
//! rewrites it and a storm from one address cannot lock the admin out from another.

use super::keys::{self, EXPIRES_AT, Key};
use super::{Store, StoreError, StoreResult, key_attributes};
use crate::domain::Timestamp;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Failed logins counted in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    /// Failures in the window.
    pub failures: u64,
    /// When the window (and any lock it holds) ends.
    pub window_ends: Timestamp,
}

/// The two counters a login attempt is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginFailures {
    /// This admin from this address.
    pub user_at_address: Option<FailureCount>,
    /// This address, any admin.
    pub address: Option<FailureCount>,
}

fn count_of(item: &HashMap<String, AttributeValue>, now: Timestamp) -> Option<FailureCount> {
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    let ends = DateTime::<Utc>::from_timestamp(number(EXPIRES_AT)?, 0)?;
    // TTL deletes late: an item past its window counts for nothing.
    (ends > now).then(|| FailureCount {
        failures: u64::try_from(number("failures").unwrap_or(0)).unwrap_or(0),
        window_ends: ends,
    })
}

impl Store {
    /// The live counters of `username` at `address`.
    pub async fn login_failures(
        &self,
        username: &str,
        address: &str,
        now: Timestamp,
    ) -> StoreResult<LoginFailures> {
        Ok(LoginFailures {
            user_at_address: self
                .failure_count(&keys::login_failures_by_user(username, address), now)
                .await?,
            address: self
                .failure_count(&keys::login_failures_by_address(address), now)
                .await?,
        })
    }

    /// Counts one failed login of `username` from `address` in both counters; a counter whose
    /// window ended starts a new one of length `window`. Returns the counts after this one.
    pub async fn count_login_failure(
        &self,
        username: &str,
        address: &str,
        now: Timestamp,
        window: chrono::Duration,
    ) -> StoreResult<LoginFailures> {
        let user = keys::login_failures_by_user(username, address);
        let by_address = keys::login_failures_by_address(address);
        Ok(LoginFailures {
            user_at_address: Some(self.count_failure(&user, now, window).await?),
            address: Some(self.count_failure(&by_address, now, window).await?),
        })
    }

    /// Forgets `username`'s failures from `address` (after a successful login there).
    pub async fn clear_login_failures(&self, username: &str, address: &str) -> StoreResult<()> {
        self.delete_key(&keys::login_failures_by_user(username, address))
            .await
    }

    /// Forgets `username`'s failures from every address (a super admin's unlock).
    pub async fn clear_all_login_failures(&self, username: &str) -> StoreResult<()> {
        for item in self.user_failure_items(username).await? {
            let sk = item.get(keys::SK).and_then(|v| v.as_s().ok());
            if let Some(sk) = sk {
                let key = Key {
                    pk: keys::login_failures_user_pk(username),
                    sk: sk.clone(),
                };
                self.delete_key(&key).await?;
            }
        }
        Ok(())
    }

    /// The addresses `username` is locked out from (at least `limit` failures) and until when.
    pub async fn login_locks(
        &self,
        username: &str,
        limit: u64,
        now: Timestamp,
    ) -> StoreResult<Vec<(String, Timestamp)>> {
        let mut locks = Vec::new();
        for item in self.user_failure_items(username).await? {
            let address = item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.strip_prefix("ADDR#"))
                .map(str::to_string);
            if let (Some(address), Some(count)) = (address, count_of(&item, now))
                && count.failures >= limit
            {
                locks.push((address, count.window_ends));
            }
        }
        Ok(locks)
    }

    /// Every counter item of `username` (one per address it failed from; few).
    async fn user_failure_items(
        &self,
        username: &str,
    ) -> StoreResult<Vec<HashMap<String, AttributeValue>>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::login_failures_user_pk(username)),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    async fn failure_count(&self, key: &Key, now: Timestamp) -> StoreResult<Option<FailureCount>> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        Ok(out.item.as_ref().and_then(|item| count_of(item, now)))
    }

    /// One more failure on `key`: `ADD` inside a live window, else a new window. Each step is
    /// conditional, so parallel failures are all counted and exactly one starts a window.
    async fn count_failure(
        &self,
        key: &Key,
        now: Timestamp,
        window: chrono::Duration,
    ) -> StoreResult<FailureCount> {
        let now_secs = AttributeValue::N(now.timestamp().to_string());
        let one = AttributeValue::N("1".into());
        for _ in 0..5 {
            let added = self
                .client()
                .update_item()
                .table_name(self.table())
                .set_key(Some(key_attributes(key)))
                .update_expression("ADD failures :one")
                .condition_expression("#exp > :now")
                .expression_attribute_names("#exp", EXPIRES_AT)
                .expression_attribute_values(":one", one.clone())
                .expression_attribute_values(":now", now_secs.clone())
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match added {
                Ok(out) => {
                    if let Some(count) = out.attributes.as_ref().and_then(|a| count_of(a, now)) {
                        return Ok(count);
                    }
                }
                Err(e) => {
                    let e = StoreError::dynamo("UpdateItem", e);
                    if !e.is_condition_failure() {
                        return Err(e);
                    }
                }
            }
            let ends = (now + window).timestamp();
            let started = self
                .client()
                .update_item()
                .table_name(self.table())
                .set_key(Some(key_attributes(key)))
                .update_expression("SET failures = :one, #exp = :end, #entity = :entity")
                .condition_expression("attribute_not_exists(PK) OR #exp <= :now")
                .expression_attribute_names("#exp", EXPIRES_AT)
                .expression_attribute_names("#entity", keys::ENTITY_TYPE)
                .expression_attribute_values(":one", one.clone())
                .expression_attribute_values(":now", now_secs.clone())
                .expression_attribute_values(":end", AttributeValue::N(ends.to_string()))
                .expression_attribute_values(":entity", AttributeValue::S("login_failures".into()))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match started {
                Ok(out) => {
                    if let Some(count) = out.attributes.as_ref().and_then(|a| count_of(a, now)) {
                        return Ok(count);
                    }
                }
                // Someone else started the window meanwhile: add to it.
                Err(e) => {
                    let e = StoreError::dynamo("UpdateItem", e);
                    if !e.is_condition_failure() {
                        return Err(e);
                    }
                }
            }
        }
        Err(StoreError::Conflict {
            entity: "login_failures",
            id: key.pk.clone(),
            reason: "the counter kept changing",
        })
    }

    async fn delete_key(&self, key: &Key) -> StoreResult<()> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(key)))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("DeleteItem", e))?;
        Ok(())
    }
}
