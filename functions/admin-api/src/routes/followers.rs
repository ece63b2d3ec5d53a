//! 直播用户 / 关注用户: followers of an account, one follower, their records, one person
//! across accounts.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::pagination::{PageQuery, Paged};
use crate::routes::accounts::account_id;
use crate::routes::deliveries::DeliveryView;
use crate::validate::Validator;
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use livenotify::domain::Follower;
use livenotify::store::FollowerFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A follower as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FollowerView {
    /// Account followed.
    pub account_id: String,
    /// Per-account user id.
    pub openid: String,
    /// Cross-account id.
    pub unionid: Option<String>,
    /// Follows now.
    pub subscribed: bool,
    /// When they (last) followed.
    pub subscribe_time: Option<DateTime<Utc>>,
    /// When they unfollowed.
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// Remark.
    pub remark: String,
    /// WeChat tag ids.
    pub tag_ids: Vec<u32>,
    /// How they followed.
    pub subscribe_scene: Option<String>,
    /// Scene of the parametric QR they followed through.
    pub qr_scene: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Last message or event from them.
    pub last_interaction_at: Option<DateTime<Utc>>,
    /// They muted course notifications.
    pub muted: bool,
    /// Last written by the sync.
    pub synced_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Follower> for FollowerView {
    fn from(f: Follower) -> Self {
        Self {
            account_id: f.account_id.to_string(),
            openid: f.openid,
            unionid: f.unionid,
            subscribed: f.subscribed,
            subscribe_time: f.subscribe_time,
            unsubscribed_at: f.unsubscribed_at,
            remark: f.remark,
            tag_ids: f.tag_ids,
            subscribe_scene: f.subscribe_scene,
            qr_scene: f.qr_scene,
            language: f.language,
            last_interaction_at: f.last_interaction_at,
            muted: f.muted,
            synced_at: f.synced_at,
            updated_at: f.updated_at,
        }
    }
}

/// Follower filters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowerQuery {
    /// Only followers (`true`) or unfollowers (`false`); ordered by (un)subscribe time.
    pub subscribed: Option<bool>,
    /// (Un)subscribed at or after (needs `subscribed`).
    pub from: Option<DateTime<Utc>>,
    /// (Un)subscribed at or before (needs `subscribed`).
    pub to: Option<DateTime<Utc>>,
    /// Remark contains (case-insensitive).
    pub remark: Option<String>,
    /// Carries this WeChat tag.
    pub tag_id: Option<u32>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

impl FollowerQuery {
    /// The store filter, or field errors.
    pub fn filter(&self) -> ApiResult<FollowerFilter> {
        let mut v = Validator::new();
        if self.subscribed.is_none() && (self.from.is_some() || self.to.is_some()) {
            v.add("subscribed", "required", "按时间筛选时须同时指定关注状态");
        }
        if let Some(remark) = &self.remark {
            v.max_len("remark", remark, 64);
        }
        v.finish()?;
        Ok(FollowerFilter {
            subscribed: self.subscribed,
            subscribed_from: self.from,
            subscribed_to: self.to,
            remark: self.remark.clone(),
            tag_id: self.tag_id,
        })
    }
}

#[utoipa::path(get, path = "/api/accounts/{account_id}/followers", tags = ["直播用户", "关注用户"],
    summary = "关注用户列表（按关注状态、时间、备注、标签筛选）",
    params(("account_id" = String, Path, description = "Account id"), FollowerQuery),
    responses((status = 200, body = Paged<FollowerView>)))]
/// Followers of an account.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(account): Path<String>,
    ApiQuery(query): ApiQuery<FollowerQuery>,
) -> ApiResult<Json<Paged<FollowerView>>> {
    let account = account_id(&account)?;
    caller.see_account(&account)?;
    let filter = query.filter()?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .request()?;
    state.platform.store.get_account(&account).await?;
    let page = state
        .platform
        .store
        .list_followers(&account, &filter, &page)
        .await?;
    Ok(Json(Paged::from_page(page, FollowerView::from)))
}

#[utoipa::path(get, path = "/api/accounts/{account_id}/followers/{openid}", tags = ["直播用户", "关注用户"],
    summary = "查看关注用户（按 openid）",
    params(("account_id" = String, Path, description = "Account id"), ("openid" = String, Path, description = "Openid")),
    responses((status = 200, body = FollowerView)))]
/// One follower.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((account, openid)): Path<(String, String)>,
) -> ApiResult<Json<FollowerView>> {
    let account = account_id(&account)?;
    caller.see_account(&account)?;
    Ok(Json(
        state
            .platform
            .store
            .get_follower(&account, &openid)
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/api/accounts/{account_id}/followers/{openid}/deliveries", tags = ["直播用户", "关注用户", "通知记录"],
    summary = "关注用户收到的通知",
    params(("account_id" = String, Path, description = "Account id"), ("openid" = String, Path, description = "Openid"), PageQuery),
    responses((status = 200, body = Paged<DeliveryView>)))]
/// Records of one follower, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path((account, openid)): Path<(String, String)>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paged<DeliveryView>>> {
    let account = account_id(&account)?;
    caller.see_account(&account)?;
    let page = state
        .platform
        .store
        .list_deliveries_by_user(&account, &openid, &page.request()?)
        .await?;
    Ok(Json(Paged::from_page(page, DeliveryView::from)))
}

/// One person on every account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonView {
    /// The unionid asked for.
    pub unionid: String,
    /// Their follower entry on each account.
    pub followers: Vec<FollowerView>,
}

#[utoipa::path(get, path = "/api/followers/by-unionid/{unionid}", tags = ["直播用户", "关注用户"],
    summary = "同一用户在各公众号的关注情况（按 unionid）",
    params(("unionid" = String, Path, description = "Unionid")),
    responses((status = 200, body = PersonView)))]
/// One person (unionid) across the caller's accounts.
pub async fn by_unionid(
    State(state): State<AppState>,
    caller: Caller,
    Path(unionid): Path<String>,
) -> ApiResult<Json<PersonView>> {
    let mut v = Validator::new();
    if unionid.is_empty() || unionid.len() > 128 || !unionid.bytes().all(|b| b.is_ascii_graphic()) {
        v.add("unionid", "invalid_unionid", "unionid 格式不正确");
    }
    v.finish()?;
    let scope = caller.scope();
    let followers = state.platform.store.followers_by_unionid(&unionid).await?;
    Ok(Json(PersonView {
        unionid,
        followers: followers
            .into_iter()
            .filter(|f| scope.contains(&f.account_id))
            .map(FollowerView::from)
            .collect(),
    }))
}
