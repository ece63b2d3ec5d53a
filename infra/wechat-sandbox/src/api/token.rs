//! `GET /cgi-bin/token` and `POST /cgi-bin/stable_token`.

use super::common::{Params, json_body, param, params};
use crate::accounts::AccountKind;
use crate::clock::secs;
use crate::errcode::{self, WxError};
use crate::sandbox::Sandbox;
use crate::settings::endpoints as ep;
use crate::state::State;
use crate::tokens::TokenKind;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as AxState};
use serde_json::{Value, json};

/// Checks appid and secret of an official account or mini program (40013, 40125).
fn check_credentials(
    s: &mut State,
    endpoint: &str,
    appid: &str,
    secret: &str,
) -> Result<(), WxError> {
    let e = s.entry(appid)?;
    if e.account.kind == AccountKind::Wecom {
        return Err(WxError::new(errcode::INVALID_APPID));
    }
    let matches = e.account.secret == secret;
    s.counters.hit_account(endpoint, appid);
    if !matches {
        return Err(WxError::new(errcode::INVALID_APPSECRET));
    }
    Ok(())
}

/// `GET /cgi-bin/token?grant_type=client_credential&appid&secret`: a new token every call;
/// the previous one keeps working for the overlap only.
pub async fn token(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::TOKEN).await?;
    let p = params(q);
    if param(&p, "grant_type") != Some("client_credential") {
        return Err(WxError::new(errcode::INVALID_GRANT_TYPE));
    }
    let appid = param(&p, "appid").ok_or_else(|| WxError::new(errcode::APPID_MISSING))?;
    let secret = param(&p, "secret").ok_or_else(|| WxError::new(errcode::APPSECRET_MISSING))?;
    sb.with(|s| {
        check_credentials(s, ep::TOKEN, appid, secret)?;
        s.take_quota(appid, ep::TOKEN)?;
        let (now, ttl, overlap) = (s.now(), s.token_ttl(), secs(s.settings.token_overlap));
        let issued = s.tokens.issue(appid, TokenKind::Regular, now, ttl, overlap);
        Ok(Json(
            json!({"access_token": issued.access_token, "expires_in": issued.expires_in}),
        ))
    })
}

/// `POST /cgi-bin/stable_token {grant_type, appid, secret, force_refresh}`: the same token
/// while it is valid, a new one (old one dead at once) with `force_refresh`.
pub async fn stable_token(
    AxState(sb): AxState<Sandbox>,
    body: Bytes,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::STABLE_TOKEN).await?;
    let b = json_body(&body)?;
    if b.get("grant_type").and_then(Value::as_str) != Some("client_credential") {
        return Err(WxError::new(errcode::INVALID_GRANT_TYPE));
    }
    let appid = b
        .get("appid")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let appid = appid.ok_or_else(|| WxError::new(errcode::APPID_MISSING))?;
    let secret = b
        .get("secret")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let secret = secret.ok_or_else(|| WxError::new(errcode::APPSECRET_MISSING))?;
    let force = match b.get("force_refresh") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(f)) => *f,
        Some(_) => return Err(WxError::new(errcode::DATA_FORMAT_ERROR)),
    };
    sb.with(|s| {
        check_credentials(s, ep::STABLE_TOKEN, appid, secret)?;
        s.take_quota(appid, ep::STABLE_TOKEN)?;
        let (now, ttl) = (s.now(), s.token_ttl());
        let issued = if force {
            s.tokens.issue(appid, TokenKind::Stable, now, ttl, 0)
        } else {
            s.tokens
                .current_or_issue(appid, TokenKind::Stable, now, ttl)
        };
        Ok(Json(
            json!({"access_token": issued.access_token, "expires_in": issued.expires_in}),
        ))
    })
}
