//! Admin users (super admins only): list, create, view, change, delete.

use crate::AppState;
use crate::audit_layer::AuditTarget;
use crate::auth::{MAX_FAILED_LOGINS, SuperAdmin, hash_password};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::pagination::{PageQuery, Paged};
use crate::validate::Validator;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use livenotify::domain::{AccountId, AdminUser, Role, now};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;

/// Role names on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    /// 超级管理员: everything, including admins.
    SuperAdmin,
    /// 运营: courses and pushes of the listed accounts.
    Operator,
    /// 只读.
    Viewer,
}

/// An admin as the API shows it (never the password hash).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminView {
    /// Login name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: RoleName,
    /// Accounts an operator may act for, or a viewer may read (empty for super admins).
    pub accounts: Vec<String>,
    /// Cannot log in.
    pub disabled: bool,
    /// Logins refused until then from the addresses in `locked_from` (too many failures
    /// there); shown in the admin list and detail, absent elsewhere.
    pub locked_until: Option<DateTime<Utc>>,
    /// Client addresses this admin may not log in from until `locked_until`.
    pub locked_from: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<AdminUser> for AdminView {
    fn from(admin: AdminUser) -> Self {
        let (role, accounts) = match admin.role {
            Role::SuperAdmin => (RoleName::SuperAdmin, Vec::new()),
            Role::Operator { accounts } => (
                RoleName::Operator,
                accounts.into_iter().map(String::from).collect(),
            ),
            Role::Viewer { accounts } => (
                RoleName::Viewer,
                accounts.into_iter().map(String::from).collect(),
            ),
        };
        Self {
            username: admin.username,
            display_name: admin.display_name,
            role,
            accounts,
            disabled: admin.disabled,
            locked_until: None,
            locked_from: Vec::new(),
            created_at: admin.created_at,
            updated_at: admin.updated_at,
        }
    }
}

/// `admin`'s view with its login locks (read from the failure counters).
async fn view_with_locks(state: &AppState, admin: AdminUser) -> ApiResult<AdminView> {
    let locks = state
        .platform
        .store
        .login_locks(&admin.username, MAX_FAILED_LOGINS, now())
        .await?;
    let mut view = AdminView::from(admin);
    view.locked_until = locks.iter().map(|(_, until)| *until).max();
    view.locked_from = locks.into_iter().map(|(address, _)| address).collect();
    Ok(view)
}

/// A new admin.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdminCreate {
    /// Login name: 3 to 64 letters, digits, `_`, `-`, `.`.
    pub username: String,
    /// Shown name.
    #[serde(default)]
    pub display_name: String,
    /// Password, 10 to 256 characters.
    pub password: String,
    /// Role.
    pub role: RoleName,
    /// For operators and viewers: the accounts they may act for or read.
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// Changes to an admin; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdminUpdate {
    /// Shown name.
    pub display_name: Option<String>,
    /// New password.
    pub password: Option<String>,
    /// New role (with `accounts` for operators).
    pub role: Option<RoleName>,
    /// Operator or viewer scope (with `role`).
    pub accounts: Option<Vec<String>>,
    /// Disable or re-enable logins.
    pub disabled: Option<bool>,
    /// `true` clears the admin's login locks (from every address).
    #[serde(default)]
    pub unlock: bool,
}

fn role(v: &mut Validator, name: RoleName, accounts: &[String]) -> Role {
    match name {
        RoleName::SuperAdmin => Role::SuperAdmin,
        RoleName::Viewer | RoleName::Operator => {
            let mut set = BTreeSet::new();
            for (i, account) in accounts.iter().enumerate() {
                if let Some(id) = v.id::<AccountId>(&format!("accounts[{i}]"), account) {
                    set.insert(id);
                }
            }
            if accounts.is_empty() {
                v.add("accounts", "required", "运营与只读角色须至少指定一个公众号");
            }
            if name == RoleName::Operator {
                Role::Operator { accounts: set }
            } else {
                Role::Viewer { accounts: set }
            }
        }
    }
}

fn password(v: &mut Validator, password: &str) {
    let n = password.chars().count();
    if !(10..=256).contains(&n) {
        v.add(
            "password",
            "invalid_length",
            "密码长度须为 10 到 256 个字符",
        );
    }
}

#[utoipa::path(get, path = "/api/admins", tag = "登录与管理员", summary = "管理员列表",
    params(PageQuery), responses((status = 200, body = Paged<AdminView>)))]
/// Admins by username.
pub async fn list(
    State(state): State<AppState>,
    SuperAdmin(_caller): SuperAdmin,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paged<AdminView>>> {
    let page = state.platform.store.list_admins(&page.request()?).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for admin in page.items {
        items.push(view_with_locks(&state, admin).await?);
    }
    Ok(Json(Paged {
        items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/admins", tag = "登录与管理员", summary = "新建管理员",
    request_body = AdminCreate, responses((status = 201, body = AdminView)))]
/// Adds an admin.
pub async fn create(
    State(state): State<AppState>,
    SuperAdmin(_caller): SuperAdmin,
    ApiJson(input): ApiJson<AdminCreate>,
) -> ApiResult<(StatusCode, Extension<AuditTarget>, Json<AdminView>)> {
    let mut v = Validator::new();
    let username = input.username.trim().to_string();
    if !(3..=64).contains(&username.len())
        || !username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        v.add(
            "username",
            "invalid_username",
            "用户名须为 3 到 64 个字母、数字、_、-、.",
        );
    }
    v.max_len("display_name", &input.display_name, 64);
    password(&mut v, &input.password);
    let role = role(&mut v, input.role, &input.accounts);
    v.finish()?;
    let hash = hash_password(&input.password).map_err(ApiError::internal)?;
    let at = now();
    let admin = AdminUser {
        username: username.clone(),
        display_name: input.display_name.trim().to_string(),
        role,
        password_hash: hash,
        disabled: false,
        session_epoch: 0,
        created_at: at,
        updated_at: at,
    };
    state.platform.store.create_admin(&admin).await?;
    Ok((
        StatusCode::CREATED,
        Extension(AuditTarget(format!("admin/{username}"))),
        Json(admin.into()),
    ))
}

#[utoipa::path(get, path = "/api/admins/{username}", tag = "登录与管理员", summary = "管理员详情",
    params(("username" = String, Path, description = "Login name")),
    responses((status = 200, body = AdminView)))]
/// One admin.
pub async fn get(
    State(state): State<AppState>,
    SuperAdmin(_caller): SuperAdmin,
    Path(username): Path<String>,
) -> ApiResult<Json<AdminView>> {
    Ok(Json(
        view_with_locks(&state, find(&state, &username).await?).await?,
    ))
}

async fn find(state: &AppState, username: &str) -> ApiResult<AdminUser> {
    state
        .platform
        .store
        .find_admin(username)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            entity: "admin",
            id: username.chars().take(64).collect(),
        })
}

#[utoipa::path(patch, path = "/api/admins/{username}", tag = "登录与管理员", summary = "修改管理员（角色、密码、停用、解锁）",
    params(("username" = String, Path, description = "Login name")),
    request_body = AdminUpdate, responses((status = 200, body = AdminView)))]
/// Changes an admin. A super admin cannot demote or disable themself (someone must remain).
pub async fn update(
    State(state): State<AppState>,
    SuperAdmin(caller): SuperAdmin,
    Path(username): Path<String>,
    ApiJson(input): ApiJson<AdminUpdate>,
) -> ApiResult<Json<AdminView>> {
    let mut admin = find(&state, &username).await?;
    let read_epoch = admin.session_epoch;
    let before = (admin.role.clone(), admin.disabled);
    let mut v = Validator::new();
    if let Some(name) = &input.display_name {
        v.max_len("display_name", name, 64);
        admin.display_name = name.trim().to_string();
    }
    if let Some(new) = &input.password {
        password(&mut v, new);
    }
    if let Some(name) = input.role {
        admin.role = role(&mut v, name, input.accounts.as_deref().unwrap_or_default());
    } else if input.accounts.is_some() {
        v.add("role", "required", "修改公众号范围时须同时指定角色");
    }
    let myself = admin.username == caller.username();
    if myself && (admin.role != Role::SuperAdmin || input.disabled == Some(true)) {
        v.add("role", "self_demotion", "不能降级或停用自己");
    }
    v.finish()?;
    let mut end_sessions = false;
    if let Some(new) = &input.password {
        admin.password_hash = hash_password(new).map_err(ApiError::internal)?;
        end_sessions = true;
    }
    if let Some(disabled) = input.disabled {
        admin.disabled = disabled;
    }
    // A new password, role, scope or a disable ends every token issued before it.
    if end_sessions || before != (admin.role.clone(), admin.disabled) {
        admin.session_epoch = read_epoch + 1;
    }
    admin.updated_at = now();
    let store = &state.platform.store;
    store
        .update_admin(&admin, read_epoch)
        .await
        .map_err(|e| match e {
            livenotify::store::StoreError::Conflict { .. } => {
                ApiError::Conflict("该管理员刚被修改或已退出登录，请刷新后重试".into())
            }
            other => other.into(),
        })?;
    if input.unlock {
        store.clear_all_login_failures(&admin.username).await?;
    }
    Ok(Json(view_with_locks(&state, admin).await?))
}

#[utoipa::path(delete, path = "/api/admins/{username}", tag = "登录与管理员", summary = "删除管理员",
    params(("username" = String, Path, description = "Login name")),
    responses((status = 204, description = "Deleted")))]
/// Removes an admin (not oneself).
pub async fn delete(
    State(state): State<AppState>,
    SuperAdmin(caller): SuperAdmin,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    if username == caller.username() {
        return Err(ApiError::Conflict("不能删除自己".into()));
    }
    state.platform.store.delete_admin(&username).await?;
    Ok(StatusCode::NO_CONTENT)
}
