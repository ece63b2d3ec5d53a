//! `GET /api/audit`: the audit log, newest first (super admins).

use crate::AppState;
use crate::auth::SuperAdmin;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::pagination::{PageQuery, Paged};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use livenotify::domain::{AuditEntry, AuditOutcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One audit entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditView {
    /// Id.
    pub id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Admin username (`anonymous` when the token was missing or invalid).
    pub actor: String,
    /// Method and route, e.g. `POST /api/courses`.
    pub action: String,
    /// What was acted on, e.g. `course/01J…` or the request path.
    pub target: String,
    /// Result.
    #[schema(schema_with = crate::schema::audit_outcome)]
    pub outcome: AuditOutcome,
    /// Extra facts (HTTP status); `null` when none were recorded.
    #[schema(value_type = Option<Object>, nullable)]
    pub details: serde_json::Value,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id.to_string(),
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            outcome: e.outcome,
            details: e.details,
        }
    }
}

#[utoipa::path(get, path = "/api/audit", tag = "操作日志", summary = "操作日志",
    params(PageQuery), responses((status = 200, body = Paged<AuditView>)))]
/// Entries, newest first.
pub async fn list(
    State(state): State<AppState>,
    SuperAdmin(_caller): SuperAdmin,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paged<AuditView>>> {
    let page = state.platform.store.list_audit(&page.request()?).await?;
    Ok(Json(Paged::from_page(page, AuditView::from)))
}
