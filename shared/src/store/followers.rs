//! Followers: by (account, openid), paged per account or per subscribe state and time,
//! across accounts by unionid.

use super::keys::{self, Index, IndexKey, Key};
use super::{
    Filter, Page, PageRequest, Query, Store, StoreError, StoreResult, Stored, key_attributes,
};
use crate::domain::{AccountId, Follower, Timestamp, sort_key_time};
use aws_sdk_dynamodb::types::{AttributeValue, Select};
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
