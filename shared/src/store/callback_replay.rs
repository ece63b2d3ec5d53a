//! Signed callback queries seen, with the digest of the body they came with. A plaintext
//! callback's signature covers token, timestamp and nonce but not the body, so a signed URL
//! seen once (a proxy log, a browser history) could carry any other body within the
//! timestamp window. One conditional put per plaintext callback, shared by every Lambda
//! instance, tells WeChat's retry (same body) from such a replay (another body).

use super::keys::{self, EXPIRES_AT, PK, SK};
use super::{Store, StoreResult};
use crate::domain::AccountId;
use aws_sdk_dynamodb::types::AttributeValue;

/// Attribute holding the body digest.
const BODY_DIGEST: &str = "body_digest";

impl Store {
    /// Records that `signature` came with a body of `body_digest`, kept until `expires`
    /// (epoch seconds: past the timestamp window). Returns false if the same signature was
    /// seen with another body.
    pub async fn record_signed_query(
        &self,
        account: &AccountId,
        signature: &str,
        body_digest: &str,
        expires: i64,
    ) -> StoreResult<bool> {
        let key = keys::signed_query(account, signature);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item(PK, AttributeValue::S(key.pk))
            .item(SK, AttributeValue::S(key.sk))
            .item(BODY_DIGEST, AttributeValue::S(body_digest.to_string()))
            .item(EXPIRES_AT, AttributeValue::N(expires.to_string()))
            .condition_expression("attribute_not_exists(PK) OR #digest = :digest")
            .expression_attribute_names("#digest", BODY_DIGEST)
            .expression_attribute_values(":digest", AttributeValue::S(body_digest.to_string()))
            .send()
            .await;
        super::error::applied("PutItem", result)
    }
}
