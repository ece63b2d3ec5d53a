//! Push preview (the message exactly as it would be sent) and test-send to one openid, both
//! rendered by the core crate's per-channel renderer that the push worker uses.

use crate::AppState;
use crate::audit_layer::AuditTarget;
use crate::auth::{Caller, Writer};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::validate::{FieldError, Validator};
use axum::extract::State;
use axum::{Extension, Json};
use livenotify::domain::{Account, AccountId, Channel, Course, CourseId};
use livenotify::notification::{
    NotificationError, PreparedMessage, SingleSendError, channel_code, default_channel,
    render_for_channel, send_one,
};
use livenotify::platform::CredentialsError;
use livenotify::store::StoreError;
use livenotify::wechat::WechatError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which course, account and channel to render.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewRequest {
    /// Course.
    pub course_id: String,
    /// Sending account.
    pub account_id: String,
    /// Channel; by default the account kind's usual one (service account: template).
    #[schema(schema_with = crate::schema::optional_channel)]
    pub channel: Option<Channel>,
}

/// The rendered message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PreviewView {
    /// Sending account.
    pub account_id: String,
    /// Channel.
    #[schema(schema_with = crate::schema::channel)]
    pub channel: Channel,
    /// The channel-specific request body as WeChat would get it (without the recipient).
    #[schema(value_type = Object)]
    pub rendered: serde_json::Value,
    /// Plain-text rendering for display.
    pub text: String,
}

/// A test message to one openid.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TestSendRequest {
    /// Course.
    pub course_id: String,
    /// Sending account.
    pub account_id: String,
    /// Recipient: an openid of the sending account (WeCom: a member id of the app).
    pub openid: String,
    /// Channel; by default the account kind's usual one.
    #[schema(schema_with = crate::schema::optional_channel)]
    pub channel: Option<Channel>,
}

/// WeChat accepted the test message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TestSent {
    /// Always true.
    pub sent: bool,
    /// WeChat's msgid (none for official-account subscription and customer-service
    /// messages, whose APIs return none).
    pub msgid: Option<String>,
}

/// A rendering failure as a field error: `account_field` names the account in the request
/// (the admin fixes the course's mapping for it, or picks another channel).
pub fn render_error_field(
    error: &NotificationError,
    account: &AccountId,
    account_field: &str,
) -> FieldError {
    let message = error.to_string();
    let mapping = format!("templates.{account}");
    let (field, key) = match error {
        NotificationError::NoTemplate { .. } => (account_field.to_string(), "no_template"),
        NotificationError::IncompleteMapping { .. } => (mapping, "incomplete_template"),
        NotificationError::Placeholder { key, .. } => {
            (format!("{mapping}.fields.{key}"), "invalid_placeholder")
        }
        NotificationError::Field(WechatError::InvalidTemplateData { key, .. }) => {
            (format!("{mapping}.fields.{key}"), "invalid_field_value")
        }
        NotificationError::Field(_) | NotificationError::TooLong { .. } => {
            (mapping, "invalid_field_value")
        }
        NotificationError::ChannelUnavailable { .. } => {
            ("channel".to_string(), "channel_not_allowed")
        }
    };
    FieldError::new(field, key, message)
}

/// Validates the ids, loads course and account, renders. Unknown ids are field errors; an
/// account outside the caller's scope is a 403 (before any lookup), a course outside it
/// is unknown.
async fn load_and_render(
    state: &AppState,
    caller: &Caller,
    course_id: &str,
    account_id: &str,
    channel: Option<Channel>,
    openid: Option<&str>,
) -> ApiResult<(Account, Course, PreparedMessage)> {
    let store = &state.platform.store;
    let mut v = Validator::new();
    let course_id = v.id::<CourseId>("course_id", course_id);
    let account_id = v.id::<AccountId>("account_id", account_id);
    if let Some(openid) = openid
        && (openid.is_empty()
            || openid.len() > 128
            || !openid.bytes().all(|b| b.is_ascii_graphic()))
    {
        v.add("openid", "invalid_openid", "openid 格式不正确");
    }
    if let Some(account) = &account_id {
        caller.filter_account(account)?;
    }
    let course = match course_id {
        Some(id) => match store.get_course(id).await {
            Ok(course) if caller.scope().sees_course(&course) => Some(course),
            Ok(_) | Err(StoreError::NotFound { .. }) => {
                v.add("course_id", "unknown_course", "课程不存在");
                None
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let account = match &account_id {
        Some(id) => match store.get_account(id).await {
            Ok(account) => Some(account),
            Err(StoreError::NotFound { .. }) => {
                v.add("account_id", "unknown_account", "该公众号不存在");
                None
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    v.finish()?;
    let (Some(course), Some(account)) = (course, account) else {
        return Err(ApiError::internal("validated course or account missing"));
    };
    let channel = channel.unwrap_or(default_channel(account.kind));
    let rendered = render_for_channel(
        &course,
        &account,
        channel,
        &state.platform.config.public_base_url,
    )
    .map_err(|e| ApiError::Validation(vec![render_error_field(&e, &account.id, "account_id")]))?;
    Ok((account, course, rendered))
}

#[utoipa::path(post, path = "/api/pushes/preview", tag = "直播课程", summary = "预览推送消息",
    request_body = PreviewRequest,
    responses((status = 200, body = PreviewView),
        (status = 422, description = "validation_failed：课程未配置该公众号的模板、模板字段不符合微信长度规则、渠道不可用", body = crate::ErrorBody)))]
/// The message a push of this course through this account would send, checked against
/// WeChat's field rules (anyone signed in may preview).
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<PreviewRequest>,
) -> ApiResult<Json<PreviewView>> {
    let (account, _course, rendered) = load_and_render(
        &state,
        &caller,
        &input.course_id,
        &input.account_id,
        input.channel,
        None,
    )
    .await?;
    Ok(Json(PreviewView {
        account_id: account.id.to_string(),
        channel: rendered.channel(),
        rendered: rendered.wire(None, None),
        text: rendered.text(),
    }))
}

#[utoipa::path(post, path = "/api/pushes/test-send", tag = "直播课程", summary = "测试发送给一个 openid",
    request_body = TestSendRequest,
    responses((status = 200, body = TestSent),
        (status = 502, description = "wechat_error：微信拒绝或无法连接，details 含 errcode 与 errmsg", body = crate::ErrorBody)))]
/// Sends the rendered message to one openid now (super admins, and operators of the account).
pub async fn test_send(
    State(state): State<AppState>,
    Writer(caller): Writer,
    ApiJson(input): ApiJson<TestSendRequest>,
) -> ApiResult<(Extension<AuditTarget>, Json<TestSent>)> {
    if let Ok(account) = input.account_id.parse::<AccountId>() {
        // Scope first: an operator learns nothing about other accounts' courses.
        caller.require_accounts([&account])?;
    }
    let (account, course, rendered) = load_and_render(
        &state,
        &caller,
        &input.course_id,
        &input.account_id,
        input.channel,
        Some(&input.openid),
    )
    .await?;
    let target = format!(
        "course/{}/account/{}/openid/{}",
        course.id, account.id, input.openid
    );
    match send_one(&state.platform, &account.id, &rendered, &input.openid).await {
        Ok(msgid) => {
            tracing::info!(course = %course.id, account = %account.id, channel = channel_code(rendered.channel()), msgid = msgid.as_deref().unwrap_or("-"), "test message sent");
            Ok((
                Extension(AuditTarget(target)),
                Json(TestSent { sent: true, msgid }),
            ))
        }
        Err(SingleSendError::Wechat(e)) => Err(ApiError::Wechat(e)),
        Err(e @ SingleSendError::Unreached) => Err(ApiError::Validation(vec![FieldError::new(
            "openid",
            "unknown_recipient",
            e.to_string(),
        )])),
        Err(SingleSendError::Credentials(CredentialsError::Store(e))) => Err(e.into()),
        Err(SingleSendError::Credentials(e)) => Err(ApiError::Conflict(e.to_string())),
    }
}
