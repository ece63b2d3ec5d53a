//! WeChat sandbox: an offline, faithful HTTP emulator of every WeChat endpoint livenotify
//! calls, which can also play the users' phones (scan, follow, unfollow, send text...) by
//! firing correctly signed callbacks at an account's server URL.
//!
//! One [`Sandbox`] serves the official-account API (`WECHAT_API_BASE` = the base URL), the
//! OAuth pages (`WECHAT_OPEN_BASE` = the base URL) and WeCom (`WECOM_API_BASE` = base URL +
//! `/wecom`), plus a JSON control API under `/sandbox/...`. Tests drive the same operations
//! in-process through the cloneable [`Sandbox`] handle.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use wechat_sandbox::{Sandbox, SandboxAccount, Settings};
//! let sandbox = Sandbox::new(Settings::default());
//! sandbox.add_account(SandboxAccount::service("wx0000000000000001"));
//! let openids = sandbox.add_followers("wx0000000000000001", 1_000);
//! let base = sandbox.spawn_local().await?;
//! # let _ = (openids, base); Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod accounts;
pub mod api;
pub mod callbacks;
pub mod clock;
pub mod consents;
pub mod control;
pub mod counters;
pub mod errcode;
pub mod faults;
pub mod followers;
pub mod ids;
pub mod messages;
pub mod oauth;
pub mod phone;
pub mod png;
pub mod qr;
pub mod quotas;
pub mod sandbox;
pub mod seed;
pub mod settings;
pub mod state;
pub mod tokens;
pub mod xml;

pub use accounts::{AccountKind, AccountSpec, EncryptionMode, SandboxAccount};
pub use callbacks::{Attempt, CallbackOutcome, CallbackReply, UserSaw, VerifyOutcome};
pub use errcode::WxError;
pub use faults::Fault;
pub use followers::{Churn, FollowerInfo, FollowerUpdate};
pub use messages::{MessageKind, ReceivedMessage};
pub use phone::TemplateStatus;
pub use qr::{QrTicket, Scene};
pub use quotas::Quota;
pub use sandbox::{Sandbox, SandboxError};
pub use seed::Seed;
pub use settings::Settings;
