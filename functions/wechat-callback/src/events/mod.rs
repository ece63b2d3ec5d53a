//! What each callback changes, and what the user is answered. [`apply`] runs once per event
//! (the caller dedupes WeChat's retries); [`reply_only`] rebuilds the answer of a retry
//! without changing anything again.

mod consent;
mod follow;
mod keyword;
mod signup;

use livenotify::domain::{Account, DeliveryStatus, SignUpSource, Timestamp};
use livenotify::platform::Platform;
use livenotify::receipts::{self, Receipt};
use livenotify::store::StoreError;
use livenotify::wechat::callback::{Incoming, IncomingKind, TemplateJobStatus};

/// The passive reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `success`: nothing is shown.
    Nothing,
    /// A text message shown to the user at once.
    Text(String),
}

/// Why an event could not be applied (it is then retried by WeChat).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies an event once and builds its reply.
pub async fn apply(
    platform: &Platform,
    account: &Account,
    incoming: &Incoming,
    at: Timestamp,
) -> Result<Outcome, ApplyError> {
    let openid = incoming.from.as_str();
    Ok(match &incoming.kind {
        IncomingKind::Subscribe { event_key } => {
            let follower =
                follow::subscribed(platform, account, openid, event_key.as_deref(), at).await?;
            match event_key.as_deref() {
                Some(key) => {
                    signup::from_scene(
                        platform,
                        account,
                        &follower,
                        key,
                        at,
                        Some(SignUpSource::FollowThroughCode),
                    )
                    .await?
                }
                None => Outcome::Text(texts::welcome(&account.name)),
            }
        }
        IncomingKind::Scan { event_key } => {
            let follower = follow::interacted(platform, account, openid, at).await?;
            signup::from_scene(
                platform,
                account,
                &follower,
                event_key,
                at,
                Some(SignUpSource::Scan),
            )
            .await?
        }
        IncomingKind::Unsubscribe => {
            follow::unsubscribed(platform, account, openid, at).await?;
            Outcome::Nothing
        }
        IncomingKind::TemplateJobFinished { msgid, status } => {
            let status = match status {
                TemplateJobStatus::Delivered => DeliveryStatus::Delivered,
                TemplateJobStatus::UserBlocked => DeliveryStatus::UserBlocked,
                TemplateJobStatus::SystemFailed => DeliveryStatus::SystemFailed,
            };
            let receipt = Receipt {
                status,
                error: None,
            };
            receipts::apply(&platform.store, &account.id, msgid, receipt, at).await?;
            Outcome::Nothing
        }
        IncomingKind::ConsentPopup(decisions) => {
            follow::interacted(platform, account, openid, at).await?;
            consent::popup(platform, account, openid, decisions, at).await?;
            Outcome::Nothing
        }
        IncomingKind::ConsentChange(decisions) => {
            consent::change(platform, account, openid, decisions, at).await?;
            Outcome::Nothing
        }
        IncomingKind::ConsentSent(results) => {
            consent::sent(platform, account, openid, results, at).await?;
            Outcome::Nothing
        }
        IncomingKind::Text { content, .. } => {
            follow::interacted(platform, account, openid, at).await?;
            keyword::answer(platform, account, openid, content, at, true).await?
        }
        IncomingKind::OtherMessage { .. } => {
            follow::interacted(platform, account, openid, at).await?;
            Outcome::Nothing
        }
        IncomingKind::OtherEvent { .. } => Outcome::Nothing,
    })
}

/// The reply of an event already applied (a WeChat retry), with no further change.
pub async fn reply_only(
    platform: &Platform,
    account: &Account,
    incoming: &Incoming,
    at: Timestamp,
) -> Result<Outcome, ApplyError> {
    let openid = incoming.from.as_str();
    Ok(match &incoming.kind {
        IncomingKind::Subscribe {
            event_key: Some(key),
        }
        | IncomingKind::Scan { event_key: key } => {
            let follower = follow::known(platform, account, openid, at).await?;
            signup::from_scene(platform, account, &follower, key, at, None).await?
        }
        IncomingKind::Subscribe { event_key: None } => Outcome::Text(texts::welcome(&account.name)),
        IncomingKind::Text { content, .. } => {
            keyword::answer(platform, account, openid, content, at, false).await?
        }
        _ => Outcome::Nothing,
    })
}

/// The words users read.
pub mod texts {
    use chrono_tz::Asia::Shanghai;
    use livenotify::domain::{Course, Timestamp};

    /// China time, as users read it.
    pub fn china_time(at: Timestamp) -> String {
        at.with_timezone(&Shanghai)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// After a plain follow.
    pub fn welcome(account_name: &str) -> String {
        format!("感谢关注「{account_name}」！回复「课程」查看近期直播课程。")
    }

    /// After scanning a course's code.
    pub fn signed_up(course: &Course, link: &str) -> String {
        let speaker = if course.speaker.is_empty() {
            String::new()
        } else {
            format!("\n讲者：{}", course.speaker)
        };
        format!(
            "您已预约直播课程「{}」\n开播时间：{}{speaker}\n开播前我们会提醒您。\n<a href=\"{link}\">点击进入课程页面</a>",
            course.title,
            china_time(course.starts_at),
        )
    }

    /// A course that was called off.
    pub fn cancelled(course: &Course) -> String {
        format!(
            "很抱歉，直播课程「{}」已取消。回复「课程」查看其他课程。",
            course.title
        )
    }

    /// A scene whose course no longer exists.
    pub const COURSE_GONE: &str = "该直播课程已下线。回复「课程」查看近期直播课程。";
}
