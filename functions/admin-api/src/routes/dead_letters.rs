//! 死信队列: the messages the push, QR, sync and export queues gave up on, and moving them back.

use crate::AppState;
use crate::audit_layer::AuditTarget;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::validate::Validator;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use livenotify::dead_letters::{
    DeadLetter, DeadLetterError, DeadLetterQueues, MAX_PEEK, WorkQueue,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Which dead letters to show.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// `push`, `qr`, `sync` or `export`.
    #[param(schema_with = crate::schema::work_queue)]
    pub queue: Option<String>,
    /// Most messages to show, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// One dead letter.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterView {
    /// SQS message id.
    pub message_id: String,
    /// Source queue.
    #[schema(schema_with = crate::schema::work_queue)]
    pub queue: WorkQueue,
    /// The job (JSON), or the raw text when it is not JSON.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// Times it was received before this look.
    pub receive_count: u64,
    /// First receipt on the source queue.
    pub first_received_at: Option<DateTime<Utc>>,
    /// First sent.
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<DeadLetter> for DeadLetterView {
    fn from(d: DeadLetter) -> Self {
        Self {
            message_id: d.message_id,
            queue: d.queue,
            body: d.body,
            receive_count: d.receive_count,
            first_received_at: d.first_received_at,
            sent_at: d.sent_at,
        }
    }
}

/// The dead letters of one queue (the whole DLQ up to `limit`; no further pages).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterList {
    /// Messages.
    pub items: Vec<DeadLetterView>,
    /// Always null: a DLQ is read whole, up to `limit`.
    pub next_cursor: Option<String>,
}

/// How many moved.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Redriven {
    /// Messages moved back to the source queue.
    pub moved: u64,
}

fn queue(field: &str, text: Option<&str>) -> ApiResult<WorkQueue> {
    let mut v = Validator::new();
    let parsed = match text {
        None => {
            v.add(field, "required", "必填：push、qr、sync 或 export");
            None
        }
        Some(text) => {
            let q = WorkQueue::parse(text);
            if q.is_none() {
                v.add(field, "invalid_queue", "队列须为 push、qr、sync 或 export");
            }
            q
        }
    };
    v.finish()?;
    parsed.ok_or_else(|| ApiError::internal("validated queue missing"))
}

/// A queue this deployment does not have is a configuration gap (503), not a failure.
fn dead_letter_error(error: DeadLetterError) -> ApiError {
    match error {
        DeadLetterError::NotConfigured(_) => {
            ApiError::NotConfigured("EXPORT_QUEUE_URL, EXPORT_DLQ_URL")
        }
        sqs @ DeadLetterError::Sqs { .. } => ApiError::internal(sqs),
    }
}

fn dead_letter_queues(state: &AppState) -> ApiResult<DeadLetterQueues> {
    let config = &state.platform.config;
    let dead = config.dead_letters.clone().ok_or(ApiError::NotConfigured(
        "PUSH_DLQ_URL, QR_DLQ_URL, SYNC_DLQ_URL",
    ))?;
    Ok(DeadLetterQueues::new(
        state.platform.queues.sqs().clone(),
        dead,
        config.queues.clone(),
    ))
}

#[utoipa::path(get, path = "/api/dead-letters", tag = "死信队列", summary = "查看死信队列",
    params(DeadLetterQuery), responses((status = 200, body = DeadLetterList),
        (status = 503, description = "not_configured：此部署未配置死信队列地址", body = crate::ErrorBody)))]
/// The messages in a queue's DLQ, left in place (anyone signed in).
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<DeadLetterQuery>,
) -> ApiResult<Json<DeadLetterList>> {
    let queue = queue("queue", query.queue.as_deref())?;
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit as usize > MAX_PEEK {
        let mut v = Validator::new();
        v.add(
            "limit",
            "out_of_range",
            format!("每页数量须在 1 到 {MAX_PEEK} 之间"),
        );
        v.finish()?;
    }
    let items = dead_letter_queues(&state)?
        .peek(queue, limit as usize)
        .await
        .map_err(dead_letter_error)?;
    Ok(Json(DeadLetterList {
        items: items.into_iter().map(DeadLetterView::from).collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/dead-letters/{queue}/redrive", tag = "死信队列", summary = "死信重新投递到原队列",
    params(("queue" = String, Path, description = "push, qr, sync or export")),
    responses((status = 200, body = Redriven),
        (status = 503, description = "not_configured：此部署未配置死信队列地址", body = crate::ErrorBody)))]
/// Moves every message of the queue's DLQ back to the queue (super admins and operators).
/// Runs up to 20 seconds; call again if more remain.
pub async fn redrive(
    State(state): State<AppState>,
    Writer(_caller): Writer,
    Path(name): Path<String>,
) -> ApiResult<(Extension<AuditTarget>, Json<Redriven>)> {
    let queue = queue("queue", Some(&name))?;
    let moved = dead_letter_queues(&state)?
        .redrive(queue)
        .await
        .map_err(dead_letter_error)?;
    Ok((
        Extension(AuditTarget(format!("dead-letters/{}", queue.as_str()))),
        Json(Redriven { moved }),
    ))
}
