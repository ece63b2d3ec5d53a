//! qr-generator: renders a course's QR codes into S3 (SQS-triggered).
//!
//! `Generate` makes the landing-page code and one parametric code per service account, stores
//! them as PNG and SVG, and records them on the course; `RefreshExpiring` (nightly) re-enqueues
//! the courses whose temporary codes are about to run out. A job that fails is reported to SQS,
//! retried, and after the last attempt kept in the dead-letter queue; the reason is also
//! recorded on the course for admins.

pub mod generate;
pub mod refresh;
pub mod render;
pub mod tickets;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use livenotify::domain::{AccountId, CourseId};
use livenotify::enqueue::EnqueueError;
use livenotify::jobs::QrJob;
use livenotify::platform::{CredentialsError, Platform};
use livenotify::store::StoreError;
use livenotify::wechat::WechatError;

livenotify::function_info!();

/// What the handler needs, built once per cold start.
#[derive(Debug, Clone)]
pub struct Deps {
    /// Table, queues, bucket and WeChat.
    pub platform: Platform,
}

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The table failed (or the course changed too often while rendering).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An account's credentials could not be read.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// WeChat refused or could not be reached for one account.
    #[error("qrcode/create for account {account} failed: {source}")]
    Wechat {
        /// The service account.
        account: AccountId,
        /// WeChat's error.
        #[source]
        source: WechatError,
    },
    /// Some accounts' codes could not be made; the others were stored and recorded.
    #[error("QR codes of course {course} incomplete: {reason}")]
    AccountsFailed {
        /// The course.
        course: CourseId,
        /// What is recorded on the course.
        reason: String,
    },
    /// A code could not be rendered.
    #[error(transparent)]
    Render(#[from] render::RenderError),
    /// S3 refused an image.
    #[error("S3 PutObject {key} failed: {detail}")]
    S3 {
        /// Object key.
        key: String,
        /// What S3 said.
        detail: String,
    },
    /// A follow-up job could not be enqueued.
    #[error(transparent)]
    Enqueue(#[from] EnqueueError),
}

/// Handles one SQS batch, reporting failed messages individually.
pub async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    livenotify::queue::process_batch(event, |job: QrJob| process(deps, job)).await
}

/// Runs one job.
pub async fn process(deps: &Deps, job: QrJob) -> Result<(), JobError> {
    // Boxed: the SDK futures nest too deeply for the compiler to lay out inline.
    match job {
        QrJob::Generate { course_id } => {
            Box::pin(generate::generate(&deps.platform, course_id)).await?;
        }
        QrJob::RefreshExpiring => {
            Box::pin(refresh::refresh_expiring(&deps.platform)).await?;
        }
    }
    Ok(())
}
