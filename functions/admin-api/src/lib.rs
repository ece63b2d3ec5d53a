//! admin-api: the admin backend's HTTP API under `/api`, one axum router inside one Lambda.
//!
//! Every route is registered through utoipa-axum, so the OpenAPI document served at
//! `/api/openapi.json` lists exactly the routes the router serves.

mod audit_layer;
pub mod auth;
pub mod bootstrap;
pub mod console;
mod error;
pub mod export_worker;
mod extract;
mod pagination;
mod routes;
mod schema;
mod validate;

pub use error::{ApiError, ErrorBody};
pub use validate::FieldError;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use livenotify::function::FunctionInfo;
use livenotify::platform::Platform;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

livenotify::function_info!();

/// Largest request body accepted (an uploaded openid list of ~20,000 ids fits).
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// What the handlers need, built once per cold start.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Table, queues, bucket and WeChat.
    pub platform: Platform,
    /// The functions of this deployment (reported by `/api/health`).
    pub functions: Vec<FunctionInfo>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "livenotify admin API",
        description = "直播课程通知平台管理后台接口。除 /api/health、/api/openapi.json 与 /api/auth/login 外，所有接口都需要 `Authorization: Bearer <token>`。错误响应统一为 `{code, message, details}`。"
    ),
    tags(
        (name = "系统", description = "健康检查与接口文档"),
        (name = "登录与管理员", description = "登录、管理员账号与权限"),
        (name = "操作日志", description = "所有修改操作的审计记录"),
        (name = "公众号", description = "服务号、订阅号、小程序、企业微信"),
        (name = "直播课程", description = "课程的增删改查、二维码、推送"),
        (name = "直播用户", description = "服务号的关注用户"),
        (name = "关注用户", description = "订阅号的关注用户"),
        (name = "通知记录", description = "每一条推送消息的发送结果"),
        (name = "同步", description = "关注用户同步"),
        (name = "导出", description = "CSV / XLSX 导出"),
        (name = "死信队列", description = "推送、二维码、同步队列中多次失败的消息"),
    )
)]
struct ApiDoc;

/// Every route with its documentation.
fn api() -> OpenApiRouter<AppState> {
    use routes::*;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(openapi::document))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(admins::list, admins::create))
        .routes(routes!(admins::get, admins::update, admins::delete))
        .routes(routes!(audit_log::list))
        .routes(routes!(accounts::list, accounts::create))
        .routes(routes!(accounts::get, accounts::update, accounts::delete))
        .routes(routes!(
            verification_files::get,
            verification_files::put,
            verification_files::delete
        ))
        .routes(routes!(courses::list, courses::create))
        .routes(routes!(courses::get, courses::update, courses::delete))
        .routes(routes!(courses::qr, courses::regenerate_qr))
        .routes(routes!(courses::pushes))
        .routes(routes!(courses::deliveries))
        .routes(routes!(signups::list))
        .routes(routes!(signups::counts))
        .routes(routes!(followers::list))
        .routes(routes!(followers::get))
        .routes(routes!(followers::deliveries))
        .routes(routes!(followers::by_unionid))
        .routes(routes!(pushes::list, pushes::create))
        .routes(routes!(pushes::get))
        .routes(routes!(pushes::cancel))
        .routes(routes!(pushes::deliveries))
        .routes(routes!(deliveries::delete_one))
        .routes(routes!(deliveries::delete_many))
        .routes(routes!(sync_runs::trigger, sync_runs::list_for_account))
        .routes(routes!(sync_runs::get))
        .routes(routes!(sync_runs::list_all))
        .routes(routes!(exports::list, exports::create))
        .routes(routes!(exports::get))
        .routes(routes!(push_preview::preview))
        .routes(routes!(push_preview::test_send))
        .routes(routes!(dead_letters::list))
        .routes(routes!(dead_letters::redrive))
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api().into_openapi();
    utoipa::Modify::modify(&routes::openapi::Security, &mut doc);
    doc
}

/// The whole API.
pub fn router(state: AppState) -> axum::Router {
    let (router, _) = api()
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit_layer::audit,
        ))
        .split_for_parts();
    let router = router.merge(console::router());
    router
        .fallback(|| async { ApiError::NoRoute })
        .layer(axum::middleware::map_response(api_error_bodies))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// axum answers a wrong method with an empty 405; give it the API's error body.
async fn api_error_bodies(response: Response) -> Response {
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let body = ErrorBody {
            code: "method_not_allowed".into(),
            message: "该接口不支持此请求方法".into(),
            details: serde_json::Value::Null,
        };
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        let mut out = (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response();
        if let Some(allow) = parts.headers.get(axum::http::header::ALLOW) {
            out.headers_mut()
                .insert(axum::http::header::ALLOW, allow.clone());
        }
        return out;
    }
    response
}
