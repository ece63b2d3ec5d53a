//! Subscription-message consents per (account, openid, template), kept from the callbacks'
//! popup / change / sent events.

use super::keys::{self, Key};
use super::{Query, Store, StoreResult, Stored, key_attributes};
use crate::domain::{AccountId, Consent, Timestamp, sort_key_time};
use aws_sdk_dynamodb::types::AttributeValue;

impl Stored for Consent {
    const ENTITY: &'static str = "consent";

    fn key(&self) -> Key {
        keys::consent(&self.account_id, &self.openid, &self.template_id)
    }
}

/// What a consent event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentChange {
    /// Popup "accept": one more one-time consent.
    GrantOnce,
    /// Settings "accept": a long-term subscription.
    GrantLongTerm,
    /// Popup "reject": declined this time; earlier consents stay.
    Decline,
    /// Settings "reject": every consent of the template is withdrawn.
    Withdraw,
}

impl Store {
    /// Applies a consent decision atomically (the one-time count is an ADD, so concurrent
    /// events never lose a grant).
    pub async fn apply_consent(
        &self,
        account: &AccountId,
        openid: &str,
        template_id: &str,
        change: ConsentChange,
        at: Timestamp,
    ) -> StoreResult<()> {
        let key = keys::consent(account, openid, template_id);
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&key)))
            .expression_attribute_values(":account", AttributeValue::S(account.to_string()))
            .expression_attribute_values(":openid", AttributeValue::S(openid.to_string()))
            .expression_attribute_values(":template", AttributeValue::S(template_id.to_string()))
            .expression_attribute_values(":entity", AttributeValue::S(Consent::ENTITY.into()))
            .expression_attribute_values(":at", AttributeValue::S(sort_key_time(at)));
        let common = "account_id = :account, openid = :openid, template_id = :template, \
                      entity = :entity, updated_at = :at";
        request = match change {
            ConsentChange::GrantOnce => request
                .update_expression(format!("SET {common}, accepted = :t ADD available :one"))
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .expression_attribute_values(":one", AttributeValue::N("1".into())),
            ConsentChange::GrantLongTerm => request
                .update_expression(format!("SET {common}, accepted = :t, long_term = :t"))
                .expression_attribute_values(":t", AttributeValue::Bool(true)),
            ConsentChange::Decline => request
                .update_expression(format!("SET {common}, accepted = :f"))
                .expression_attribute_values(":f", AttributeValue::Bool(false)),
            ConsentChange::Withdraw => request
                .update_expression(format!(
                    "SET {common}, accepted = :f, long_term = :f, available = :zero"
                ))
                .expression_attribute_values(":f", AttributeValue::Bool(false))
                .expression_attribute_values(":zero", AttributeValue::N("0".into())),
        };
        request
            .send()
            .await
            .map_err(|e| super::StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }

    /// Records WeChat's report of a send on a template (errcode, 0 = delivered).
    pub async fn record_consent_send_result(
        &self,
        account: &AccountId,
        openid: &str,
        template_id: &str,
        error_code: i64,
        at: Timestamp,
    ) -> StoreResult<()> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::consent(
                account,
                openid,
                template_id,
            ))))
            .update_expression("SET last_send_error = :code, updated_at = :at")
            // A result for a consent never seen (granted before the platform existed) is
            // not worth an item of its own.
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":code", AttributeValue::N(error_code.to_string()))
            .expression_attribute_values(":at", AttributeValue::S(sort_key_time(at)))
            .send()
            .await;
        super::error::applied("UpdateItem", result).map(|_| ())
    }

    /// One consent, if recorded.
    pub async fn find_consent(
        &self,
        account: &AccountId,
        openid: &str,
        template_id: &str,
    ) -> StoreResult<Option<Consent>> {
        self.get(&keys::consent(account, openid, template_id)).await
    }

    /// Every consent of a user on an account.
    pub async fn consents_of(
        &self,
        account: &AccountId,
        openid: &str,
    ) -> StoreResult<Vec<Consent>> {
        self.query_all(
            &Query::partition(None, keys::account_pk(account))
                .begins_with(format!("{}{openid}#", keys::CONSENT_PREFIX)),
        )
        .await
    }

    /// Uses one one-time consent after a send on it succeeded (`available` goes down by one,
    /// never below zero). Returns false when none was left to use (a long-term consent, or a
    /// consent granted where the platform did not see it).
    pub async fn use_consent(
        &self,
        account: &AccountId,
        openid: &str,
        template_id: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::consent(
                account,
                openid,
                template_id,
            ))))
            .update_expression("ADD available :minus SET updated_at = :at")
            .condition_expression("available > :zero")
            .expression_attribute_values(":minus", AttributeValue::N("-1".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":at", AttributeValue::S(sort_key_time(at)))
            .send()
            .await;
        super::error::applied("UpdateItem", result)
    }
}
