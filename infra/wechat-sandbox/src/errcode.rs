//! WeChat error codes and the `{"errcode","errmsg"}` body every API returns on failure.
//!
//! WeChat answers errors with HTTP 200 and appends a request id (`rid: ...`) to `errmsg`;
//! clients must key on `errcode`, so the sandbox does the same to catch code that parses text.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// System busy; retry with backoff.
pub const BUSY: i64 = -1;
/// Success.
pub const OK: i64 = 0;
/// Invalid credential: access_token invalid, replaced or revoked (also WeCom's bad secret).
pub const INVALID_CREDENTIAL: i64 = 40001;
/// Invalid `grant_type`.
pub const INVALID_GRANT_TYPE: i64 = 40002;
/// Invalid openid (malformed, or not of this account).
pub const INVALID_OPENID: i64 = 40003;
/// Invalid message type.
pub const INVALID_MSG_TYPE: i64 = 40008;
/// Invalid appid (WeCom: invalid corpid).
pub const INVALID_APPID: i64 = 40013;
/// Invalid OAuth code.
pub const INVALID_CODE: i64 = 40029;
/// Invalid openid list size (batchget over 100 or empty).
pub const INVALID_OPENID_LIST_SIZE: i64 = 40032;
/// Invalid template_id.
pub const INVALID_TEMPLATE_ID: i64 = 40037;
/// Invalid QR action name.
pub const INVALID_ACTION_NAME: i64 = 40052;
/// Invalid QR action info (scene out of range, string too long...).
pub const INVALID_ACTION_INFO: i64 = 40053;
/// Invalid WeCom agentid.
pub const INVALID_AGENTID: i64 = 40056;
/// Invalid appsecret.
pub const INVALID_APPSECRET: i64 = 40125;
/// OAuth code already used.
pub const CODE_USED: i64 = 40163;
/// access_token missing.
pub const ACCESS_TOKEN_MISSING: i64 = 41001;
/// appid missing.
pub const APPID_MISSING: i64 = 41002;
/// appsecret missing.
pub const APPSECRET_MISSING: i64 = 41004;
/// OAuth code missing.
pub const CODE_MISSING: i64 = 41008;
/// access_token expired.
pub const ACCESS_TOKEN_EXPIRED: i64 = 42001;
/// The user does not follow the account.
pub const REQUIRE_SUBSCRIBE: i64 = 43004;
/// The user refused the message / has no subscription consent left.
pub const USER_REFUSED: i64 = 43101;
/// Empty POST body.
pub const EMPTY_POST_DATA: i64 = 44002;
/// Daily API quota reached.
pub const QUOTA_REACHED: i64 = 45009;
/// Customer-service message outside the 48 h window.
pub const OUT_OF_TIME_LIMIT: i64 = 45015;
/// Too many customer-service messages in the window.
pub const OUT_OF_RESPONSE_COUNT: i64 = 45047;
/// Body is not valid JSON.
pub const DATA_FORMAT_ERROR: i64 = 47001;
/// Invalid argument (template data, miniprogram_state...).
pub const ARGUMENT_INVALID: i64 = 47003;
/// API not authorised for this account kind.
pub const API_UNAUTHORIZED: i64 = 48001;
/// WeCom: every recipient (user, party, tag) was invalid.
pub const ALL_RECIPIENTS_INVALID: i64 = 81013;

/// WeChat's standard English `errmsg` for a code.
pub fn default_message(code: i64) -> &'static str {
    match code {
        BUSY => "system error",
        OK => "ok",
        INVALID_CREDENTIAL => "invalid credential, access_token is invalid or not latest",
        INVALID_GRANT_TYPE => "invalid grant_type",
        INVALID_OPENID => "invalid openid",
        INVALID_MSG_TYPE => "invalid message type",
        INVALID_APPID => "invalid appid",
        40014 => "invalid access_token",
        INVALID_CODE => "invalid code",
        INVALID_OPENID_LIST_SIZE => "invalid openid list size",
        INVALID_TEMPLATE_ID => "invalid template_id",
        INVALID_ACTION_NAME => "invalid action name",
        INVALID_ACTION_INFO => "invalid action info",
        INVALID_AGENTID => "invalid agentid",
        INVALID_APPSECRET => "invalid appsecret",
        CODE_USED => "code been used",
        40164 => "invalid ip, not in whitelist",
        ACCESS_TOKEN_MISSING => "access_token missing",
        APPID_MISSING => "appid missing",
        APPSECRET_MISSING => "appsecret missing",
        CODE_MISSING => "missing code",
        ACCESS_TOKEN_EXPIRED => "access_token expired",
        REQUIRE_SUBSCRIBE => "require subscribe",
        USER_REFUSED => "user refuse to accept the msg",
        EMPTY_POST_DATA => "empty post data",
        QUOTA_REACHED => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit  mustslower  retry next minute",
        OUT_OF_TIME_LIMIT => "response out of time limit or subscription is canceled",
        OUT_OF_RESPONSE_COUNT => "out of response count limit",
        DATA_FORMAT_ERROR => "data format error",
        ARGUMENT_INVALID => "argument invalid!",
        API_UNAUTHORIZED => "api unauthorized",
        60020 => "not allow to access from your ip",
        ALL_RECIPIENTS_INVALID => "user & party & tag all invalid",
        _ => "system error",
    }
}

/// A WeChat error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WxError {
    /// The errcode.
    pub errcode: i64,
    /// The errmsg (with a trailing request id, like WeChat).
    pub errmsg: String,
}

impl WxError {
    /// The error `code` with WeChat's standard message.
    pub fn new(code: i64) -> Self {
        Self::with_detail(code, "")
    }

    /// The error `code` with its standard message followed by `detail`.
    pub fn with_detail(code: i64, detail: &str) -> Self {
        let base = default_message(code);
        let sep = if detail.is_empty() { "" } else { ": " };
        Self {
            errcode: code,
            errmsg: format!("{base}{sep}{detail} rid: {}", request_id()),
        }
    }
}

impl std::fmt::Display for WxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "errcode {}: {}", self.errcode, self.errmsg)
    }
}

impl std::error::Error for WxError {}

impl IntoResponse for WxError {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// A request id shaped like WeChat's (`rid: 6655aa11-0a1b2c3d-4e5f6a7b`).
fn request_id() -> String {
    let r: [u32; 3] = rand::random();
    format!("{:08x}-{:08x}-{:08x}", r[0], r[1], r[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_carries_code_text_and_rid() {
        let e = WxError::with_detail(ARGUMENT_INVALID, "data.thing1.value exceeds limit");
        assert_eq!(e.errcode, 47003);
        assert!(
            e.errmsg
                .starts_with("argument invalid!: data.thing1.value exceeds limit rid: ")
        );
        assert!(
            WxError::new(INVALID_CREDENTIAL)
                .errmsg
                .starts_with("invalid credential")
        );
    }
}
