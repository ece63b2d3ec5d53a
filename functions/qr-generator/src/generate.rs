//! `QrJob::Generate`: render every QR code of one course into S3 and record them on the
//! course. Idempotent: tickets that are still good are kept, rendering is deterministic and
//! keys are fixed per course and code, so a retry or a regeneration rewrites the same objects
//! and, when nothing changed, does not write the course at all.

use crate::JobError;
use crate::render::render;
use crate::tickets::{self, IssuedTicket};
use aws_sdk_s3::primitives::ByteStream;
use livenotify::blobs::{QR_CACHE_CONTROL, QrFormat, QrTarget, qr_key};
use livenotify::domain::{
    AccountId, AccountKind, Course, CourseId, CourseQrCodes, QrFailure, QrImage, Scene, Timestamp,
    landing_url, now,
};
use livenotify::platform::Platform;
use livenotify::store::StoreError;
use std::collections::BTreeMap;

/// Times the whole rendering is redone when the course changed while it ran.
const CONFLICT_ATTEMPTS: u32 = 3;

/// What a generation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    /// New or changed codes were recorded on the course.
    Recorded,
    /// The course already had exactly these codes; nothing was written to it.
    Unchanged,
    /// The course no longer exists; nothing to do.
    CourseGone,
}

/// A service account whose parametric code could not be made this time.
#[derive(Debug)]
struct AccountFailure {
    account: AccountId,
    error: String,
}

/// Renders, stores and records every QR code of `course_id`.
pub async fn generate(platform: &Platform, course_id: CourseId) -> Result<Generated, JobError> {
    let mut attempt = 1;
    loop {
        // Boxed: the rendering future is large and deeply nested.
        match Box::pin(generate_once(platform, course_id)).await {
            Err(JobError::Store(StoreError::Conflict { .. })) if attempt < CONFLICT_ATTEMPTS => {
                tracing::info!(course_id = %course_id, attempt, "course changed while rendering; rendering again");
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn generate_once(platform: &Platform, course_id: CourseId) -> Result<Generated, JobError> {
    let course = match platform.store.get_course(course_id).await {
        Ok(course) => course,
        Err(StoreError::NotFound { .. }) => {
            tracing::info!(course_id = %course_id, "course deleted before its QR codes were made");
            return Ok(Generated::CourseGone);
        }
        Err(e) => return Err(e.into()),
    };
    let started = now();
    let landing_content = landing_url(&platform.config.public_base_url, course_id);
    let landing = store_code(platform, course_id, QrTarget::Landing, landing_content).await?;

    let previous = course.qr.as_ref();
    let scene = Scene::Course(course_id).encode();
    let request = tickets::request_for(&course, &scene);
    let mut accounts = BTreeMap::new();
    let mut failures = Vec::new();
    let service_accounts = platform
        .store
        .all_accounts()
        .await?
        .into_iter()
        .filter(|a| a.kind == AccountKind::Service);
    for account in service_accounts {
        let kept = previous.and_then(|codes| codes.accounts.get(&account.id));
        let ticket = match kept {
            Some(image) if tickets::can_keep(image, &request, &scene, started) => {
                KeptOrIssued::Kept(image.clone())
            }
            _ => {
                let issued = async {
                    let credentials = platform.token_account(&account.id).await?;
                    tickets::issue(platform, &credentials, &request)
                        .await
                        .map_err(|source| JobError::Wechat {
                            account: account.id.clone(),
                            source,
                        })
                }
                .await;
                match issued {
                    Ok(issued) => KeptOrIssued::Issued(issued),
                    Err(e) => {
                        tracing::warn!(course_id = %course_id, account = %account.id, error = %e, "parametric QR code not made");
                        failures.push(AccountFailure {
                            account: account.id.clone(),
                            error: e.to_string(),
                        });
                        // The code recorded before, if any, keeps working until it expires.
                        if let Some(image) = kept {
                            accounts.insert(account.id.clone(), image.clone());
                        }
                        continue;
                    }
                }
            }
        };
        let image = match ticket {
            KeptOrIssued::Kept(image) => {
                // Rewritten so that objects lost from the bucket come back.
                let stored = store_code(
                    platform,
                    course_id,
                    QrTarget::Account(&account.id),
                    image.content.clone(),
                )
                .await?;
                QrImage {
                    png_key: stored.png_key,
                    svg_key: stored.svg_key,
                    ..image
                }
            }
            KeptOrIssued::Issued(IssuedTicket { ticket, expires_at }) => {
                let stored = store_code(
                    platform,
                    course_id,
                    QrTarget::Account(&account.id),
                    ticket.url.clone(),
                )
                .await?;
                QrImage {
                    ticket: Some(ticket.ticket),
                    scene: Some(scene.clone()),
                    expires_at,
                    ..stored
                }
            }
        };
        accounts.insert(account.id.clone(), image);
    }

    remove_dropped_accounts(platform, previous, &accounts, &failures).await;
    let outcome = record(platform, &course, landing, accounts, started).await?;
    if failures.is_empty() {
        tracing::info!(course_id = %course_id, outcome = ?outcome, "QR codes ready");
        return Ok(outcome);
    }
    let reason = failure_reason(&course, &failures);
    platform
        .store
        .set_course_qr_error(
            course_id,
            &QrFailure {
                reason: reason.clone(),
                at: now(),
            },
        )
        .await?;
    Err(JobError::AccountsFailed {
        course: course_id,
        reason,
    })
}

enum KeptOrIssued {
    Kept(QrImage),
    Issued(IssuedTicket),
}

/// Writes the codes to the course unless it already has exactly these (then even
/// `generated_at` stays, so a regeneration that changes nothing leaves no trace).
async fn record(
    platform: &Platform,
    course: &Course,
    landing: QrImage,
    accounts: BTreeMap<AccountId, QrImage>,
    generated_at: Timestamp,
) -> Result<Generated, JobError> {
    if let Some(previous) = &course.qr
        && previous.landing == landing
        && previous.accounts == accounts
        && course.qr_error.is_none()
    {
        return Ok(Generated::Unchanged);
    }
    let codes = CourseQrCodes {
        landing,
        accounts,
        generated_at,
    };
    platform.store.set_course_qr(course, &codes).await?;
    Ok(Generated::Recorded)
}

/// Deletes the images of service accounts that are gone (removed, or no longer a service
/// account). Best effort: a leftover image is harmless and is overwritten if the account
/// comes back.
async fn remove_dropped_accounts(
    platform: &Platform,
    previous: Option<&CourseQrCodes>,
    current: &BTreeMap<AccountId, QrImage>,
    failures: &[AccountFailure],
) {
    let Some(previous) = previous else { return };
    for (account, image) in &previous.accounts {
        if current.contains_key(account) || failures.iter().any(|f| &f.account == account) {
            continue;
        }
        for key in [&image.png_key, &image.svg_key] {
            if let Err(e) = platform
                .s3
                .delete_object()
                .bucket(&platform.config.bucket)
                .key(key)
                .send()
                .await
            {
                tracing::warn!(%key, error = %aws_sdk_s3::error::DisplayErrorContext(&e), "could not delete the QR image of a removed account");
            }
        }
    }
}

/// Renders `content` and puts the PNG and SVG under the code's keys.
async fn store_code(
    platform: &Platform,
    course: CourseId,
    target: QrTarget<'_>,
    content: String,
) -> Result<QrImage, JobError> {
    let rendered = render(&content)?;
    let png_key = qr_key(course, target, QrFormat::Png.extension());
    let svg_key = qr_key(course, target, QrFormat::Svg.extension());
    put(platform, &png_key, QrFormat::Png, rendered.png).await?;
    put(platform, &svg_key, QrFormat::Svg, rendered.svg.into_bytes()).await?;
    Ok(QrImage {
        content,
        png_key,
        svg_key,
        ticket: None,
        scene: None,
        expires_at: None,
    })
}

async fn put(
    platform: &Platform,
    key: &str,
    format: QrFormat,
    body: Vec<u8>,
) -> Result<(), JobError> {
    platform
        .s3
        .put_object()
        .bucket(&platform.config.bucket)
        .key(key)
        .content_type(format.content_type())
        .cache_control(QR_CACHE_CONTROL)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| JobError::S3 {
            key: key.to_string(),
            detail: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
        })?;
    Ok(())
}

/// What admins read on the course when a code could not be made.
fn failure_reason(course: &Course, failures: &[AccountFailure]) -> String {
    let mut parts: Vec<String> = failures
        .iter()
        .map(|f| format!("服务号 {} 的带参数二维码生成失败：{}", f.account, f.error))
        .collect();
    if course.permanent_qr {
        parts.push(
            "（永久二维码每个公众号最多 100,000 个；若已用完，请改用临时二维码）".to_string(),
        );
    }
    format!("{}。系统会自动重试。", parts.join("；"))
}
