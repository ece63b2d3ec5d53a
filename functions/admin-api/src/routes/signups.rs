//! A course's sign-ups (who asked to be reminded), listed and counted within the caller's
//! accounts.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::pagination::{PageQuery, Paged};
use crate::routes::courses::{course_id, visible_course};
use crate::validate::Validator;
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use livenotify::domain::{AccountId, SignUp, SignUpSource};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// One sign-up.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignUpView {
    /// Account whose course code the user scanned.
    pub account_id: String,
    /// The user on that account.
    pub openid: String,
    /// Cross-account id, when known.
    pub unionid: Option<String>,
    /// `scan` (a follower scanned the course code) or `follow_through_code` (followed the
    /// account through it); absent for sign-ups recorded before sources were.
    pub source: Option<String>,
    /// The source as admins read it.
    pub source_label: String,
    /// First sign-up.
    pub signed_up_at: DateTime<Utc>,
}

impl From<SignUp> for SignUpView {
    fn from(s: SignUp) -> Self {
        let source = s.source.map(|source| match source {
            SignUpSource::Scan => "scan",
            SignUpSource::FollowThroughCode => "follow_through_code",
        });
        Self {
            account_id: s.account_id.to_string(),
            openid: s.openid,
            unionid: s.unionid,
            source: source.map(str::to_string),
            source_label: s.source.map_or("未记录", SignUpSource::label).to_string(),
            signed_up_at: s.signed_up_at,
        }
    }
}

/// Sign-up list filters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignUpQuery {
    /// Only sign-ups through this account (one of the caller's).
    pub account_id: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// How many people signed up, in all and per account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignUpCounts {
    /// Sign-ups through the caller's accounts.
    pub total: u64,
    /// Per account id.
    pub by_account: BTreeMap<String, u64>,
}

#[utoipa::path(get, path = "/api/courses/{course_id}/signups", tag = "直播课程", summary = "课程的报名用户",
    params(("course_id" = String, Path, description = "Course id (ULID)"), SignUpQuery),
    responses((status = 200, body = Paged<SignUpView>)))]
/// A course's sign-ups through the caller's accounts, by account then openid.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<SignUpQuery>,
) -> ApiResult<Json<Paged<SignUpView>>> {
    let id = course_id(&id)?;
    let account = match &query.account_id {
        Some(text) => {
            let mut v = Validator::new();
            let account = v.id::<AccountId>("account_id", text);
            v.finish()?;
            account
        }
        None => None,
    };
    if let Some(account) = &account {
        caller.filter_account(account)?;
    }
    visible_course(&state, &caller, id).await?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .request()?;
    let page = state
        .platform
        .store
        .list_course_signups(id, &caller.scope(), account.as_ref(), &page)
        .await?;
    Ok(Json(Paged::from_page(page, SignUpView::from)))
}

#[utoipa::path(get, path = "/api/courses/{course_id}/signups/counts", tag = "直播课程", summary = "课程的报名人数",
    params(("course_id" = String, Path, description = "Course id (ULID)")),
    responses((status = 200, body = SignUpCounts)))]
/// How many signed up for a course through each of the caller's accounts.
pub async fn counts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SignUpCounts>> {
    let id = course_id(&id)?;
    visible_course(&state, &caller, id).await?;
    let counts = state
        .platform
        .store
        .count_course_signups(id, &caller.scope())
        .await?;
    Ok(Json(SignUpCounts {
        total: counts.values().sum(),
        by_account: counts
            .into_iter()
            .map(|(account, n)| (account.to_string(), n))
            .collect(),
    }))
}
