//! Sending one rendered notification to one openid (an admin's test send), outside any push:
//! no delivery record, no counters, no idempotency key (each test send is a new message).

use super::rendered::RenderedNotification;
use crate::domain::AccountId;
use crate::platform::{CredentialsError, Platform};
use crate::wechat::WechatError;

/// Why a single send did not go out.
#[derive(Debug, thiserror::Error)]
pub enum SingleSendError {
    /// The account's credentials could not be read (or it has none usable).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// WeChat refused, or could not be reached.
    #[error(transparent)]
    Wechat(#[from] WechatError),
}

/// Sends `rendered` from `account` to `openid`; returns WeChat's msgid.
pub async fn send_one(
    platform: &Platform,
    account: &AccountId,
    rendered: &RenderedNotification,
    openid: &str,
) -> Result<String, SingleSendError> {
    let credentials = platform.token_account(account).await?;
    let client = platform.tokens.client();
    let msgid = match rendered {
        RenderedNotification::Template(prepared) => {
            let message = prepared.to(openid, None);
            let message = &message;
            platform
                .tokens
                .call(&credentials, |token| async move {
                    client.send_template(&token, message).await
                })
                .await?
        }
    };
    tracing::info!(account = %account, msgid, "single notification sent");
    Ok(msgid.to_string())
}
