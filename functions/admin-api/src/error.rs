//! The API's one error type and its wire form `{code, message, details}`.

use crate::validate::FieldError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use livenotify::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// Human-readable message (Chinese).
    pub message: String,
    /// Extra facts: the field errors of a validation failure, the retry time of a lock...;
    /// `null` when there are none.
    #[schema(value_type = Option<Object>, nullable)]
    pub details: serde_json::Value,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Input failed validation; one entry per bad field.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The request body or query could not be read at all.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No or an invalid bearer token.
    #[error("unauthenticated")]
    Unauthenticated,
    /// A token whose session was ended (logout, password, role or scope change, disable).
    #[error("session ended")]
    SessionEnded,
    /// A token past its lifetime.
    #[error("session expired")]
    SessionExpired,
    /// Wrong username or password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed logins.
    #[error("login locked until {until}")]
    LoginLocked {
        /// Logins refused until then.
        until: livenotify::domain::Timestamp,
    },
    /// Authenticated, but the role or account scope does not allow this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The target does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Entity type.
        entity: &'static str,
        /// Id.
        id: String,
    },
    /// The target exists already, changed meanwhile, or is in a state that forbids this.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The body is larger than the API accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// No such route.
    #[error("no such route")]
    NoRoute,
    /// Something on our side failed (table, queue, bucket); details are logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
    /// WeChat refused the call (or could not be reached); its errcode and errmsg are returned.
    #[error("WeChat refused: {0}")]
    Wechat(livenotify::wechat::WechatError),
    /// A feature whose resource this deployment does not configure (e.g. a queue URL).
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
}

impl ApiError {
    /// An internal error from anything displayable (logged with the request, not returned).
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated
            | Self::SessionEnded
            | Self::SessionExpired
            | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::LoginLocked { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Wechat(_) => StatusCode::BAD_GATEWAY,
            Self::NotConfigured(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The wire body.
    pub fn body(&self) -> ErrorBody {
        let (code, message, details) = match self {
            Self::Validation(fields) => (
                "validation_failed",
                "输入有误，请检查标出的字段".to_string(),
                serde_json::json!({ "fields": fields }),
            ),
            Self::BadRequest(reason) => (
                "bad_request",
                format!("请求格式有误：{reason}"),
                serde_json::json!({ "reason": reason }),
            ),
            Self::Unauthenticated => (
                "unauthenticated",
                "请先登录".to_string(),
                serde_json::Value::Null,
            ),
            Self::SessionEnded => (
                "session_ended",
                "登录已失效（已退出登录，或密码、角色、公众号范围已变更），请重新登录".to_string(),
                serde_json::Value::Null,
            ),
            Self::SessionExpired => (
                "session_expired",
                "登录已过期，请重新登录".to_string(),
                serde_json::Value::Null,
            ),
            Self::InvalidCredentials => (
                "invalid_credentials",
                "用户名或密码错误".to_string(),
                serde_json::Value::Null,
            ),
            Self::LoginLocked { until } => (
                "login_locked",
                "登录失败次数过多，请稍后再试".to_string(),
                serde_json::json!({ "locked_until": until }),
            ),
            Self::Forbidden(reason) => (
                "forbidden",
                "没有权限执行此操作".to_string(),
                serde_json::json!({ "reason": reason }),
            ),
            Self::NotFound { entity, id } => (
                "not_found",
                "找不到该记录".to_string(),
                serde_json::json!({ "entity": entity, "id": id }),
            ),
            Self::Conflict(reason) => (
                "conflict",
                "记录已存在或已被他人修改，请刷新后重试".to_string(),
                serde_json::json!({ "reason": reason }),
            ),
            Self::PayloadTooLarge => (
                "payload_too_large",
                "请求内容过大".to_string(),
                serde_json::json!({ "max_bytes": crate::BODY_LIMIT_BYTES }),
            ),
            Self::NoRoute => (
                "no_route",
                "接口不存在".to_string(),
                serde_json::Value::Null,
            ),
            Self::Internal(_) => (
                "internal",
                "服务器内部错误，请稍后再试".to_string(),
                serde_json::Value::Null,
            ),
            Self::Wechat(error) => {
                let (errcode, errmsg) = livenotify::notification::wechat_refusal(error)
                    .map_or((None, error.to_string()), |(code, msg)| {
                        (Some(code), msg.to_string())
                    });
                let message = match errcode {
                    Some(code) => format!("微信拒绝了请求（错误码 {code}）：{errmsg}"),
                    None => format!("无法完成微信接口调用：{errmsg}"),
                };
                (
                    "wechat_error",
                    message,
                    serde_json::json!({ "errcode": errcode, "errmsg": errmsg }),
                )
            }
            Self::NotConfigured(what) => (
                "not_configured",
                format!("此部署未配置该功能所需的资源：{what}"),
                serde_json::json!({ "missing": what }),
            ),
        };
        ErrorBody {
            code: code.to_string(),
            message,
            details,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity, id } => Self::NotFound { entity, id },
            StoreError::Conflict { entity, id, reason } => {
                Self::Conflict(format!("{entity} {id}: {reason}"))
            }
            StoreError::InvalidCursor(reason) => Self::Validation(vec![FieldError::new(
                "cursor",
                "invalid_cursor",
                format!("分页游标无效（{reason}）"),
            )]),
            StoreError::InvalidLimit(_) => Self::Validation(vec![FieldError::new(
                "limit",
                "out_of_range",
                format!("每页数量须在 1 到 {} 之间", livenotify::store::MAX_LIMIT),
            )]),
            other => Self::internal(other),
        }
    }
}

impl From<livenotify::enqueue::EnqueueError> for ApiError {
    fn from(err: livenotify::enqueue::EnqueueError) -> Self {
        Self::internal(err)
    }
}

impl From<livenotify::blobs::BlobError> for ApiError {
    fn from(err: livenotify::blobs::BlobError) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(error = %self, status = status.as_u16(), "request refused");
        }
        (status, Json(self.body())).into_response()
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
