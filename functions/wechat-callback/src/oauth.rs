//! Web OAuth of service accounts: `/wechat/<appid>/oauth/start?course=<id>` sends the visitor
//! to WeChat with a signed, expiring `state`; `/wechat/<appid>/oauth/callback` checks it,
//! exchanges the code for the visitor's openid/unionid and sets the session cookie.

use crate::AppState;
use crate::account_cache::LoadError;
use crate::session::Session;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use livenotify::domain::{AccountKind, CourseId, now};
use livenotify::wechat::{AppCredentials, OAuthScope, WechatError};
use serde::Deserialize;

/// Signing purpose of the state.
const PURPOSE: &str = "oauth_state";
/// The visitor has this long to come back from WeChat.
const STATE_TTL_SECS: i64 = 600;
/// Hex length of the state's MAC.
const TAG_LEN: usize = 32;

/// `?course=<id>`.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    course: Option<String>,
}

/// What WeChat sends back.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    course: Option<String>,
}

fn state_message(appid: &str, course: CourseId, expires: i64) -> String {
    format!("{appid}|{course}|{expires}")
}

/// `<expiry><mac>`: WeChat takes only `[A-Za-z0-9]` in `state`, so no signed JSON here; the
/// course travels in the redirect URI and is bound by the MAC.
fn make_state(state: &AppState, appid: &str, course: CourseId) -> String {
    let expires = now().timestamp() + STATE_TTL_SECS;
    let tag = state
        .platform
        .signer
        .tag(PURPOSE, &state_message(appid, course, expires));
    format!("{expires}{tag}")
}

fn check_state(state: &AppState, appid: &str, course: CourseId, value: &str) -> bool {
    if value.len() <= TAG_LEN || !value.is_ascii() {
        return false;
    }
    let (expires, tag) = value.split_at(value.len() - TAG_LEN);
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    expires >= now().timestamp()
        && state
            .platform
            .signer
            .check_tag(PURPOSE, &state_message(appid, course, expires), tag)
}

fn bad_request(message: &'static str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

fn parse_course(value: Option<&str>) -> Option<CourseId> {
    value?.parse().ok()
}

/// Redirects to WeChat's consent page.
pub async fn start(
    State(state): State<AppState>,
    Path(appid): Path<String>,
    Query(query): Query<StartQuery>,
) -> Response {
    let Some(course) = parse_course(query.course.as_deref()) else {
        return bad_request("缺少或无效的课程参数 (course)");
    };
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
    if ctx.account.kind != AccountKind::Service {
        return bad_request("只有服务号支持网页授权");
    }
    let redirect_uri = format!(
        "{}/wechat/{appid}/oauth/callback?course={course}",
        state.platform.config.public_base_url
    );
    let oauth_state = make_state(&state, &ctx.account.appid, course);
    // snsapi_userinfo: the follow gate needs the unionid, which snsapi_base does not give.
    match state.platform.wechat().oauth_authorize_url(
        &ctx.account.appid,
        &redirect_uri,
        OAuthScope::UserInfo,
        &oauth_state,
    ) {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => {
            tracing::error!(%appid, error = %e, "cannot build the OAuth URL");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot start sign-in").into_response()
        }
    }
}

/// Finishes sign-in and returns the visitor to the course page.
pub async fn callback(
    State(state): State<AppState>,
    Path(appid): Path<String>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(course) = parse_course(query.course.as_deref()) else {
        return bad_request("缺少或无效的课程参数 (course)");
    };
    let (Some(code), Some(oauth_state)) = (query.code.as_deref(), query.state.as_deref()) else {
        // No code: the visitor declined on WeChat's page.
        return bad_request("未完成微信授权，请返回课程页面重试");
    };
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
    if !check_state(&state, &ctx.account.appid, course, oauth_state) {
        tracing::warn!(%appid, "OAuth state refused (forged, altered or expired)");
        return bad_request("授权链接无效或已过期，请重新打开课程页面");
    }
    let credentials = AppCredentials::new(&ctx.account.appid, &ctx.secrets.app_secret);
    let token = match state
        .platform
        .wechat()
        .exchange_oauth_code(&credentials, code)
        .await
    {
        Ok(token) => token,
        Err(e @ (WechatError::Api { .. } | WechatError::InvalidRequest(_))) => {
            tracing::warn!(%appid, error = %e, "OAuth code refused");
            return bad_request("微信授权已失效，请重新打开课程页面");
        }
        Err(e) => {
            tracing::error!(%appid, error = %e, "OAuth code exchange failed");
            return (StatusCode::BAD_GATEWAY, "微信暂时无法访问，请稍后再试").into_response();
        }
    };
    let session = Session {
        account: ctx.account.id.clone(),
        openid: token.openid,
        unionid: token.unionid.filter(|u| !u.is_empty()),
    };
    let secure = state
        .platform
        .config
        .public_base_url
        .starts_with("https://");
    let cookie = session.cookie(&state.platform.signer, secure);
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&format!("/c/{course}")),
    )
        .into_response()
}
