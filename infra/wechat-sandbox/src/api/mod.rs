//! The emulated WeChat HTTP APIs. Handlers parse leniently and answer every problem with
//! WeChat's errcode (HTTP 200), never a panic or a framework rejection.

pub mod common;
pub mod oauth;
pub mod qr;
pub mod send;
pub mod token;
pub mod users;
pub mod wecom;

use crate::sandbox::Sandbox;
use crate::settings::endpoints as ep;
use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};

/// Every route: WeChat APIs, OAuth pages, WeCom under `/wecom`, control API under `/sandbox`.
pub fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route(ep::TOKEN, get(token::token))
        .route(ep::STABLE_TOKEN, post(token::stable_token))
        .route(ep::TEMPLATE_SEND, post(send::template))
        .route(ep::BIZSEND, post(send::bizsend))
        .route(ep::SUBSCRIBE_SEND, post(send::subscribe_send))
        .route(ep::CUSTOM_SEND, post(send::custom))
        .route(ep::QRCODE_CREATE, post(qr::create))
        .route(ep::SHOWQRCODE, get(qr::show))
        .route(ep::USER_GET, get(users::list))
        .route(ep::USER_INFO, get(users::info))
        .route(ep::USER_BATCHGET, post(users::batchget))
        .route(ep::OAUTH_AUTHORIZE, get(oauth::authorize))
        .route(ep::OAUTH_ACCESS_TOKEN, get(oauth::access_token))
        .route(ep::WECOM_GETTOKEN, get(wecom::gettoken))
        .route(ep::WECOM_SEND, post(wecom::send))
        .merge(crate::control::routes())
        .fallback(unknown)
        .layer(axum::middleware::from_fn_with_state(
            sandbox.clone(),
            hold_late_answers,
        ))
        .with_state(sandbox)
}

/// Serves the call, then holds its answer back if a late-answer fault says so: the work is
/// done (a message recorded) even if the caller gives up waiting.
async fn hold_late_answers(
    axum::extract::State(sandbox): axum::extract::State<Sandbox>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let endpoint = request.uri().path().to_string();
    let response = next.run(request).await;
    let delay = sandbox.late_answer(&endpoint);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    response
}

/// Anything else: say clearly that the sandbox does not emulate it.
async fn unknown(uri: Uri) -> impl IntoResponse {
    tracing::warn!(
        path = uri.path(),
        "call to an endpoint the sandbox does not emulate"
    );
    let body = serde_json::json!({
        "errcode": 404,
        "errmsg": format!("wechat-sandbox does not emulate {}", uri.path()),
    });
    (StatusCode::NOT_FOUND, axum::Json(body))
}
