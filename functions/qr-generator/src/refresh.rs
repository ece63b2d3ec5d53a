//! `QrJob::RefreshExpiring` (nightly): finds the courses whose codes need renewing and
//! enqueues a `Generate` for each. Courses that have ended or were cancelled are left alone,
//! so their temporary codes simply run out.

use crate::JobError;
use crate::tickets::expires_soon;
use livenotify::domain::{
    AccountId, AccountKind, Course, CoursePhase, CourseStatus, Timestamp, now,
};
use livenotify::jobs::QrJob;
use livenotify::platform::Platform;
use livenotify::store::{CourseFilter, MAX_LIMIT, PageRequest};

/// Whether `course` should be regenerated at `now`: it is still to come or live, not
/// cancelled, and has no codes yet, a failed last generation, a service account without a
/// code, or a temporary code that expires within [`crate::tickets::RENEW_BEFORE`].
pub fn needs_refresh(course: &Course, service_accounts: &[AccountId], now: Timestamp) -> bool {
    if course.status == CourseStatus::Cancelled || course.phase_at(now) == CoursePhase::Ended {
        return false;
    }
    let Some(codes) = &course.qr else {
        return true;
    };
    course.qr_error.is_some()
        || service_accounts
            .iter()
            .any(|account| !codes.accounts.contains_key(account))
        || codes
            .accounts
            .values()
            .any(|image| expires_soon(image, now))
}

/// Pages through every course and enqueues `Generate` for those that need it; returns how
/// many were enqueued.
pub async fn refresh_expiring(platform: &Platform) -> Result<usize, JobError> {
    let started = now();
    let service_accounts: Vec<AccountId> = platform
        .store
        .all_accounts()
        .await?
        .into_iter()
        .filter(|a| a.kind == AccountKind::Service)
        .map(|a| a.id)
        .collect();
    let filter = CourseFilter::default();
    let mut page = PageRequest::first(MAX_LIMIT);
    let mut enqueued = 0;
    loop {
        let result = platform.store.list_courses(&filter, &page).await?;
        for course in result
            .items
            .iter()
            .filter(|c| needs_refresh(c, &service_accounts, started))
        {
            platform
                .queues
                .qr(&QrJob::Generate {
                    course_id: course.id,
                })
                .await?;
            enqueued += 1;
        }
        match result.next_cursor {
            Some(cursor) => page = PageRequest::new(Some(MAX_LIMIT), Some(cursor))?,
            None => break,
        }
    }
    tracing::info!(enqueued, "QR refresh: courses enqueued for regeneration");
    Ok(enqueued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use livenotify::domain::{CourseId, CourseQrCodes, QrFailure, QrImage};
    use std::collections::BTreeMap;

    fn now() -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .single()
            .unwrap()
    }

    fn image(expires_at: Option<Timestamp>) -> QrImage {
        QrImage {
            content: "http://weixin.qq.com/q/02abc".into(),
            png_key: "k.png".into(),
            svg_key: "k.svg".into(),
            ticket: Some("t".into()),
            scene: Some("course_x".into()),
            expires_at,
        }
    }

    fn account() -> AccountId {
        AccountId::new("wxservice").unwrap()
    }

    fn course(starts_in: Duration, expires_in: Option<Duration>) -> Course {
        let landing = QrImage {
            ticket: None,
            scene: None,
            expires_at: None,
            ..image(None)
        };
        Course {
            id: CourseId::generate(),
            title: "课程".into(),
            speaker: String::new(),
            description: String::new(),
            starts_at: now() + starts_in,
            ends_at: None,
            live_url: "https://live.example.com/1".into(),
            cover_url: None,
            required_account: None,
            templates: Default::default(),
            reminder_minutes: Vec::new(),
            status: CourseStatus::Published,
            qr: Some(CourseQrCodes {
                landing,
                accounts: BTreeMap::from([(account(), image(expires_in.map(|d| now() + d)))]),
                generated_at: now(),
            }),
            permanent_qr: expires_in.is_none(),
            qr_error: None,
            version: 1,
            created_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn upcoming_courses_with_expiring_codes_are_refreshed() {
        let accounts = [account()];
        let soon = course(Duration::days(20), Some(Duration::days(2)));
        assert!(needs_refresh(&soon, &accounts, now()));
        let fresh = course(Duration::days(20), Some(Duration::days(25)));
        assert!(!needs_refresh(&fresh, &accounts, now()));
        let permanent = course(Duration::days(20), None);
        assert!(!needs_refresh(&permanent, &accounts, now()));
        // Live right now (started an hour ago, no end time: live for 3 hours).
        let live = course(Duration::hours(-1), Some(Duration::days(1)));
        assert!(needs_refresh(&live, &accounts, now()));
    }

    #[test]
    fn ended_and_cancelled_courses_are_left_to_expire() {
        let accounts = [account()];
        let ended = course(Duration::days(-2), Some(Duration::days(1)));
        assert!(!needs_refresh(&ended, &accounts, now()));
        let mut with_end = course(Duration::days(-2), Some(Duration::days(1)));
        with_end.ends_at = Some(now() - Duration::minutes(1));
        assert!(!needs_refresh(&with_end, &accounts, now()));
        let mut cancelled = course(Duration::days(5), Some(Duration::days(1)));
        cancelled.status = CourseStatus::Cancelled;
        assert!(!needs_refresh(&cancelled, &accounts, now()));
    }

    #[test]
    fn missing_codes_failures_and_new_accounts_are_refreshed() {
        let accounts = [account()];
        let mut none = course(Duration::days(5), Some(Duration::days(25)));
        none.qr = None;
        assert!(needs_refresh(&none, &accounts, now()));
        let mut failed = course(Duration::days(5), Some(Duration::days(25)));
        failed.qr_error = Some(QrFailure {
            reason: "x".into(),
            at: now(),
        });
        assert!(needs_refresh(&failed, &accounts, now()));
        let fresh = course(Duration::days(5), Some(Duration::days(25)));
        let more = [account(), AccountId::new("wxnewservice").unwrap()];
        assert!(needs_refresh(&fresh, &more, now()));
    }
}
