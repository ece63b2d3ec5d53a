//! The authenticated caller of a request and what they may do.

use super::token::{Claims, PURPOSE};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use livenotify::domain::{AccountId, AdminUser, Role};
use livenotify::signed::TokenError;
use std::sync::{Arc, Mutex};

/// Filled by [`Caller`] with the username, read by the audit layer after the handler ran.
#[derive(Debug, Clone, Default)]
pub struct ActorSlot(pub Arc<Mutex<Option<String>>>);

impl ActorSlot {
    /// The recorded username.
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }

    fn set(&self, username: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(username.to_string());
        }
    }
}

/// An admin with a valid token of its current session, re-read from the table on every
/// request so that a logout, a disable or a role change takes effect at once.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The admin.
    pub admin: AdminUser,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthenticated)?;
        let claims: Claims = state
            .platform
            .signer
            .verify(PURPOSE, token)
            .map_err(|e| match e {
                TokenError::Expired => ApiError::SessionExpired,
                _ => ApiError::Unauthenticated,
            })?;
        let admin = state
            .platform
            .store
            .find_admin(&claims.sub)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        // Ended sessions fail on the very next request: the epoch is read with the admin.
        if admin.disabled || admin.session_epoch != claims.epoch {
            return Err(ApiError::SessionEnded);
        }
        if let Some(slot) = parts.extensions.get::<ActorSlot>() {
            slot.set(&admin.username);
        }
        Ok(Self { admin })
    }
}

impl Caller {
    /// Username.
    pub fn username(&self) -> &str {
        &self.admin.username
    }

    /// Only super admins (managing admins and accounts, reading the audit log).
    pub fn require_super_admin(&self) -> Result<(), ApiError> {
        match self.admin.role {
            Role::SuperAdmin => Ok(()),
            _ => Err(ApiError::Forbidden("仅超级管理员可执行".into())),
        }
    }

    /// Anyone who may change something (not viewers).
    pub fn require_writer(&self) -> Result<(), ApiError> {
        match self.admin.role {
            Role::Viewer { .. } => Err(ApiError::Forbidden("只读用户不能修改数据".into())),
            _ => Ok(()),
        }
    }

    /// May act for every one of `accounts` (operators only within their scope).
    pub fn require_accounts<'a>(
        &self,
        accounts: impl IntoIterator<Item = &'a AccountId>,
    ) -> Result<(), ApiError> {
        self.require_writer()?;
        let outside: Vec<String> = accounts
            .into_iter()
            .filter(|a| !self.admin.role.may_operate(a))
            .map(ToString::to_string)
            .collect();
        if outside.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "无权操作这些公众号：{}",
                outside.join(", ")
            )))
        }
    }
}

/// A caller who may change things (not a viewer); checked before the body is read, so a
/// forbidden call gets 403 whatever it sent.
#[derive(Debug, Clone)]
pub struct Writer(pub Caller);

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_writer()?;
        Ok(Self(caller))
    }
}

/// A super admin; checked before the body is read.
#[derive(Debug, Clone)]
pub struct SuperAdmin(pub Caller);

impl FromRequestParts<AppState> for SuperAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_super_admin()?;
        Ok(Self(caller))
    }
}
