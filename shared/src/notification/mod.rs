//! One message model for a course notification, rendered per channel.
//!
//! A course plus the account's [`TemplateMapping`](crate::domain::TemplateMapping) becomes a
//! [`PreparedTemplate`] once per push (placeholders filled, field rules checked before anything
//! is sent); each recipient then gets a [`TemplateMessage`](crate::wechat::TemplateMessage)
//! with its own idempotency key ([`client_msg_id`]). The admin API's preview and test-send use
//! the same functions, so what an admin sees is what followers get.

mod channel;
mod idempotency;
mod placeholders;
mod template;

pub use channel::{
    AddressedMessage, CUSTOM_DESCRIPTION_MAX_CHARS, CUSTOM_TITLE_MAX_CHARS, PreparedMessage,
    PreparedSubscription, WECOM_ALL, WECOM_DUPLICATE_WINDOW_SECS, WECOM_PARTY_PREFIX,
    WECOM_TAG_PREFIX, channel_fits, channel_name, default_channel, wecom_recipients,
};
pub use idempotency::client_msg_id;
pub use placeholders::{CourseFields, PLACEHOLDERS};
pub use template::{NotificationError, PreparedTemplate, landing_url};

pub mod outgoing;
mod rendered;
mod single_send;

pub use rendered::{channel_code, render_for_channel, wechat_refusal};
pub use single_send::{SingleSendError, send_one};
