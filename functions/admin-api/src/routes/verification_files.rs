//! Domain verification files (super admins write, everyone in scope reads). WeChat asks for
//! `MP_verify_<code>.txt` at the domain root before it allows OAuth on the domain; the
//! wechat-callback function serves the stored file there.

use crate::AppState;
use crate::auth::{Caller, SuperAdmin};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::accounts::account_id;
use crate::validate::Validator;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use livenotify::domain::{
    VerificationFile, check_verification_content, check_verification_name, now,
};
use livenotify::store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The file as WeChat's console gives it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerificationFileBody {
    /// File name, `MP_verify_<letters and digits>.txt`.
    pub name: String,
    /// The file's text (1 to 64 letters and digits).
    pub content: String,
}

/// An account's verification file and where it is served.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerificationFileView {
    /// File name.
    pub name: String,
    /// The file's text.
    pub content: String,
    /// The address WeChat fetches (the platform's public base URL plus the name).
    pub url: String,
    /// Last set.
    pub updated_at: DateTime<Utc>,
}

fn view(state: &AppState, file: VerificationFile) -> VerificationFileView {
    let base = state.platform.config.public_base_url.trim_end_matches('/');
    VerificationFileView {
        url: format!("{base}/{}", file.name),
        name: file.name,
        content: file.content,
        updated_at: file.updated_at,
    }
}

#[utoipa::path(get, path = "/api/accounts/{account_id}/verification-file", tag = "公众号",
    summary = "查看网页授权域名校验文件",
    params(("account_id" = String, Path, description = "Account id")),
    responses((status = 200, body = VerificationFileView),
        (status = 404, description = "The account (in the caller's scope) has no file")))]
/// The account's verification file.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<VerificationFileView>> {
    let id = account_id(&id)?;
    caller.see_account(&id)?;
    let store = &state.platform.store;
    store.get_account(&id).await?;
    let file = store
        .account_verification_file(&id)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "verification_file",
            id: id.to_string(),
        })?;
    Ok(Json(view(&state, file)))
}

#[utoipa::path(put, path = "/api/accounts/{account_id}/verification-file", tag = "公众号",
    summary = "上传网页授权域名校验文件（MP_verify_*.txt）",
    params(("account_id" = String, Path, description = "Account id")),
    request_body = VerificationFileBody,
    responses((status = 200, body = VerificationFileView),
        (status = 409, description = "Another account has a file by this name")))]
/// Sets the account's verification file, replacing its previous one (super admins).
pub async fn put(
    State(state): State<AppState>,
    SuperAdmin(_caller): SuperAdmin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VerificationFileBody>,
) -> ApiResult<Json<VerificationFileView>> {
    let id = account_id(&id)?;
    let name = input.name.trim().to_string();
    let content = input.content.trim().to_string();
    let mut v = Validator::new();
    if let Err(e) = check_verification_name(&name) {
        v.add("name", "invalid_name", e.to_string());
    }
    if let Err(e) = check_verification_content(&content) {
        v.add("content", "invalid_content", e.to_string());
    }
    v.finish()?;
    let store = &state.platform.store;
    store.get_account(&id).await?;
    let previous = store.account_verification_file(&id).await?;
    let file = VerificationFile {
        account_id: id.clone(),
        name,
        content,
        updated_at: now(),
    };
    store
        .set_verification_file(&file, previous.as_ref().map(|f| f.name.as_str()))
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::Conflict(
                "该文件名已被其他公众号使用，或校验文件刚被修改，请刷新后重试".into(),
            ),
            other => other.into(),
        })?;
    tracing::info!(account = %id, file = %file.name, "verification file set");
    Ok(Json(view(&state, file)))
}

#[utoipa::path(delete, path = "/api/accounts/{account_id}/verification-file", tag = "公众号",
    summary = "删除网页授权域名校验文件",
    params(("account_id" = String, Path, description = "Account id")),
    responses((status = 204, description = "Removed; the name is no longer served")))]
/// Removes the account's verification file (super admins).
pub async fn delete(
    State(state): State<AppState>,
    SuperAdmin(_caller): SuperAdmin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = account_id(&id)?;
    state.platform.store.delete_verification_file(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
