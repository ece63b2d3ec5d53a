//! WeChat platform: callback crypto, API client, access-token service.
//!
//! - [`crypto`]: callback signatures and the AES message envelope.
//! - [`client`]: [`WechatClient`] over reqwest, hosts in [`WechatEndpoints`].
//! - [`api`]: typed requests/responses per area (token, message, qrcode, user, oauth, wecom).
//! - [`error`]: [`WechatError`] and the [`ErrorAction`] a caller takes.
//! - [`token_cache`]: [`TokenService`], the DynamoDB-backed access-token cache with one refresher.

pub mod api;
pub mod callback;
pub mod client;
pub mod credentials;
pub mod crypto;
pub mod error;
pub mod token_cache;

pub use api::message::{
    BizSubscribeMessage, CustomMessage, CustomMessageBody, DataValue, MessageData, MiniProgramLink,
    MiniProgramState, MiniProgramSubscribeMessage, NewsArticle, SendReceipt, TemplateMessage,
};
pub use api::oauth::{OAuthAccessToken, OAuthScope};
pub use api::qrcode::{QrCodeRequest, QrTicket};
pub use api::token::AccessToken;
pub use api::user::{FollowerPage, Lang, UserInfo};
pub use api::wecom::{WecomMessage, WecomMessageBody, WecomRecipients, WecomSendResult};
pub use client::{DEFAULT_TIMEOUT, WechatClient, WechatEndpoints};
pub use credentials::{AppCredentials, TokenAccount, WecomCredentials};
pub use crypto::{CryptoError, MessageCrypto};
pub use error::{ErrorAction, JobFatal, UserSkip, WechatError};
pub use token_cache::{TokenService, TokenServiceConfig};
