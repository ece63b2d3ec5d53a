//! `POST /cgi-bin/qrcode/create` and `GET /cgi-bin/showqrcode?ticket=`.

use super::common::{Params, json_body, param, params};
use crate::accounts::AccountKind;
use crate::errcode::{self, WxError};
use crate::sandbox::Sandbox;
use crate::settings::endpoints as ep;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Creates a parametric QR code (service accounts only).
pub async fn create(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::QRCODE_CREATE).await?;
    let appid = sb.auth_official(&params(q), ep::QRCODE_CREATE)?;
    let b = json_body(&body)?;
    sb.with(|s| {
        if s.entry(&appid)?.account.kind != AccountKind::Service {
            return Err(WxError::new(errcode::API_UNAUTHORIZED));
        }
        s.take_quota(&appid, ep::QRCODE_CREATE)?;
        let now = s.now();
        Ok(Json(s.qr.create(&appid, &b, now)?.to_response()))
    })
}

/// Serves the QR image of a ticket (no access_token, like WeChat). Unknown or expired
/// tickets get a 404, which is how a client that forgot to URL-encode the ticket finds out.
pub async fn show(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
) -> Response {
    if let Err(e) = sb.enter(ep::SHOWQRCODE).await {
        return e.into_response();
    }
    let p = params(q);
    let ticket = param(&p, "ticket").unwrap_or_default();
    let url = sb.with(|s| {
        s.qr.resolve(ticket)
            .filter(|t| !t.expired(s.now()))
            .map(|t| t.url.clone())
    });
    let Some(url) = url.filter(|_| !ticket.is_empty()) else {
        return (StatusCode::NOT_FOUND, "ticket not found or expired").into_response();
    };
    match crate::qr::render_png(&url) {
        Some(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "cannot render QR code").into_response(),
    }
}
