//! Many followers of one account at once (BatchGetItem), for audiences given as openids
//! (sign-ups, uploaded lists) whose mute and subscribe state the fan-out must honour.

use super::keys;
use super::{Store, StoreError, StoreResult, from_item, key_attributes};
use crate::domain::{AccountId, Follower};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::collections::HashMap;

/// DynamoDB's BatchGetItem limit.
const BATCH_GET_MAX: usize = 100;

impl Store {
    /// The known followers among `openids` of `account`, by openid (unknown ones are absent).
    pub async fn find_followers(
        &self,
        account: &AccountId,
        openids: &[String],
    ) -> StoreResult<HashMap<String, Follower>> {
        let mut found = HashMap::with_capacity(openids.len());
        let mut unique: Vec<&String> = openids.iter().collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(BATCH_GET_MAX) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(
                        chunk
                            .iter()
                            .map(|openid| key_attributes(&keys::follower(account, openid)))
                            .collect(),
                    ))
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
                    let follower: Follower = from_item(item)?;
                    found.insert(follower.openid.clone(), follower);
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
