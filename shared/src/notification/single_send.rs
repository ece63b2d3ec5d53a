//! Sending one rendered notification to one openid (an admin's test send), outside any push:
//! no delivery record, no counters, and a fresh idempotency key (each test send is a new
//! message).

use super::channel::{AddressedMessage, PreparedMessage};
use super::outgoing;
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
    /// WeCom took the call but knows no such member, department or tag in the app's range.
    #[error("企业微信应用的可见范围内没有这个接收人")]
    Unreached,
}

/// Sends `rendered` from `account` to `recipient` (an openid, or a WeCom member id);
/// returns WeChat's msgid when the channel's API gives one (bizsend and customer-service
/// messages have none).
pub async fn send_one(
    platform: &Platform,
    account: &AccountId,
    rendered: &PreparedMessage,
    recipient: &str,
) -> Result<Option<String>, SingleSendError> {
    let credentials = platform.token_account(account).await?;
    let client = platform.tokens.client();
    // A fresh idempotency key per test send: an admin who sends twice gets two messages.
    let mut message = rendered.to(recipient, &format!("test:{}", ulid::Ulid::new()));
    if let AddressedMessage::Wecom(wecom) = &mut message {
        wecom.enable_duplicate_check = false;
        wecom.duplicate_check_interval = None;
    }
    let message = &message;
    let accepted = platform
        .tokens
        .call(&credentials, |token| async move {
            outgoing::send(client, &token, message).await
        })
        .await?;
    if accepted.unreached {
        return Err(SingleSendError::Unreached);
    }
    tracing::info!(account = %account, msgid = accepted.msgid.as_deref().unwrap_or("-"), "single notification sent");
    Ok(accepted.msgid)
}
