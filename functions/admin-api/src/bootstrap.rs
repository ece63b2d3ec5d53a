//! The first super admin of a fresh table, so that someone can log in and create the rest.

use crate::auth::hash_password;
use livenotify::domain::{AdminUser, Role, now};
use livenotify::store::{Store, StoreError};

/// Why the first admin could not be created.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// Username or password unusable.
    #[error("first admin: {0}")]
    Invalid(&'static str),
    /// Hashing failed.
    #[error("first admin: password hash: {0}")]
    Hash(String),
    /// Table trouble.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates super admin `username` unless an admin of that name exists. Returns whether it
/// was created (an existing admin keeps their password).
pub async fn ensure_super_admin(
    store: &Store,
    username: &str,
    password: &str,
) -> Result<bool, BootstrapError> {
    if username.is_empty() || username.len() > 64 {
        return Err(BootstrapError::Invalid(
            "username must be 1 to 64 characters",
        ));
    }
    if password.chars().count() < 10 {
        return Err(BootstrapError::Invalid(
            "password must be at least 10 characters",
        ));
    }
    if store.find_admin(username).await?.is_some() {
        return Ok(false);
    }
    let at = now();
    let admin = AdminUser {
        username: username.to_string(),
        display_name: "超级管理员".into(),
        role: Role::SuperAdmin,
        password_hash: hash_password(password).map_err(|e| BootstrapError::Hash(e.to_string()))?,
        disabled: false,
        session_epoch: 0,
        created_at: at,
        updated_at: at,
    };
    match store.create_admin(&admin).await {
        Ok(()) => Ok(true),
        // Created meanwhile by another start-up.
        Err(StoreError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
