//! livenotify core: configuration, domain types, the DynamoDB store and the WeChat client.
//!
//! Every Lambda in `functions/` composes these pieces and adds only its trigger's plumbing.

pub mod aws;
pub mod blobs;
pub mod config;
pub mod dead_letters;
pub mod domain;
pub mod enqueue;
pub mod export;
pub mod function;
pub mod jobs;
pub mod key_secret;
pub mod notification;
pub mod openid_list;
pub mod platform;
pub mod queue;
pub mod rate_limit;
pub mod receipts;
pub mod secrets;
pub mod signed;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod wechat;
