//! One error type for every WeChat / WeCom call, shaped by what the caller must do next.
//!
//! WeChat reports failures as `{errcode, errmsg}`; [`WechatError::from_errcode`] sorts the codes
//! the platform meets into classes, and [`WechatError::action`] turns any error into an
//! [`ErrorAction`]. Codes not listed stay [`WechatError::Api`] with their code and message.

use std::fmt;

/// WeChat's "system busy" code.
pub const ERR_BUSY: i64 = -1;
/// Invalid credential: the access token is invalid or not the latest.
pub const ERR_INVALID_CREDENTIAL: i64 = 40001;
/// Invalid openid for this account.
pub const ERR_INVALID_OPENID: i64 = 40003;
/// Invalid appid.
pub const ERR_INVALID_APPID: i64 = 40013;
/// Invalid access token.
pub const ERR_INVALID_ACCESS_TOKEN: i64 = 40014;
/// Invalid template id.
pub const ERR_INVALID_TEMPLATE_ID: i64 = 40037;
/// Invalid app secret.
pub const ERR_INVALID_APPSECRET: i64 = 40125;
/// Caller IP is not on the account's whitelist.
pub const ERR_IP_NOT_WHITELISTED: i64 = 40164;
/// Access token expired.
pub const ERR_ACCESS_TOKEN_EXPIRED: i64 = 42001;
/// The user does not follow the account.
pub const ERR_NOT_FOLLOWING: i64 = 43004;
/// The user has not consented (or has no consent left) for this subscription template.
pub const ERR_NO_CONSENT: i64 = 43101;
/// Daily quota of this API reached.
pub const ERR_QUOTA: i64 = 45009;
/// API called too often in a short window.
pub const ERR_RATE_LIMITED: i64 = 45011;
/// Customer-service message outside the 48-hour window.
pub const ERR_OUTSIDE_SERVICE_WINDOW: i64 = 45015;
/// Too many customer-service messages to this user.
pub const ERR_SERVICE_MESSAGE_LIMIT: i64 = 45047;
/// Template data does not satisfy the template.
pub const ERR_BAD_TEMPLATE_DATA: i64 = 47003;
/// The account is not authorised for this API.
pub const ERR_API_UNAUTHORIZED: i64 = 48001;
/// WeCom: caller IP is not trusted by the app.
pub const ERR_WECOM_IP_NOT_ALLOWED: i64 = 60020;

/// What the caller should do about a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorAction {
    /// Transient: try again later with backoff (same request, same token).
    RetryLater,
    /// The token is bad: invalidate it, get a fresh one, retry once.
    RefreshTokenAndRetry,
    /// This recipient cannot be reached; record why and go on with the others.
    SkipUser,
    /// The account's daily quota is used up: pause the job, resume later, tell the admin.
    QuotaExhausted,
    /// Every further call of this job will fail the same way: stop it and report.
    FatalForJob,
    /// This request is wrong or its failure unclassified: do not retry it, record the failure.
    Invalid,
}

/// Why one recipient was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserSkip {
    /// 40003: the openid does not belong to this account.
    InvalidOpenid,
    /// 43004: the user no longer follows the account (mark unsubscribed).
    NotFollowing,
    /// 43101: the user refused, or has no subscription consent left.
    NoConsent,
    /// 45015: outside the 48-hour customer-service window.
    OutsideServiceWindow,
    /// 45047: too many customer-service messages to this user.
    ServiceMessageLimit,
}

impl UserSkip {
    /// Stable machine name, for delivery records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidOpenid => "invalid_openid",
            Self::NotFollowing => "not_following",
            Self::NoConsent => "no_consent",
            Self::OutsideServiceWindow => "outside_service_window",
            Self::ServiceMessageLimit => "service_message_limit",
        }
    }
}

impl fmt::Display for UserSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a whole job cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobFatal {
    /// 47003: the template data does not fit the template.
    BadTemplateData,
    /// 40037: the template id is unknown to this account.
    BadTemplateId,
    /// 48001: the account is not authorised for this API.
    ApiUnauthorized,
    /// 40013 / 40125, or a token endpoint refusing the credentials: wrong appid or secret.
    InvalidCredentials,
    /// 40164 / WeCom 60020: this server's IP is not whitelisted for the account.
    IpNotWhitelisted,
}

impl JobFatal {
    /// Stable machine name, for job records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadTemplateData => "bad_template_data",
            Self::BadTemplateId => "bad_template_id",
            Self::ApiUnauthorized => "api_unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::IpNotWhitelisted => "ip_not_whitelisted",
        }
    }
}

impl fmt::Display for JobFatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed WeChat or WeCom call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WechatError {
    /// -1 busy or 45011 rate limited: retry later with backoff.
    #[error("WeChat is busy (errcode {code}): {message}")]
    Busy {
        /// The errcode.
        code: i64,
        /// WeChat's errmsg.
        message: String,
    },
    /// 40001 / 42001 / 40014: the access token is invalid or expired.
    #[error("access token rejected (errcode {code}): {message}")]
    TokenRejected {
        /// The errcode.
        code: i64,
        /// WeChat's errmsg.
        message: String,
    },
    /// The recipient cannot be reached (reason kept).
    #[error("recipient skipped, {reason} (errcode {code}): {message}")]
    UserSkipped {
        /// Why.
        reason: UserSkip,
        /// The errcode.
        code: i64,
        /// WeChat's errmsg.
        message: String,
    },
    /// 45009: daily quota reached.
    #[error("daily quota exhausted (errcode {code}): {message}")]
    QuotaExhausted {
        /// The errcode.
        code: i64,
        /// WeChat's errmsg.
        message: String,
    },
    /// The job cannot go on (reason kept).
    #[error("job cannot continue, {reason} (errcode {code}): {message}")]
    JobFatal {
        /// Why.
        reason: JobFatal,
        /// The errcode.
        code: i64,
        /// WeChat's errmsg.
        message: String,
    },
    /// Any other errcode.
    #[error("WeChat errcode {code}: {message}")]
    Api {
        /// The errcode.
        code: i64,
        /// WeChat's errmsg.
        message: String,
    },
    /// Our own validation refused the request before sending it.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Template / subscription data breaks a field rule (what WeChat would answer with 47003).
    #[error("invalid template data in {key:?}: {reason}")]
    InvalidTemplateData {
        /// The data key (e.g. `thing1`).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The request timed out.
    #[error("timeout calling {endpoint}")]
    Timeout {
        /// API path.
        endpoint: String,
    },
    /// Connection, TLS or other transport failure.
    #[error("transport error calling {endpoint}: {detail}")]
    Transport {
        /// API path.
        endpoint: String,
        /// The error (URL stripped, it holds the token).
        detail: String,
    },
    /// Non-success HTTP status without a WeChat error body.
    #[error("HTTP {status} from {endpoint}")]
    HttpStatus {
        /// API path.
        endpoint: String,
        /// The status code.
        status: u16,
    },
    /// The response body is not what the API documents.
    #[error("unexpected response from {endpoint}: {detail}")]
    Decode {
        /// API path.
        endpoint: String,
        /// What did not parse.
        detail: String,
    },
    /// The token cache (DynamoDB) failed.
    #[error("token store error: {0}")]
    TokenStore(String),
    /// Another refresher held the token lease longer than we may wait.
    #[error("no valid access token for {cache_key} within the wait limit")]
    TokenUnavailable {
        /// Appid or WeCom cache key.
        cache_key: String,
    },
}

impl WechatError {
    /// Classifies a non-zero WeChat errcode.
    pub fn from_errcode(code: i64, message: impl Into<String>) -> Self {
        let message = message.into();
        let skip = |reason| Self::UserSkipped {
            reason,
            code,
            message: message.clone(),
        };
        let fatal = |reason| Self::JobFatal {
            reason,
            code,
            message: message.clone(),
        };
        match code {
            ERR_BUSY | ERR_RATE_LIMITED => Self::Busy { code, message },
            ERR_INVALID_CREDENTIAL | ERR_ACCESS_TOKEN_EXPIRED | ERR_INVALID_ACCESS_TOKEN => {
                Self::TokenRejected { code, message }
            }
            ERR_INVALID_OPENID => skip(UserSkip::InvalidOpenid),
            ERR_NOT_FOLLOWING => skip(UserSkip::NotFollowing),
            ERR_NO_CONSENT => skip(UserSkip::NoConsent),
            ERR_OUTSIDE_SERVICE_WINDOW => skip(UserSkip::OutsideServiceWindow),
            ERR_SERVICE_MESSAGE_LIMIT => skip(UserSkip::ServiceMessageLimit),
            ERR_QUOTA => Self::QuotaExhausted { code, message },
            ERR_BAD_TEMPLATE_DATA => fatal(JobFatal::BadTemplateData),
            ERR_INVALID_TEMPLATE_ID => fatal(JobFatal::BadTemplateId),
            ERR_API_UNAUTHORIZED => fatal(JobFatal::ApiUnauthorized),
            ERR_INVALID_APPID | ERR_INVALID_APPSECRET => fatal(JobFatal::InvalidCredentials),
            ERR_IP_NOT_WHITELISTED | ERR_WECOM_IP_NOT_ALLOWED => fatal(JobFatal::IpNotWhitelisted),
            _ => Self::Api { code, message },
        }
    }

    /// What the caller should do next.
    pub fn action(&self) -> ErrorAction {
        match self {
            Self::Busy { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::TokenStore(_)
            | Self::TokenUnavailable { .. } => ErrorAction::RetryLater,
            Self::HttpStatus { status, .. } if *status >= 500 || *status == 429 => {
                ErrorAction::RetryLater
            }
            Self::TokenRejected { .. } => ErrorAction::RefreshTokenAndRetry,
            Self::UserSkipped { .. } => ErrorAction::SkipUser,
            Self::QuotaExhausted { .. } => ErrorAction::QuotaExhausted,
            Self::JobFatal { .. } | Self::InvalidTemplateData { .. } => ErrorAction::FatalForJob,
            Self::HttpStatus { .. }
            | Self::Api { .. }
            | Self::InvalidRequest(_)
            | Self::Decode { .. } => ErrorAction::Invalid,
        }
    }

    /// The WeChat errcode, when WeChat answered with one.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            Self::Busy { code, .. }
            | Self::TokenRejected { code, .. }
            | Self::UserSkipped { code, .. }
            | Self::QuotaExhausted { code, .. }
            | Self::JobFatal { code, .. }
            | Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The skip reason when this error only concerns one recipient.
    pub fn user_skip(&self) -> Option<UserSkip> {
        match self {
            Self::UserSkipped { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// A token endpoint answering "invalid credential" means the secret is wrong, not the
    /// token: refreshing again would loop, so it becomes fatal for the job.
    pub(crate) fn for_token_endpoint(self) -> Self {
        match self {
            Self::TokenRejected { code, message } => Self::JobFatal {
                reason: JobFatal::InvalidCredentials,
                code,
                message,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action_of(code: i64) -> ErrorAction {
        WechatError::from_errcode(code, "msg").action()
    }

    #[test]
    fn errcodes_map_to_actions() {
        assert_eq!(action_of(-1), ErrorAction::RetryLater);
        assert_eq!(action_of(45011), ErrorAction::RetryLater);
        for code in [40001, 42001, 40014] {
            assert_eq!(action_of(code), ErrorAction::RefreshTokenAndRetry, "{code}");
        }
        for code in [40003, 43004, 43101, 45015, 45047] {
            assert_eq!(action_of(code), ErrorAction::SkipUser, "{code}");
        }
        assert_eq!(action_of(45009), ErrorAction::QuotaExhausted);
        for code in [47003, 48001, 40037, 40013, 40125, 40164, 60020] {
            assert_eq!(action_of(code), ErrorAction::FatalForJob, "{code}");
        }
        assert_eq!(action_of(99999), ErrorAction::Invalid);
    }

    #[test]
    fn skip_reasons_are_specific() {
        let cases = [
            (40003, UserSkip::InvalidOpenid),
            (43004, UserSkip::NotFollowing),
            (43101, UserSkip::NoConsent),
            (45015, UserSkip::OutsideServiceWindow),
            (45047, UserSkip::ServiceMessageLimit),
        ];
        for (code, reason) in cases {
            let err = WechatError::from_errcode(code, "m");
            assert_eq!(err.user_skip(), Some(reason));
            assert_eq!(err.errcode(), Some(code));
        }
        assert_eq!(UserSkip::NotFollowing.to_string(), "not_following");
    }

    #[test]
    fn fatal_reasons_are_specific() {
        let reason = |code| match WechatError::from_errcode(code, "m") {
            WechatError::JobFatal { reason, .. } => Some(reason),
            _ => None,
        };
        assert_eq!(reason(47003), Some(JobFatal::BadTemplateData));
        assert_eq!(reason(40037), Some(JobFatal::BadTemplateId));
        assert_eq!(reason(48001), Some(JobFatal::ApiUnauthorized));
        assert_eq!(reason(40125), Some(JobFatal::InvalidCredentials));
        assert_eq!(reason(40164), Some(JobFatal::IpNotWhitelisted));
    }

    #[test]
    fn unknown_codes_keep_code_and_message() {
        let err = WechatError::from_errcode(40029, "invalid code");
        assert_eq!(
            err,
            WechatError::Api {
                code: 40029,
                message: "invalid code".into()
            }
        );
        assert_eq!(err.to_string(), "WeChat errcode 40029: invalid code");
    }

    #[test]
    fn transport_and_http_errors_map_to_actions() {
        let ep = || "cgi-bin/x".to_string();
        assert_eq!(
            WechatError::Timeout { endpoint: ep() }.action(),
            ErrorAction::RetryLater
        );
        assert_eq!(
            WechatError::Transport {
                endpoint: ep(),
                detail: "refused".into()
            }
            .action(),
            ErrorAction::RetryLater
        );
        assert_eq!(
            WechatError::HttpStatus {
                endpoint: ep(),
                status: 502
            }
            .action(),
            ErrorAction::RetryLater
        );
        assert_eq!(
            WechatError::HttpStatus {
                endpoint: ep(),
                status: 429
            }
            .action(),
            ErrorAction::RetryLater
        );
        assert_eq!(
            WechatError::HttpStatus {
                endpoint: ep(),
                status: 404
            }
            .action(),
            ErrorAction::Invalid
        );
        assert_eq!(
            WechatError::Decode {
                endpoint: ep(),
                detail: "x".into()
            }
            .action(),
            ErrorAction::Invalid
        );
        assert_eq!(
            WechatError::InvalidRequest("x".into()).action(),
            ErrorAction::Invalid
        );
        let data = WechatError::InvalidTemplateData {
            key: "thing1".into(),
            reason: "too long".into(),
        };
        assert_eq!(data.action(), ErrorAction::FatalForJob);
        assert_eq!(
            WechatError::TokenStore("x".into()).action(),
            ErrorAction::RetryLater
        );
        assert_eq!(
            WechatError::TokenUnavailable {
                cache_key: "wx".into()
            }
            .action(),
            ErrorAction::RetryLater
        );
    }

    #[test]
    fn token_endpoint_rejection_is_fatal() {
        let err = WechatError::from_errcode(40001, "invalid credential").for_token_endpoint();
        assert_eq!(err.action(), ErrorAction::FatalForJob);
        let busy = WechatError::from_errcode(-1, "busy").for_token_endpoint();
        assert_eq!(busy.action(), ErrorAction::RetryLater);
    }
}
