//! `POST /wechat/<appid>`: WeChat's messages and events. Verify (in the account's configured
//! mode), refuse a replayed signed query, open, parse, apply once, answer: bad input is a 4xx
//! with the reason logged, never a 5xx or a panic; a failure of our own is a 503 so that
//! WeChat retries (the dedupe claim is released first); a retry that arrives while the first
//! attempt is still applying is a 503 too, so no answer says "success" for an event that was
//! not applied.

use crate::AppState;
use crate::account_cache::{CallbackAccount, LoadError};
use crate::events::{self, Outcome};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use livenotify::domain::now;
use livenotify::store::CallbackClaim;
use livenotify::wechat::callback::{self, CallbackQuery};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// WeChat retries within seconds; markers outlive that by far, and then expire (TTL).
const DEDUPE_TTL: Duration = Duration::from_secs(3600);
/// Longest an attempt applies an event before it gives up, releases its claim and answers
/// 503: inside the function's 5 s timeout (template.yaml) and WeChat's 5 s wait, so that a
/// slow apply ends in a release this attempt makes, not in a claim a killed one leaves.
const APPLY_BUDGET: Duration = Duration::from_secs(4);
/// How long an attempt holds an event it is applying: longer than any attempt can still be
/// applying (the budget, and the 5 s after which Lambda stops the function anyway), so a
/// live attempt is never taken over; short enough that when an attempt died mid-apply,
/// WeChat's second retry (about 10 s after the first try) takes the event over.
const APPLY_LEASE: Duration = Duration::from_secs(7);

/// Handles one callback.
pub async fn receive(
    State(state): State<AppState>,
    Path(appid): Path<String>,
    Query(query): Query<CallbackQuery>,
    body: Bytes,
) -> Response {
    let ctx = match state.accounts.load(&state.platform, &appid).await {
        Ok(ctx) => ctx,
        Err(LoadError::Unknown) => {
            return (StatusCode::NOT_FOUND, "unknown account").into_response();
        }
        Err(LoadError::Store(e)) => {
            tracing::error!(%appid, error = %e, "cannot load account");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    let account_id = ctx.account.id.clone();
    let opened = match callback::open(
        &query,
        &body,
        &ctx.secrets.callback_token,
        ctx.crypto.as_ref(),
        ctx.account.callback_mode,
        now().timestamp(),
    ) {
        Ok(opened) => opened,
        Err(e) => {
            tracing::warn!(account = %account_id, reason = %e, "callback refused");
            let status = match e {
                callback::CallbackError::BadSignature
                | callback::CallbackError::MissingParameter(_)
                | callback::CallbackError::PlaintextRefused
                | callback::CallbackError::StaleTimestamp(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            };
            return (status, e.to_string()).into_response();
        }
    };
    if opened.replayable() {
        // Kept past the window, after which the timestamp check refuses the query anyway.
        let expires =
            opened.timestamp.parse::<i64>().unwrap_or_default() + 2 * callback::REPLAY_WINDOW_SECS;
        match state
            .platform
            .store
            .record_signed_query(&account_id, &opened.signature, &opened.body_digest, expires)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(account = %account_id, "signed query replayed with another body");
                let e = callback::CallbackError::Replayed;
                return (StatusCode::FORBIDDEN, e.to_string()).into_response();
            }
            Err(e) => {
                tracing::error!(account = %account_id, error = %e, "cannot record the signed query");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
            }
        }
    }
    let incoming = match callback::parse(&opened.xml) {
        Ok(incoming) => incoming,
        Err(e) => {
            tracing::warn!(account = %account_id, reason = %e, "callback body refused");
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    let span = tracing::info_span!(
        "callback",
        account = %account_id,
        event = incoming.kind.label(),
        openid = %incoming.from,
    );
    respond(&state, &ctx, &opened, &incoming)
        .instrument(span)
        .await
}

/// Applies (once) and answers a verified, parsed callback.
async fn respond(
    state: &AppState,
    ctx: &Arc<CallbackAccount>,
    opened: &callback::Opened,
    incoming: &callback::Incoming,
) -> Response {
    let account_id = &ctx.account.id;
    let at = now();
    let dedupe_key = incoming.dedupe_key(&opened.xml);
    let store = &state.platform.store;
    let owner = ulid::Ulid::new().to_string();
    let lease = chrono::Duration::from_std(APPLY_LEASE).unwrap_or(chrono::Duration::seconds(7));
    let ttl = chrono::Duration::from_std(DEDUPE_TTL).unwrap_or(chrono::Duration::hours(1));
    let claim = match store
        .claim_callback(account_id, &dedupe_key, &owner, at, at + lease, at + ttl)
        .await
    {
        Ok(claim) => claim,
        Err(e) => {
            tracing::error!(error = %e, "cannot claim the dedupe marker");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    let outcome = match claim {
        CallbackClaim::First => {
            // In a task of its own: if the caller hangs up, the apply still ends in "applied"
            // or a release, never in a claim left "applying" by a dropped future.
            let task = tokio::spawn(
                apply_claimed(
                    state.clone(),
                    ctx.clone(),
                    incoming.clone(),
                    at,
                    dedupe_key,
                    owner,
                )
                .in_current_span(),
            );
            match task.await {
                Ok(Some(outcome)) => outcome,
                Ok(None) => {
                    return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
                }
                Err(e) => {
                    tracing::error!(error = %e, "the apply task failed");
                    return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
                }
            }
        }
        CallbackClaim::Applying => {
            tracing::info!("retry of a callback still being applied; asking WeChat to retry");
            return (StatusCode::SERVICE_UNAVAILABLE, "still applying, try again").into_response();
        }
        CallbackClaim::Applied => {
            tracing::info!("retry of a callback already applied");
            // The user still deserves the answer the first attempt may not have delivered.
            match events::reply_only(&state.platform, &ctx.account, incoming, at).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot rebuild the reply of a retried callback");
                    Outcome::Nothing
                }
            }
        }
    };
    match outcome {
        Outcome::Nothing => "success".into_response(),
        Outcome::Text(content) => {
            let reply =
                callback::text_reply(&incoming.from, &incoming.to, &content, at.timestamp());
            let body = match (&ctx.crypto, opened.encrypted) {
                (Some(crypto), true) => callback::encrypt_reply(
                    crypto,
                    &ctx.secrets.callback_token,
                    &reply,
                    &opened.timestamp,
                    &opened.nonce,
                ),
                _ => reply,
            };
            (
                [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
                body,
            )
                .into_response()
        }
    }
}

/// Applies a claimed event within [`APPLY_BUDGET`], then marks it applied (`Some` reply) or,
/// when it failed or ran out of time, releases the claim for WeChat's retry (`None`).
async fn apply_claimed(
    state: AppState,
    ctx: Arc<CallbackAccount>,
    incoming: callback::Incoming,
    at: livenotify::domain::Timestamp,
    dedupe_key: String,
    owner: String,
) -> Option<Outcome> {
    let store = &state.platform.store;
    let account_id = &ctx.account.id;
    let failure = match tokio::time::timeout(APPLY_BUDGET, apply(&state, &ctx, &incoming, at)).await
    {
        Ok(Ok(outcome)) => {
            match store.finish_callback(account_id, &dedupe_key, &owner).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!("the apply lease ran out before the event was applied"),
                // Applied; the claim stays "applying" until its lease ends, then a retry
                // applies again: every effect is idempotent for that case.
                Err(e) => tracing::error!(error = %e, "cannot mark the event applied"),
            }
            return Some(outcome);
        }
        Ok(Err(e)) => e,
        // Dropping the apply stops it at its next await; what it wrote is idempotent.
        Err(_) => format!("not applied within {} s", APPLY_BUDGET.as_secs()),
    };
    tracing::error!(error = %failure, "applying the callback failed; releasing it for WeChat's retry");
    if let Err(e) = store
        .release_callback(account_id, &dedupe_key, &owner)
        .await
    {
        tracing::error!(error = %e, "cannot release dedupe marker");
    }
    None
}

/// Applies the event, after the test seam if one is set.
async fn apply(
    state: &AppState,
    ctx: &CallbackAccount,
    incoming: &callback::Incoming,
    at: livenotify::domain::Timestamp,
) -> Result<Outcome, String> {
    if let Some(fault) = &state.apply_fault {
        fault().await?;
    }
    events::apply(&state.platform, &ctx.account, incoming, at)
        .await
        .map_err(|e| e.to_string())
}
