//! Web OAuth: the authorize page (which plays the user's consent) and the code exchange.

use super::common::{Params, param, params};
use crate::accounts::AccountKind;
use crate::errcode::{self, WxError};
use crate::sandbox::Sandbox;
use crate::settings::endpoints as ep;
use crate::tokens::TokenKind;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// WeChat shows OAuth errors as a page in the user's browser, not as JSON.
fn error_page(code: i64, what: &str) -> Response {
    let body = format!("Oops! Something went wrong:( errcode: {code}, {what}");
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state`:
/// the user consents at once and is redirected to `redirect_uri?code=...&state=...`.
/// The user is `sandbox_openid` if given, else the account's phone user, else a new visitor.
pub async fn authorize(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
) -> Response {
    if let Err(e) = sb.enter(ep::OAUTH_AUTHORIZE).await {
        return error_page(e.errcode, &e.errmsg);
    }
    let p = params(q);
    let appid = param(&p, "appid").unwrap_or_default();
    let Some(redirect) = param(&p, "redirect_uri").and_then(|u| reqwest::Url::parse(u).ok()) else {
        return error_page(10003, "redirect_uri is missing or not an absolute URL");
    };
    if !matches!(redirect.scheme(), "http" | "https") {
        return error_page(10003, "redirect_uri must be http(s)");
    }
    if param(&p, "response_type") != Some("code") {
        return error_page(10004, "response_type must be code");
    }
    let scope = param(&p, "scope").unwrap_or_default().to_string();
    if !matches!(scope.as_str(), "snsapi_base" | "snsapi_userinfo") {
        return error_page(10005, "scope must be snsapi_base or snsapi_userinfo");
    }
    let state = p.get("state").cloned().unwrap_or_default();
    let issued = sb.with(|s| {
        let now = s.now();
        let ttl = crate::clock::secs(s.settings.oauth_code_ttl);
        let Some(kind) = s.accounts.get(appid).map(|e| e.account.kind) else {
            return Err((errcode::INVALID_APPID, "invalid appid".to_string()));
        };
        if kind != AccountKind::Service {
            return Err((
                10005,
                "this account has no web authorisation scope".to_string(),
            ));
        }
        s.counters.hit_account(ep::OAUTH_AUTHORIZE, appid);
        let chosen = param(&p, "sandbox_openid")
            .map(str::to_string)
            .or_else(|| s.oauth.phone_user(appid).cloned());
        let openid = match chosen {
            Some(o) => {
                if s.pid_in(appid, &o).is_err() {
                    let what = "sandbox: user is not a person of this account".to_string();
                    return Err((errcode::INVALID_OPENID, what));
                }
                o
            }
            None => {
                let e = s.entry_mut(appid).map_err(|e| (e.errcode, e.errmsg))?;
                let pid = e.pop.add_visitor();
                e.openid(pid)
            }
        };
        Ok(s.oauth
            .issue(appid, &openid, &scope, now.saturating_add(ttl)))
    });
    let code = match issued {
        Ok(c) => c,
        Err((code, what)) => return error_page(code, &what),
    };
    let mut target = redirect;
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// `GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code`: the
/// user's openid; unionid only for `snsapi_userinfo` in an open-platform group.
pub async fn access_token(
    AxState(sb): AxState<Sandbox>,
    q: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, WxError> {
    sb.enter(ep::OAUTH_ACCESS_TOKEN).await?;
    let p = params(q);
    let appid = param(&p, "appid").ok_or_else(|| WxError::new(errcode::APPID_MISSING))?;
    let secret = param(&p, "secret").ok_or_else(|| WxError::new(errcode::APPSECRET_MISSING))?;
    let code = param(&p, "code").ok_or_else(|| WxError::new(errcode::CODE_MISSING))?;
    if param(&p, "grant_type") != Some("authorization_code") {
        return Err(WxError::new(errcode::INVALID_GRANT_TYPE));
    }
    sb.with(|s| {
        let e = s.entry(appid)?;
        if e.account.secret != secret {
            return Err(WxError::new(errcode::INVALID_APPSECRET));
        }
        s.counters.hit_account(ep::OAUTH_ACCESS_TOKEN, appid);
        let now = s.now();
        let grant = s.oauth.redeem(appid, code, now)?;
        let unionid = match s.locate(&grant.openid) {
            Some((a, pid)) if grant.scope == "snsapi_userinfo" => s.entry(&a)?.unionid(pid),
            _ => None,
        };
        let ttl = s.token_ttl();
        let token = s.tokens.issue(appid, TokenKind::Sns, now, ttl, i64::MAX);
        let mut body = json!({
            "access_token": token.access_token,
            "expires_in": token.expires_in,
            "refresh_token": crate::ids::random_token_chars(100),
            "openid": grant.openid,
            "scope": grant.scope,
        });
        if let (Some(u), Some(m)) = (unionid, body.as_object_mut()) {
            m.insert("unionid".into(), u.into());
        }
        Ok(Json(body))
    })
}
