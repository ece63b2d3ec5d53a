//! 通知记录: notification records by push, by course, by user; delete one or many.

use crate::AppState;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::pagination::{PageQuery, Paged};
use crate::routes::pushes::push_id;
use crate::validate::Validator;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use livenotify::domain::{CourseId, Delivery, DeliveryStatus, Push, PushId};
use livenotify::store::{DeliveryFilter, MAX_LIMIT, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One notification record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// Push.
    pub push_id: String,
    /// Course.
    pub course_id: String,
    /// Sending account.
    pub account_id: String,
    /// Recipient.
    pub openid: String,
    /// State.
    #[schema(schema_with = crate::schema::delivery_status)]
    pub status: DeliveryStatus,
    /// WeChat's msgid.
    pub msgid: Option<String>,
    /// Send attempts.
    pub attempts: u32,
    /// WeChat errcode of the last failure or skip.
    pub error_code: Option<i64>,
    /// Reason of the last failure or skip.
    pub error_message: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            push_id: d.push_id.to_string(),
            course_id: d.course_id.to_string(),
            account_id: d.account_id.to_string(),
            openid: d.openid,
            status: d.status,
            msgid: d.msgid,
            attempts: d.attempts,
            error_code: d.error_code,
            error_message: d.error_message,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// Record filters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilterQuery {
    /// Only in this state.
    #[param(schema_with = crate::schema::delivery_status)]
    pub status: Option<DeliveryStatus>,
    /// Created at or after (to the second).
    pub from: Option<DateTime<Utc>>,
    /// Created at or before (to the second).
    pub to: Option<DateTime<Utc>>,
    /// Only pushes of this account (course lists).
    pub account_id: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

impl DeliveryFilterQuery {
    /// The store filter.
    pub fn filter(&self) -> DeliveryFilter {
        DeliveryFilter {
            status: self.status,
            created_from: self.from,
            created_to: self.to,
        }
    }

    fn page(&self) -> ApiResult<PageRequest> {
        PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
        .request()
    }
}

/// Records of one push (404 outside the caller's scope).
pub async fn push_deliveries(
    state: &AppState,
    caller: &Caller,
    push: PushId,
    query: &DeliveryFilterQuery,
) -> ApiResult<Paged<DeliveryView>> {
    let page = query.page()?;
    caller.see_push(&state.platform.store.get_push(push).await?)?;
    let page = state
        .platform
        .store
        .search_deliveries_by_push(push, &query.filter(), &page)
        .await?;
    Ok(Paged::from_page(page, DeliveryView::from))
}

/// Where a course-wide list stopped: a push and the cursor inside it.
#[derive(Serialize, Deserialize)]
struct CourseCursor {
    course: String,
    push: String,
    inner: Option<String>,
}

fn bad_cursor() -> ApiError {
    ApiError::from(livenotify::store::StoreError::InvalidCursor(
        "belongs to another list",
    ))
}

/// Records of every push of a course from the caller's accounts (pushes newest first, then
/// the store's order). The course answers 404 outside the scope; an `account_id` filter
/// outside it answers 403.
pub async fn course_deliveries(
    state: &AppState,
    caller: &Caller,
    course: CourseId,
    query: &DeliveryFilterQuery,
) -> ApiResult<Paged<DeliveryView>> {
    let store = &state.platform.store;
    let page = query.page()?;
    let account = match &query.account_id {
        Some(text) => Some(crate::routes::accounts::account_id(text)?),
        None => None,
    };
    crate::routes::courses::visible_course(state, caller, course).await?;
    if let Some(account) = &account {
        caller.filter_account(account)?;
    }
    let scope = caller.scope();
    // A course has few pushes (one per account and send); read them all.
    let mut pushes: Vec<Push> = Vec::new();
    let mut push_page = PageRequest::first(MAX_LIMIT);
    loop {
        let result = store
            .list_pushes_by_course(course, &scope, &push_page)
            .await?;
        pushes.extend(result.items);
        match result.next_cursor {
            Some(next) => push_page = PageRequest::new(Some(MAX_LIMIT), Some(next))?,
            None => break,
        }
    }
    pushes.retain(|p| account.as_ref().is_none_or(|a| &p.account_id == a));
    let (mut index, mut inner) = match page.cursor() {
        None => (0, None),
        Some(text) => {
            let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad_cursor())?;
            let cursor: CourseCursor = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
            if cursor.course != course.to_string() {
                return Err(bad_cursor());
            }
            let index = pushes
                .iter()
                .position(|p| p.id.to_string() == cursor.push)
                .ok_or_else(bad_cursor)?;
            (index, cursor.inner)
        }
    };
    let limit = page.limit();
    let mut items = Vec::new();
    while index < pushes.len() {
        let want = limit - u32::try_from(items.len()).unwrap_or(limit);
        let request = PageRequest::new(Some(want), inner.take())?;
        let push = pushes[index].id;
        let result = store
            .search_deliveries_by_push(push, &query.filter(), &request)
            .await?;
        items.extend(result.items.into_iter().map(DeliveryView::from));
        match result.next_cursor {
            Some(next) => inner = Some(next),
            None => index += 1,
        }
        if items.len() as u32 >= limit {
            break;
        }
    }
    let next_cursor = (index < pushes.len()).then(|| {
        let cursor = CourseCursor {
            course: course.to_string(),
            push: pushes[index].id.to_string(),
            inner,
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
    });
    Ok(Paged { items, next_cursor })
}

/// One record's key.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct DeliveryKey {
    /// Push.
    pub push_id: String,
    /// Recipient.
    pub openid: String,
}

/// Records to delete.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteDeliveries {
    /// 1 to 1000 records.
    pub records: Vec<DeliveryKey>,
}

/// How many records were deleted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Deleted {
    /// Records removed (records that did not exist count too: deleting is idempotent).
    pub deleted: usize,
}

fn check_openid(v: &mut Validator, field: &str, openid: &str) {
    if openid.is_empty() || openid.len() > 128 || !openid.bytes().all(|b| b.is_ascii_graphic()) {
        v.add(field, "invalid_openid", "openid 格式不正确");
    }
}

/// The keys among `keys` that the caller may delete: operators only records of their
/// accounts (others are left alone, exactly as records that do not exist); viewers none.
async fn in_scope(
    state: &AppState,
    caller: &Caller,
    keys: Vec<(PushId, String)>,
) -> ApiResult<Vec<(PushId, String)>> {
    caller.require_writer()?;
    let scope = caller.scope();
    if scope == livenotify::domain::Scope::All {
        return Ok(keys);
    }
    let mut kept = Vec::with_capacity(keys.len());
    for (push, openid) in keys {
        if let Some(delivery) = state.platform.store.find_delivery(push, &openid).await?
            && scope.contains(&delivery.account_id)
        {
            kept.push((push, openid));
        }
    }
    Ok(kept)
}

#[utoipa::path(delete, path = "/api/deliveries/{push_id}/{openid}", tag = "通知记录", summary = "删除一条通知记录",
    params(("push_id" = String, Path, description = "Push id"), ("openid" = String, Path, description = "Recipient")),
    responses((status = 204, description = "Deleted")))]
/// Deletes one record.
pub async fn delete_one(
    State(state): State<AppState>,
    // Viewers are refused before anything is looked up, so a 403 reveals nothing.
    Writer(caller): Writer,
    Path((push, openid)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let push = push_id(&push)?;
    let mut v = Validator::new();
    check_openid(&mut v, "openid", &openid);
    v.finish()?;
    let store = &state.platform.store;
    let visible = store
        .find_delivery(push, &openid)
        .await?
        .is_some_and(|d| caller.scope().contains(&d.account_id));
    if !visible {
        return Err(ApiError::NotFound {
            entity: "delivery",
            id: format!("{push}/{openid}"),
        });
    }
    store.delete_deliveries(&[(push, openid)]).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/deliveries/delete", tag = "通知记录", summary = "批量删除通知记录",
    request_body = DeleteDeliveries, responses((status = 200, body = Deleted)))]
/// Deletes many records at once.
pub async fn delete_many(
    State(state): State<AppState>,
    Writer(caller): Writer,
    ApiJson(input): ApiJson<DeleteDeliveries>,
) -> ApiResult<Json<Deleted>> {
    let mut v = Validator::new();
    if input.records.is_empty() || input.records.len() > 1000 {
        v.add("records", "invalid_count", "一次须删除 1 到 1000 条记录");
    }
    let mut keys = Vec::with_capacity(input.records.len());
    for (i, record) in input.records.iter().enumerate() {
        let push = v.id::<PushId>(&format!("records[{i}].push_id"), &record.push_id);
        check_openid(&mut v, &format!("records[{i}].openid"), &record.openid);
        if let Some(push) = push {
            keys.push((push, record.openid.clone()));
        }
    }
    v.finish()?;
    keys.sort();
    keys.dedup();
    let asked = keys.len();
    let keys = in_scope(&state, &caller, keys).await?;
    state.platform.store.delete_deliveries(&keys).await?;
    // Out-of-scope records count like absent ones, so the answer reveals nothing about them.
    Ok(Json(Deleted { deleted: asked }))
}
