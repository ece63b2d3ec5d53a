//! Deliveries (notification records): by push, by user, by WeChat msgid; claimed with a
//! conditional write so that a recipient is messaged at most once per push.

use super::keys::{self, Index, IndexKey, Key};
use super::{
    Filter, Page, PageRequest, Query, Store, StoreError, StoreResult, Stored, key_attributes,
    to_item,
};
use crate::domain::{AccountId, Delivery, DeliveryStatus, PushId};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use std::collections::HashMap;

impl Stored for Delivery {
    const ENTITY: &'static str = "delivery";

    fn key(&self) -> Key {
        keys::delivery(self.push_id, &self.openid)
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        let mut out = vec![keys::delivery_by_user(
            &self.account_id,
            &self.openid,
            self.created_at,
            self.push_id,
        )];
        if let Some(msgid) = self.msgid.as_deref() {
            out.push(keys::delivery_by_msgid(&self.account_id, msgid));
        }
        out
    }
}

/// DynamoDB's BatchWriteItem limit.
const BATCH_WRITE_MAX: usize = 25;

fn status_text(status: DeliveryStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Store {
    /// Creates the delivery record if none exists for (push, openid). Returns false if one
    /// exists: the recipient was claimed before, by this or another worker.
    pub async fn claim_delivery(&self, delivery: &Delivery) -> StoreResult<bool> {
        let id = format!("{}/{}", delivery.push_id, delivery.openid);
        match self.create(delivery, id).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Writes a delivery's new state if it is still in one of `from` (a transition guard:
    /// a receipt never overwrites a newer receipt, a retry never overwrites a success).
    pub async fn update_delivery(
        &self,
        delivery: &Delivery,
        from: &[DeliveryStatus],
    ) -> StoreResult<()> {
        let names: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut request = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(delivery)?))
            .condition_expression(format!("#status IN ({})", names.join(", ")))
            .expression_attribute_names("#status", "status");
        for (name, status) in names.iter().zip(from) {
            request =
                request.expression_attribute_values(name, AttributeValue::S(status_text(*status)));
        }
        request.send().await.map_err(|e| {
            StoreError::dynamo("PutItem", e).on_condition(
                "delivery",
                format!("{}/{}", delivery.push_id, delivery.openid),
                "not in the expected state",
            )
        })?;
        Ok(())
    }

    /// One delivery, if recorded.
    pub async fn find_delivery(&self, push: PushId, openid: &str) -> StoreResult<Option<Delivery>> {
        self.get(&keys::delivery(push, openid)).await
    }

    /// The delivery WeChat gave `msgid` to (for TEMPLATESENDJOBFINISH receipts).
    pub async fn find_delivery_by_msgid(
        &self,
        account: &AccountId,
        msgid: &str,
    ) -> StoreResult<Option<Delivery>> {
        let page = self
            .query::<Delivery>(
                &Query::partition(Some(Index::Gsi3), keys::msgid_pk(account, msgid)),
                &PageRequest::first(1),
            )
            .await?;
        Ok(page.items.into_iter().next())
    }

    /// Deliveries of a push, optionally in one status.
    pub async fn list_deliveries_by_push(
        &self,
        push: PushId,
        status: Option<DeliveryStatus>,
        page: &PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let filter = status.map(|s| Filter {
            expression: "#status = :status".into(),
            names: HashMap::from([("#status".into(), "status".into())]),
            values: HashMap::from([(":status".into(), AttributeValue::S(status_text(s)))]),
        });
        let query = Query::partition(None, keys::push_pk(push))
            .begins_with(keys::DELIVERY_PREFIX)
            .filtered(filter);
        self.query(&query, page).await
    }

    /// Deliveries to one user of one account, newest first.
    pub async fn list_deliveries_by_user(
        &self,
        account: &AccountId,
        openid: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let query = Query::partition(Some(Index::Gsi1), keys::user_pk(account, openid))
            .begins_with(keys::DELIVERY_PREFIX)
            .reversed();
        self.query(&query, page).await
    }

    /// Deletes delivery records (any number; batched, unprocessed items retried).
    pub async fn delete_deliveries(&self, records: &[(PushId, String)]) -> StoreResult<()> {
        for chunk in records.chunks(BATCH_WRITE_MAX) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|(push, openid)| {
                    DeleteRequest::builder()
                        .set_key(Some(key_attributes(&keys::delivery(*push, openid))))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                })
                .collect::<Result<_, _>>()
                .map_err(|e| StoreError::Dynamo {
                    operation: "BatchWriteItem",
                    code: "Build".into(),
                    message: e.to_string(),
                })?;
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), pending)
                    .send()
                    .await
                    .map_err(|e| StoreError::dynamo("BatchWriteItem", e))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(self.table()))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    // Unprocessed items mean throttling: back off before retrying them.
                    tokio::time::sleep(std::time::Duration::from_millis(
                        25 * 2u64.pow(attempt.min(6)),
                    ))
                    .await;
                }
            }
        }
        Ok(())
    }
}

/// Which deliveries of a push to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only in this state.
    pub status: Option<DeliveryStatus>,
    /// Created at or after.
    pub created_from: Option<crate::domain::Timestamp>,
    /// Created at or before.
    pub created_to: Option<crate::domain::Timestamp>,
}

impl Store {
    /// Deliveries of a push, filtered by state and creation time (admin searches).
    pub async fn search_deliveries_by_push(
        &self,
        push: PushId,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let mut clauses = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        if let Some(status) = filter.status {
            clauses.push("#status = :status");
            names.insert("#status".to_string(), "status".to_string());
            values.insert(
                ":status".to_string(),
                AttributeValue::S(status_text(status)),
            );
        }
        if filter.created_from.is_some() || filter.created_to.is_some() {
            names.insert("#created".to_string(), "created_at".to_string());
        }
        // created_at is stored as fixed-width RFC 3339, so text order is time order.
        if let Some(from) = filter.created_from {
            clauses.push("#created >= :from");
            values.insert(
                ":from".to_string(),
                AttributeValue::S(crate::domain::sort_key_time(from)),
            );
        }
        if let Some(to) = filter.created_to {
            clauses.push("#created <= :to");
            values.insert(
                ":to".to_string(),
                AttributeValue::S(crate::domain::sort_key_time(to)),
            );
        }
        let filter = (!clauses.is_empty()).then(|| Filter {
            expression: clauses.join(" AND "),
            names,
            values,
        });
        let query = Query::partition(None, keys::push_pk(push))
            .begins_with(keys::DELIVERY_PREFIX)
            .filtered(filter);
        self.query(&query, page).await
    }
}
