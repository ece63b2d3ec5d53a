//! Pushes: create for a course, accounts and an audience (now or scheduled), list, view
//! progress, cancel, and their notification records.

use crate::AppState;
use crate::audit_layer::AuditTarget;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::pagination::{PageQuery, Paged};
use crate::routes::deliveries::{DeliveryFilterQuery, DeliveryView, push_deliveries};
use crate::routes::push_preview::render_error_field;
use crate::validate::Validator;
use aws_sdk_s3::primitives::ByteStream;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use livenotify::domain::{
    AccountId, Audience, Channel, CourseId, CourseStatus, Push, PushCounters, PushId, PushStatus,
    now,
};
use livenotify::jobs::PushJob;
use livenotify::notification::{default_channel, render_for_channel};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most openids in one uploaded list.
const MAX_OPENIDS: usize = 20_000;

/// Progress counters.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CountersView {
    /// Recipients planned.
    pub targeted: u64,
    /// Accepted by WeChat.
    pub sent: u64,
    /// Confirmed delivered.
    pub delivered: u64,
    /// The user blocks the account.
    pub user_blocked: u64,
    /// Not sent on purpose.
    pub skipped: u64,
    /// Could not be sent.
    pub failed: u64,
}

impl From<PushCounters> for CountersView {
    fn from(c: PushCounters) -> Self {
        Self {
            targeted: c.targeted,
            sent: c.sent,
            delivered: c.delivered,
            user_blocked: c.user_blocked,
            skipped: c.skipped,
            failed: c.failed,
        }
    }
}

/// A push as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PushView {
    /// Id.
    pub id: String,
    /// Course.
    pub course_id: String,
    /// Sending account.
    pub account_id: String,
    /// Recipients.
    #[schema(schema_with = crate::schema::audience)]
    pub audience: Audience,
    /// Channel.
    #[schema(schema_with = crate::schema::channel)]
    pub channel: Channel,
    /// State.
    #[schema(schema_with = crate::schema::push_status)]
    pub status: PushStatus,
    /// Not sent before.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Admin who created it.
    pub created_by: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// First send.
    pub started_at: Option<DateTime<Utc>>,
    /// Reached a final state.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed, paused or was cancelled.
    pub status_reason: Option<String>,
    /// Progress and final stats.
    pub counters: CountersView,
}

impl From<Push> for PushView {
    fn from(p: Push) -> Self {
        Self {
            id: p.id.to_string(),
            course_id: p.course_id.to_string(),
            account_id: p.account_id.to_string(),
            audience: p.audience,
            channel: p.channel,
            status: p.status,
            scheduled_at: p.scheduled_at,
            created_by: p.created_by,
            created_at: p.created_at,
            started_at: p.started_at,
            finished_at: p.finished_at,
            status_reason: p.status_reason,
            counters: p.counters.into(),
        }
    }
}

/// Who receives a new push.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AudienceInput {
    /// 全部关注用户.
    AllFollowers,
    /// 扫码报名的用户.
    SignedUp,
    /// 带某个微信标签的用户.
    Tag {
        /// WeChat tag id.
        tag_id: u32,
    },
    /// 上传的 openid 列表 (one account only; 1 to 20,000 openids).
    OpenidList {
        /// Openids of the push's account.
        openids: Vec<String>,
    },
}

/// A new push: one push job per account.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PushCreate {
    /// Course to announce (published).
    pub course_id: String,
    /// Accounts to send through (each needs a template mapping in the course for template
    /// and subscription channels).
    pub account_ids: Vec<String>,
    /// Recipients.
    pub audience: AudienceInput,
    /// Channel; by default the account kind's usual one (service account: template).
    #[schema(schema_with = crate::schema::optional_channel)]
    pub channel: Option<Channel>,
    /// Send at this instant instead of now.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Or: send this many minutes before the course starts.
    pub minutes_before_start: Option<u32>,
}

/// The pushes created.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PushesCreated {
    /// One per account.
    pub pushes: Vec<PushView>,
}

/// Push list filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PushQuery {
    /// Only pushes of this course; otherwise the most recent pushes of every course.
    pub course_id: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// Parses a push id from a path.
pub fn push_id(text: &str) -> ApiResult<PushId> {
    let mut v = Validator::new();
    let id = v.id::<PushId>("push_id", text);
    v.finish()?;
    id.ok_or_else(|| ApiError::internal("validated id missing"))
}

#[utoipa::path(get, path = "/api/pushes", tag = "直播课程", summary = "推送任务列表",
    params(PushQuery), responses((status = 200, body = Paged<PushView>)))]
/// Pushes of a course, or recent pushes, newest first (from the caller's accounts).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PushQuery>,
) -> ApiResult<Json<Paged<PushView>>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .request()?;
    let store = &state.platform.store;
    let scope = caller.scope();
    let page = match &query.course_id {
        Some(id) => {
            let id = crate::routes::courses::course_id(id)?;
            crate::routes::courses::visible_course(&state, &caller, id).await?;
            store.list_pushes_by_course(id, &scope, &page).await?
        }
        None => store.list_recent_pushes(&scope, &page).await?,
    };
    Ok(Json(Paged::from_page(page, PushView::from)))
}

#[utoipa::path(post, path = "/api/pushes", tag = "直播课程", summary = "推送课程通知（可定时）",
    request_body = PushCreate, responses((status = 201, body = PushesCreated)))]
/// Creates one push per account and queues their planning (delayed to `scheduled_at`, at
/// most SQS's 15 minutes at a time; push-worker waits out the rest).
pub async fn create(
    State(state): State<AppState>,
    Writer(caller): Writer,
    ApiJson(input): ApiJson<PushCreate>,
) -> ApiResult<(StatusCode, Extension<AuditTarget>, Json<PushesCreated>)> {
    let store = &state.platform.store;
    let mut v = Validator::new();
    let course_id = v.id::<CourseId>("course_id", &input.course_id);
    let course = match course_id {
        // A course outside the caller's scope is answered as one that does not exist.
        Some(id) => match store.get_course(id).await {
            Ok(course) if caller.scope().sees_course(&course) => Some(course),
            Ok(_) => {
                v.add("course_id", "unknown_course", "课程不存在");
                None
            }
            Err(livenotify::store::StoreError::NotFound { .. }) => {
                v.add("course_id", "unknown_course", "课程不存在");
                None
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    if let Some(course) = &course
        && course.status != CourseStatus::Published
    {
        v.add(
            "course_id",
            "course_not_published",
            "只有已发布的课程可以推送",
        );
    }
    if input.account_ids.is_empty() || input.account_ids.len() > 20 {
        v.add("account_ids", "invalid_count", "须选择 1 到 20 个公众号");
    }
    let mut accounts = Vec::new();
    for (i, text) in input.account_ids.iter().enumerate() {
        let field = format!("account_ids[{i}]");
        let Some(id) = v.id::<AccountId>(&field, text) else {
            continue;
        };
        if accounts
            .iter()
            .any(|(a, _): &(AccountId, Channel)| a == &id)
        {
            v.add(&field, "duplicate", "重复的公众号");
            continue;
        }
        // Before the lookup, so an out-of-scope account's existence is not revealed.
        caller.require_accounts([&id])?;
        let account = match store.get_account(&id).await {
            Ok(account) => account,
            Err(livenotify::store::StoreError::NotFound { .. }) => {
                v.add(&field, "unknown_account", "该公众号不存在");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let channel = input.channel.unwrap_or(default_channel(account.kind));
        // The worker renders the same way; refusing here tells the admin now, not after
        // the push failed (channel not for this account kind, mapping, field lengths).
        if let Some(course) = &course
            && let Err(e) = render_for_channel(
                course,
                &account,
                channel,
                &state.platform.config.public_base_url,
            )
        {
            v.push(render_error_field(&e, &id, &field));
        }
        accounts.push((id, channel));
    }
    let scheduled_at = match (input.scheduled_at, input.minutes_before_start, &course) {
        (Some(_), Some(_), _) => {
            v.add(
                "scheduled_at",
                "conflicting_schedule",
                "定时时间与“开播前 N 分钟”只能填一个",
            );
            None
        }
        (Some(at), None, _) => Some(at),
        (None, Some(minutes), Some(course)) => {
            if minutes > 7 * 24 * 60 {
                v.add(
                    "minutes_before_start",
                    "out_of_range",
                    "须在 0 到 10080 分钟之间",
                );
            }
            Some(course.starts_at - chrono::Duration::minutes(i64::from(minutes)))
        }
        _ => None,
    };
    if let AudienceInput::OpenidList { openids } = &input.audience {
        if input.account_ids.len() != 1 {
            v.add(
                "audience",
                "one_account_only",
                "openid 列表只能用于一个公众号",
            );
        }
        if openids.is_empty() || openids.len() > MAX_OPENIDS {
            v.add(
                "audience.openids",
                "invalid_count",
                format!("须为 1 到 {MAX_OPENIDS} 个 openid"),
            );
        }
        if let Some(i) = openids
            .iter()
            .position(|o| o.is_empty() || o.len() > 128 || !o.bytes().all(|b| b.is_ascii_graphic()))
        {
            v.add(
                format!("audience.openids[{i}]"),
                "invalid_openid",
                "openid 格式不正确",
            );
        }
    }
    v.finish()?;
    let Some(course) = course else {
        return Err(ApiError::internal("validated course missing"));
    };
    caller.require_accounts(accounts.iter().map(|(a, _)| a))?;
    let audience = match input.audience {
        AudienceInput::AllFollowers => Audience::AllFollowers,
        AudienceInput::SignedUp => Audience::SignedUp,
        AudienceInput::Tag { tag_id } => Audience::Tag { tag_id },
        AudienceInput::OpenidList { openids } => {
            let key = livenotify::blobs::openid_list_key(&ulid::Ulid::new().to_string());
            let count = openids.len() as u64;
            state
                .platform
                .s3
                .put_object()
                .bucket(&state.platform.config.bucket)
                .key(&key)
                .content_type("text/plain; charset=utf-8")
                .body(ByteStream::from(openids.join("\n").into_bytes()))
                .send()
                .await
                .map_err(|e| ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
            Audience::OpenidList { s3_key: key, count }
        }
    };
    let at = now();
    let delay = scheduled_at
        .and_then(|s| (s - at).to_std().ok())
        .unwrap_or_default();
    let mut created = Vec::new();
    for (account, channel) in accounts {
        let push = Push {
            id: PushId::generate(),
            course_id: course.id,
            account_id: account,
            audience: audience.clone(),
            channel,
            status: PushStatus::Pending,
            scheduled_at,
            created_by: caller.username().to_string(),
            created_at: at,
            started_at: None,
            finished_at: None,
            status_reason: None,
            counters: PushCounters::default(),
        };
        store.create_push(&push).await?;
        state
            .platform
            .queues
            .push(&PushJob::Plan { push_id: push.id }, delay)
            .await?;
        tracing::info!(push = %push.id, course = %course.id, account = %push.account_id, "push created");
        created.push(PushView::from(push));
    }
    let target = created
        .iter()
        .map(|p| format!("push/{}", p.id))
        .collect::<Vec<_>>()
        .join(",");
    Ok((
        StatusCode::CREATED,
        Extension(AuditTarget(target)),
        Json(PushesCreated { pushes: created }),
    ))
}

#[utoipa::path(get, path = "/api/pushes/{push_id}", tag = "直播课程", summary = "推送详情与进度",
    params(("push_id" = String, Path, description = "Push id")),
    responses((status = 200, body = PushView)))]
/// One push with its counters.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PushView>> {
    let id = push_id(&id)?;
    let push = state.platform.store.get_push(id).await?;
    caller.see_push(&push)?;
    Ok(Json(push.into()))
}

#[utoipa::path(post, path = "/api/pushes/{push_id}/cancel", tag = "直播课程", summary = "取消推送",
    params(("push_id" = String, Path, description = "Push id")),
    responses((status = 200, body = PushView)))]
/// Cancels a push that has not finished (409 if it has).
pub async fn cancel(
    State(state): State<AppState>,
    // Viewers are refused before anything is looked up, so a 403 reveals nothing.
    Writer(caller): Writer,
    Path(id): Path<String>,
) -> ApiResult<Json<PushView>> {
    let id = push_id(&id)?;
    let store = &state.platform.store;
    let push = store.get_push(id).await?;
    caller.see_push(&push)?;
    caller.require_accounts([&push.account_id])?;
    store
        .transition_push(
            id,
            &[PushStatus::Pending, PushStatus::Running, PushStatus::Paused],
            PushStatus::Cancelled,
            Some(&format!("由 {} 取消", caller.username())),
            now(),
        )
        .await?;
    Ok(Json(store.get_push(id).await?.into()))
}

#[utoipa::path(get, path = "/api/pushes/{push_id}/deliveries", tag = "通知记录", summary = "推送的通知记录",
    params(("push_id" = String, Path, description = "Push id"), DeliveryFilterQuery),
    responses((status = 200, body = Paged<DeliveryView>)))]
/// Records of one push, filtered.
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DeliveryFilterQuery>,
) -> ApiResult<Json<Paged<DeliveryView>>> {
    let id = push_id(&id)?;
    Ok(Json(push_deliveries(&state, &caller, id, &query).await?))
}
