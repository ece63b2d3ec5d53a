//! `POST /api/auth/login`, `POST /api/auth/logout` and `GET /api/auth/me`.

use crate::AppState;
use crate::audit_layer::{self, AuditedByHandler};
use crate::auth::{
    self, Caller, ClientAddress, FAILURE_WINDOW, MAX_FAILED_LOGINS, MAX_FAILED_LOGINS_PER_ADDRESS,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::admins::AdminView;
use crate::validate::Validator;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use livenotify::domain::{AuditEntry, AuditId, AuditOutcome, now};
use livenotify::store::LoginFailures;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Login form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A fresh bearer token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Who logged in.
    pub admin: AdminView,
}

#[utoipa::path(post, path = "/api/auth/login", tag = "登录与管理员", summary = "登录",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "invalid_credentials：用户名或密码错误", body = crate::ErrorBody),
        (status = 429, description = "login_locked：失败次数过多，details.locked_until 之前拒绝登录", body = crate::ErrorBody),
    ))]
/// Exchanges username and password for a bearer token. After 5 failures of one username from
/// one address within 15 minutes, that address may not log in as that username until the
/// window ends; after 30 failures from one address (any usernames), that address may not log
/// in at all. Other addresses are not affected. Every failure is counted atomically.
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(form): ApiJson<LoginRequest>,
) -> Response {
    let username = form.username.trim().to_string();
    let result = attempt(&state, &username, &form.password, &address).await;
    let outcome = match &result {
        Ok(_) => AuditOutcome::Succeeded,
        Err(ApiError::Internal(_)) => AuditOutcome::Failed,
        Err(_) => AuditOutcome::Refused,
    };
    let entry = AuditEntry {
        id: AuditId::generate(),
        at: now(),
        actor: username.chars().take(64).collect(),
        action: "POST /api/auth/login".into(),
        target: format!("admin/{}", username.chars().take(64).collect::<String>()),
        outcome,
        details: serde_json::json!({ "address": address }),
    };
    audit_layer::record(&state, &entry).await;
    (Extension(AuditedByHandler), result).into_response()
}

/// The lock `failures` hold, if any.
fn lock(failures: &LoginFailures) -> Option<livenotify::domain::Timestamp> {
    let user = failures
        .user_at_address
        .filter(|c| c.failures >= MAX_FAILED_LOGINS)
        .map(|c| c.window_ends);
    let address = failures
        .address
        .filter(|c| c.failures >= MAX_FAILED_LOGINS_PER_ADDRESS)
        .map(|c| c.window_ends);
    user.into_iter().chain(address).max()
}

async fn attempt(
    state: &AppState,
    username: &str,
    password: &str,
    address: &str,
) -> ApiResult<Json<LoginResponse>> {
    let mut v = Validator::new();
    v.required_text("username", username, 64);
    v.required_text("password", password, 256);
    v.finish()?;
    let store = &state.platform.store;
    let at = now();
    // A locked (username, address) or address is refused before the password is looked at;
    // the refusal counts as a failure too, so the count is every try.
    if let Some(until) = lock(&store.login_failures(username, address, at).await?) {
        store
            .count_login_failure(username, address, at, FAILURE_WINDOW)
            .await?;
        return Err(ApiError::LoginLocked { until });
    }
    let admin = store.find_admin(username).await?;
    let verified = match &admin {
        Some(admin) => verify(admin.password_hash.clone(), password).await?,
        None => {
            // Same work as a real check, so response time does not reveal which usernames exist.
            verify(dummy_hash().to_string(), password).await?;
            false
        }
    };
    let admin = match admin {
        Some(admin) if verified && !admin.disabled => admin,
        _ => {
            let failures = store
                .count_login_failure(username, address, at, FAILURE_WINDOW)
                .await?;
            tracing::info!(username, address, "login refused");
            return Err(match lock(&failures) {
                Some(until) => ApiError::LoginLocked { until },
                None => ApiError::InvalidCredentials,
            });
        }
    };
    store.clear_login_failures(username, address).await?;
    let (token, expires_at) = auth::issue_token(&state.platform.signer, &admin);
    tracing::info!(username, "login");
    Ok(Json(LoginResponse {
        token,
        expires_at,
        admin: AdminView::from(admin),
    }))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "登录与管理员", summary = "退出登录",
    responses((status = 204, description = "Every token of this admin is ended (all devices)")))]
/// Ends the caller's sessions: this token and every other token of the same admin fail from
/// the next request on.
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    state.platform.store.end_sessions(caller.username()).await?;
    tracing::info!(username = caller.username(), "logout");
    Ok(StatusCode::NO_CONTENT)
}

/// argon2 is CPU-bound: keep it off the async worker threads.
async fn verify(hash: String, password: &str) -> ApiResult<bool> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || auth::verify_password(&hash, &password))
        .await
        .map_err(ApiError::internal)
}

/// A real argon2id hash of a random password, verified against when the username is unknown.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let random = ulid::Ulid::new().to_string();
        auth::hash_password(&random).unwrap_or_default()
    })
}

#[utoipa::path(get, path = "/api/auth/me", tag = "登录与管理员", summary = "当前登录的管理员",
    responses((status = 200, body = AdminView)))]
/// The admin the token belongs to.
pub async fn me(caller: Caller) -> Json<AdminView> {
    Json(AdminView::from(caller.admin))
}
