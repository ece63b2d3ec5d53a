//! Follower-sync runs (with their checkpoints) and the per-account sync lease.

use super::keys::{self, Index, IndexKey, Key};
use super::{Page, PageRequest, Query, Store, StoreResult, Stored, key_attributes};
use crate::domain::{AccountId, Scope, SyncRun, SyncRunId, Timestamp, sort_key_time};
use aws_sdk_dynamodb::types::AttributeValue;

impl Stored for SyncRun {
    const ENTITY: &'static str = "sync_run";

    fn key(&self) -> Key {
        keys::sync_run(&self.account_id, self.id)
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        vec![keys::sync_run_history(self.id)]
    }
}

impl Store {
    /// Writes a sync run (its checkpoint and counts), creating or replacing it.
    pub async fn save_sync_run(&self, run: &SyncRun) -> StoreResult<()> {
        self.put(run).await
    }

    /// One sync run.
    pub async fn get_sync_run(&self, account: &AccountId, id: SyncRunId) -> StoreResult<SyncRun> {
        self.get_required(&keys::sync_run(account, id), id.to_string())
            .await
    }

    /// Runs of one account, newest first.
    pub async fn list_sync_runs(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> StoreResult<Page<SyncRun>> {
        let query = Query::partition(None, keys::account_pk(account))
            .begins_with(keys::SYNC_RUN_PREFIX)
            .reversed();
        self.query(&query, page).await
    }

    /// Runs of every account in `scope`, newest first.
    pub async fn list_all_sync_runs(
        &self,
        scope: &Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<SyncRun>> {
        self.query_where(
            &Query::partition(Some(Index::Gsi2), keys::SYNC_RUNS).reversed(),
            page,
            |run: &SyncRun| scope.contains(&run.account_id),
        )
        .await
    }

    /// Takes the account's sync lease for `owner` until `until`, if it is free or expired
    /// (or already `owner`'s). Returns false if another run holds it.
    pub async fn acquire_sync_lease(
        &self,
        account: &AccountId,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool> {
        let key = keys::sync_lease(account);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(
                [
                    (keys::PK.to_string(), AttributeValue::S(key.pk)),
                    (keys::SK.to_string(), AttributeValue::S(key.sk)),
                    ("owner".to_string(), AttributeValue::S(owner.to_string())),
                    ("until".to_string(), AttributeValue::S(sort_key_time(until))),
                    (
                        keys::EXPIRES_AT.to_string(),
                        AttributeValue::N(until.timestamp().to_string()),
                    ),
                ]
                .into(),
            ))
            .condition_expression("attribute_not_exists(PK) OR #until < :now OR #owner = :owner")
            .expression_attribute_names("#until", "until")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", AttributeValue::S(sort_key_time(now)))
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_string()))
            .send()
            .await;
        super::error::applied("PutItem", result)
    }

    /// Gives the lease back if `owner` still holds it.
    pub async fn release_sync_lease(&self, account: &AccountId, owner: &str) -> StoreResult<()> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::sync_lease(account))))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_string()))
            .send()
            .await;
        // Someone else holds it now (ours expired): nothing of ours to release.
        super::error::applied("DeleteItem", result).map(|_| ())
    }
}
