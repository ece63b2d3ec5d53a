//! Delivery receipts (TEMPLATESENDJOBFINISH, and subscription messages' sent events): the
//! final status of a notification record, and the push's counters, changed exactly once.

use livenotify::domain::{Account, Delivery, DeliveryStatus, Timestamp};
use livenotify::platform::Platform;
use livenotify::store::{CounterDelta, StoreError, StoreResult};
use livenotify::wechat::callback::TemplateJobStatus;

/// Applies a template message's receipt.
pub async fn template_finished(
    platform: &Platform,
    account: &Account,
    msgid: &str,
    status: TemplateJobStatus,
    at: Timestamp,
) -> StoreResult<()> {
    let Some(delivery) = platform
        .store
        .find_delivery_by_msgid(&account.id, msgid)
        .await?
    else {
        // Sent outside the platform (e.g. from WeChat's console): nothing of ours to update.
        tracing::info!(msgid, "receipt for a message the platform did not send");
        return Ok(());
    };
    let status = match status {
        TemplateJobStatus::Delivered => DeliveryStatus::Delivered,
        TemplateJobStatus::UserBlocked => DeliveryStatus::UserBlocked,
        TemplateJobStatus::SystemFailed => DeliveryStatus::SystemFailed,
    };
    finish_delivery(platform, delivery, status, None, at).await
}

/// Moves a sent delivery to its final `status` and counts it, once: a delivery no longer in
/// `sent` (an earlier receipt won) is left alone.
pub async fn finish_delivery(
    platform: &Platform,
    mut delivery: Delivery,
    status: DeliveryStatus,
    error: Option<(i64, String)>,
    at: Timestamp,
) -> StoreResult<()> {
    if delivery.status != DeliveryStatus::Sent {
        tracing::info!(push = %delivery.push_id, current = ?delivery.status, "receipt after the final status; ignored");
        return Ok(());
    }
    delivery.status = status;
    delivery.updated_at = at;
    if let Some((code, message)) = error {
        delivery.error_code = Some(code);
        delivery.error_message = Some(message);
    }
    match platform
        .store
        .update_delivery(&delivery, &[DeliveryStatus::Sent])
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => return Ok(()),
        Err(e) => return Err(e),
    }
    let delta = match status {
        DeliveryStatus::Delivered => CounterDelta {
            delivered: 1,
            ..CounterDelta::default()
        },
        DeliveryStatus::UserBlocked => CounterDelta {
            user_blocked: 1,
            ..CounterDelta::default()
        },
        _ => CounterDelta {
            failed: 1,
            ..CounterDelta::default()
        },
    };
    platform
        .store
        .add_push_counters(delivery.push_id, delta)
        .await
}
