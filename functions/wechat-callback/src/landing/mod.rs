//! `GET /c/<course_id>`: the course page every course QR code opens. Followers of the
//! required account (or everyone, without a gate) go into the live room; others are shown
//! that account's QR code first (未关注先弹出订阅号二维码，已关注直接进入直播).

mod gate;
mod page;
mod qr_svg;

use crate::AppState;
use crate::session::Session;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use gate::Access;
use livenotify::domain::{Account, AccountKind, Course, CourseId, CoursePhase, CourseStatus, now};
use livenotify::platform::Platform;
use livenotify::store::{StoreError, StoreResult};
use page::{Body, GateReason};

fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

fn unavailable() -> Response {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        page::message_page("服务繁忙", "请稍后刷新重试。"),
    )
}

fn in_wechat(headers: &HeaderMap) -> bool {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.contains("MicroMessenger"))
}

/// Serves a course page.
pub async fn course_page(
    State(state): State<AppState>,
    Path(course_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let not_found = || {
        html(
            StatusCode::NOT_FOUND,
            page::message_page("课程不存在", "该直播课程不存在或已下线。"),
        )
    };
    let Ok(course_id) = course_id.parse::<CourseId>() else {
        return not_found();
    };
    let platform = &state.platform;
    let course = match platform.store.get_course(course_id).await {
        Ok(course) if course.status != CourseStatus::Draft => course,
        Ok(_) | Err(StoreError::NotFound { .. }) => return not_found(),
        Err(e) => {
            tracing::error!(course = %course_id, error = %e, "cannot read course");
            return unavailable();
        }
    };
    let phase = course.phase_at(now());
    if course.status == CourseStatus::Cancelled {
        return html(
            StatusCode::OK,
            page::course_page(&course, phase, &Body::Cancelled),
        );
    }
    if phase == CoursePhase::Ended {
        return html(
            StatusCode::OK,
            page::course_page(&course, phase, &Body::Ended),
        );
    }
    let session = Session::from_headers(&headers, &platform.signer);
    let access = match &course.required_account {
        None => Access::Open,
        Some(required) => {
            if session.is_none() && in_wechat(&headers) {
                // Identify the visitor through a service account's web OAuth first.
                match oauth_account(platform, &course).await {
                    Ok(Some(account)) => {
                        return Redirect::to(&format!(
                            "/wechat/{}/oauth/start?course={course_id}",
                            account.appid
                        ))
                        .into_response();
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "cannot choose an OAuth account");
                        return unavailable();
                    }
                }
            }
            match gate::check(&platform.store, required, session.as_ref()).await {
                Ok(access) => access,
                Err(e) => {
                    tracing::error!(course = %course_id, error = %e, "follow check failed");
                    return unavailable();
                }
            }
        }
    };
    tracing::info!(course = %course_id, ?access, "course page");
    let reason = match access {
        Access::Open | Access::Following => {
            if phase == CoursePhase::Live {
                return Redirect::to(&course.live_url).into_response();
            }
            return html(
                StatusCode::OK,
                page::course_page(&course, phase, &Body::Enter),
            );
        }
        Access::NotFollowing => GateReason::NotFollowing,
        Access::Anonymous | Access::NoUnionid => GateReason::Unknown,
    };
    let Some(required) = course.required_account.as_ref() else {
        return html(
            StatusCode::OK,
            page::course_page(&course, phase, &Body::Enter),
        );
    };
    let account = match platform.store.get_account(required).await {
        Ok(account) => account,
        Err(StoreError::NotFound { .. }) => {
            // The gate's account was removed: let people in rather than lock them out.
            tracing::warn!(course = %course_id, account = %required, "required account is gone; gate open");
            return html(
                StatusCode::OK,
                page::course_page(&course, phase, &Body::Enter),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the required account");
            return unavailable();
        }
    };
    let body = Body::FollowFirst {
        account_name: account.name.clone(),
        qr_svg: follow_qr_content(&course, &account).and_then(|c| qr_svg::render(&c)),
        reason,
    };
    html(StatusCode::OK, page::course_page(&course, phase, &body))
}

/// What the follow code of `account` encodes: its parametric code for this course (the
/// follow then signs the user up and answers with the course link), else its own follow QR.
fn follow_qr_content(course: &Course, account: &Account) -> Option<String> {
    course
        .qr
        .as_ref()
        .and_then(|qr| qr.accounts.get(&account.id))
        .filter(|image| image.expires_at.is_none_or(|at| at > now()))
        .map(|image| image.content.clone())
        .or_else(|| account.follow_url.clone().filter(|u| !u.is_empty()))
}

/// The service account that identifies visitors: the required account itself when it is one,
/// else one that pushes this course, else any.
async fn oauth_account(platform: &Platform, course: &Course) -> StoreResult<Option<Account>> {
    let services: Vec<Account> = platform
        .store
        .all_accounts()
        .await?
        .into_iter()
        .filter(|a| a.kind == AccountKind::Service)
        .collect();
    let pick = course
        .required_account
        .as_ref()
        .and_then(|r| services.iter().find(|a| a.id == *r))
        .or_else(|| {
            services
                .iter()
                .find(|a| course.templates.contains_key(&a.id))
        })
        .or_else(|| services.first());
    Ok(pick.cloned())
}
