//! Receipts that arrived before the worker recorded their msgid (see `crate::receipts`).

use super::keys::{self, EXPIRES_AT, PK, SK};
use super::{Store, StoreError, StoreResult, key_attributes};
use crate::domain::{AccountId, Timestamp};
use crate::receipts::Receipt;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

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
}
