//! Accounts and their sealed credentials (a separate item, so that no account read or list
//! can carry secrets by accident).

use super::keys::{self, IndexKey, Key};
use super::{Page, PageRequest};
use super::{Query, Store, StoreError, StoreResult, Stored, key_attributes, to_item};
use crate::domain::{Account, AccountId, AccountKind, AccountSecrets, Scope, now};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

/// The account attribute that counts followers (moved by callbacks and syncs only).
const FOLLOWER_COUNT: &str = "follower_count";

impl Stored for Account {
    const ENTITY: &'static str = "account";

    fn key(&self) -> Key {
        keys::account(&self.id)
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        vec![keys::account_list(self.kind, &self.id)]
    }
}

/// The item holding an account's sealed credentials.
#[derive(Serialize, Deserialize)]
struct SealedSecrets {
    account_id: AccountId,
    sealed: String,
}

impl Stored for SealedSecrets {
    const ENTITY: &'static str = "account_secrets";

    fn key(&self) -> Key {
        secrets_key(&self.account_id)
    }
}

fn secrets_key(id: &AccountId) -> Key {
    Key {
        pk: keys::account_pk(id),
        sk: "SECRETS".into(),
    }
}

impl Store {
    fn seal(&self, id: &AccountId, secrets: &AccountSecrets) -> StoreResult<SealedSecrets> {
        let json =
            serde_json::to_vec(secrets).map_err(|_| crate::secrets::SecretsError::CannotOpen)?;
        Ok(SealedSecrets {
            account_id: id.clone(),
            sealed: self.secrets().seal(&json)?,
        })
    }

    /// Adds an account with its credentials; `Conflict` if the id is taken.
    pub async fn create_account(
        &self,
        account: &Account,
        secrets: &AccountSecrets,
    ) -> StoreResult<()> {
        let sealed = self.seal(&account.id, secrets)?;
        let put = |item| {
            Put::builder()
                .table_name(self.table())
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map(|put| TransactWriteItem::builder().put(put).build())
        };
        let items = [put(to_item(account)?), put(to_item(&sealed)?)]
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Dynamo {
                operation: "TransactWriteItems",
                code: "Build".into(),
                message: e.to_string(),
            })?;
        self.client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("TransactWriteItems", e).on_condition(
                    "account",
                    account.id.as_str(),
                    "already exists",
                )
            })?;
        Ok(())
    }

    /// Replaces an existing account's attributes (not its credentials).
    pub async fn update_account(&self, account: &Account) -> StoreResult<()> {
        let mut account = account.clone();
        account.updated_at = now();
        // Every attribute but the keys and the follower count, which callbacks and syncs
        // move concurrently: an edit made from a stale read must not put an old count back.
        let mut item = to_item(&account)?;
        for kept in ["PK", "SK", FOLLOWER_COUNT] {
            item.remove(kept);
        }
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::account(&account.id))))
            .condition_expression("attribute_exists(PK)");
        // Optional fields the edit cleared are removed, as a whole-item write would.
        let cleared: Vec<String> = serde_dynamo::to_item::<_, super::item::Item>(&account)
            .map_err(|source| StoreError::Malformed {
                entity: "account",
                source,
            })?
            .into_iter()
            .filter(|(_, v)| matches!(v, AttributeValue::Null(_)))
            .map(|(name, _)| name)
            .collect();
        let mut sets = Vec::with_capacity(item.len());
        for (i, (name, value)) in item.into_iter().enumerate() {
            sets.push(format!("#a{i} = :v{i}"));
            request = request
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), value);
        }
        let mut removes = Vec::with_capacity(cleared.len());
        for (i, name) in cleared.into_iter().enumerate() {
            removes.push(format!("#r{i}"));
            request = request.expression_attribute_names(format!("#r{i}"), name);
        }
        let mut update = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        request
            .update_expression(update)
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("UpdateItem", e).on_missing("account", account.id.to_string())
            })?;
        Ok(())
    }

    /// Replaces an account's credentials.
    pub async fn set_account_secrets(
        &self,
        id: &AccountId,
        secrets: &AccountSecrets,
    ) -> StoreResult<()> {
        self.get_account(id).await?;
        self.put(&self.seal(id, secrets)?).await
    }

    /// One account.
    pub async fn get_account(&self, id: &AccountId) -> StoreResult<Account> {
        self.get_required(&keys::account(id), id.as_str()).await
    }

    /// One account's credentials, opened.
    pub async fn get_account_secrets(&self, id: &AccountId) -> StoreResult<AccountSecrets> {
        let sealed: SealedSecrets = self.get_required(&secrets_key(id), id.as_str()).await?;
        let json = self.secrets().open(&sealed.sealed)?;
        serde_json::from_slice(&json).map_err(|_| crate::secrets::SecretsError::CannotOpen.into())
    }

    /// Accounts, optionally of one kind, ordered by kind then id.
    pub async fn list_accounts(
        &self,
        kind: Option<AccountKind>,
        scope: &Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<Account>> {
        let mut query = Query::partition(Some(keys::Index::Gsi1), keys::ACCOUNTS);
        if let Some(kind) = kind {
            query = query.begins_with(format!("{}#", kind.as_str()));
        }
        self.query_where(&query, page, |account: &Account| {
            scope.contains(&account.id)
        })
        .await
    }

    /// Every account (there are few), for the nightly sync and the gateway.
    pub async fn all_accounts(&self) -> StoreResult<Vec<Account>> {
        self.query_all(&Query::partition(Some(keys::Index::Gsi1), keys::ACCOUNTS))
            .await
    }

    /// Adds `delta` to an account's follower count atomically.
    pub async fn adjust_follower_count(&self, id: &AccountId, delta: i64) -> StoreResult<()> {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::account(id))))
            .update_expression(format!("ADD {FOLLOWER_COUNT} :d"))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":d", AttributeValue::N(delta.to_string()))
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("UpdateItem", e).on_missing("account", id.to_string())
            })?;
        Ok(())
    }

    /// Sets an account's follower count to WeChat's own total (after a completed sync).
    pub async fn set_follower_count(&self, id: &AccountId, count: u64) -> StoreResult<()> {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::account(id))))
            .update_expression(format!("SET {FOLLOWER_COUNT} = :n"))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("UpdateItem", e).on_missing("account", id.to_string())
            })?;
        Ok(())
    }

    /// Removes an account and its credentials. Its followers and records stay (history).
    pub async fn delete_account(&self, id: &AccountId) -> StoreResult<()> {
        let delete = |key: Key, condition: bool| {
            let mut builder = Delete::builder()
                .table_name(self.table())
                .set_key(Some(key_attributes(&key)));
            if condition {
                builder = builder.condition_expression("attribute_exists(PK)");
            }
            builder
                .build()
                .map(|d| TransactWriteItem::builder().delete(d).build())
        };
        let mut items = [
            delete(keys::account(id), true),
            delete(secrets_key(id), false),
        ]
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Dynamo {
            operation: "TransactWriteItems",
            code: "Build".into(),
            message: e.to_string(),
        })?;
        // Its domain verification file goes too: the name must not keep serving for it.
        if let Some(file) = self.account_verification_file(id).await? {
            items.extend(super::verification_files::verification_deletes(
                self, &file,
            )?);
        }
        self.client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("TransactWriteItems", e).on_missing("account", id.to_string())
            })?;
        Ok(())
    }
}
