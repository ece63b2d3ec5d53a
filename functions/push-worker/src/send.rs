//! Sending one batch of a push: exactly-once effect per recipient, rate-limited, bounded in
//! flight, retried with backoff, and counted once per batch.
//!
//! Per recipient: claim the delivery record (conditional create) -> send with the
//! `client_msg_id` derived from (push, openid) -> record the outcome (conditional on the
//! record still saying `sending`). A recipient whose record already holds an outcome is never
//! sent again; one left in `sending` (the worker died between claim and record) is sent again
//! with the same `client_msg_id`, which WeChat drops as a repeat within its idempotency window
//! (10 minutes, longer than the push queue's visibility timeout). When every recipient of the
//! batch has an outcome, the batch's tally is added to the push counters in one transaction
//! with a per-batch marker, so redelivered and duplicated batches are counted once.

use crate::context::{ContextError, PushContext};
use crate::crash::CrashPoint;
use crate::lifecycle;
use crate::{Deps, JobError};
use futures::StreamExt;
use livenotify::domain::{Delivery, DeliveryStatus, Push, PushId, PushStatus, now};
use livenotify::jobs::PushJob;
use livenotify::notification::outgoing::{self, Accepted};
use livenotify::notification::{AddressedMessage, client_msg_id};
use livenotify::rate_limit::TokenBucket;
use livenotify::store::{CounterDelta, StoreError};
use livenotify::wechat::{ErrorAction, UserSkip, WechatError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What one recipient ended as (for the batch tally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tally {
    Sent,
    Skipped,
    Failed,
}

fn tally_of(status: DeliveryStatus) -> Option<Tally> {
    match status {
        DeliveryStatus::Sending => None,
        DeliveryStatus::Skipped => Some(Tally::Skipped),
        DeliveryStatus::Failed => Some(Tally::Failed),
        s if s.was_sent() => Some(Tally::Sent),
        _ => None,
    }
}

/// Why a delivery claimed earlier but never recorded is not sent again (channels without an
/// idempotency key), for admins.
const INTERRUPTED: &str = "上次发送中断，结果未知；该渠道无法去重，为避免重复发送未重发";

/// What the table knows of a recipient's consent for a subscription template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConsentState {
    /// No consent left: skip without calling WeChat.
    None,
    /// A one-time consent is available; the send uses it.
    OneTime,
    /// Subscribed long-term: sends do not use anything up.
    LongTerm,
    /// No record: WeChat decides (43101 if there is none).
    Unknown,
}

/// Why a recipient has no outcome yet.
#[derive(Debug)]
enum Pending {
    /// The batch was told to stop (push no longer running, quota, fatal error).
    Stopped,
    /// WeChat's daily quota is used up.
    Quota(WechatError),
    /// Every further send of the push would fail the same way.
    Fatal(WechatError),
    /// Table trouble.
    Store(StoreError),
    /// Fault injection: the worker "died" here.
    Crashed(CrashPoint),
}

impl From<StoreError> for Pending {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Shared by the recipients of one batch: stop sending.
#[derive(Debug, Default)]
struct StopFlag(AtomicBool);

impl StopFlag {
    fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    fn raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

struct Batch<'a> {
    deps: &'a Deps,
    push: &'a Push,
    name: &'a str,
    context: Arc<PushContext>,
    bucket: Arc<TokenBucket>,
    stop: StopFlag,
    /// Deliveries recorded as sent, for one check of early receipts per batch.
    sent: std::sync::Mutex<Vec<Delivery>>,
}

impl Batch<'_> {
    fn crash(&self, point: CrashPoint, openid: &str) -> Result<(), Pending> {
        match &self.deps.crash {
            Some(hook) if hook.crash(point, self.name, openid) => {
                tracing::warn!(push_id = %self.push.id, batch = self.name, openid, ?point, "injected crash");
                Err(Pending::Crashed(point))
            }
            _ => Ok(()),
        }
    }

    async fn recipient(&self, openid: &str) -> Result<Tally, Pending> {
        if self.stop.raised() {
            return Err(Pending::Stopped);
        }
        let _permit = self
            .deps
            .in_flight
            .acquire()
            .await
            .map_err(|_| Pending::Stopped)?;
        if self.stop.raised() {
            return Err(Pending::Stopped);
        }
        let store = &self.deps.platform.store;
        let at = now();
        let mut delivery = Delivery {
            push_id: self.push.id,
            course_id: self.push.course_id,
            account_id: self.push.account_id.clone(),
            openid: openid.to_string(),
            status: DeliveryStatus::Sending,
            msgid: None,
            client_msg_id: client_msg_id(self.push.id, openid),
            attempts: 0,
            error_code: None,
            error_message: None,
            created_at: at,
            updated_at: at,
            expires_at: Some(
                (at + chrono::Duration::days(self.deps.settings.retention_days)).timestamp(),
            ),
        };
        if !store.claim_delivery(&delivery).await? {
            let existing = store
                .find_delivery(self.push.id, openid)
                .await?
                .ok_or_else(|| StoreError::Conflict {
                    entity: "delivery",
                    id: format!("{}/{openid}", self.push.id),
                    reason: "claimed but not readable yet",
                })?;
            if let Some(tally) = tally_of(existing.status) {
                if existing.status == DeliveryStatus::Sent {
                    // Recorded by an earlier delivery of this batch that may have died before
                    // settling its early receipts: look again.
                    self.settle_later(existing);
                }
                return Ok(tally);
            }
            delivery = existing;
            if !self.context.message.resend_is_dropped() {
                // Claimed before but never recorded, on a channel without an idempotency
                // key: the earlier send may have reached the user. At most once: record it
                // as failed instead of risking a second message.
                delivery.status = DeliveryStatus::Failed;
                delivery.error_message = Some(INTERRUPTED.into());
                delivery.updated_at = now();
                return self.record(delivery, Tally::Failed).await;
            }
            // Claimed before but never recorded: the earlier worker died, or is sending right
            // now. Send again with the same idempotency key; WeChat drops the repeat.
        }
        let consent = self.context.message.consent_template();
        let long_term = match consent {
            Some(template) => match self.consent_state(openid, template).await? {
                ConsentState::None => {
                    delivery.status = DeliveryStatus::Skipped;
                    delivery.error_message = Some(UserSkip::NoConsent.as_str().into());
                    delivery.updated_at = now();
                    return self.record(delivery, Tally::Skipped).await;
                }
                ConsentState::LongTerm => true,
                ConsentState::OneTime | ConsentState::Unknown => false,
            },
            None => false,
        };
        self.crash(CrashPoint::BeforeSend, openid)?;
        let message = self.context.message.to(openid, &delivery.client_msg_id);
        let (result, attempts) = self.send_with_retries(&message).await;
        delivery.attempts += attempts;
        delivery.updated_at = now();
        let tally = match result {
            Ok(accepted) if accepted.unreached => {
                delivery.status = DeliveryStatus::Skipped;
                delivery.msgid = None;
                delivery.error_message = Some("wecom_recipient_invalid".into());
                Tally::Skipped
            }
            Ok(accepted) => {
                self.crash(CrashPoint::AfterSend, openid)?;
                if let Some(template) = consent
                    && !long_term
                {
                    // One send per consent: the count the next push sees goes down now.
                    store
                        .use_consent(&self.push.account_id, openid, template, now())
                        .await?;
                }
                delivery.status = DeliveryStatus::Sent;
                delivery.msgid = accepted.msgid;
                delivery.error_code = None;
                delivery.error_message = None;
                Tally::Sent
            }
            Err(None) => return Err(Pending::Stopped),
            Err(Some(error)) => match error.action() {
                ErrorAction::QuotaExhausted => {
                    self.stop.raise();
                    return Err(Pending::Quota(error));
                }
                ErrorAction::FatalForJob => {
                    self.stop.raise();
                    return Err(Pending::Fatal(error));
                }
                ErrorAction::SkipUser => {
                    match (error.user_skip(), consent) {
                        (Some(UserSkip::NotFollowing), _) => self.unfollowed(openid).await?,
                        (Some(UserSkip::NoConsent), Some(template)) => {
                            // WeChat knows of no consent left: so should the next push.
                            store
                                .record_consent_send_result(
                                    &self.push.account_id,
                                    openid,
                                    template,
                                    livenotify::wechat::error::ERR_NO_CONSENT,
                                    now(),
                                )
                                .await?;
                        }
                        _ => {}
                    }
                    delivery.status = DeliveryStatus::Skipped;
                    delivery.error_code = error.errcode();
                    delivery.error_message = Some(
                        error
                            .user_skip()
                            .map_or_else(|| error.to_string(), |s| s.as_str().to_string()),
                    );
                    Tally::Skipped
                }
                ErrorAction::RetryLater
                | ErrorAction::RefreshTokenAndRetry
                | ErrorAction::Invalid => {
                    delivery.status = DeliveryStatus::Failed;
                    delivery.error_code = error.errcode();
                    delivery.error_message = Some(error.to_string());
                    Tally::Failed
                }
            },
        };
        self.record(delivery, tally).await
    }

    /// WeChat says `openid` no longer follows: marked unsubscribed and, as the unsubscribe
    /// callback does, counted out of the account's followers once (in the same transaction).
    async fn unfollowed(&self, openid: &str) -> Result<(), StoreError> {
        self.deps
            .platform
            .store
            .unsubscribe_follower(&self.push.account_id, openid, now())
            .await?;
        Ok(())
    }

    /// Whether `openid` may get a message on subscription `template`, as far as the table
    /// knows (consents come from the callbacks' popup and settings events).
    async fn consent_state(&self, openid: &str, template: &str) -> Result<ConsentState, Pending> {
        let found = self
            .deps
            .platform
            .store
            .find_consent(&self.push.account_id, openid, template)
            .await?;
        Ok(match found {
            // Granted where the platform did not see it (before it existed): WeChat decides.
            None => ConsentState::Unknown,
            Some(c) if c.accepted && c.long_term => ConsentState::LongTerm,
            Some(c) if c.available > 0 => ConsentState::OneTime,
            Some(_) => ConsentState::None,
        })
    }

    /// Writes the outcome, conditional on the record still saying `sending`; settles a
    /// receipt that beat this write.
    async fn record(&self, delivery: Delivery, tally: Tally) -> Result<Tally, Pending> {
        let store = &self.deps.platform.store;
        let openid = delivery.openid.as_str();
        match store
            .update_delivery(&delivery, &[DeliveryStatus::Sending])
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => {
                // A concurrent worker recorded it first; its outcome stands.
                let current = store.find_delivery(self.push.id, openid).await?;
                return current
                    .and_then(|d| tally_of(d.status))
                    .ok_or(Pending::Stopped);
            }
            Err(e) => return Err(e.into()),
        }
        self.crash(CrashPoint::AfterRecord, openid)?;
        if delivery.status == DeliveryStatus::Sent {
            self.settle_later(delivery);
        }
        Ok(tally)
    }

    /// Queues a sent delivery for the batch's check of receipts that beat its record.
    fn settle_later(&self, delivery: Delivery) {
        if delivery.msgid.is_some() {
            self.sent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(delivery);
        }
    }

    /// Settles the receipts that arrived before their sends were recorded (parked under
    /// their msgids): one read for the whole batch, a settle only where one waits.
    async fn settle_early_receipts(&self) -> Result<(), StoreError> {
        let sent = std::mem::take(&mut *self.sent.lock().unwrap_or_else(|p| p.into_inner()));
        if sent.is_empty() {
            return Ok(());
        }
        let store = &self.deps.platform.store;
        let msgids: Vec<String> = sent.iter().filter_map(|d| d.msgid.clone()).collect();
        let parked = store
            .parked_receipt_msgids(&self.push.account_id, &msgids)
            .await?;
        for delivery in sent {
            if delivery.msgid.as_ref().is_some_and(|m| parked.contains(m)) {
                livenotify::receipts::settle_parked(store, &delivery, now()).await?;
            }
        }
        Ok(())
    }

    /// Sends, retrying busy / network / twice-rejected-token errors with backoff. `Err(None)`:
    /// the batch was stopped before a send succeeded. Returns the attempts made.
    async fn send_with_retries(
        &self,
        message: &AddressedMessage,
    ) -> (Result<Accepted, Option<WechatError>>, u32) {
        let settings = &self.deps.settings;
        let tokens = &self.deps.platform.tokens;
        let client = tokens.client();
        let mut attempt = 0;
        loop {
            if self.stop.raised() {
                return (Err(None), attempt);
            }
            self.bucket.acquire().await;
            // Slots are reserved up to `max_in_flight / rate` ahead; a cancel raised while
            // this send waited for its slot must not be overtaken by it.
            if self.stop.raised() {
                return (Err(None), attempt);
            }
            attempt += 1;
            let result = tokens
                .call(&self.context.account, |token| async move {
                    outgoing::send(client, &token, message).await
                })
                .await;
            match result {
                Ok(accepted) => return (Ok(accepted), attempt),
                Err(e)
                    if matches!(
                        e.action(),
                        ErrorAction::RetryLater | ErrorAction::RefreshTokenAndRetry
                    ) && attempt < settings.send_attempts =>
                {
                    tracing::debug!(push_id = %self.push.id, attempt, error = %e, "send retry");
                    tokio::time::sleep(settings.backoff(attempt - 1)).await;
                }
                Err(e) => return (Err(Some(e)), attempt),
            }
        }
    }

    /// Re-reads the push status every `status_check` and raises the stop flag when the push
    /// is no longer running (cancelled, paused, failed elsewhere).
    async fn watch_status(&self) {
        loop {
            tokio::time::sleep(self.deps.settings.status_check).await;
            let settings = &self.deps.settings;
            let status = self
                .deps
                .statuses
                .status(
                    &self.deps.platform.store,
                    self.push.id,
                    settings.status_check,
                )
                .await;
            match status {
                Ok(status) if status != PushStatus::Running => {
                    tracing::info!(push_id = %self.push.id, ?status, "push no longer running, stopping batch");
                    self.stop.raise();
                    // Nothing more to watch; the sends in flight finish on their own.
                    return std::future::pending().await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(push_id = %self.push.id, error = %e, "status check failed")
                }
            }
        }
    }
}

/// Puts the batch back on the queue, visible after `delay`.
async fn defer(
    deps: &Deps,
    push: PushId,
    batch: &str,
    openids: &[String],
    delay: Duration,
) -> Result<(), JobError> {
    let job = PushJob::SendBatch {
        push_id: push,
        batch: batch.to_string(),
        openids: openids.to_vec(),
    };
    deps.platform.queues.push(&job, delay).await?;
    tracing::info!(push_id = %push, batch, delay_secs = delay.as_secs(), "batch deferred");
    Ok(())
}

/// Handles one batch message.
pub async fn send_batch(
    deps: &Deps,
    push_id: PushId,
    batch: &str,
    openids: &[String],
) -> Result<(), JobError> {
    let store = &deps.platform.store;
    let progress = store.push_progress(push_id).await?;
    let mut push = progress.push;
    match push.status {
        s if s.is_final() => {
            tracing::info!(push_id = %push_id, batch, status = ?s, "push ended, batch dropped");
            return Ok(());
        }
        PushStatus::Running => {}
        PushStatus::Paused | PushStatus::Pending => {
            let at = now();
            let due =
                push.status == PushStatus::Paused && progress.resume_at.is_some_and(|r| r <= at);
            if !due {
                let wait = progress
                    .resume_at
                    .and_then(|r| (r - at).to_std().ok())
                    .unwrap_or(deps.settings.pause_recheck)
                    .min(deps.settings.pause_recheck)
                    .max(Duration::from_secs(1));
                return defer(deps, push_id, batch, openids, wait).await;
            }
            match store
                .transition_push(
                    push_id,
                    &[PushStatus::Paused],
                    PushStatus::Running,
                    None,
                    at,
                )
                .await
            {
                Ok(()) => tracing::info!(push_id = %push_id, "quota pause over, push resumed"),
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            push = store.get_push(push_id).await?;
            if push.status != PushStatus::Running {
                return defer(deps, push_id, batch, openids, deps.settings.pause_recheck).await;
            }
        }
        _ => {}
    }
    let context = match deps.contexts.get(&deps.platform, &push).await {
        Ok(c) => c,
        Err(e) if e.is_permanent() => {
            lifecycle::fail(store, push_id, &e.to_string()).await?;
            return Ok(());
        }
        Err(ContextError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(JobError::Context(e)),
    };
    let run = Batch {
        deps,
        push: &push,
        name: batch,
        bucket: deps
            .limits
            .bucket(&push.account_id, deps.settings.rate_per_second),
        context,
        stop: StopFlag::default(),
        sent: std::sync::Mutex::default(),
    };
    let mut delta = CounterDelta::default();
    let mut stopped = false;
    let mut quota: Option<WechatError> = None;
    let mut fatal: Option<WechatError> = None;
    let mut store_error: Option<StoreError> = None;
    {
        let batch = &run;
        let mut results = futures::stream::iter(openids.iter().cloned())
            .map(|openid| async move { batch.recipient(&openid).await })
            .buffer_unordered(deps.settings.max_in_flight);
        let collect = async {
            while let Some(result) = results.next().await {
                match result {
                    Ok(Tally::Sent) => delta.sent += 1,
                    Ok(Tally::Skipped) => delta.skipped += 1,
                    Ok(Tally::Failed) => delta.failed += 1,
                    Err(Pending::Stopped) => stopped = true,
                    Err(Pending::Quota(e)) => quota = Some(e),
                    Err(Pending::Fatal(e)) => fatal = Some(e),
                    Err(Pending::Store(e)) => store_error = Some(e),
                    // A dead worker does nothing more: drop every in-flight send at once.
                    Err(Pending::Crashed(point)) => return Err(JobError::Crashed(point)),
                }
            }
            Ok(())
        };
        tokio::select! {
            done = collect => done?,
            // Never completes: it only raises the stop flag.
            () = run.watch_status() => {}
        }
    }
    run.settle_early_receipts().await?;
    if let Some(error) = fatal {
        lifecycle::fail(store, push_id, &lifecycle::fatal_reason(&error)).await?;
        return Ok(());
    }
    if let Some(error) = quota {
        let at = now();
        let resume_at = lifecycle::quota_resume_at(at, deps.settings.quota_resume_after);
        match store
            .pause_push(push_id, &lifecycle::quota_reason(resume_at), resume_at, at)
            .await
        {
            Ok(()) => {
                tracing::warn!(push_id = %push_id, %resume_at, error = %error, "quota exhausted, push paused")
            }
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let wait = (resume_at - at)
            .to_std()
            .unwrap_or_default()
            .min(deps.settings.pause_recheck)
            .max(Duration::from_secs(1));
        return defer(deps, push_id, batch, openids, wait).await;
    }
    if let Some(error) = store_error {
        // Redelivery retries the rest; recipients with an outcome are not sent again.
        return Err(error.into());
    }
    if stopped {
        let current = store.get_push(push_id).await?;
        if current.status.is_final() {
            return Ok(());
        }
        return defer(deps, push_id, batch, openids, deps.settings.pause_recheck).await;
    }
    delta.targeted = 0;
    let counted = {
        let _one_at_a_time = deps.counting.lock().await;
        store.count_push_batch(push_id, batch, delta, now()).await?
    };
    tracing::info!(push_id = %push_id, batch, sent = delta.sent, skipped = delta.skipped, failed = delta.failed, counted, "batch done");
    run.crash(CrashPoint::BeforeAck, "")
        .map_err(|_| JobError::Crashed(CrashPoint::BeforeAck))?;
    lifecycle::complete_if_done(store, push_id).await?;
    Ok(())
}
