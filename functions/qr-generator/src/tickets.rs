//! Parametric QR tickets: which WeChat request a course needs, whether the ticket it already
//! has can be kept, and asking WeChat for a new one (retrying what is transient).

use chrono::Duration;
use livenotify::domain::{Course, QrImage, Timestamp};
use livenotify::platform::Platform;
use livenotify::wechat::api::qrcode::{MAX_EXPIRE_SECONDS, QrCodeRequest, QrTicket};
use livenotify::wechat::{ErrorAction, TokenAccount, WechatError};

/// A temporary code is renewed once it has less than this left, so the nightly run always
/// replaces it well before it stops working (and a print run made from a fresh image has at
/// least three weeks).
pub const RENEW_BEFORE: Duration = Duration::days(7);

/// Attempts per WeChat call when WeChat is busy or unreachable; after that the job fails and
/// SQS redelivers it later.
const ATTEMPTS: u32 = 3;
/// First wait between attempts (doubles each time).
const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(200);

/// The `qrcode/create` request for `course`'s parametric code with `scene`: permanent when
/// the course asks for it, otherwise temporary with the longest lifetime WeChat allows.
pub fn request_for(course: &Course, scene: &str) -> QrCodeRequest {
    if course.permanent_qr {
        QrCodeRequest::LimitStrScene {
            scene_str: scene.to_string(),
        }
    } else {
        QrCodeRequest::StrScene {
            scene_str: scene.to_string(),
            expire_seconds: MAX_EXPIRE_SECONDS,
        }
    }
}

/// Whether a temporary code stops working within [`RENEW_BEFORE`] of `now` (never for
/// permanent codes).
pub fn expires_soon(image: &QrImage, now: Timestamp) -> bool {
    image.expires_at.is_some_and(|at| at - now <= RENEW_BEFORE)
}

/// Whether `existing` (the code recorded for this account) already is what `request` asks
/// for and is not due for renewal: then it is kept, which makes regeneration idempotent and
/// spends no WeChat quota (nor another of the 100,000 permanent codes).
pub fn can_keep(existing: &QrImage, request: &QrCodeRequest, scene: &str, now: Timestamp) -> bool {
    existing.ticket.is_some()
        && existing.scene.as_deref() == Some(scene)
        && existing.expires_at.is_none() == request.is_permanent()
        && !expires_soon(existing, now)
}

/// What WeChat gave for a new code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTicket {
    /// The ticket.
    pub ticket: QrTicket,
    /// When it stops working; `None` for permanent codes.
    pub expires_at: Option<Timestamp>,
}

/// Creates the code with the account's access token (refreshed once if WeChat rejects it),
/// retrying busy / timeout / transport failures with backoff.
pub async fn issue(
    platform: &Platform,
    account: &TokenAccount,
    request: &QrCodeRequest,
) -> Result<IssuedTicket, WechatError> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let asked_at = livenotify::domain::now();
        let result = platform
            .tokens
            .call(account, |token| {
                let client = platform.wechat().clone();
                let request = request.clone();
                async move { client.create_qrcode(&token, &request).await }
            })
            .await;
        match result {
            Ok(ticket) => {
                // Counted from before the call, so the recorded expiry is never late.
                let expires_at = (!request.is_permanent()).then(|| {
                    // WeChat never grants more than the maximum; a larger answer is capped.
                    let seconds = ticket
                        .expire_seconds
                        .unwrap_or(u64::from(MAX_EXPIRE_SECONDS))
                        .min(u64::from(MAX_EXPIRE_SECONDS));
                    asked_at + Duration::seconds(i64::try_from(seconds).unwrap_or(0))
                });
                return Ok(IssuedTicket { ticket, expires_at });
            }
            Err(err) if err.action() == ErrorAction::RetryLater && attempt < ATTEMPTS => {
                tracing::info!(attempt, error = %err, "qrcode/create failed, retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use livenotify::domain::{CourseId, CourseStatus};

    fn now() -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .single()
            .unwrap()
    }

    fn course(permanent: bool) -> Course {
        Course {
            id: CourseId::generate(),
            title: "肿瘤免疫治疗进展".into(),
            speaker: String::new(),
            description: String::new(),
            starts_at: now() + Duration::days(3),
            ends_at: None,
            live_url: "https://live.example.com/1".into(),
            cover_url: None,
            required_account: None,
            templates: Default::default(),
            reminder_minutes: Vec::new(),
            status: CourseStatus::Published,
            qr: None,
            permanent_qr: permanent,
            qr_error: None,
            version: 1,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn image(scene: &str, expires_at: Option<Timestamp>) -> QrImage {
        QrImage {
            content: "http://weixin.qq.com/q/02abc".into(),
            png_key: "qr/x/account-wx.png".into(),
            svg_key: "qr/x/account-wx.svg".into(),
            ticket: Some("gQH47joAAAAAAAAAASxo".into()),
            scene: Some(scene.into()),
            expires_at,
        }
    }

    #[test]
    fn temporary_by_default_with_the_longest_lifetime() {
        let request = request_for(&course(false), "course_x");
        assert_eq!(
            request,
            QrCodeRequest::StrScene {
                scene_str: "course_x".into(),
                expire_seconds: 2_592_000
            }
        );
        assert!(request.validate().is_ok());
        let request = request_for(&course(true), "course_x");
        assert_eq!(request.action_name(), "QR_LIMIT_STR_SCENE");
        assert!(request.is_permanent());
    }

    #[test]
    fn fresh_matching_codes_are_kept() {
        let temporary = request_for(&course(false), "course_a");
        let permanent = request_for(&course(true), "course_a");
        let fresh = image("course_a", Some(now() + Duration::days(20)));
        assert!(can_keep(&fresh, &temporary, "course_a", now()));
        // Same code but another scene, or the other kind: replaced.
        assert!(!can_keep(&fresh, &temporary, "course_b", now()));
        assert!(!can_keep(&fresh, &permanent, "course_a", now()));
        let forever = image("course_a", None);
        assert!(can_keep(&forever, &permanent, "course_a", now()));
        assert!(!can_keep(&forever, &temporary, "course_a", now()));
        // No ticket recorded: replaced.
        let mut ticketless = fresh.clone();
        ticketless.ticket = None;
        assert!(!can_keep(&ticketless, &temporary, "course_a", now()));
    }

    #[test]
    fn codes_close_to_expiry_are_renewed() {
        let temporary = request_for(&course(false), "course_a");
        let in_eight_days = image("course_a", Some(now() + Duration::days(8)));
        let in_seven_days = image("course_a", Some(now() + RENEW_BEFORE));
        let expired = image("course_a", Some(now() - Duration::hours(1)));
        assert!(!expires_soon(&in_eight_days, now()));
        assert!(can_keep(&in_eight_days, &temporary, "course_a", now()));
        assert!(expires_soon(&in_seven_days, now()));
        assert!(!can_keep(&in_seven_days, &temporary, "course_a", now()));
        assert!(expires_soon(&expired, now()));
        assert!(!expires_soon(&image("course_a", None), now()));
    }
}
