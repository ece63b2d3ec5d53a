//! Answers to users' text messages: the account's own keywords first, then the built-ins:
//! 课程 (upcoming courses), 退订 (mute course notifications), 订阅 (unmute).

use super::{Outcome, texts};
use livenotify::domain::{Account, CourseStatus, Timestamp};
use livenotify::platform::Platform;
use livenotify::store::{CourseFilter, PageRequest, StoreResult};

/// Courses listed by the 课程 keyword.
const UPCOMING_LISTED: u32 = 5;

/// What a built-in keyword does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    Courses,
    Mute,
    Unmute,
}

fn builtin(text: &str) -> Option<Builtin> {
    match text.to_ascii_lowercase().as_str() {
        "课程" | "直播" | "直播课程" | "近期课程" => Some(Builtin::Courses),
        "退订" | "td" | "取消提醒" => Some(Builtin::Mute),
        "订阅" | "恢复提醒" | "恢复通知" => Some(Builtin::Unmute),
        _ => None,
    }
}

/// The reply to `content`; with `apply`, the keyword's effect (mute/unmute) happens too.
pub async fn answer(
    platform: &Platform,
    account: &Account,
    openid: &str,
    content: &str,
    at: Timestamp,
    apply: bool,
) -> StoreResult<Outcome> {
    let text = content.trim();
    if let Some(custom) = account
        .keyword_replies
        .iter()
        .find(|k| k.keyword.trim().eq_ignore_ascii_case(text))
    {
        return Ok(Outcome::Text(custom.reply.clone()));
    }
    match builtin(text) {
        Some(Builtin::Courses) => upcoming(platform, at).await,
        Some(builtin @ (Builtin::Mute | Builtin::Unmute)) => {
            let muted = builtin == Builtin::Mute;
            if apply {
                set_muted(platform, account, openid, muted, at).await?;
            }
            Ok(Outcome::Text(if muted {
                format!(
                    "已为您关闭「{}」的直播课程通知。回复「订阅」可重新开启。",
                    account.name
                )
            } else {
                format!(
                    "已为您开启「{}」的直播课程通知。回复「退订」可随时关闭。",
                    account.name
                )
            }))
        }
        None => Ok(Outcome::Nothing),
    }
}

async fn set_muted(
    platform: &Platform,
    account: &Account,
    openid: &str,
    muted: bool,
    at: Timestamp,
) -> StoreResult<()> {
    if let Some(mut follower) = platform.store.find_follower(&account.id, openid).await?
        && follower.muted != muted
    {
        follower.muted = muted;
        follower.updated_at = at;
        platform.store.put_follower(&follower).await?;
        tracing::info!(muted, "follower changed their notification preference");
    }
    Ok(())
}

async fn upcoming(platform: &Platform, at: Timestamp) -> StoreResult<Outcome> {
    // Live courses started less than three hours ago are still worth listing.
    let filter = CourseFilter {
        starts_from: Some(at - chrono::Duration::hours(3)),
        status: Some(CourseStatus::Published),
        ..CourseFilter::default()
    };
    let page = platform
        .store
        .list_courses(&filter, &PageRequest::first(UPCOMING_LISTED))
        .await?;
    if page.items.is_empty() {
        return Ok(Outcome::Text("近期暂无直播课程，敬请期待。".into()));
    }
    let base = &platform.config.public_base_url;
    let lines: Vec<String> = page
        .items
        .iter()
        .map(|c| {
            format!(
                "· {} <a href=\"{base}/c/{}\">{}</a>",
                texts::china_time(c.starts_at),
                c.id,
                c.title
            )
        })
        .collect();
    Ok(Outcome::Text(format!(
        "近期直播课程：\n{}",
        lines.join("\n")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_recognised() {
        assert_eq!(builtin("课程"), Some(Builtin::Courses));
        assert_eq!(builtin("TD"), Some(Builtin::Mute));
        assert_eq!(builtin("退订"), Some(Builtin::Mute));
        assert_eq!(builtin("订阅"), Some(Builtin::Unmute));
        assert_eq!(builtin("你好"), None);
    }
}
