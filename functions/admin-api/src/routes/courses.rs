//! 直播课程: courses with optimistic concurrency, their QR codes, pushes and records.

use crate::AppState;
use crate::audit_layer::AuditTarget;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::pagination::{PageQuery, Paged};
use crate::routes::deliveries::{DeliveryFilterQuery, DeliveryView, course_deliveries};
use crate::routes::push_preview::render_error_field;
use crate::routes::pushes::PushView;
use crate::validate::Validator;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use livenotify::blobs::{DEFAULT_LINK_TTL, presign_get};
use livenotify::domain::{
    Account, AccountId, Course, CourseId, CoursePhase, CourseStatus, QrImage, Scope,
    TemplateMapping, now,
};
use livenotify::jobs::QrJob;
use livenotify::notification::{NotificationError, default_channel, render_for_channel};
use livenotify::store::CourseFilter;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::{IntoParams, ToSchema};

/// Which WeChat template carries the course on one account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TemplateMappingBody {
    /// WeChat template id.
    pub template_id: String,
    /// Template key (e.g. `thing1`) -> text with placeholders such as `{title}`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// A course as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CourseView {
    /// Id.
    pub id: String,
    /// 标题.
    pub title: String,
    /// 讲者.
    pub speaker: String,
    /// 简介.
    pub description: String,
    /// 开始时间.
    pub starts_at: DateTime<Utc>,
    /// 结束时间.
    pub ends_at: Option<DateTime<Utc>>,
    /// 直播地址.
    pub live_url: String,
    /// 封面图.
    pub cover_url: Option<String>,
    /// 须关注的订阅号.
    pub required_account: Option<String>,
    /// 各服务号的模板映射.
    pub templates: BTreeMap<String, TemplateMappingBody>,
    /// Lead times, in minutes before the start, at which signed-up users are reminded.
    pub reminder_minutes: Vec<u32>,
    /// Parametric codes are permanent (QR_LIMIT_STR_SCENE) rather than 30-day temporary.
    pub permanent_qr: bool,
    /// Why the last QR rendering failed, if it did.
    pub qr_error: Option<String>,
    /// Editorial status.
    #[schema(schema_with = crate::schema::course_status)]
    pub status: CourseStatus,
    /// Upcoming, live or ended, now.
    #[schema(schema_with = crate::schema::course_phase)]
    pub phase: CoursePhase,
    /// When its QR codes were last rendered; absent until then.
    pub qr_generated_at: Option<DateTime<Utc>>,
    /// Send back unchanged when updating (optimistic concurrency).
    pub version: u64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Course> for CourseView {
    fn from(c: Course) -> Self {
        Self {
            phase: c.phase_at(now()),
            id: c.id.to_string(),
            title: c.title,
            speaker: c.speaker,
            description: c.description,
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            live_url: c.live_url,
            cover_url: c.cover_url,
            required_account: c.required_account.map(String::from),
            templates: c
                .templates
                .into_iter()
                .map(|(k, t)| {
                    (
                        k.to_string(),
                        TemplateMappingBody {
                            template_id: t.template_id,
                            fields: t.fields,
                        },
                    )
                })
                .collect(),
            reminder_minutes: c.reminder_minutes,
            permanent_qr: c.permanent_qr,
            qr_error: c.qr_error.as_ref().map(|e| e.reason.clone()),
            status: c.status,
            qr_generated_at: c.qr.map(|q| q.generated_at),
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The editable fields of a course.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CourseInput {
    /// 标题 (1 to 128 characters).
    pub title: String,
    /// 讲者.
    #[serde(default)]
    pub speaker: String,
    /// 简介.
    #[serde(default)]
    pub description: String,
    /// 开始时间 (RFC 3339).
    pub starts_at: DateTime<Utc>,
    /// 结束时间, after the start.
    pub ends_at: Option<DateTime<Utc>>,
    /// 直播地址 (http/https).
    pub live_url: String,
    /// 封面图 (http/https).
    pub cover_url: Option<String>,
    /// 须关注的订阅号 (an existing account).
    pub required_account: Option<String>,
    /// 各服务号的模板映射, by account id (existing accounts).
    #[serde(default)]
    pub templates: BTreeMap<String, TemplateMappingBody>,
    /// 开播前提醒：minutes before the start, each 0 to 10080, at most 5 (e.g. `[1440, 15]`
    /// for a day and a quarter of an hour before); a single number is read as one reminder.
    #[serde(default, deserialize_with = "livenotify::domain::one_or_many")]
    pub reminder_minutes: Vec<u32>,
    /// 永久二维码 (QR_LIMIT_STR_SCENE; default: 30-day temporary codes, refreshed).
    #[serde(default)]
    pub permanent_qr: bool,
    /// Editorial status (default `published`).
    #[serde(default)]
    #[schema(schema_with = crate::schema::course_status)]
    pub status: CourseStatus,
}

/// A full replacement of a course's editable fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CourseUpdate {
    /// The `version` the change was based on; a newer stored version gives 409.
    pub version: u64,
    /// The new fields.
    #[serde(flatten)]
    pub course: CourseInput,
}

/// Course list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CourseQuery {
    /// Starting at or after.
    pub starts_from: Option<DateTime<Utc>>,
    /// Starting at or before.
    pub starts_to: Option<DateTime<Utc>>,
    /// Title or speaker contains (case-insensitive).
    pub q: Option<String>,
    /// Editorial status.
    #[param(schema_with = crate::schema::course_status)]
    pub status: Option<CourseStatus>,
    /// `asc` (default, earliest start first) or `desc`.
    pub sort: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

impl CourseQuery {
    /// The store filter for an admin with `scope`, or field errors.
    pub fn filter(&self, scope: Scope) -> ApiResult<CourseFilter> {
        let mut v = Validator::new();
        let newest_first = match self.sort.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => {
                v.add("sort", "invalid_sort", "排序须为 asc 或 desc");
                false
            }
        };
        if let Some(q) = &self.q {
            v.max_len("q", q, 64);
        }
        v.finish()?;
        Ok(CourseFilter {
            starts_from: self.starts_from,
            starts_to: self.starts_to,
            text: self.q.clone(),
            status: self.status,
            newest_first,
            scope,
        })
    }
}

/// Parses a course id from a path.
pub fn course_id(text: &str) -> ApiResult<CourseId> {
    let mut v = Validator::new();
    let id = v.id::<CourseId>("course_id", text);
    v.finish()?;
    id.ok_or_else(|| ApiError::internal("validated id missing"))
}

/// The accounts a course involves (template accounts and the required account): an operator
/// must be scoped to all of them to change it.
fn involved_accounts(course: &Course) -> BTreeSet<AccountId> {
    course.involved_accounts()
}

/// A course named in the path, if the caller may see it (404 otherwise, as if absent).
pub async fn visible_course(state: &AppState, caller: &Caller, id: CourseId) -> ApiResult<Course> {
    let course = state.platform.store.get_course(id).await?;
    caller.see_course(&course)?;
    Ok(course)
}

/// Most reminders a course may have.
const MAX_REMINDERS: usize = 5;

/// Validates input against the table (accounts must exist) and builds the course.
async fn build(
    state: &AppState,
    input: CourseInput,
    id: CourseId,
    created_at: DateTime<Utc>,
    version: u64,
) -> ApiResult<Course> {
    let mut v = Validator::new();
    v.required_text("title", &input.title, 128);
    v.max_len("speaker", &input.speaker, 64);
    v.max_len("description", &input.description, 5000);
    v.url("live_url", &input.live_url);
    if let Some(cover) = &input.cover_url {
        v.url("cover_url", cover);
    }
    if let Some(ends) = input.ends_at
        && ends <= input.starts_at
    {
        v.add("ends_at", "before_start", "结束时间须晚于开始时间");
    }
    if input.reminder_minutes.iter().any(|m| *m > 7 * 24 * 60) {
        v.add(
            "reminder_minutes",
            "out_of_range",
            "提醒时间须在 0 到 10080 分钟之间",
        );
    }
    let mut reminders = input.reminder_minutes.clone();
    reminders.sort_unstable_by(|a, b| b.cmp(a));
    reminders.dedup();
    if reminders.len() != input.reminder_minutes.len() {
        v.add("reminder_minutes", "duplicate", "同一提醒时间只能填一次");
    }
    if reminders.len() > MAX_REMINDERS {
        v.add(
            "reminder_minutes",
            "too_many",
            format!("每门课程最多 {MAX_REMINDERS} 个提醒"),
        );
    }
    let store = &state.platform.store;
    let required_account = match &input.required_account {
        Some(text) => match v.id::<AccountId>("required_account", text) {
            Some(id) => match store.get_account(&id).await {
                Ok(_) => Some(id),
                Err(livenotify::store::StoreError::NotFound { .. }) => {
                    v.add("required_account", "unknown_account", "该公众号不存在");
                    None
                }
                Err(e) => return Err(e.into()),
            },
            None => None,
        },
        None => None,
    };
    let mut templates = BTreeMap::new();
    let mut mapped_accounts = Vec::new();
    for (account, mapping) in input.templates {
        let field = format!("templates.{account}");
        let Some(id) = v.id::<AccountId>(&field, &account) else {
            continue;
        };
        match store.get_account(&id).await {
            Ok(account) => mapped_accounts.push(account),
            Err(livenotify::store::StoreError::NotFound { .. }) => {
                v.add(&field, "unknown_account", "该公众号不存在");
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        v.required_text(&format!("{field}.template_id"), &mapping.template_id, 128);
        for (key, text) in &mapping.fields {
            v.required_text(&format!("{field}.fields"), key, 32);
            v.max_len(&format!("{field}.fields.{key}"), text, 200);
        }
        templates.insert(
            id,
            TemplateMapping {
                template_id: mapping.template_id.trim().to_string(),
                fields: mapping.fields,
            },
        );
    }
    v.finish()?;
    let course = Course {
        id,
        title: input.title.trim().to_string(),
        speaker: input.speaker.trim().to_string(),
        description: input.description,
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        live_url: input.live_url,
        cover_url: input.cover_url,
        required_account,
        templates,
        reminder_minutes: reminders,
        status: input.status,
        qr: None,
        permanent_qr: input.permanent_qr,
        qr_error: None,
        version,
        created_at,
        updated_at: now(),
    };
    check_mappings(state, &course, &mapped_accounts)?;
    Ok(course)
}

/// Renders each mapping as its account's pushes will (placeholders, WeChat's field lengths
/// and characters), so a mapping every push would refuse is refused when the course is saved.
fn check_mappings(state: &AppState, course: &Course, accounts: &[Account]) -> ApiResult<()> {
    let mut v = Validator::new();
    for account in accounts {
        let channel = default_channel(account.kind);
        let rendered = render_for_channel(
            course,
            account,
            channel,
            &state.platform.config.public_base_url,
        );
        match rendered {
            // Settings of the account, not of the course (e.g. a WeCom app without its agent):
            // the push dialog reports those.
            Err(NotificationError::ChannelUnavailable { .. }) | Ok(_) => {}
            Err(e) => {
                let field = format!("templates.{}", account.id);
                v.push(render_error_field(&e, &account.id, &field));
            }
        }
    }
    v.finish()
}

#[utoipa::path(get, path = "/api/courses", tag = "直播课程", summary = "课程列表（搜索、筛选、排序）",
    params(CourseQuery), responses((status = 200, body = Paged<CourseView>)))]
/// Courses by start time (those involving an account in the caller's scope).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CourseQuery>,
) -> ApiResult<Json<Paged<CourseView>>> {
    let filter = query.filter(caller.scope())?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .request()?;
    let page = state.platform.store.list_courses(&filter, &page).await?;
    Ok(Json(Paged::from_page(page, CourseView::from)))
}

#[utoipa::path(post, path = "/api/courses", tag = "直播课程", summary = "新建课程（随后生成二维码）",
    request_body = CourseInput, responses((status = 201, body = CourseView)))]
/// Adds a course and asks qr-generator to render its QR codes.
pub async fn create(
    State(state): State<AppState>,
    Writer(caller): Writer,
    ApiJson(input): ApiJson<CourseInput>,
) -> ApiResult<(StatusCode, Extension<AuditTarget>, Json<CourseView>)> {
    let at = now();
    let course = build(&state, input, CourseId::generate(), at, 1).await?;
    caller.require_accounts(&involved_accounts(&course))?;
    state.platform.store.create_course(&course).await?;
    state
        .platform
        .queues
        .qr(&QrJob::Generate {
            course_id: course.id,
        })
        .await?;
    tracing::info!(course = %course.id, "course created");
    Ok((
        StatusCode::CREATED,
        Extension(AuditTarget(format!("course/{}", course.id))),
        Json(course.into()),
    ))
}

#[utoipa::path(get, path = "/api/courses/{course_id}", tag = "直播课程", summary = "课程详情",
    params(("course_id" = String, Path, description = "Course id (ULID)")),
    responses((status = 200, body = CourseView)))]
/// One course.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CourseView>> {
    let id = course_id(&id)?;
    Ok(Json(visible_course(&state, &caller, id).await?.into()))
}

#[utoipa::path(put, path = "/api/courses/{course_id}", tag = "直播课程", summary = "编辑课程",
    params(("course_id" = String, Path, description = "Course id (ULID)")),
    request_body = CourseUpdate, responses((status = 200, body = CourseView)))]
/// Replaces a course's fields if nobody changed it since `version`; QR codes are rendered
/// again when the accounts they depend on change.
pub async fn update(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CourseUpdate>,
) -> ApiResult<Json<CourseView>> {
    let id = course_id(&id)?;
    let store = &state.platform.store;
    let current = visible_course(&state, &caller, id).await?;
    caller.require_accounts(&involved_accounts(&current))?;
    let mut next = build(&state, input.course, id, current.created_at, input.version).await?;
    caller.require_accounts(&involved_accounts(&next))?;
    if input.version != current.version {
        return Err(ApiError::Conflict(format!(
            "course {id}: version {} is not the current version {}",
            input.version, current.version
        )));
    }
    next.qr = current.qr.clone();
    let qr_relevant = involved_accounts(&next) != involved_accounts(&current)
        || next.permanent_qr != current.permanent_qr;
    let saved = store.update_course(&next).await?;
    if qr_relevant {
        state
            .platform
            .queues
            .qr(&QrJob::Generate { course_id: id })
            .await?;
    }
    Ok(Json(saved.into()))
}

#[utoipa::path(delete, path = "/api/courses/{course_id}", tag = "直播课程", summary = "删除课程",
    params(("course_id" = String, Path, description = "Course id (ULID)")),
    responses((status = 204, description = "Deleted (its pushes and records stay as history)")))]
/// Deletes a course.
pub async fn delete(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = course_id(&id)?;
    let current = visible_course(&state, &caller, id).await?;
    caller.require_accounts(&involved_accounts(&current))?;
    state.platform.store.delete_course(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Download links of one QR code.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QrLinks {
    /// What the code encodes.
    pub content: String,
    /// Presigned PNG link (15 minutes).
    pub png_url: String,
    /// Presigned SVG link (15 minutes).
    pub svg_url: String,
    /// When a temporary parametric code stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A course's QR codes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CourseQrView {
    /// False until qr-generator has rendered them.
    pub ready: bool,
    /// When rendered.
    pub generated_at: Option<DateTime<Utc>>,
    /// The landing-page code.
    pub landing: Option<QrLinks>,
    /// The parametric code of each service account.
    pub accounts: BTreeMap<String, QrLinks>,
}

async fn links(
    state: &AppState,
    image: &QrImage,
    course: CourseId,
    name: &str,
) -> ApiResult<QrLinks> {
    let s3 = &state.platform.s3;
    let bucket = &state.platform.config.bucket;
    Ok(QrLinks {
        content: image.content.clone(),
        png_url: presign_get(
            s3,
            bucket,
            &image.png_key,
            DEFAULT_LINK_TTL,
            Some(&format!("{course}-{name}.png")),
        )
        .await?,
        svg_url: presign_get(
            s3,
            bucket,
            &image.svg_key,
            DEFAULT_LINK_TTL,
            Some(&format!("{course}-{name}.svg")),
        )
        .await?,
        expires_at: image.expires_at,
    })
}

#[utoipa::path(get, path = "/api/courses/{course_id}/qr", tag = "直播课程", summary = "查看 / 下载课程二维码",
    params(("course_id" = String, Path, description = "Course id (ULID)")),
    responses((status = 200, body = CourseQrView)))]
/// Presigned links of the course's QR images (the landing code and the codes of the
/// caller's accounts).
pub async fn qr(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CourseQrView>> {
    let id = course_id(&id)?;
    let course = visible_course(&state, &caller, id).await?;
    let scope = caller.scope();
    let Some(codes) = course.qr else {
        return Ok(Json(CourseQrView {
            ready: false,
            generated_at: None,
            landing: None,
            accounts: BTreeMap::new(),
        }));
    };
    let mut accounts = BTreeMap::new();
    for (account, image) in codes.accounts.iter().filter(|(a, _)| scope.contains(a)) {
        accounts.insert(
            account.to_string(),
            links(&state, image, id, account.as_str()).await?,
        );
    }
    Ok(Json(CourseQrView {
        ready: true,
        generated_at: Some(codes.generated_at),
        landing: Some(links(&state, &codes.landing, id, "landing").await?),
        accounts,
    }))
}

/// An accepted asynchronous job.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Queued {
    /// Always true.
    pub queued: bool,
}

#[utoipa::path(post, path = "/api/courses/{course_id}/qr", tag = "直播课程", summary = "重新生成课程二维码",
    params(("course_id" = String, Path, description = "Course id (ULID)")),
    responses((status = 202, body = Queued)))]
/// Asks qr-generator to render the course's QR codes again.
pub async fn regenerate_qr(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let id = course_id(&id)?;
    let course = visible_course(&state, &caller, id).await?;
    caller.require_accounts(&involved_accounts(&course))?;
    state
        .platform
        .queues
        .qr(&QrJob::Generate { course_id: id })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { queued: true })))
}

#[utoipa::path(get, path = "/api/courses/{course_id}/pushes", tag = "直播课程", summary = "课程的推送任务",
    params(("course_id" = String, Path, description = "Course id (ULID)"), PageQuery),
    responses((status = 200, body = Paged<PushView>)))]
/// Pushes of a course from the caller's accounts, newest first.
pub async fn pushes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paged<PushView>>> {
    let id = course_id(&id)?;
    let page = page.request()?;
    visible_course(&state, &caller, id).await?;
    let page = state
        .platform
        .store
        .list_pushes_by_course(id, &caller.scope(), &page)
        .await?;
    Ok(Json(Paged::from_page(page, PushView::from)))
}

#[utoipa::path(get, path = "/api/courses/{course_id}/deliveries", tag = "通知记录", summary = "课程的通知记录",
    params(("course_id" = String, Path, description = "Course id (ULID)"), DeliveryFilterQuery),
    responses((status = 200, body = Paged<DeliveryView>)))]
/// Notification records of every push of a course (from the caller's accounts).
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DeliveryFilterQuery>,
) -> ApiResult<Json<Paged<DeliveryView>>> {
    let id = course_id(&id)?;
    Ok(Json(course_deliveries(&state, &caller, id, &query).await?))
}
