//! 导出: courses, followers, notification records and a course's sign-ups as CSV or XLSX. `POST /api/exports`
//! validates the request and queues an export job; the export worker
//! (`src/bin/export-worker.rs`) streams the file into S3; `GET /api/exports/{export_id}` gives
//! its status and, once written, a presigned link.

use crate::AppState;
use crate::audit_layer::AuditTarget;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::pagination::{PageQuery, Paged};
use crate::routes::accounts::account_id;
use crate::routes::courses::{CourseQuery, course_id};
use crate::routes::deliveries::DeliveryFilterQuery;
use crate::routes::followers::FollowerQuery;
use crate::routes::pushes::push_id;
use crate::validate::Validator;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use livenotify::blobs::{DEFAULT_LINK_TTL, export_key, presign_get};
use livenotify::domain::{
    AccountId, Course, CourseId, CourseStatus, Delivery, DeliveryStatus, EXPORT_RETENTION_DAYS,
    ExportJob, ExportJobId, ExportJobStatus, ExportKind, Follower, PushId, Scope, SignUp,
    SignUpSource, now,
};
use livenotify::export::{Cell, ExportFormat, ExportWriter, S3MultipartSink};
use livenotify::jobs::ExportJobMessage;
use livenotify::platform::Platform;
use livenotify::store::{MAX_LIMIT, PageRequest, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What to export.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportRequest {
    /// 直播课程.
    Courses {
        /// File format.
        #[schema(schema_with = crate::schema::export_format)]
        format: ExportFormat,
        /// Starting at or after.
        starts_from: Option<DateTime<Utc>>,
        /// Starting at or before.
        starts_to: Option<DateTime<Utc>>,
        /// Title or speaker contains.
        q: Option<String>,
        /// Editorial status.
        #[schema(schema_with = crate::schema::course_status)]
        status: Option<CourseStatus>,
    },
    /// 直播用户 / 关注用户 of one account.
    Followers {
        /// File format.
        #[schema(schema_with = crate::schema::export_format)]
        format: ExportFormat,
        /// Account.
        account_id: String,
        /// Followers or unfollowers only.
        subscribed: Option<bool>,
        /// (Un)subscribed at or after (needs `subscribed`).
        from: Option<DateTime<Utc>>,
        /// (Un)subscribed at or before (needs `subscribed`).
        to: Option<DateTime<Utc>>,
        /// Remark contains.
        remark: Option<String>,
        /// WeChat tag.
        tag_id: Option<u32>,
    },
    /// 通知记录 of one push or one course.
    Deliveries {
        /// File format.
        #[schema(schema_with = crate::schema::export_format)]
        format: ExportFormat,
        /// Records of this push...
        push_id: Option<String>,
        /// ...or of every push of this course.
        course_id: Option<String>,
        /// Only in this state.
        #[schema(schema_with = crate::schema::delivery_status)]
        status: Option<DeliveryStatus>,
        /// Created at or after.
        from: Option<DateTime<Utc>>,
        /// Created at or before.
        to: Option<DateTime<Utc>>,
    },
    /// 报名用户 of one course (through the caller's accounts).
    Signups {
        /// File format.
        #[schema(schema_with = crate::schema::export_format)]
        format: ExportFormat,
        /// Course.
        course_id: String,
        /// Only sign-ups through this account.
        account_id: Option<String>,
    },
}

/// China time, as admins read it.
fn time(at: Option<DateTime<Utc>>) -> Cell {
    at.map(|t| {
        t.with_timezone(&Shanghai)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    })
    .unwrap_or_default()
    .into()
}

fn label<T: Serialize>(value: &T) -> Cell {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
        .into()
}

const COURSE_HEADERS: [&str; 10] = [
    "编号",
    "标题",
    "讲者",
    "开始时间",
    "结束时间",
    "状态",
    "直播地址",
    "须关注订阅号",
    "推送公众号",
    "创建时间",
];

fn course_row(c: &Course) -> Vec<Cell> {
    vec![
        c.id.to_string().into(),
        c.title.clone().into(),
        c.speaker.clone().into(),
        time(Some(c.starts_at)),
        time(c.ends_at),
        label(&c.status),
        c.live_url.clone().into(),
        c.required_account
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
            .into(),
        c.templates
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
            .into(),
        time(Some(c.created_at)),
    ]
}

const FOLLOWER_HEADERS: [&str; 11] = [
    "公众号",
    "openid",
    "unionid",
    "是否关注",
    "关注时间",
    "取消关注时间",
    "备注",
    "标签",
    "关注来源",
    "最近互动",
    "免打扰",
];

fn follower_row(f: &Follower) -> Vec<Cell> {
    vec![
        f.account_id.to_string().into(),
        f.openid.clone().into(),
        f.unionid.clone().unwrap_or_default().into(),
        if f.subscribed { "是" } else { "否" }.into(),
        time(f.subscribe_time),
        time(f.unsubscribed_at),
        f.remark.clone().into(),
        f.tag_ids
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
            .into(),
        f.subscribe_scene.clone().unwrap_or_default().into(),
        time(f.last_interaction_at),
        if f.muted { "是" } else { "否" }.into(),
    ]
}

const DELIVERY_HEADERS: [&str; 11] = [
    "推送编号",
    "课程编号",
    "公众号",
    "openid",
    "状态",
    "msgid",
    "尝试次数",
    "错误码",
    "错误信息",
    "创建时间",
    "更新时间",
];

fn delivery_row(d: &Delivery) -> Vec<Cell> {
    vec![
        d.push_id.to_string().into(),
        d.course_id.to_string().into(),
        d.account_id.to_string().into(),
        d.openid.clone().into(),
        label(&d.status),
        d.msgid.clone().unwrap_or_default().into(),
        u64::from(d.attempts).into(),
        d.error_code
            .map(|c| c.to_string())
            .unwrap_or_default()
            .into(),
        d.error_message.clone().unwrap_or_default().into(),
        time(Some(d.created_at)),
        time(Some(d.updated_at)),
    ]
}

const SIGNUP_HEADERS: [&str; 6] = [
    "课程编号",
    "公众号",
    "openid",
    "unionid",
    "来源",
    "报名时间",
];

fn signup_row(s: &SignUp) -> Vec<Cell> {
    vec![
        s.course_id.to_string().into(),
        s.account_id.to_string().into(),
        s.openid.clone().into(),
        s.unionid.clone().unwrap_or_default().into(),
        s.source.map_or("未记录", SignUpSource::label).into(),
        time(Some(s.signed_up_at)),
    ]
}

/// Writes every page of a list, then completes the upload (aborting it on any error).
macro_rules! drain_pages {
    ($writer:expr, $row:expr, |$page:ident| $fetch:expr) => {{
        let mut $page = PageRequest::first(MAX_LIMIT);
        loop {
            let result = match $fetch.await {
                Ok(result) => result,
                Err(e) => {
                    $writer.abort().await;
                    return Err(ApiError::from(e));
                }
            };
            for item in &result.items {
                if let Err(e) = $writer.write_row(&$row(item)).await {
                    $writer.abort().await;
                    return Err(ApiError::internal(e));
                }
            }
            match result.next_cursor {
                Some(next) => $page = PageRequest::new(Some(MAX_LIMIT), Some(next))?,
                None => break,
            }
        }
    }};
}

/// What a validated request will read.
pub(crate) enum Plan {
    Courses(livenotify::store::CourseFilter),
    Followers(
        livenotify::domain::AccountId,
        livenotify::store::FollowerFilter,
    ),
    Pushes(Vec<PushId>, livenotify::store::DeliveryFilter),
    Signups(CourseId, Option<AccountId>, Scope),
}

impl ExportRequest {
    /// File format.
    pub fn format(&self) -> ExportFormat {
        match self {
            Self::Courses { format, .. }
            | Self::Followers { format, .. }
            | Self::Deliveries { format, .. }
            | Self::Signups { format, .. } => *format,
        }
    }

    /// What is exported.
    pub fn kind(&self) -> ExportKind {
        match self {
            Self::Courses { .. } => ExportKind::Courses,
            Self::Followers { .. } => ExportKind::Followers,
            Self::Deliveries { .. } => ExportKind::Deliveries,
            Self::Signups { .. } => ExportKind::Signups,
        }
    }
}

/// Validates a request and resolves what it reads inside `scope` (field errors; `NotFound`
/// for a missing or out-of-scope push or course; `Forbidden` for an out-of-scope account).
pub(crate) async fn plan(store: &Store, scope: &Scope, request: &ExportRequest) -> ApiResult<Plan> {
    Ok(match request.clone() {
        ExportRequest::Courses {
            starts_from,
            starts_to,
            q,
            status,
            ..
        } => Plan::Courses(
            CourseQuery {
                starts_from,
                starts_to,
                q,
                status,
                sort: None,
                limit: None,
                cursor: None,
            }
            .filter(scope.clone())?,
        ),
        ExportRequest::Followers {
            account_id: account,
            subscribed,
            from,
            to,
            remark,
            tag_id,
            ..
        } => {
            let account = account_id(&account)?;
            let filter = FollowerQuery {
                subscribed,
                from,
                to,
                remark,
                tag_id,
                limit: None,
                cursor: None,
            }
            .filter()?;
            if !scope.contains(&account) {
                return Err(ApiError::Forbidden(format!(
                    "无权查看公众号 {account} 的数据"
                )));
            }
            store.get_account(&account).await?;
            Plan::Followers(account, filter)
        }
        ExportRequest::Deliveries {
            push_id: push,
            course_id: course,
            status,
            from,
            to,
            ..
        } => {
            let filter = DeliveryFilterQuery {
                status,
                from,
                to,
                ..Default::default()
            }
            .filter();
            let pushes = match (push, course) {
                (Some(push), None) => {
                    let push = push_id(&push)?;
                    if !scope.contains(&store.get_push(push).await?.account_id) {
                        return Err(ApiError::NotFound {
                            entity: "push",
                            id: push.to_string(),
                        });
                    }
                    vec![push]
                }
                (None, Some(course)) => {
                    let course = course_id(&course)?;
                    if !scope.sees_course(&store.get_course(course).await?) {
                        return Err(ApiError::NotFound {
                            entity: "course",
                            id: course.to_string(),
                        });
                    }
                    let mut ids = Vec::new();
                    let mut page = PageRequest::first(MAX_LIMIT);
                    loop {
                        let result = store.list_pushes_by_course(course, scope, &page).await?;
                        ids.extend(result.items.iter().map(|p| p.id));
                        match result.next_cursor {
                            Some(next) => page = PageRequest::new(Some(MAX_LIMIT), Some(next))?,
                            None => break,
                        }
                    }
                    ids
                }
                _ => {
                    let mut v = Validator::new();
                    v.add("push_id", "one_of_required", "须指定推送编号或课程编号之一");
                    v.finish()?;
                    Vec::new()
                }
            };
            Plan::Pushes(pushes, filter)
        }
        ExportRequest::Signups {
            course_id: course,
            account_id: account,
            ..
        } => {
            let course = course_id(&course)?;
            let account = account.as_deref().map(account_id).transpose()?;
            if let Some(account) = &account
                && !scope.contains(account)
            {
                return Err(ApiError::Forbidden(format!(
                    "无权查看公众号 {account} 的数据"
                )));
            }
            if !scope.sees_course(&store.get_course(course).await?) {
                return Err(ApiError::NotFound {
                    entity: "course",
                    id: course.to_string(),
                });
            }
            Plan::Signups(course, account, scope.clone())
        }
    })
}

/// A file written to S3.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    /// S3 key.
    pub key: String,
    /// Data rows.
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// Download name.
    pub file_name: String,
}

/// Streams the rows of `plan` into S3 under `exports/<id>.<ext>` (multipart, a part at a time).
pub(crate) async fn write(
    platform: &Platform,
    id: &str,
    kind: ExportKind,
    format: ExportFormat,
    plan: Plan,
) -> ApiResult<Written> {
    let store = &platform.store;
    let (name, headers): (&str, &[&str]) = match kind {
        ExportKind::Courses => ("直播课程", &COURSE_HEADERS),
        ExportKind::Followers => ("关注用户", &FOLLOWER_HEADERS),
        ExportKind::Deliveries => ("通知记录", &DELIVERY_HEADERS),
        ExportKind::Signups => ("报名用户", &SIGNUP_HEADERS),
    };
    let key = export_key(id, format.extension());
    let sink = S3MultipartSink::start(
        platform.s3.clone(),
        &platform.config.bucket,
        &key,
        format.content_type(),
    )
    .await
    .map_err(ApiError::internal)?;
    let mut writer = ExportWriter::new(format, headers, sink).map_err(ApiError::internal)?;
    match plan {
        Plan::Courses(filter) => {
            drain_pages!(writer, course_row, |page| store
                .list_courses(&filter, &page));
        }
        Plan::Followers(account, filter) => {
            drain_pages!(writer, follower_row, |page| store
                .list_followers(&account, &filter, &page));
        }
        Plan::Pushes(pushes, filter) => {
            for push in pushes {
                drain_pages!(writer, delivery_row, |page| store
                    .search_deliveries_by_push(push, &filter, &page));
            }
        }
        Plan::Signups(course, account, scope) => {
            drain_pages!(writer, signup_row, |page| store.list_course_signups(
                course,
                &scope,
                account.as_ref(),
                &page
            ));
        }
    }
    let done = writer.finish().await.map_err(ApiError::internal)?;
    let file_name = format!(
        "{name}-{}.{}",
        now().with_timezone(&Shanghai).format("%Y%m%d-%H%M%S"),
        format.extension()
    );
    tracing::info!(key = %key, rows = done.rows, bytes = done.bytes, "export written");
    Ok(Written {
        key,
        rows: done.rows,
        bytes: done.bytes,
        file_name,
    })
}

/// An export job as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportJobView {
    /// Id.
    pub export_id: String,
    /// `pending`, `running`, `succeeded` or `failed`.
    #[schema(schema_with = crate::schema::export_status)]
    pub status: ExportJobStatus,
    /// `courses`, `followers`, `deliveries` or `signups`.
    #[schema(schema_with = crate::schema::export_kind)]
    pub kind: ExportKind,
    /// File format.
    #[schema(schema_with = crate::schema::export_format)]
    pub format: ExportFormat,
    /// Data rows written (header not counted).
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// Presigned download link (15 minutes, fresh on every read), once succeeded.
    pub url: Option<String>,
    /// S3 key (the file expires after 7 days), once succeeded.
    pub key: Option<String>,
    /// Why it failed (Chinese).
    pub error: Option<String>,
    /// Admin who asked for it.
    pub owner: String,
    /// Asked for.
    pub created_at: DateTime<Utc>,
    /// Started.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
}

impl ExportJobView {
    async fn of(platform: &Platform, job: ExportJob) -> ApiResult<Self> {
        let url = match (&job.status, &job.key) {
            (ExportJobStatus::Succeeded, Some(key)) => Some(
                presign_get(
                    &platform.s3,
                    &platform.config.bucket,
                    key,
                    DEFAULT_LINK_TTL,
                    job.file_name.as_deref(),
                )
                .await?,
            ),
            _ => None,
        };
        Ok(Self {
            export_id: job.id.to_string(),
            status: job.status,
            kind: job.kind,
            format: job.format,
            rows: job.rows,
            bytes: job.bytes,
            url,
            key: job.key.filter(|_| job.status == ExportJobStatus::Succeeded),
            error: job.error,
            owner: job.owner,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
        })
    }
}

#[utoipa::path(post, path = "/api/exports", tags = ["导出", "直播课程", "直播用户", "关注用户", "通知记录"],
    summary = "导出课程、关注用户或通知记录（CSV / XLSX，后台生成）",
    request_body = ExportRequest, responses((status = 202, body = ExportJobView),
        (status = 503, description = "not_configured：此部署未配置导出队列", body = crate::ErrorBody)))]
/// Validates the request and queues an export job (anyone signed in; exporting is reading).
/// Poll `GET /api/exports/{export_id}` for its status and link.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ExportRequest>,
) -> ApiResult<(StatusCode, Extension<AuditTarget>, Json<ExportJobView>)> {
    let platform = &state.platform;
    plan(&platform.store, &caller.scope(), &request).await?;
    if platform.config.queues.export.is_none() {
        return Err(ApiError::NotConfigured("EXPORT_QUEUE_URL"));
    }
    let at = now();
    let job = ExportJob {
        id: ExportJobId::generate(),
        owner: caller.username().to_string(),
        kind: request.kind(),
        format: request.format(),
        request: serde_json::to_value(&request).map_err(ApiError::internal)?,
        status: ExportJobStatus::Pending,
        rows: 0,
        bytes: 0,
        key: None,
        file_name: None,
        error: None,
        attempts: 0,
        created_at: at,
        started_at: None,
        finished_at: None,
        expires_at: Some((at + chrono::Duration::days(EXPORT_RETENTION_DAYS)).timestamp()),
    };
    platform.store.create_export_job(&job).await?;
    if let Err(e) = platform
        .queues
        .export(&ExportJobMessage { export_id: job.id })
        .await
    {
        // Never leave a job pending that nothing will run.
        let mut failed = job.clone();
        failed.status = ExportJobStatus::Failed;
        failed.error = Some("导出任务未能排队，请重试".into());
        failed.finished_at = Some(now());
        if let Err(save) = platform
            .store
            .save_export_job(&failed, ExportJobStatus::Pending)
            .await
        {
            tracing::error!(export_id = %job.id, error = %save, "unqueued export job not marked failed");
        }
        return Err(e.into());
    }
    tracing::info!(export_id = %job.id, owner = %job.owner, "export queued");
    Ok((
        StatusCode::ACCEPTED,
        Extension(AuditTarget(format!("export/{}", job.id))),
        Json(ExportJobView::of(platform, job).await?),
    ))
}

/// Parses an export id from a path.
fn export_id(text: &str) -> ApiResult<ExportJobId> {
    let mut v = Validator::new();
    let id = v.id::<ExportJobId>("export_id", text);
    v.finish()?;
    id.ok_or_else(|| ApiError::internal("validated id missing"))
}

#[utoipa::path(get, path = "/api/exports/{export_id}", tags = ["导出"], summary = "导出任务状态与下载链接",
    params(("export_id" = String, Path, description = "Export id")),
    responses((status = 200, body = ExportJobView)))]
/// One export job: its owner and super admins only (404 for anyone else).
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ExportJobView>> {
    let id = export_id(&id)?;
    let job = state.platform.store.get_export_job(id).await?;
    // Someone else's export is answered as absent (it may hold data outside the scope).
    if job.owner != caller.username() && caller.require_super_admin().is_err() {
        return Err(ApiError::NotFound {
            entity: "export",
            id: id.to_string(),
        });
    }
    Ok(Json(ExportJobView::of(&state.platform, job).await?))
}

#[utoipa::path(get, path = "/api/exports", tags = ["导出"], summary = "我的导出任务",
    params(PageQuery), responses((status = 200, body = Paged<ExportJobView>)))]
/// The caller's export jobs, newest first (kept 7 days).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paged<ExportJobView>>> {
    let page = state
        .platform
        .store
        .list_export_jobs(caller.username(), &page.request()?)
        .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for job in page.items {
        items.push(ExportJobView::of(&state.platform, job).await?);
    }
    Ok(Json(Paged {
        items,
        next_cursor: page.next_cursor,
    }))
}
