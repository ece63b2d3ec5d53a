//! Callback dedupe markers: WeChat retries a callback up to three times, and each event must
//! apply once. Markers expire through the table's TTL.

use super::keys::{self, EXPIRES_AT, PK, SK};
use super::{Store, StoreResult};
use crate::domain::{AccountId, Timestamp};
use aws_sdk_dynamodb::types::AttributeValue;

impl Store {
    /// Records `dedupe_key` for `account` until `expires`; returns false if it was already
    /// recorded (the event was seen before and must not apply again).
    pub async fn first_sighting(
        &self,
        account: &AccountId,
        dedupe_key: &str,
        expires: Timestamp,
    ) -> StoreResult<bool> {
        let key = keys::dedupe(account, dedupe_key);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item(PK, AttributeValue::S(key.pk))
            .item(SK, AttributeValue::S(key.sk))
            .item(
                EXPIRES_AT,
                AttributeValue::N(expires.timestamp().to_string()),
            )
            // An expired marker that TTL has not swept yet counts as absent.
            .condition_expression("attribute_not_exists(PK) OR #exp < :now")
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(
                ":now",
                AttributeValue::N(crate::domain::now().timestamp().to_string()),
            )
            .send()
            .await;
        super::error::applied("PutItem", result)
    }

    /// Forgets a marker, so that WeChat's retry of an event whose effects failed applies it.
    pub async fn forget_sighting(&self, account: &AccountId, dedupe_key: &str) -> StoreResult<()> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(super::key_attributes(&keys::dedupe(
                account, dedupe_key,
            ))))
            .send()
            .await
            .map_err(|e| super::StoreError::dynamo("DeleteItem", e))?;
        Ok(())
    }
}
