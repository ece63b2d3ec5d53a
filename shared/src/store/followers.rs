//! Followers: by (account, openid), paged per account or per subscribe state and time,
//! across accounts by unionid.

use super::keys::{self, Index, IndexKey, Key};
use super::{
    Filter, Page, PageRequest, Query, Store, StoreError, StoreResult, Stored, key_attributes,
    to_item,
};
use crate::domain::{AccountId, Follower, Timestamp, sort_key_time};
use aws_sdk_dynamodb::types::{AttributeValue, Put, Select, TransactWriteItem, Update};
use std::collections::HashMap;

impl Stored for Follower {
    const ENTITY: &'static str = "follower";

    fn key(&self) -> Key {
        keys::follower(&self.account_id, &self.openid)
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        let mut out = vec![keys::follower_by_state(
            &self.account_id,
            self.subscribed,
            if self.subscribed {
                self.subscribe_time
            } else {
                self.unsubscribed_at
            },
            &self.openid,
        )];
        if let Some(unionid) = self.unionid.as_deref().filter(|u| !u.is_empty()) {
            out.push(keys::follower_by_union(unionid, &self.account_id));
        }
        out
    }

    fn search_text(&self) -> Option<String> {
        (!self.remark.is_empty()).then(|| self.remark.clone())
    }
}

/// Which followers of one account to list.
#[derive(Debug, Clone, Default)]
pub struct FollowerFilter {
    /// Only followers in this state (uses the by-state index, ordered by subscribe time).
    pub subscribed: Option<bool>,
    /// Subscribed (or, for unfollowers, unsubscribed) at or after (needs `subscribed`).
    pub subscribed_from: Option<Timestamp>,
    /// Subscribed (or unsubscribed) at or before (needs `subscribed`).
    pub subscribed_to: Option<Timestamp>,
    /// Remark contains (case-insensitive).
    pub remark: Option<String>,
    /// Carries this WeChat tag.
    pub tag_id: Option<u32>,
}

impl Store {
    /// Creates or replaces a follower.
    pub async fn put_follower(&self, follower: &Follower) -> StoreResult<()> {
        self.put(follower).await
    }

    /// One follower, if known.
    pub async fn find_follower(
        &self,
        account: &AccountId,
        openid: &str,
    ) -> StoreResult<Option<Follower>> {
        self.get(&keys::follower(account, openid)).await
    }

    /// One follower.
    pub async fn get_follower(&self, account: &AccountId, openid: &str) -> StoreResult<Follower> {
        self.get_required(
            &keys::follower(account, openid),
            format!("{account}/{openid}"),
        )
        .await
    }

    /// Followers of an account. Without a state filter: by openid; with one: by subscribe time.
    pub async fn list_followers(
        &self,
        account: &AccountId,
        filter: &FollowerFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Follower>> {
        let query = match filter.subscribed {
            None => {
                Query::partition(None, keys::account_pk(account)).begins_with(keys::FOLLOWER_PREFIX)
            }
            Some(subscribed) => {
                let partition = keys::followers_by_state_pk(account, subscribed);
                match (filter.subscribed_from, filter.subscribed_to) {
                    (None, None) => Query::partition(Some(Index::Gsi2), partition),
                    (from, to) => Query::partition(Some(Index::Gsi2), partition).between(
                        from.map(sort_key_time).unwrap_or_else(|| "-".into()),
                        to.map(|t| format!("{}#~", sort_key_time(t)))
                            .unwrap_or_else(|| "~".into()),
                    ),
                }
            }
        };
        let mut clauses = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        if let Some(remark) = filter
            .remark
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            clauses.push("contains(#text, :text)");
            names.insert("#text".into(), super::item::SEARCH_TEXT.into());
            values.insert(":text".into(), AttributeValue::S(remark.to_lowercase()));
        }
        if let Some(tag) = filter.tag_id {
            clauses.push("contains(#tags, :tag)");
            names.insert("#tags".into(), "tag_ids".into());
            values.insert(":tag".into(), AttributeValue::N(tag.to_string()));
        }
        let filter = (!clauses.is_empty()).then(|| Filter {
            expression: clauses.join(" AND "),
            names,
            values,
        });
        self.query(&query.filtered(filter), page).await
    }

    /// The same person (unionid) on every account, e.g. for the follow-gate check.
    pub async fn followers_by_unionid(&self, unionid: &str) -> StoreResult<Vec<Follower>> {
        self.query_all(
            &Query::partition(Some(Index::Gsi3), keys::union_pk(unionid)).begins_with("FOLLOWER#"),
        )
        .await
    }

    /// Marks a follower unsubscribed (kept, never deleted). Returns false if they were not
    /// subscribed (already unsubscribed or unknown), so callers adjust counters only once.
    pub async fn mark_unsubscribed(
        &self,
        account: &AccountId,
        openid: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        // Unfollowers sort by when they left.
        let state = keys::follower_by_state(account, false, Some(at), openid);
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::follower(account, openid))))
            .update_expression("SET subscribed = :f, unsubscribed_at = :at, updated_at = :at, #g2pk = :g2pk, #g2sk = :g2sk")
            .condition_expression("subscribed = :t")
            .expression_attribute_names("#g2pk", Index::Gsi2.pk())
            .expression_attribute_names("#g2sk", Index::Gsi2.sk())
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":at", AttributeValue::S(sort_key_time(at)))
            .expression_attribute_values(":g2pk", AttributeValue::S(state.pk))
            .expression_attribute_values(":g2sk", AttributeValue::S(state.sk))
            .send()
            .await;
        super::error::applied("UpdateItem", result)
    }

    /// Writes `follower` (subscribed) and counts it on its account, in one transaction, unless
    /// it is already a subscribed follower; then it is only written. An attempt cut short can
    /// leave neither a counted follower unwritten nor a written one uncounted, so a retry
    /// counts exactly once. Returns whether it was counted.
    pub async fn subscribe_follower(&self, follower: &Follower) -> StoreResult<bool> {
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(to_item(follower)?))
            .condition_expression("attribute_not_exists(PK) OR subscribed = :f")
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .build()
            .map_err(build_error)?;
        let count = self.count_change(&follower.account_id, 1)?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await;
        if super::error::applied("TransactWriteItems", result)? {
            return Ok(true);
        }
        // Already subscribed (or the account is gone): the follower is written, not counted.
        self.put_follower(follower).await?;
        Ok(false)
    }

    /// Marks a subscribed follower unsubscribed and counts it off its account, in one
    /// transaction; false (nothing changed) if it was not a subscribed follower.
    pub async fn unsubscribe_follower(
        &self,
        account: &AccountId,
        openid: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        // Unfollowers sort by when they left.
        let state = keys::follower_by_state(account, false, Some(at), openid);
        let mark = Update::builder()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::follower(account, openid))))
            .update_expression("SET subscribed = :f, unsubscribed_at = :at, updated_at = :at, #g2pk = :g2pk, #g2sk = :g2sk")
            .condition_expression("subscribed = :t")
            .expression_attribute_names("#g2pk", Index::Gsi2.pk())
            .expression_attribute_names("#g2sk", Index::Gsi2.sk())
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":at", AttributeValue::S(sort_key_time(at)))
            .expression_attribute_values(":g2pk", AttributeValue::S(state.pk))
            .expression_attribute_values(":g2sk", AttributeValue::S(state.sk))
            .build()
            .map_err(build_error)?;
        let count = self.count_change(account, -1)?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(mark).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await;
        super::error::applied("TransactWriteItems", result)
    }

    /// The account's follower count moved by `delta` (inside a transaction).
    fn count_change(&self, account: &AccountId, delta: i64) -> StoreResult<Update> {
        Update::builder()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::account(account))))
            .update_expression("ADD follower_count :d")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":d", AttributeValue::N(delta.to_string()))
            .build()
            .map_err(build_error)
    }

    /// Number of followers of an account in a state (a key-only count query, paged).
    pub async fn count_followers(&self, account: &AccountId, subscribed: bool) -> StoreResult<u64> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(Index::Gsi2.name())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", Index::Gsi2.pk())
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::followers_by_state_pk(account, subscribed)),
                )
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            total += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(total),
            }
        }
    }
}

/// Most items one BatchWriteItem request takes.
pub const BATCH_WRITE_MAX: usize = 25;

/// Attributes of a follower that only the platform knows (not WeChat): a sync update leaves
/// them alone.
const LOCAL_FOLLOWER_ATTRIBUTES: [&str; 3] = ["muted", "last_interaction_at", "unsubscribed_at"];

/// Attributes a sync update removes when WeChat no longer reports them.
const SYNCED_OPTIONAL_ATTRIBUTES: [&str; 7] = [
    "unionid",
    "subscribe_time",
    "subscribe_scene",
    "qr_scene",
    "language",
    super::item::SEARCH_TEXT,
    "GSI3PK",
];

impl Store {
    /// Writes new followers with BatchWriteItem (25 per request), resending what DynamoDB
    /// leaves unprocessed with backoff. Returns the number of requests made.
    pub async fn put_followers(&self, followers: &[Follower]) -> StoreResult<u64> {
        let mut requests = 0u64;
        for chunk in followers.chunks(BATCH_WRITE_MAX) {
            let mut writes = chunk
                .iter()
                .map(|f| {
                    let put = aws_sdk_dynamodb::types::PutRequest::builder()
                        .set_item(Some(super::to_item(f)?))
                        .build()
                        .map_err(|e| StoreError::Dynamo {
                            operation: "BatchWriteItem",
                            code: "Build".into(),
                            message: e.to_string(),
                        })?;
                    Ok(aws_sdk_dynamodb::types::WriteRequest::builder()
                        .put_request(put)
                        .build())
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let mut attempt = 0u32;
            while !writes.is_empty() {
                if attempt > 0 {
                    // Unprocessed items mean throttling: back off before resending them.
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(6)))
                        .await;
                }
                requests += 1;
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), writes)
                    .send()
                    .await
                    .map_err(|e| StoreError::dynamo("BatchWriteItem", e))?;
                writes = out
                    .unprocessed_items
                    .and_then(|mut left| left.remove(self.table()))
                    .unwrap_or_default();
                attempt += 1;
                if attempt > 10 && !writes.is_empty() {
                    return Err(StoreError::Dynamo {
                        operation: "BatchWriteItem",
                        code: "UnprocessedItems".into(),
                        message: format!(
                            "{} items still unprocessed after 10 retries",
                            writes.len()
                        ),
                    });
                }
            }
        }
        Ok(requests)
    }

    /// Overwrites the WeChat-sourced fields of a known follower (and its index entries) in one
    /// UpdateItem, keeping what only the platform knows (muted, last interaction, when they
    /// last unfollowed). A follower that is not in the table is written whole.
    pub async fn update_synced_follower(&self, follower: &Follower) -> StoreResult<()> {
        let mut item = super::to_item(follower)?;
        item.remove(keys::PK);
        item.remove(keys::SK);
        for local in LOCAL_FOLLOWER_ATTRIBUTES {
            item.remove(local);
        }
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut sets = Vec::new();
        for (i, (name, value)) in item.into_iter().enumerate() {
            names.insert(format!("#s{i}"), name);
            values.insert(format!(":s{i}"), value);
            sets.push(format!("#s{i} = :s{i}"));
        }
        let mut removes = Vec::new();
        for (i, name) in SYNCED_OPTIONAL_ATTRIBUTES.iter().enumerate() {
            if !names.values().any(|n| n == name) {
                names.insert(format!("#r{i}"), (*name).to_string());
                removes.push(format!("#r{i}"));
            }
        }
        if removes
            .iter()
            .any(|r| names.get(r).is_some_and(|n| n == "GSI3PK"))
        {
            names.insert("#rsk".into(), Index::Gsi3.sk().to_string());
            removes.push("#rsk".into());
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        names.insert("#pk".into(), keys::PK.into());
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&follower.key())))
            .update_expression(expression)
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        if super::error::applied("UpdateItem", result)? {
            Ok(())
        } else {
            self.put(follower).await
        }
    }

    /// Visits every follower of an account (subscribed or not) in key order, one query page
    /// (up to 1 MB) at a time, so memory stays flat however many there are.
    pub async fn for_each_follower(
        &self,
        account: &AccountId,
        mut visit: impl FnMut(Follower),
    ) -> StoreResult<()> {
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :sk)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", AttributeValue::S(keys::account_pk(account)))
                .expression_attribute_values(
                    ":sk",
                    AttributeValue::S(keys::FOLLOWER_PREFIX.to_string()),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            for item in out.items.unwrap_or_default() {
                visit(super::from_item(item)?);
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(()),
            }
        }
    }
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Dynamo {
        operation: "TransactWriteItems",
        code: "Build".into(),
        message: e.to_string(),
    }
}
