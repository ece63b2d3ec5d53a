//! 导出: courses, followers and notification records as CSV or XLSX, streamed into S3 and
//! handed back as a presigned link.

use crate::AppState;
use crate::audit_layer::AuditTarget;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::accounts::account_id;
use crate::routes::courses::{CourseQuery, course_id};
use crate::routes::deliveries::DeliveryFilterQuery;
use crate::routes::followers::FollowerQuery;
use crate::routes::pushes::push_id;
use crate::validate::Validator;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use livenotify::blobs::{DEFAULT_LINK_TTL, export_key, presign_get};
use livenotify::domain::{Course, CourseStatus, Delivery, DeliveryStatus, Follower, PushId, now};
use livenotify::export::{Cell, ExportFormat, ExportWriter, S3MultipartSink};
use livenotify::store::{MAX_LIMIT, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What to export.
#[derive(Debug, Deserialize, ToSchema)]
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
}

/// A finished export.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportResult {
    /// Presigned download link (15 minutes).
    pub url: String,
    /// S3 key (expires after 7 days).
    pub key: String,
    /// Data rows (header not counted).
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// File format.
    #[schema(schema_with = crate::schema::export_format)]
    pub format: ExportFormat,
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

#[utoipa::path(post, path = "/api/exports", tags = ["导出", "直播课程", "直播用户", "关注用户", "通知记录"],
    summary = "导出课程、关注用户或通知记录（CSV / XLSX）",
    request_body = ExportRequest, responses((status = 201, body = ExportResult)))]
/// Exports a list to S3 and returns a download link.
pub async fn create(
    State(state): State<AppState>,
    _caller: Caller,
    ApiJson(request): ApiJson<ExportRequest>,
) -> ApiResult<(StatusCode, Extension<AuditTarget>, Json<ExportResult>)> {
    let store = &state.platform.store;
    let (format, name, headers): (ExportFormat, &str, &[&str]) = match &request {
        ExportRequest::Courses { format, .. } => (*format, "直播课程", &COURSE_HEADERS),
        ExportRequest::Followers { format, .. } => (*format, "关注用户", &FOLLOWER_HEADERS),
        ExportRequest::Deliveries { format, .. } => (*format, "通知记录", &DELIVERY_HEADERS),
    };
    // Validate everything before the upload starts.
    enum Plan {
        Courses(livenotify::store::CourseFilter),
        Followers(
            livenotify::domain::AccountId,
            livenotify::store::FollowerFilter,
        ),
        Pushes(Vec<PushId>, livenotify::store::DeliveryFilter),
    }
    let plan = match request {
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
            .filter()?,
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
                    store.get_push(push).await?;
                    vec![push]
                }
                (None, Some(course)) => {
                    let course = course_id(&course)?;
                    store.get_course(course).await?;
                    let mut ids = Vec::new();
                    let mut page = PageRequest::first(MAX_LIMIT);
                    loop {
                        let result = store.list_pushes_by_course(course, &page).await?;
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
    };
    let id = ulid::Ulid::new().to_string();
    let key = export_key(&id, format.extension());
    let bucket = &state.platform.config.bucket;
    let sink = S3MultipartSink::start(
        state.platform.s3.clone(),
        bucket,
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
    }
    let done = writer.finish().await.map_err(ApiError::internal)?;
    let file_name = format!(
        "{name}-{}.{}",
        now().with_timezone(&Shanghai).format("%Y%m%d-%H%M%S"),
        format.extension()
    );
    let url = presign_get(
        &state.platform.s3,
        bucket,
        &key,
        DEFAULT_LINK_TTL,
        Some(&file_name),
    )
    .await?;
    tracing::info!(key = %key, rows = done.rows, bytes = done.bytes, "export written");
    Ok((
        StatusCode::CREATED,
        Extension(AuditTarget(key.clone())),
        Json(ExportResult {
            url,
            key,
            rows: done.rows,
            bytes: done.bytes,
            format,
        }),
    ))
}
