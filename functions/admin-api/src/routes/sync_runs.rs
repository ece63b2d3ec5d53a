//! Follower sync: trigger now, history, one run.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::pagination::{PageQuery, Paged};
use crate::routes::accounts::account_id;
use crate::routes::courses::Queued;
use crate::validate::Validator;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use livenotify::domain::{SyncRun, SyncRunId, SyncRunStatus, SyncTrigger};
use livenotify::jobs::SyncJob;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// Counts of one run.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncCountsView {
    /// Followers WeChat reported.
    pub total: u64,
    /// New followers.
    pub added: u64,
    /// Changed followers.
    pub updated: u64,
    /// Marked unsubscribed.
    pub unsubscribed: u64,
    /// WeChat calls made.
    pub wechat_calls: u64,
}

/// One sync run.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncRunView {
    /// Id.
    pub id: String,
    /// Account.
    pub account_id: String,
    /// Why.
    #[schema(schema_with = crate::schema::sync_trigger)]
    pub trigger: SyncTrigger,
    /// State.
    #[schema(schema_with = crate::schema::sync_run_status)]
    pub status: SyncRunStatus,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Counts so far.
    pub counts: SyncCountsView,
    /// Last error.
    pub error: Option<String>,
}

impl From<SyncRun> for SyncRunView {
    fn from(r: SyncRun) -> Self {
        Self {
            id: r.id.to_string(),
            account_id: r.account_id.to_string(),
            trigger: r.trigger,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: SyncCountsView {
                total: r.counts.total,
                added: r.counts.added,
                updated: r.counts.updated,
                unsubscribed: r.counts.unsubscribed,
                wechat_calls: r.counts.wechat_calls,
            },
            error: r.error,
        }
    }
}

#[utoipa::path(post, path = "/api/accounts/{account_id}/sync-runs", tags = ["直播用户", "关注用户", "同步"],
    summary = "立即同步关注用户",
    params(("account_id" = String, Path, description = "Account id")),
    responses((status = 202, body = Queued)))]
/// Queues a sync of the account's followers now.
pub async fn trigger(
    State(state): State<AppState>,
    caller: Caller,
    Path(account): Path<String>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let account = account_id(&account)?;
    caller.require_writer()?;
    caller.see_account(&account)?;
    caller.require_accounts([&account])?;
    let info = state.platform.store.get_account(&account).await?;
    if !info.kind.has_followers() {
        let mut v = Validator::new();
        v.add("account_id", "no_followers", "该类型的账号没有关注用户列表");
        v.finish()?;
    }
    state
        .platform
        .queues
        .sync(
            &SyncJob::Account {
                account_id: account,
                run_id: None,
                trigger: SyncTrigger::Manual,
            },
            Duration::ZERO,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { queued: true })))
}

#[utoipa::path(get, path = "/api/accounts/{account_id}/sync-runs", tags = ["直播用户", "关注用户", "同步"],
    summary = "公众号的同步记录",
    params(("account_id" = String, Path, description = "Account id"), PageQuery),
    responses((status = 200, body = Paged<SyncRunView>)))]
/// Runs of one account, newest first.
pub async fn list_for_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(account): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paged<SyncRunView>>> {
    let account = account_id(&account)?;
    caller.see_account(&account)?;
    let page = state
        .platform
        .store
        .list_sync_runs(&account, &page.request()?)
        .await?;
    Ok(Json(Paged::from_page(page, SyncRunView::from)))
}

#[utoipa::path(get, path = "/api/accounts/{account_id}/sync-runs/{run_id}", tags = ["同步"],
    summary = "同步状态",
    params(("account_id" = String, Path, description = "Account id"), ("run_id" = String, Path, description = "Run id")),
    responses((status = 200, body = SyncRunView)))]
/// One run.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((account, run)): Path<(String, String)>,
) -> ApiResult<Json<SyncRunView>> {
    let account = account_id(&account)?;
    caller.see_account(&account)?;
    let mut v = Validator::new();
    let run = v.id::<SyncRunId>("run_id", &run);
    v.finish()?;
    let run = run.ok_or_else(|| ApiError::internal("validated id missing"))?;
    Ok(Json(
        state
            .platform
            .store
            .get_sync_run(&account, run)
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/api/sync-runs", tags = ["同步"], summary = "所有公众号的同步记录",
    params(PageQuery), responses((status = 200, body = Paged<SyncRunView>)))]
/// Runs of every account in the caller's scope, newest first.
pub async fn list_all(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paged<SyncRunView>>> {
    let page = state
        .platform
        .store
        .list_all_sync_runs(&caller.scope(), &page.request()?)
        .await?;
    Ok(Json(Paged::from_page(page, SyncRunView::from)))
}
