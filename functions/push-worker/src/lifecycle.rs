//! Push state changes made by the worker: start, pause for quota, fail, complete; and the
//! words admins read about them.

use chrono::{Datelike, TimeZone};
use chrono_tz::Asia::Shanghai;
use livenotify::domain::{PushId, PushStatus, Timestamp, now};
use livenotify::store::{Store, StoreError};
use livenotify::wechat::{JobFatal, WechatError};

/// Why a whole push stops, in words an admin can act on.
pub fn fatal_reason(error: &WechatError) -> String {
    let what = match error {
        WechatError::JobFatal { reason, .. } => match reason {
            JobFatal::BadTemplateData => "模板数据不符合微信模板要求",
            JobFatal::BadTemplateId => "模板 ID 无效或不属于该公众号",
            JobFatal::ApiUnauthorized => "该公众号没有发送此类消息的权限",
            JobFatal::InvalidCredentials => "公众号 AppID 或 AppSecret 无效",
            JobFatal::IpNotWhitelisted => "服务器 IP 不在公众号的 IP 白名单中",
        },
        WechatError::InvalidTemplateData { .. } => "模板字段不符合微信规则",
        _ => "微信拒绝了本次推送",
    };
    format!("{what}，推送已停止：{error}")
}

/// When a quota pause ends: `after` from now if configured, else 00:05 China time of the next
/// day (WeChat resets daily quotas at midnight China time).
pub fn quota_resume_at(at: Timestamp, after: Option<std::time::Duration>) -> Timestamp {
    if let Some(after) = after {
        return at + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::hours(1));
    }
    let local = at.with_timezone(&Shanghai);
    let next_day = local.date_naive() + chrono::Days::new(1);
    Shanghai
        .with_ymd_and_hms(next_day.year(), next_day.month(), next_day.day(), 0, 5, 0)
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(at + chrono::Duration::hours(24))
}

/// The admin-facing reason of a quota pause.
pub fn quota_reason(resume_at: Timestamp) -> String {
    format!(
        "微信今日发送配额已用完（45009），推送已暂停，将于 {} 自动继续；管理员也可手动恢复",
        resume_at.with_timezone(&Shanghai).format("%Y-%m-%d %H:%M")
    )
}

/// Marks the push failed with `reason`, unless it already ended.
pub async fn fail(store: &Store, id: PushId, reason: &str) -> Result<(), StoreError> {
    let from = [PushStatus::Pending, PushStatus::Running, PushStatus::Paused];
    match store
        .transition_push(id, &from, PushStatus::Failed, Some(reason), now())
        .await
    {
        Ok(()) => {
            tracing::warn!(push_id = %id, %reason, "push failed");
            Ok(())
        }
        Err(StoreError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Completes the push if its plan is done and every targeted recipient is accounted for.
/// Called after every counting write; the conditional transition makes exactly one caller win.
pub async fn complete_if_done(store: &Store, id: PushId) -> Result<bool, StoreError> {
    let progress = store.push_progress(id).await?;
    let status = progress.push.status;
    if status.is_final() || !progress.all_accounted() {
        return Ok(false);
    }
    let from = [PushStatus::Running, PushStatus::Paused];
    match store
        .transition_push(id, &from, PushStatus::Completed, None, now())
        .await
    {
        Ok(()) => {
            let c = &progress.push.counters;
            tracing::info!(push_id = %id, targeted = c.targeted, sent = c.sent, skipped = c.skipped, failed = c.failed, "push completed");
            Ok(true)
        }
        Err(StoreError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livenotify::wechat::WechatError;

    #[test]
    fn quota_resumes_after_china_midnight() {
        // 2026-11-23 20:00 China time = 12:00 UTC; resume 2026-11-24 00:05 China = 16:05 UTC.
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .unwrap();
        let resume = quota_resume_at(at, None);
        assert_eq!(
            resume,
            chrono::Utc
                .with_ymd_and_hms(2026, 11, 23, 16, 5, 0)
                .unwrap()
        );
        // 2026-11-23 17:00 UTC is already 01:00 on the 24th in China: resume on the 25th.
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 17, 0, 0)
            .unwrap();
        assert_eq!(
            quota_resume_at(at, None),
            chrono::Utc
                .with_ymd_and_hms(2026, 11, 24, 16, 5, 0)
                .unwrap()
        );
        assert_eq!(
            quota_resume_at(at, Some(std::time::Duration::from_secs(5))),
            at + chrono::Duration::seconds(5)
        );
        assert!(quota_reason(resume).contains("2026-11-24 00:05"));
    }

    #[test]
    fn fatal_reasons_name_the_cause() {
        let e = WechatError::from_errcode(48001, "api unauthorized");
        assert!(fatal_reason(&e).contains("权限"));
        let e = WechatError::from_errcode(47003, "argument invalid");
        assert!(fatal_reason(&e).contains("模板数据"));
    }
}
