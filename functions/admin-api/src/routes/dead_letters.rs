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
use livenotify::domain::{Role, Scope};
use livenotify::jobs::{ExportJobMessage, PushJob, QrJob, SyncJob};
use livenotify::store::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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

/// Which dead letters a caller may see and redrive: super admins all; operators those whose
/// job acts for one of their accounts (a push, a sync, a course's codes) or is their own
/// export; viewers none (bodies carry openids). Lookups are remembered for one request.
struct Visibility<'a> {
    state: &'a AppState,
    caller: &'a Caller,
    scope: Scope,
    seen: HashMap<String, bool>,
}

impl<'a> Visibility<'a> {
    fn new(state: &'a AppState, caller: &'a Caller) -> ApiResult<Self> {
        if matches!(caller.admin.role, Role::Viewer { .. }) {
            return Err(ApiError::Forbidden(
                "只读用户不能查看死信队列（消息中含用户 openid）".into(),
            ));
        }
        Ok(Self {
            state,
            caller,
            scope: caller.scope(),
            seen: HashMap::new(),
        })
    }

    async fn may_see(&mut self, letter: &DeadLetter) -> ApiResult<bool> {
        if self.scope == Scope::All {
            return Ok(true);
        }
        let key = format!("{}:{}", letter.queue.as_str(), letter.body);
        if let Some(known) = self.seen.get(&key) {
            return Ok(*known);
        }
        let visible = self.resolve(letter).await?;
        self.seen.insert(key, visible);
        Ok(visible)
    }

    /// Platform jobs (the minute tick, the nightly runs) and unreadable bodies belong to
    /// super admins only.
    async fn resolve(&self, letter: &DeadLetter) -> ApiResult<bool> {
        let store = &self.state.platform.store;
        let body = letter.body.clone();
        let found = |r: Result<bool, StoreError>| match r {
            Ok(v) => Ok(v),
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(e) => Err(ApiError::from(e)),
        };
        match letter.queue {
            WorkQueue::Push => match serde_json::from_value::<PushJob>(body) {
                Ok(
                    PushJob::Plan { push_id }
                    | PushJob::Batch { push_id, .. }
                    | PushJob::SendBatch { push_id, .. },
                ) => found(
                    store
                        .get_push(push_id)
                        .await
                        .map(|p| self.scope.contains(&p.account_id)),
                ),
                Ok(PushJob::Tick) | Err(_) => Ok(false),
            },
            WorkQueue::Qr => match serde_json::from_value::<QrJob>(body) {
                Ok(QrJob::Generate { course_id }) => found(
                    store
                        .get_course(course_id)
                        .await
                        .map(|c| !c.involved_accounts().is_empty() && self.scope.sees_course(&c)),
                ),
                Ok(QrJob::RefreshExpiring) | Err(_) => Ok(false),
            },
            WorkQueue::Sync => match serde_json::from_value::<SyncJob>(body) {
                Ok(SyncJob::Account { account_id, .. }) => Ok(self.scope.contains(&account_id)),
                Ok(SyncJob::AllAccounts { .. }) | Err(_) => Ok(false),
            },
            WorkQueue::Export => match serde_json::from_value::<ExportJobMessage>(body) {
                Ok(message) => found(
                    store
                        .get_export_job(message.export_id)
                        .await
                        .map(|job| job.owner == self.caller.username()),
                ),
                Err(_) => Ok(false),
            },
        }
    }
}

#[utoipa::path(get, path = "/api/dead-letters", tag = "死信队列", summary = "查看死信队列",
    params(DeadLetterQuery), responses((status = 200, body = DeadLetterList),
        (status = 503, description = "not_configured：此部署未配置死信队列地址", body = crate::ErrorBody)))]
/// The messages in a queue's DLQ, left in place: super admins see all, operators those of
/// their accounts, viewers none.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DeadLetterQuery>,
) -> ApiResult<Json<DeadLetterList>> {
    let mut visibility = Visibility::new(&state, &caller)?;
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
    let mut visible = Vec::with_capacity(items.len());
    for letter in items {
        if visibility.may_see(&letter).await? {
            visible.push(DeadLetterView::from(letter));
        }
    }
    Ok(Json(DeadLetterList {
        items: visible,
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/dead-letters/{queue}/redrive", tag = "死信队列", summary = "死信重新投递到原队列",
    params(("queue" = String, Path, description = "push, qr, sync or export")),
    responses((status = 200, body = Redriven),
        (status = 503, description = "not_configured：此部署未配置死信队列地址", body = crate::ErrorBody)))]
/// Moves the queue's dead letters back to the queue: super admins every message, operators
/// those of their accounts (the rest stay). Runs up to 20 seconds; call again if more remain.
pub async fn redrive(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(name): Path<String>,
) -> ApiResult<(Extension<AuditTarget>, Json<Redriven>)> {
    let queue = queue("queue", Some(&name))?;
    let mut visibility = Visibility::new(&state, &caller)?;
    let queues = dead_letter_queues(&state)?;
    let moved = if visibility.scope == Scope::All {
        queues.redrive(queue, |_| true).await
    } else {
        // The operator's messages are picked out first (their lookups need the table); a
        // message that arrives after this look stays for the next call.
        let mut theirs = std::collections::HashSet::new();
        for letter in queues
            .peek(queue, MAX_PEEK)
            .await
            .map_err(dead_letter_error)?
        {
            if visibility.may_see(&letter).await? {
                theirs.insert(letter.message_id);
            }
        }
        queues
            .redrive(queue, |letter| theirs.contains(&letter.message_id))
            .await
    }
    .map_err(dead_letter_error)?;
    Ok((
        Extension(AuditTarget(format!("dead-letters/{}", queue.as_str()))),
        Json(Redriven { moved }),
    ))
}
