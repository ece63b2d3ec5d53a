//! `GET /wechat/<appid>`: WeChat checks the server URL by sending a signed `echostr`.

use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use livenotify::domain::AccountId;
use livenotify::domain::now;
use livenotify::store::StoreError;
use livenotify::wechat::callback::fresh_timestamp;
use livenotify::wechat::crypto;
use serde::Deserialize;

/// Query WeChat sends with the verification request.
#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
    echostr: Option<String>,
}

/// Echoes `echostr` when the signature matches the account's callback token and the
/// timestamp is within the replay window: 404 for an unknown account, 403 for anything
/// unsigned, mis-signed or stale, never touching state.
pub async fn verify_server_url(
    State(state): State<AppState>,
    Path(appid): Path<String>,
    Query(query): Query<VerifyQuery>,
) -> Response {
    let Ok(account) = AccountId::new(appid) else {
        return (StatusCode::NOT_FOUND, "unknown account").into_response();
    };
    let secrets = match state.platform.store.get_account_secrets(&account).await {
        Ok(secrets) => secrets,
        Err(StoreError::NotFound { .. }) => {
            return (StatusCode::NOT_FOUND, "unknown account").into_response();
        }
        Err(e) => {
            tracing::error!(%account, error = %e, "cannot read account secrets");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    let (Some(signature), Some(timestamp), Some(nonce), Some(echostr)) =
        (query.signature, query.timestamp, query.nonce, query.echostr)
    else {
        return (
            StatusCode::FORBIDDEN,
            "signature, timestamp, nonce and echostr are required",
        )
            .into_response();
    };
    if !crypto::verify_signature(&signature, &secrets.callback_token, &timestamp, &nonce) {
        tracing::warn!(%account, "server-url verification with a bad signature");
        return (StatusCode::FORBIDDEN, "bad signature").into_response();
    }
    if let Err(e) = fresh_timestamp(&timestamp, now().timestamp()) {
        tracing::warn!(%account, "server-url verification with a stale timestamp");
        return (StatusCode::FORBIDDEN, e.to_string()).into_response();
    }
    echostr.into_response()
}
