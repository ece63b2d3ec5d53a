//! Admin users.

use super::keys::{self, IndexKey, Key};
use super::{
    Page, PageRequest, Query, Store, StoreError, StoreResult, Stored, key_attributes, to_item,
};
use crate::domain::AdminUser;
use aws_sdk_dynamodb::types::AttributeValue;

impl Stored for AdminUser {
    const ENTITY: &'static str = "admin";

    fn key(&self) -> Key {
        keys::admin(&self.username)
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        vec![keys::admin_list(&self.username)]
    }
}

impl Store {
    /// Adds an admin; `Conflict` if the username is taken.
    pub async fn create_admin(&self, admin: &AdminUser) -> StoreResult<()> {
        self.create(admin, admin.username.clone()).await
    }

    /// One admin, if it exists.
    pub async fn find_admin(&self, username: &str) -> StoreResult<Option<AdminUser>> {
        self.get(&keys::admin(username)).await
    }

    /// Replaces an existing admin read at session epoch `read_epoch`; `Conflict` if its
    /// sessions were ended (or it was changed so) meanwhile, so an edit made from a stale read
    /// can never bring ended sessions back.
    pub async fn update_admin(&self, admin: &AdminUser, read_epoch: u64) -> StoreResult<()> {
        let condition = if read_epoch == 0 {
            // Items written before epochs existed have none.
            "attribute_exists(PK) AND (attribute_not_exists(session_epoch) OR session_epoch = :e)"
        } else {
            "attribute_exists(PK) AND session_epoch = :e"
        };
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(admin)?))
            .condition_expression(condition)
            .expression_attribute_values(":e", AttributeValue::N(read_epoch.to_string()))
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("PutItem", e).on_condition(
                    "admin",
                    admin.username.clone(),
                    "changed or missing since it was read",
                )
            })?;
        Ok(())
    }

    /// Ends every session of `username` (their tokens fail from the next request on).
    pub async fn end_sessions(&self, username: &str) -> StoreResult<()> {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::admin(username))))
            .update_expression("ADD session_epoch :one")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e).on_missing("admin", username))?;
        Ok(())
    }

    /// Admins by username.
    pub async fn list_admins(&self, page: &PageRequest) -> StoreResult<Page<AdminUser>> {
        self.query(
            &Query::partition(Some(keys::Index::Gsi1), keys::ADMINS),
            page,
        )
        .await
    }

    /// Removes an admin.
    pub async fn delete_admin(&self, username: &str) -> StoreResult<()> {
        self.delete_existing("admin", &keys::admin(username), username)
            .await
    }
}
