//! The HTTP client every WeChat / WeCom API call goes through.
//!
//! It knows the hosts ([`WechatEndpoints`]), puts the access token in the `access_token` query
//! parameter as WeChat expects, turns `{errcode, errmsg}` bodies and transport failures into
//! [`WechatError`], and never lets a token or secret reach a log line or an error message.
//! The per-area API methods live in `wechat::api::*` as further `impl WechatClient` blocks.

use super::error::{ErrorAction, WechatError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// WeChat's API host.
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// WeCom's API host.
pub const DEFAULT_WECOM_BASE: &str = "https://qyapi.weixin.qq.com";
/// Host of the web OAuth authorize page.
pub const DEFAULT_OPEN_BASE: &str = "https://open.weixin.qq.com";
/// Host serving `showqrcode` images (WeChat serves them from mp, not api).
pub const DEFAULT_MP_BASE: &str = "https://mp.weixin.qq.com";

/// Whole-request timeout: WeChat answers in well under a second when healthy, and callers
/// run inside Lambda time limits, so a stuck call must fail fast and be retried later.
/// (The default of `WECHAT_TIMEOUT_MS`.)
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connect timeout.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How many characters of a token or secret may appear in logs.
const LOGGED_PREFIX_CHARS: usize = 6;

/// Base URLs of the WeChat hosts (real ones by default; the sandbox in local runs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatEndpoints {
    /// `WECHAT_API_BASE`: official accounts and mini programs.
    pub api_base: String,
    /// `WECOM_API_BASE`: WeCom apps.
    pub wecom_base: String,
    /// Web OAuth authorize page host.
    pub open_base: String,
    /// Host of `showqrcode` images.
    pub mp_base: String,
}

impl Default for WechatEndpoints {
    fn default() -> Self {
        Self {
            api_base: DEFAULT_API_BASE.to_string(),
            wecom_base: DEFAULT_WECOM_BASE.to_string(),
            open_base: DEFAULT_OPEN_BASE.to_string(),
            mp_base: DEFAULT_MP_BASE.to_string(),
        }
    }
}

fn trim_base(base: impl Into<String>) -> String {
    base.into().trim_end_matches('/').to_string()
}

impl WechatEndpoints {
    /// Endpoints from explicit bases (trailing `/` ignored); `showqrcode` stays on WeChat's mp host.
    pub fn new(
        api_base: impl Into<String>,
        wecom_base: impl Into<String>,
        open_base: impl Into<String>,
    ) -> Self {
        Self {
            api_base: trim_base(api_base),
            wecom_base: trim_base(wecom_base),
            open_base: trim_base(open_base),
            mp_base: DEFAULT_MP_BASE.to_string(),
        }
    }

    /// Overrides the `showqrcode` host.
    pub fn with_mp_base(mut self, mp_base: impl Into<String>) -> Self {
        self.mp_base = trim_base(mp_base);
        self
    }
}

/// Which host a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Host {
    /// api.weixin.qq.com
    Api,
    /// qyapi.weixin.qq.com
    Wecom,
}

/// At most the first 6 characters of a token or secret: enough to correlate, useless to steal.
pub fn token_prefix(secret: &str) -> &str {
    match secret.char_indices().nth(LOGGED_PREFIX_CHARS) {
        Some((end, _)) => &secret[..end],
        None => secret,
    }
}

/// Async client for the WeChat and WeCom APIs. Cheap to clone (shares one connection pool).
#[derive(Clone)]
pub struct WechatClient {
    http: reqwest::Client,
    endpoints: Arc<WechatEndpoints>,
}

impl fmt::Debug for WechatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatClient")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

/// The `{errcode, errmsg}` part every WeChat response may carry.
#[derive(serde::Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
}

impl WechatClient {
    /// A client with default timeouts (10 s per request, 3 s to connect).
    pub fn new(endpoints: WechatEndpoints) -> Result<Self, WechatError> {
        Self::with_timeout(endpoints, DEFAULT_TIMEOUT)
    }

    /// A client with a custom per-request timeout.
    pub fn with_timeout(
        endpoints: WechatEndpoints,
        timeout: Duration,
    ) -> Result<Self, WechatError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(DEFAULT_CONNECT_TIMEOUT.min(timeout))
            .build()
            .map_err(|e| WechatError::Transport {
                endpoint: "client setup".into(),
                detail: e.without_url().to_string(),
            })?;
        Ok(Self::from_http(http, endpoints))
    }

    /// A client over an existing `reqwest::Client` (shared pool, custom settings).
    pub fn from_http(http: reqwest::Client, endpoints: WechatEndpoints) -> Self {
        Self {
            http,
            endpoints: Arc::new(endpoints),
        }
    }

    /// The hosts this client calls.
    pub fn endpoints(&self) -> &WechatEndpoints {
        &self.endpoints
    }

    fn url(&self, host: Host, path: &str) -> String {
        let base = match host {
            Host::Api => &self.endpoints.api_base,
            Host::Wecom => &self.endpoints.wecom_base,
        };
        format!("{base}/{path}")
    }

    /// `GET host/path?query[&access_token=..]`, decoded as `T`.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        host: Host,
        path: &str,
        access_token: Option<&str>,
        query: &[(&str, &str)],
    ) -> Result<T, WechatError> {
        let mut request = self.http.get(self.url(host, path));
        if let Some(token) = access_token {
            request = request.query(&[("access_token", token)]);
        }
        if !query.is_empty() {
            request = request.query(query);
        }
        self.execute(path, access_token, request).await
    }

    /// `POST host/path[?access_token=..]` with a JSON body, decoded as `T`.
    pub(crate) async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        host: Host,
        path: &str,
        access_token: Option<&str>,
        body: &B,
    ) -> Result<T, WechatError> {
        let mut request = self.http.post(self.url(host, path));
        if let Some(token) = access_token {
            request = request.query(&[("access_token", token)]);
        }
        // Serialise ourselves so non-ASCII stays raw UTF-8 (WeChat shows \uXXXX escapes
        // literally in some clients) and a serialisation failure is a typed error.
        let json = serde_json::to_vec(body)
            .map_err(|e| WechatError::InvalidRequest(format!("{path}: {e}")))?;
        request = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(json);
        self.execute(path, access_token, request).await
    }

    async fn execute<T: DeserializeOwned>(
        &self,
        path: &str,
        access_token: Option<&str>,
        request: reqwest::RequestBuilder,
    ) -> Result<T, WechatError> {
        let token = access_token.map(token_prefix).unwrap_or("");
        tracing::debug!(endpoint = path, token, "WeChat call");
        let result = async {
            let response = request.send().await.map_err(|e| transport_error(path, e))?;
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map_err(|e| transport_error(path, e))?;
            parse_response(path, status, &body)
        }
        .await;
        if let Err(err) = &result {
            let errcode = err.errcode();
            // A recipient who cannot be reached is routine during a push, not a warning.
            if err.action() == ErrorAction::SkipUser {
                tracing::info!(endpoint = path, token, errcode, error = %err, "WeChat call skipped a recipient");
            } else {
                tracing::warn!(endpoint = path, token, errcode, error = %err, "WeChat call failed");
            }
        }
        result
    }
}

/// Maps a reqwest failure, dropping the URL: its query string holds the token or secret.
fn transport_error(path: &str, err: reqwest::Error) -> WechatError {
    let err = err.without_url();
    if err.is_timeout() {
        WechatError::Timeout {
            endpoint: path.to_string(),
        }
    } else {
        let mut detail = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        WechatError::Transport {
            endpoint: path.to_string(),
            detail,
        }
    }
}

/// Decodes a WeChat response: a non-zero `errcode` wins over everything (WeChat reports
/// errors with HTTP 200), then the HTTP status, then the typed body.
pub(crate) fn parse_response<T: DeserializeOwned>(
    path: &str,
    status: u16,
    body: &[u8],
) -> Result<T, WechatError> {
    if let Ok(ErrorEnvelope {
        errcode: Some(code),
        errmsg,
    }) = serde_json::from_slice::<ErrorEnvelope>(body)
        && code != 0
    {
        return Err(WechatError::from_errcode(code, errmsg.unwrap_or_default()));
    }
    if !(200..300).contains(&status) {
        return Err(WechatError::HttpStatus {
            endpoint: path.to_string(),
            status,
        });
    }
    serde_json::from_slice(body).map_err(|e| WechatError::Decode {
        endpoint: path.to_string(),
        detail: e.to_string(),
    })
}

/// The body of calls that only answer `{errcode: 0, errmsg: "ok"}`.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Ack {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::error::{ErrorAction, UserSkip};

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Thing {
        value: u32,
    }

    #[test]
    fn prefix_is_at_most_six_chars() {
        assert_eq!(token_prefix("ACCESS_TOKEN_VALUE"), "ACCESS");
        assert_eq!(token_prefix("abc"), "abc");
        assert_eq!(token_prefix("密钥密钥密钥密钥"), "密钥密钥密钥");
    }

    #[test]
    fn endpoints_trim_and_default() {
        let e = WechatEndpoints::new("http://a/", "http://b", "http://c//");
        assert_eq!(
            (
                e.api_base.as_str(),
                e.wecom_base.as_str(),
                e.open_base.as_str()
            ),
            ("http://a", "http://b", "http://c")
        );
        assert_eq!(e.mp_base, DEFAULT_MP_BASE);
        assert_eq!(WechatEndpoints::default().api_base, DEFAULT_API_BASE);
        assert_eq!(
            WechatEndpoints::default().with_mp_base("http://m/").mp_base,
            "http://m"
        );
    }

    #[test]
    fn errcode_wins_over_status_and_body() {
        let err = parse_response::<Thing>(
            "p",
            200,
            br#"{"errcode":43004,"errmsg":"require subscribe"}"#,
        )
        .unwrap_err();
        assert_eq!(err.user_skip(), Some(UserSkip::NotFollowing));
        let err = parse_response::<Thing>("p", 500, br#"{"errcode":-1,"errmsg":"system error"}"#)
            .unwrap_err();
        assert_eq!(err.action(), ErrorAction::RetryLater);
    }

    #[test]
    fn zero_errcode_is_success() {
        let ok: Thing =
            parse_response("p", 200, br#"{"errcode":0,"errmsg":"ok","value":3}"#).unwrap();
        assert_eq!(ok, Thing { value: 3 });
        let ok: Thing = parse_response("p", 200, br#"{"value":4}"#).unwrap();
        assert_eq!(ok, Thing { value: 4 });
    }

    #[test]
    fn http_status_and_garbage() {
        let err = parse_response::<Thing>("p", 502, b"<html>bad gateway</html>").unwrap_err();
        assert_eq!(
            err,
            WechatError::HttpStatus {
                endpoint: "p".into(),
                status: 502
            }
        );
        assert_eq!(err.action(), ErrorAction::RetryLater);
        let err = parse_response::<Thing>("p", 200, b"not json").unwrap_err();
        assert!(matches!(err, WechatError::Decode { .. }));
        let err = parse_response::<Thing>("p", 200, br#"{"other":1}"#).unwrap_err();
        assert!(matches!(err, WechatError::Decode { .. }));
    }
}
