//! What sending a push needs besides the recipients, loaded once per push and instance.

use livenotify::domain::{Push, PushId};
use livenotify::notification::{NotificationError, PreparedMessage, landing_url};
use livenotify::platform::{CredentialsError, Platform};
use livenotify::store::StoreError;
use livenotify::wechat::TokenAccount;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why a push cannot be sent at all (the push fails with this reason, in Chinese).
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The message cannot be rendered (missing template, bad placeholder, field too long).
    #[error(transparent)]
    Notification(#[from] NotificationError),
    /// The account cannot get a token (e.g. WeCom without agent id).
    #[error("公众号凭据不可用：{0}")]
    Credentials(String),
    /// Table trouble (transient: the job is retried).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ContextError {
    /// A problem of the push itself (fail it), not of the infrastructure (retry).
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Store(e) => matches!(e, StoreError::NotFound { .. }),
            _ => true,
        }
    }
}

/// A push's rendered message and the account's token credentials.
#[derive(Debug)]
pub struct PushContext {
    /// Credentials to send with.
    pub account: TokenAccount,
    /// The rendered message, on the push's channel.
    pub message: PreparedMessage,
}

/// Contexts by push, for the life of the instance (a push's message is fixed once it starts).
#[derive(Debug, Default)]
pub struct ContextCache {
    loaded: Mutex<HashMap<PushId, Arc<PushContext>>>,
}

impl ContextCache {
    /// The context of `push`, loading it on first use.
    pub async fn get(
        &self,
        platform: &Platform,
        push: &Push,
    ) -> Result<Arc<PushContext>, ContextError> {
        if let Some(found) = self.lock().get(&push.id) {
            return Ok(found.clone());
        }
        let context = Arc::new(load(platform, push).await?);
        self.lock().insert(push.id, context.clone());
        Ok(context)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PushId, Arc<PushContext>>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn load(platform: &Platform, push: &Push) -> Result<PushContext, ContextError> {
    let account = platform.store.get_account(&push.account_id).await?;
    let course = platform.store.get_course(push.course_id).await?;
    let url = landing_url(&platform.config.public_base_url, course.id);
    // Checks the channel against the account and every length rule of the channel.
    let message = PreparedMessage::render(push.channel, &course, &account, url)?;
    let account = platform
        .token_account(&push.account_id)
        .await
        .map_err(|e| match e {
            CredentialsError::Store(s) => ContextError::Store(s),
            other => ContextError::Credentials(other.to_string()),
        })?;
    Ok(PushContext { account, message })
}
