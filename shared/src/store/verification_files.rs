//! Domain verification files: one item by name (what the public route reads) and one under
//! the account (what the console shows), written together so they never disagree.

use super::keys::{self, Key};
use super::{Store, StoreError, StoreResult, Stored, key_attributes, to_item};
use crate::domain::{AccountId, VerificationFile};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

/// The file under its name.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct ByName(VerificationFile);

impl Stored for ByName {
    const ENTITY: &'static str = "verification_file";

    fn key(&self) -> Key {
        keys::verification_file(&self.0.name)
    }
}

/// The file under its account.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct ByAccount(VerificationFile);

impl Stored for ByAccount {
    const ENTITY: &'static str = "account_verification_file";

    fn key(&self) -> Key {
        keys::account_verification_file(&self.0.account_id)
    }
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Dynamo {
        operation: "TransactWriteItems",
        code: "Build".into(),
        message: e.to_string(),
    }
}

impl Store {
    /// The file WeChat fetches as `/<name>`, if an account has one by that name.
    pub async fn get_verification_file(&self, name: &str) -> StoreResult<Option<VerificationFile>> {
        Ok(self
            .get::<ByName>(&keys::verification_file(name))
            .await?
            .map(|f| f.0))
    }

    /// An account's file, if it has one.
    pub async fn account_verification_file(
        &self,
        account: &AccountId,
    ) -> StoreResult<Option<VerificationFile>> {
        Ok(self
            .get::<ByAccount>(&keys::account_verification_file(account))
            .await?
            .map(|f| f.0))
    }

    /// Sets `file` as its account's file, replacing `previous` (the name read before, `None`
    /// if it had none). `Conflict` when another account has a file by that name, or the
    /// account's file changed since `previous` was read.
    pub async fn set_verification_file(
        &self,
        file: &VerificationFile,
        previous: Option<&str>,
    ) -> StoreResult<()> {
        let me = AttributeValue::S(file.account_id.to_string());
        let by_name = Put::builder()
            .table_name(self.table())
            .set_item(Some(to_item(&ByName(file.clone()))?))
            .condition_expression("attribute_not_exists(PK) OR account_id = :me")
            .expression_attribute_values(":me", me.clone())
            .build()
            .map_err(build_error)?;
        let mut by_account = Put::builder()
            .table_name(self.table())
            .set_item(Some(to_item(&ByAccount(file.clone()))?));
        by_account = match previous {
            None => by_account.condition_expression("attribute_not_exists(PK)"),
            Some(name) => by_account
                .condition_expression("#name = :previous")
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":previous", AttributeValue::S(name.to_string())),
        };
        let mut items = vec![
            TransactWriteItem::builder().put(by_name).build(),
            TransactWriteItem::builder()
                .put(by_account.build().map_err(build_error)?)
                .build(),
        ];
        if let Some(old) = previous.filter(|old| *old != file.name) {
            let delete = Delete::builder()
                .table_name(self.table())
                .set_key(Some(key_attributes(&keys::verification_file(old))))
                .condition_expression("attribute_not_exists(PK) OR account_id = :me")
                .expression_attribute_values(":me", me)
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        self.client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("TransactWriteItems", e).on_condition(
                    "verification_file",
                    file.name.clone(),
                    "name used by another account, or the account's file changed meanwhile",
                )
            })?;
        Ok(())
    }

    /// Removes an account's file; `NotFound` if it has none.
    pub async fn delete_verification_file(&self, account: &AccountId) -> StoreResult<()> {
        let file = self
            .account_verification_file(account)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: "account_verification_file",
                id: account.to_string(),
            })?;
        let items = verification_deletes(self, &file)?;
        self.client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("TransactWriteItems", e).on_condition(
                    "verification_file",
                    file.name.clone(),
                    "the account's file changed meanwhile",
                )
            })?;
        Ok(())
    }
}

/// The deletes that remove `file` (both items), each only if still `file`'s.
pub(super) fn verification_deletes(
    store: &Store,
    file: &VerificationFile,
) -> StoreResult<Vec<TransactWriteItem>> {
    let delete = |key: Key| {
        Delete::builder()
            .table_name(store.table())
            .set_key(Some(key_attributes(&key)))
            .condition_expression(
                "attribute_not_exists(PK) OR (#name = :name AND account_id = :me)",
            )
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", AttributeValue::S(file.name.clone()))
            .expression_attribute_values(":me", AttributeValue::S(file.account_id.to_string()))
            .build()
            .map(|d| TransactWriteItem::builder().delete(d).build())
            .map_err(build_error)
    };
    Ok(vec![
        delete(keys::verification_file(&file.name))?,
        delete(keys::account_verification_file(&file.account_id))?,
    ])
}
