//! Receipts that arrived before the worker recorded their msgid (see `crate::receipts`).

use super::keys::{self, EXPIRES_AT, PK, SK};
use super::{Store, StoreError, StoreResult, key_attributes};
use crate::domain::{AccountId, Timestamp};
use crate::receipts::Receipt;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};

/// A parked receipt waits this long for its send to be recorded.
const PARKED_FOR_SECS: i64 = 24 * 3600;

impl Store {
    /// Parks `receipt` for `msgid` (the first receipt for a msgid wins).
    pub async fn park_receipt(
        &self,
        account: &AccountId,
        msgid: &str,
        receipt: &Receipt,
        at: Timestamp,
    ) -> StoreResult<()> {
        let key = keys::parked_receipt(account, msgid);
        let body = serde_json::to_string(receipt).map_err(|e| StoreError::Dynamo {
            operation: "PutItem",
            code: "Encode".into(),
            message: e.to_string(),
        })?;
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item(PK, AttributeValue::S(key.pk))
            .item(SK, AttributeValue::S(key.sk))
            .item("receipt", AttributeValue::S(body))
            .item(
                EXPIRES_AT,
                AttributeValue::N((at.timestamp() + PARKED_FOR_SECS).to_string()),
            )
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        super::error::applied("PutItem", result).map(|_| ())
    }

    /// Removes and returns the receipt parked for `msgid`, if any.
    pub async fn take_parked_receipt(
        &self,
        account: &AccountId,
        msgid: &str,
    ) -> StoreResult<Option<Receipt>> {
        let out = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::parked_receipt(account, msgid))))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("DeleteItem", e))?;
        Ok(out.attributes.and_then(|item| match item.get("receipt") {
            Some(AttributeValue::S(body)) => serde_json::from_str(body).ok(),
            _ => None,
        }))
    }

    /// Which of `msgids` of `account` have a receipt parked (BatchGetItem, 100 keys a
    /// request), so a worker settles a whole batch's early receipts with one read instead of
    /// one delete per recipient.
    pub async fn parked_receipt_msgids(
        &self,
        account: &AccountId,
        msgids: &[String],
    ) -> StoreResult<std::collections::HashSet<String>> {
        let mut found = std::collections::HashSet::new();
        let by_pk: std::collections::HashMap<String, &String> = msgids
            .iter()
            .map(|m| (keys::parked_receipt(account, m).pk, m))
            .collect();
        let mut pks: Vec<&String> = by_pk.keys().collect();
        pks.sort();
        for chunk in pks.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(
                        chunk
                            .iter()
                            .map(|pk| {
                                std::collections::HashMap::from([
                                    (PK.to_string(), AttributeValue::S((*pk).clone())),
                                    (SK.to_string(), AttributeValue::S("RECEIPT".into())),
                                ])
                            })
                            .collect(),
                    ))
                    .projection_expression(PK)
                    .build()
                    .map_err(|e| StoreError::Dynamo {
                        operation: "BatchGetItem",
                        code: "Build".into(),
                        message: e.to_string(),
                    })?,
            );
            let mut attempt = 0u32;
            while let Some(request) = pending.take() {
                let out = self
                    .client()
                    .batch_get_item()
                    .request_items(self.table(), request)
                    .send()
                    .await
                    .map_err(|e| StoreError::dynamo("BatchGetItem", e))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(self.table()))
                    .unwrap_or_default()
                {
                    if let Some(AttributeValue::S(pk)) = item.get(PK)
                        && let Some(msgid) = by_pk.get(pk)
                    {
                        found.insert((*msgid).clone());
                    }
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(self.table()))
                    .filter(|k| !k.keys.is_empty());
                if pending.is_some() {
                    attempt += 1;
                    // Unprocessed keys mean throttling: back off before asking again.
                    tokio::time::sleep(std::time::Duration::from_millis(
                        25 * 2u64.pow(attempt.min(6)),
                    ))
                    .await;
                }
            }
        }
        Ok(found)
    }
}
