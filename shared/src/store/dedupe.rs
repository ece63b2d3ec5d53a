//! Callback dedupe markers: WeChat retries a callback up to three times, and each event must
//! apply once. A marker is claimed as "applying" with a lease before the event is applied
//! and marked "applied" after, so a retry that arrives while the first attempt is still
//! applying is told to come back (503) instead of being answered "success" for an event that
//! may yet fail. Markers expire through the table's TTL.

use super::keys::{self, EXPIRES_AT, PK, SK};
use super::{Store, StoreError, StoreResult};
use crate::domain::{AccountId, Timestamp};
use aws_sdk_dynamodb::types::AttributeValue;

const STATE: &str = "state";
const OWNER: &str = "owner";
const LEASE_UNTIL: &str = "lease_until";
const APPLYING: &str = "applying";
const APPLIED: &str = "applied";

/// What a claim of a callback's dedupe marker found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackClaim {
    /// First sighting (or a lease that ran out): this attempt applies the event.
    First,
    /// Another attempt is applying it now: answer so that WeChat retries later.
    Applying,
    /// It was applied: answer without applying again.
    Applied,
}

impl Store {
    /// Claims `dedupe_key` of `account` for `owner` (one attempt) until `lease_until`; the
    /// marker lives until `expires`.
    pub async fn claim_callback(
        &self,
        account: &AccountId,
        dedupe_key: &str,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<CallbackClaim> {
        let key = keys::dedupe(account, dedupe_key);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item(PK, AttributeValue::S(key.pk.clone()))
            .item(SK, AttributeValue::S(key.sk.clone()))
            .item(STATE, AttributeValue::S(APPLYING.into()))
            .item(OWNER, AttributeValue::S(owner.into()))
            .item(LEASE_UNTIL, epoch(lease_until))
            .item(EXPIRES_AT, epoch(expires))
            // Free, expired (not yet swept by TTL), or an attempt that died while applying.
            .condition_expression(
                "attribute_not_exists(PK) OR #exp < :now OR (#state = :applying AND #lease < :now)",
            )
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#lease", LEASE_UNTIL)
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":applying", AttributeValue::S(APPLYING.into()))
            .send()
            .await;
        if super::error::applied("PutItem", result)? {
            return Ok(CallbackClaim::First);
        }
        let current = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(super::key_attributes(&key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?
            .item;
        let Some(item) = current else {
            // Released between the two calls: the attempt that held it failed; WeChat's
            // next retry claims it.
            return Ok(CallbackClaim::Applying);
        };
        let state = item
            .get(STATE)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str);
        Ok(match state {
            Some(APPLYING) => CallbackClaim::Applying,
            // Markers written before leases existed carry no state: they were applied.
            _ => CallbackClaim::Applied,
        })
    }

    /// Marks the event applied (only if `owner` still holds the claim). Returns false if
    /// the lease was taken over meanwhile.
    pub async fn finish_callback(
        &self,
        account: &AccountId,
        dedupe_key: &str,
        owner: &str,
    ) -> StoreResult<bool> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(super::key_attributes(&keys::dedupe(
                account, dedupe_key,
            ))))
            .update_expression("SET #state = :applied REMOVE #lease")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#lease", LEASE_UNTIL)
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_values(":applied", AttributeValue::S(APPLIED.into()))
            .expression_attribute_values(":owner", AttributeValue::S(owner.into()))
            .send()
            .await;
        super::error::applied("UpdateItem", result)
    }

    /// Releases `owner`'s claim after a failed apply, so that WeChat's retry applies the
    /// event (a claim taken over by another attempt is left alone).
    pub async fn release_callback(
        &self,
        account: &AccountId,
        dedupe_key: &str,
        owner: &str,
    ) -> StoreResult<()> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(super::key_attributes(&keys::dedupe(
                account, dedupe_key,
            ))))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_values(":owner", AttributeValue::S(owner.into()))
            .send()
            .await;
        super::error::applied("DeleteItem", result).map(|_| ())
    }
}

fn epoch(at: Timestamp) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}
