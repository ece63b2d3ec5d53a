//! The export worker: runs queued export jobs (`src/bin/export-worker.rs` on SQS). Each job
//! replays the request the API validated, streams the file into S3 and records the outcome
//! on the job item. Transient failures are retried by SQS; a job that keeps failing, or whose
//! request no longer fits the data (its account was deleted), is marked failed with a reason.

use crate::error::ApiError;
use crate::routes::exports::{ExportRequest, plan, write};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use livenotify::domain::{ExportJob, ExportJobId, ExportJobStatus, now};
use livenotify::jobs::ExportJobMessage;
use livenotify::platform::Platform;
use livenotify::store::StoreError;

/// Attempts before a job is given up (below the queue's 5 receives, so the job is marked
/// failed before SQS moves the message to the DLQ).
pub const MAX_ATTEMPTS: u32 = 3;

/// What the worker needs, built once per cold start.
#[derive(Debug, Clone)]
pub struct ExportDeps {
    /// Table, bucket.
    pub platform: Platform,
}

/// Why a job message must be retried.
#[derive(Debug, thiserror::Error)]
pub enum ExportJobError {
    /// Table trouble.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing failed this time (S3, table); retried.
    #[error("export {export_id} attempt failed: {reason}")]
    Attempt {
        /// Job.
        export_id: ExportJobId,
        /// What went wrong.
        reason: String,
    },
}

/// Handles one SQS batch; failed messages are reported for redelivery.
pub async fn handle(deps: &ExportDeps, event: SqsEvent) -> SqsBatchResponse {
    livenotify::queue::process_batch::<ExportJobMessage, _, _, _>(event, |message| async move {
        run(&deps.platform, message.export_id).await
    })
    .await
}

/// A request that can never succeed, as a reason for admins (Chinese).
fn permanent_reason(error: &ApiError) -> Option<String> {
    match error {
        ApiError::Validation(fields) => Some(format!(
            "导出条件无效：{}",
            fields
                .iter()
                .map(|f| format!("{}（{}）", f.field, f.message))
                .collect::<Vec<_>>()
                .join("；")
        )),
        ApiError::NotFound { entity, id } => Some(format!("导出的对象已不存在：{entity} {id}")),
        ApiError::BadRequest(reason) => Some(format!("导出条件无效：{reason}")),
        ApiError::Forbidden(reason) => Some(format!("导出者无权查看：{reason}")),
        _ => None,
    }
}

/// Runs one job (idempotent: a finished job is left alone).
pub async fn run(platform: &Platform, id: ExportJobId) -> Result<(), ExportJobError> {
    let store = &platform.store;
    let mut job = match store.get_export_job(id).await {
        Ok(job) => job,
        Err(StoreError::NotFound { .. }) => {
            tracing::warn!(export_id = %id, "export job gone, message dropped");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    if job.status.is_final() {
        return Ok(());
    }
    let previous = job.status;
    job.status = ExportJobStatus::Running;
    job.attempts += 1;
    job.started_at = job.started_at.or(Some(now()));
    match store.save_export_job(&job, previous).await {
        Ok(()) => {}
        // Another delivery of the same message moved it first; it carries on.
        Err(StoreError::Conflict { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(export_id = %id, attempt = job.attempts, "export started");
    // The owner's scope now, not when they asked: a narrowed scope or a disabled owner
    // exports nothing outside what they may see today.
    let scope = match store.find_admin(&job.owner).await? {
        Some(owner) if !owner.disabled => owner.role.scope(),
        _ => {
            return fail(store, job, "导出者账号已不存在或已停用".to_string()).await;
        }
    };
    let outcome = match serde_json::from_value::<ExportRequest>(job.request.clone()) {
        Ok(request) => match plan(store, &scope, &request).await {
            Ok(plan) => {
                write(
                    platform,
                    &id.to_string(),
                    request.kind(),
                    request.format(),
                    plan,
                )
                .await
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(ApiError::BadRequest(e.to_string())),
    };
    match outcome {
        Ok(written) => {
            job.status = ExportJobStatus::Succeeded;
            job.rows = written.rows;
            job.bytes = written.bytes;
            job.key = Some(written.key);
            job.file_name = Some(written.file_name);
            job.error = None;
            job.finished_at = Some(now());
            finish(store, &job).await
        }
        Err(error) => {
            if let Some(reason) = permanent_reason(&error) {
                return fail(store, job, reason).await;
            }
            if job.attempts >= MAX_ATTEMPTS {
                tracing::error!(export_id = %id, error = %error, "export failed for good");
                return fail(
                    store,
                    job,
                    format!("导出失败（已尝试 {MAX_ATTEMPTS} 次），请稍后重新导出"),
                )
                .await;
            }
            Err(ExportJobError::Attempt {
                export_id: id,
                reason: error.to_string(),
            })
        }
    }
}

async fn fail(
    store: &livenotify::store::Store,
    mut job: ExportJob,
    reason: String,
) -> Result<(), ExportJobError> {
    tracing::warn!(export_id = %job.id, %reason, "export failed");
    job.status = ExportJobStatus::Failed;
    job.error = Some(reason);
    job.finished_at = Some(now());
    finish(store, &job).await
}

async fn finish(store: &livenotify::store::Store, job: &ExportJob) -> Result<(), ExportJobError> {
    match store.save_export_job(job, ExportJobStatus::Running).await {
        // A concurrent attempt finished it: its outcome stands.
        Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::FieldError;

    #[test]
    fn requests_that_cannot_succeed_are_told_apart_from_transient_failures() {
        let reason = permanent_reason(&ApiError::Validation(vec![FieldError::new(
            "account_id",
            "invalid_id",
            "编号格式不正确",
        )]))
        .unwrap();
        assert!(reason.contains("account_id") && reason.contains("编号格式不正确"));
        assert!(
            permanent_reason(&ApiError::NotFound {
                entity: "account",
                id: "wxa".into()
            })
            .unwrap()
            .contains("wxa")
        );
        assert_eq!(permanent_reason(&ApiError::internal("S3 down")), None);
    }
}
