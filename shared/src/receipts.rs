//! Delivery receipts (TEMPLATESENDJOBFINISH, subscription messages' sent events): the final
//! status of a notification record and the push's counters, changed exactly once.
//!
//! A receipt can beat the worker's own write of the msgid (WeChat answers the send, then
//! reports delivery within seconds). Such a receipt is parked under its msgid and settled by
//! the worker right after it records the send ([`settle_parked`]), so none is lost.

use crate::domain::{AccountId, Delivery, DeliveryStatus, Timestamp};
use crate::store::{CounterDelta, Store, StoreError, StoreResult};

/// What a receipt says about one message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    /// Final status: delivered, user blocked or system failed.
    pub status: DeliveryStatus,
    /// WeChat's errcode and words, for failures.
    #[serde(default)]
    pub error: Option<(i64, String)>,
}

/// Applies a receipt for `msgid` of `account`: to its delivery if recorded, else parked.
pub async fn apply(
    store: &Store,
    account: &AccountId,
    msgid: &str,
    receipt: Receipt,
    at: Timestamp,
) -> StoreResult<()> {
    match store.find_delivery_by_msgid(account, msgid).await? {
        Some(delivery) => finish(store, delivery, receipt, at).await,
        None => {
            // Either the worker has not recorded the send yet, or the platform did not send
            // it (e.g. WeChat's console); parked receipts expire after a day.
            tracing::info!(%account, msgid, "receipt before its send is recorded; parked");
            store.park_receipt(account, msgid, &receipt, at).await
        }
    }
}

/// Settles a receipt that arrived before `delivery`'s send was recorded (call right after
/// recording the msgid).
pub async fn settle_parked(store: &Store, delivery: &Delivery, at: Timestamp) -> StoreResult<()> {
    let Some(msgid) = delivery.msgid.as_deref() else {
        return Ok(());
    };
    match store
        .take_parked_receipt(&delivery.account_id, msgid)
        .await?
    {
        Some(receipt) => finish(store, delivery.clone(), receipt, at).await,
        None => Ok(()),
    }
}

/// Moves a sent delivery to its final status and counts it, once: a delivery no longer in
/// `sent` (an earlier receipt won) is left alone.
pub async fn finish(
    store: &Store,
    mut delivery: Delivery,
    receipt: Receipt,
    at: Timestamp,
) -> StoreResult<()> {
    if delivery.status != DeliveryStatus::Sent {
        tracing::info!(push = %delivery.push_id, current = ?delivery.status, "receipt after the final status; ignored");
        return Ok(());
    }
    delivery.status = receipt.status;
    delivery.updated_at = at;
    if let Some((code, message)) = receipt.error {
        delivery.error_code = Some(code);
        delivery.error_message = Some(message);
    }
    match store
        .update_delivery(&delivery, &[DeliveryStatus::Sent])
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => return Ok(()),
        Err(e) => return Err(e),
    }
    let delta = match receipt.status {
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
    store.add_push_counters(delivery.push_id, delta).await
}
