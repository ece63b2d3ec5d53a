//! `POST /api/auth/login` and `GET /api/auth/me`.

use crate::AppState;
use crate::audit_layer::{self, AuditedByHandler};
use crate::auth::{self, Caller, LOCK_DURATION, MAX_FAILED_LOGINS};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::admins::AdminView;
use crate::validate::Validator;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use livenotify::domain::{AuditEntry, AuditId, AuditOutcome, now};
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
/// Exchanges username and password for a bearer token. After 5 consecutive failures the
/// username is locked for 15 minutes (the count is kept in the table, per username).
pub async fn login(
    State(state): State<AppState>,
    ApiJson(form): ApiJson<LoginRequest>,
) -> Response {
    let username = form.username.trim().to_string();
    let result = attempt(&state, &username, &form.password).await;
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
        details: serde_json::Value::Null,
    };
    audit_layer::record(&state, &entry).await;
    (Extension(AuditedByHandler), result).into_response()
}

async fn attempt(
    state: &AppState,
    username: &str,
    password: &str,
) -> ApiResult<Json<LoginResponse>> {
    let mut v = Validator::new();
    v.required_text("username", username, 64);
    v.required_text("password", password, 256);
    v.finish()?;
    let store = &state.platform.store;
    let Some(mut admin) = store.find_admin(username).await? else {
        // Same work as a real check, so response time does not reveal which usernames exist.
        verify(dummy_hash().to_string(), password).await?;
        return Err(ApiError::InvalidCredentials);
    };
    let at = now();
    if let Some(until) = admin.locked_until.filter(|until| *until > at) {
        return Err(ApiError::LoginLocked { until });
    }
    let verified = verify(admin.password_hash.clone(), password).await?;
    if !verified || admin.disabled {
        admin.failed_logins = admin.failed_logins.saturating_add(1);
        if admin.failed_logins >= MAX_FAILED_LOGINS {
            admin.locked_until = Some(at + LOCK_DURATION);
            admin.failed_logins = 0;
        }
        admin.updated_at = at;
        store.update_admin(&admin).await?;
        tracing::info!(username, "login refused");
        return Err(match admin.locked_until {
            Some(until) if until > at => ApiError::LoginLocked { until },
            _ => ApiError::InvalidCredentials,
        });
    }
    if admin.failed_logins > 0 || admin.locked_until.is_some() {
        admin.failed_logins = 0;
        admin.locked_until = None;
        store.update_admin(&admin).await?;
    }
    let (token, expires_at) = auth::issue_token(&state.platform.signer, &admin.username);
    tracing::info!(username, "login");
    Ok(Json(LoginResponse {
        token,
        expires_at,
        admin: AdminView::from(admin),
    }))
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
