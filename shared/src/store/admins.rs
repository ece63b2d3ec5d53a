//! Admin users.

use super::keys::{self, IndexKey, Key};
use super::{Page, PageRequest, Query, Store, StoreError, StoreResult, Stored, to_item};
use crate::domain::AdminUser;

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

    /// Replaces an existing admin.
    pub async fn update_admin(&self, admin: &AdminUser) -> StoreResult<()> {
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(admin)?))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("PutItem", e).on_missing("admin", admin.username.clone())
            })?;
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
