//! Subscription-message consents (popup answers, settings changes) and WeChat's reports of
//! the messages sent on them.

use livenotify::domain::{Account, DeliveryStatus, Timestamp};
use livenotify::platform::Platform;
use livenotify::receipts::{self, Receipt};
use livenotify::store::{ConsentChange, StoreResult};
use livenotify::wechat::callback::{ConsentDecision, SentResult};

/// The user answered a popup: each "accept" is one more one-time consent; a "reject" only
/// declines this time.
pub async fn popup(
    platform: &Platform,
    account: &Account,
    openid: &str,
    decisions: &[ConsentDecision],
    at: Timestamp,
) -> StoreResult<()> {
    for decision in decisions {
        let change = if decision.accepted {
            ConsentChange::GrantOnce
        } else {
            ConsentChange::Decline
        };
        platform
            .store
            .apply_consent(&account.id, openid, &decision.template_id, change, at)
            .await?;
    }
    Ok(())
}

/// The user changed settings: "accept" subscribes long-term, "reject" withdraws everything.
pub async fn change(
    platform: &Platform,
    account: &Account,
    openid: &str,
    decisions: &[ConsentDecision],
    at: Timestamp,
) -> StoreResult<()> {
    for decision in decisions {
        let change = if decision.accepted {
            ConsentChange::GrantLongTerm
        } else {
            ConsentChange::Withdraw
        };
        platform
            .store
            .apply_consent(&account.id, openid, &decision.template_id, change, at)
            .await?;
    }
    Ok(())
}

/// WeChat reports messages sent on consents: recorded on the consent, and on the delivery
/// when the platform sent it.
pub async fn sent(
    platform: &Platform,
    account: &Account,
    openid: &str,
    results: &[SentResult],
    at: Timestamp,
) -> StoreResult<()> {
    for result in results {
        platform
            .store
            .record_consent_send_result(
                &account.id,
                openid,
                &result.template_id,
                result.error_code,
                at,
            )
            .await?;
        let (status, error) = match result.error_code {
            0 => (DeliveryStatus::Delivered, None),
            // 43101: the user refuses this account's messages.
            43101 => (
                DeliveryStatus::UserBlocked,
                Some((43101, result.error_status.clone())),
            ),
            code => (
                DeliveryStatus::SystemFailed,
                Some((code, result.error_status.clone())),
            ),
        };
        receipts::apply(
            &platform.store,
            &account.id,
            &result.msgid,
            Receipt { status, error },
            at,
        )
        .await?;
    }
    Ok(())
}
