//! The DynamoDB store: one table (see [`keys`] for the layout), typed repositories per entity.

mod accounts;
mod admins;
mod audit;
mod callback_replay;
mod consents;
mod courses;
mod dedupe;
mod deliveries;
mod error;
mod follower_lookup;
mod followers;
mod item;
pub mod keys;
mod login_throttle;
mod page;
mod parked_receipts;
mod push_ledger;
mod push_progress;
mod pushes;
pub mod schema;
mod signups;
mod sync_runs;
mod verification_files;

pub use consents::ConsentChange;
pub use courses::CourseFilter;
pub use dedupe::CallbackClaim;
pub use deliveries::DeliveryFilter;
pub use error::{StoreError, StoreResult};
pub use followers::FollowerFilter;
pub use item::{Item, Stored, from_item, key_attributes, to_item};
pub use login_throttle::{FailureCount, LoginFailures};
pub use page::{DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest};
pub use push_ledger::{LEDGER_SHARDS, ledger_shard};
pub use push_progress::{PlanCheckpoint, PushProgress};
pub use pushes::CounterDelta;

use crate::secrets::SecretBox;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use keys::{Index, Key, PK, SK};
use std::collections::HashMap;
use std::sync::Arc;

/// Typed access to the platform's single DynamoDB table. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: Arc<str>,
    secrets: SecretBox,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// A sort-key condition of a query.
#[derive(Debug, Clone)]
pub(crate) enum SortKey {
    /// Any sort key.
    Any,
    /// Sort keys beginning with this prefix.
    BeginsWith(String),
    /// Sort keys in this inclusive range.
    Between(String, String),
}

/// A filter applied after the key condition (costs the read of filtered-out items).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

/// A query of one partition of the table or of an index.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub index: Option<Index>,
    pub partition: String,
    pub sort: SortKey,
    pub filter: Option<Filter>,
    pub newest_first: bool,
}

impl Query {
    /// All items of a partition, in sort-key order.
    pub fn partition(index: Option<Index>, partition: impl Into<String>) -> Self {
        Self {
            index,
            partition: partition.into(),
            sort: SortKey::Any,
            filter: None,
            newest_first: false,
        }
    }

    /// Only sort keys with this prefix.
    pub fn begins_with(mut self, prefix: impl Into<String>) -> Self {
        self.sort = SortKey::BeginsWith(prefix.into());
        self
    }

    /// Only sort keys in `[from, to]`.
    pub fn between(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.sort = SortKey::Between(from.into(), to.into());
        self
    }

    /// Descending sort-key order.
    pub fn reversed(mut self) -> Self {
        self.newest_first = true;
        self
    }

    /// With a filter.
    pub fn filtered(mut self, filter: Option<Filter>) -> Self {
        self.filter = filter;
        self
    }

    fn key_attributes(&self) -> Vec<&'static str> {
        match self.index {
            None => vec![PK, SK],
            Some(index) => vec![PK, SK, index.pk(), index.sk()],
        }
    }

    fn partition_attribute(&self) -> &'static str {
        self.index.map_or(PK, Index::pk)
    }
}

impl Store {
    /// A store over `table`, sealing account secrets with `secrets`.
    pub fn new(client: Client, table: impl Into<String>, secrets: SecretBox) -> Self {
        Self {
            client,
            table: Arc::from(table.into()),
            secrets,
        }
    }

    /// The DynamoDB client (for services such as the token cache that own their items).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Checks the table is reachable (health endpoint).
    pub async fn ping(&self) -> StoreResult<()> {
        self.client
            .describe_table()
            .table_name(self.table())
            .send()
            .await
            .map_err(|e| StoreError::dynamo("DescribeTable", e))?;
        Ok(())
    }

    /// Writes `value` unconditionally (create or replace).
    pub(crate) async fn put<T: Stored>(&self, value: &T) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(value)?))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("PutItem", e))?;
        Ok(())
    }

    /// Writes `value` only if no item has its key.
    pub(crate) async fn create<T: Stored>(
        &self,
        value: &T,
        id: impl Into<String>,
    ) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(value)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("PutItem", e).on_condition(T::ENTITY, id, "already exists")
            })?;
        Ok(())
    }

    /// Reads one item by key.
    pub(crate) async fn get<T: Stored>(&self, key: &Key) -> StoreResult<Option<T>> {
        let out = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(key)))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        out.item.map(from_item).transpose()
    }

    /// Reads one item by key, `NotFound` when absent.
    pub(crate) async fn get_required<T: Stored>(
        &self,
        key: &Key,
        id: impl Into<String>,
    ) -> StoreResult<T> {
        self.get(key).await?.ok_or_else(|| StoreError::NotFound {
            entity: T::ENTITY,
            id: id.into(),
        })
    }

    /// Deletes one item; `NotFound` if it did not exist.
    pub(crate) async fn delete_existing(
        &self,
        entity: &'static str,
        key: &Key,
        id: impl Into<String>,
    ) -> StoreResult<()> {
        let id = id.into();
        self.client
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(key)))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await
            .map_err(|e| StoreError::dynamo("DeleteItem", e).on_missing(entity, id))?;
        Ok(())
    }

    /// Reads one page of a query. With a filter, DynamoDB may return fewer matches than
    /// asked per request, so this keeps reading until the page is full or the partition ends;
    /// the cursor is then the key of the last item returned.
    pub(crate) async fn query<T: Stored>(
        &self,
        query: &Query,
        page: &PageRequest,
    ) -> StoreResult<Page<T>> {
        self.query_where(query, page, |_: &T| true).await
    }

    /// Reads one page of a query, keeping only the items `keep` accepts (an admin's scope:
    /// which items a caller may see is decided on the decoded item, once, here). Reads on
    /// until the page holds `limit` kept items or the partition ends; the cursor is the key
    /// of the last item returned, so nothing is skipped or repeated across pages.
    pub(crate) async fn query_where<T: Stored>(
        &self,
        query: &Query,
        page: &PageRequest,
        keep: impl Fn(&T) -> bool,
    ) -> StoreResult<Page<T>> {
        let key_attributes = query.key_attributes();
        let mut start = match page.cursor() {
            Some(cursor) => Some(page::decode_cursor(
                cursor,
                &key_attributes,
                query.partition_attribute(),
                &query.partition,
            )?),
            None => None,
        };
        let limit = page.limit() as usize;
        let mut kept: Vec<T> = Vec::with_capacity(limit);
        loop {
            let mut names =
                HashMap::from([("#pk".to_string(), query.partition_attribute().to_string())]);
            let mut values = HashMap::from([(
                ":pk".to_string(),
                AttributeValue::S(query.partition.clone()),
            )]);
            let sort_attribute = query.index.map_or(SK, Index::sk);
            let key_condition = match &query.sort {
                SortKey::Any => "#pk = :pk".to_string(),
                SortKey::BeginsWith(prefix) => {
                    names.insert("#sk".into(), sort_attribute.into());
                    values.insert(":sk".into(), AttributeValue::S(prefix.clone()));
                    "#pk = :pk AND begins_with(#sk, :sk)".to_string()
                }
                SortKey::Between(from, to) => {
                    names.insert("#sk".into(), sort_attribute.into());
                    values.insert(":from".into(), AttributeValue::S(from.clone()));
                    values.insert(":to".into(), AttributeValue::S(to.clone()));
                    "#pk = :pk AND #sk BETWEEN :from AND :to".to_string()
                }
            };
            let mut request = self
                .client
                .query()
                .table_name(self.table())
                .set_index_name(query.index.map(|i| i.name().to_string()))
                .key_condition_expression(key_condition)
                .scan_index_forward(!query.newest_first)
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(limit - kept.len()).unwrap_or(i32::MAX));
            if let Some(filter) = &query.filter {
                names.extend(filter.names.clone());
                values.extend(filter.values.clone());
                request = request.filter_expression(&filter.expression);
            }
            let out = request
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            let mut raw = out.items.unwrap_or_default().into_iter();
            while let Some(item) = raw.next() {
                let cursor = page::encode_cursor(&item, &key_attributes);
                let value: T = from_item(item)?;
                if !keep(&value) {
                    continue;
                }
                kept.push(value);
                if kept.len() == limit {
                    // Page full: the next page starts after the last item returned, if
                    // anything may follow it.
                    let more = raw.len() > 0 || out.last_evaluated_key.is_some();
                    return Ok(Page {
                        items: kept,
                        next_cursor: if more { cursor } else { None },
                    });
                }
            }
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => {
                    return Ok(Page {
                        items: kept,
                        next_cursor: None,
                    });
                }
            }
        }
    }

    /// Reads every item of a query (for bounded sets only: a course's pushes, an account's
    /// entries under a unionid).
    pub(crate) async fn query_all<T: Stored>(&self, query: &Query) -> StoreResult<Vec<T>> {
        let mut all = Vec::new();
        let mut page = PageRequest::first(MAX_LIMIT);
        loop {
            let result = self.query::<T>(query, &page).await?;
            all.extend(result.items);
            match result.next_cursor {
                Some(cursor) => page = PageRequest::new(Some(MAX_LIMIT), Some(cursor))?,
                None => return Ok(all),
            }
        }
    }

    pub(crate) fn secrets(&self) -> &SecretBox {
        &self.secrets
    }
}

impl Store {
    /// The store named by the shared configuration.
    pub fn from_config(
        clients: &crate::aws::AwsClients,
        config: &crate::config::CoreConfig,
    ) -> Result<Self, crate::secrets::SecretsError> {
        Ok(Self::new(
            clients.dynamodb.clone(),
            config.table_name.clone(),
            SecretBox::from_base64(&config.secrets_key)?,
        ))
    }
}

mod export_jobs;
