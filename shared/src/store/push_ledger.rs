//! A push's batch ledger: which recipient batches were counted, and what they counted.
//!
//! It lives in a few small items beside the push (partition `PUSH#<id>#LEDGER`, one item per
//! shard), not on the push item. DynamoDB bills an update by the size of the whole item and
//! of its index copies, and the push item is updated for every delivery receipt: a set of
//! counted batch names on it grew by ~11 bytes per 100 recipients, so that at 1,000,000
//! recipients each receipt cost ~170 write units instead of 3, and beyond ~3.5 million the item
//! would have passed DynamoDB's 400 KB limit. Readers add the ledger to the push's counters.

use super::keys;
use super::{CounterDelta, Store, StoreError, StoreResult, key_attributes};
use crate::domain::{Push, PushId, Timestamp, sort_key_time};
use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Ledger items per push; a batch's item comes from a hash of its name. 32 keep each item
/// under ~4 KB for a push of 1,000,000 recipients (10,000 batch names of ~11 bytes).
pub const LEDGER_SHARDS: u16 = 32;

const COUNTED_BATCHES: &str = "counted_batches";
const LAST_COUNTED_AT: &str = "last_counted_at";

/// The ledger shard of a batch.
pub fn ledger_shard(batch: &str) -> u16 {
    let digest = Sha256::digest(batch.as_bytes());
    u16::from_be_bytes([digest[0], digest[1]]) % LEDGER_SHARDS
}

fn delta_fields(delta: &CounterDelta) -> [(&'static str, i64); 4] {
    [
        ("targeted", delta.targeted),
        ("sent", delta.sent),
        ("skipped", delta.skipped),
        ("failed", delta.failed),
    ]
}

fn read_i64(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    }
}

fn add(counter: &mut u64, delta: i64) {
    *counter = counter.saturating_add_signed(delta);
}

impl Store {
    /// Adds one recipient batch's outcome to the push's counts exactly once: the batch's name
    /// joins its ledger item's `counted_batches` set in the same conditional update that adds
    /// its counts. Returns false if the batch was counted before (a redelivered or duplicated
    /// batch message). One item, one conditional write: no transaction to conflict or roll
    /// back.
    pub async fn count_push_batch(
        &self,
        id: PushId,
        batch: &str,
        delta: CounterDelta,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let mut adds = vec![format!("{COUNTED_BATCHES} :batches")];
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::push_ledger(
                id,
                ledger_shard(batch),
            ))))
            .condition_expression(format!("NOT contains({COUNTED_BATCHES}, :batch)"))
            .expression_attribute_values(":batches", AttributeValue::Ss(vec![batch.to_string()]))
            .expression_attribute_values(":batch", AttributeValue::S(batch.to_string()))
            .expression_attribute_values(":at", AttributeValue::S(sort_key_time(at)));
        // Top-level attributes: ADD creates them on the shard's first batch.
        for (name, value) in delta_fields(&delta) {
            adds.push(format!("{name} :{name}"));
            request = request.expression_attribute_values(
                format!(":{name}"),
                AttributeValue::N(value.to_string()),
            );
        }
        let result = request
            .update_expression(format!(
                "SET {LAST_COUNTED_AT} = :at ADD {}",
                adds.join(", ")
            ))
            .send()
            .await;
        super::error::applied("UpdateItem", result)
    }

    /// The counts of every batch of a push counted so far (strongly consistent).
    pub async fn push_ledger_totals(&self, id: PushId) -> StoreResult<CounterDelta> {
        let mut totals = CounterDelta::default();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(keys::push_ledger_pk(id)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            for item in out.items() {
                totals.targeted += read_i64(item, "targeted");
                totals.sent += read_i64(item, "sent");
                totals.skipped += read_i64(item, "skipped");
                totals.failed += read_i64(item, "failed");
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(totals),
            }
        }
    }

    /// `push` with its ledger's counts added to its counters.
    pub(crate) async fn with_ledger(&self, mut push: Push) -> StoreResult<Push> {
        let ledger = self.push_ledger_totals(push.id).await?;
        let c = &mut push.counters;
        add(&mut c.targeted, ledger.targeted);
        add(&mut c.sent, ledger.sent);
        add(&mut c.skipped, ledger.skipped);
        add(&mut c.failed, ledger.failed);
        Ok(push)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(ledger_shard("0000003-007"), ledger_shard("0000003-007"));
        let mut used = std::collections::HashSet::new();
        for page in 0..1000 {
            for i in 0..10 {
                let shard = ledger_shard(&format!("{page:07}-{i:03}"));
                assert!(shard < LEDGER_SHARDS);
                used.insert(shard);
            }
        }
        assert_eq!(used.len(), usize::from(LEDGER_SHARDS));
    }
}
