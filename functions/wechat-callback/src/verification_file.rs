//! `GET /<name>`: the domain verification file WeChat fetches before it allows OAuth on the
//! platform's domain (网页授权域名), exactly as an admin stored it for an account.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use livenotify::domain::check_verification_name;

fn plain(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The stored file's text, or 404 for any other name (nothing else is served at the root).
pub async fn serve(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    if check_verification_name(&name).is_err() {
        return plain(StatusCode::NOT_FOUND, "not found".into());
    }
    match state.platform.store.get_verification_file(&name).await {
        Ok(Some(file)) => plain(StatusCode::OK, file.content),
        Ok(None) => plain(StatusCode::NOT_FOUND, "not found".into()),
        Err(e) => {
            tracing::error!(error = %e, file = %name, "verification file lookup failed");
            plain(StatusCode::SERVICE_UNAVAILABLE, "try again".into())
        }
    }
}
