//! What sending a push needs besides the recipients, loaded once per push and instance.

use livenotify::domain::{AccountKind, Channel, Push, PushId};
use livenotify::notification::{NotificationError, PreparedTemplate, landing_url};
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
    /// The channel does not fit the account or is not available yet.
    #[error("{0}")]
    Channel(String),
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
    /// The rendered message.
    pub template: PreparedTemplate,
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
    if push.channel != Channel::Template {
        return Err(ContextError::Channel(format!(
            "渠道 {:?} 暂不支持，目前只能发送模板消息",
            push.channel
        )));
    }
    let account = platform.store.get_account(&push.account_id).await?;
    if account.kind != AccountKind::Service {
        return Err(ContextError::Channel(format!(
            "模板消息只能由服务号发送，{} 不是服务号",
            account.name
        )));
    }
    let course = platform.store.get_course(push.course_id).await?;
    let url = landing_url(&platform.config.public_base_url, course.id);
    let template = PreparedTemplate::render(&course, &push.account_id, Some(url))?;
    let account = platform
        .token_account(&push.account_id)
        .await
        .map_err(|e| match e {
            CredentialsError::Store(s) => ContextError::Store(s),
            other => ContextError::Credentials(other.to_string()),
        })?;
    Ok(PushContext { account, template })
}
