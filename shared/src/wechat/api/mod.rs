//! Typed requests and responses per WeChat area, each adding methods to [`WechatClient`].
//!
//! [`WechatClient`]: super::client::WechatClient

pub mod message;
pub mod oauth;
pub mod qrcode;
pub mod token;
pub mod user;
pub mod wecom;
