//! `POST /wechat/<appid>`: WeChat's messages and events. Verify, open, parse, apply once,
//! answer: bad input is a 4xx with the reason logged, never a 5xx or a panic; a failure of
//! our own is a 503 so that WeChat retries (the dedupe marker is released first).

use crate::AppState;
use crate::account_cache::{CallbackAccount, LoadError};
use crate::events::{self, Outcome};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use livenotify::domain::now;
use livenotify::wechat::callback::{self, CallbackQuery};
use std::time::Duration;
use tracing::Instrument;

/// WeChat retries within seconds; markers outlive that by far, and then expire (TTL).
const DEDUPE_TTL: Duration = Duration::from_secs(3600);

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
        now().timestamp(),
    ) {
        Ok(opened) => opened,
        Err(e) => {
            tracing::warn!(account = %account_id, reason = %e, "callback refused");
            let status = match e {
                callback::CallbackError::BadSignature
                | callback::CallbackError::MissingParameter(_)
                | callback::CallbackError::StaleTimestamp(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            };
            return (status, e.to_string()).into_response();
        }
    };
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
    ctx: &CallbackAccount,
    opened: &callback::Opened,
    incoming: &callback::Incoming,
) -> Response {
    let account_id = &ctx.account.id;
    let at = now();
    let dedupe_key = incoming.dedupe_key(&opened.xml);
    let store = &state.platform.store;
    let first = match store
        .first_sighting(account_id, &dedupe_key, at + DEDUPE_TTL)
        .await
    {
        Ok(first) => first,
        Err(e) => {
            tracing::error!(error = %e, "cannot record dedupe marker");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    let outcome = if first {
        match events::apply(&state.platform, &ctx.account, incoming, at).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(error = %e, "applying the callback failed; releasing it for WeChat's retry");
                if let Err(e) = store.forget_sighting(account_id, &dedupe_key).await {
                    tracing::error!(error = %e, "cannot release dedupe marker");
                }
                return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
            }
        }
    } else {
        tracing::info!("retry of a callback already applied");
        // The user still deserves the answer the first attempt may not have delivered.
        match events::reply_only(&state.platform, &ctx.account, incoming, at).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(error = %e, "cannot rebuild the reply of a retried callback");
                Outcome::Nothing
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
