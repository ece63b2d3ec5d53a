//! Request plumbing shared by the API handlers: query and body parsing with WeChat's
//! errcodes, token checks, success bodies.

use crate::errcode::{self, WxError};
use crate::sandbox::Sandbox;
use crate::tokens::TokenKind;
use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Query parameters.
pub type Params = HashMap<String, String>;

/// The query as a map; an unparseable query counts as empty (WeChat then reports what is missing).
pub fn params(q: Result<Query<Params>, QueryRejection>) -> Params {
    q.map(|Query(p)| p).unwrap_or_default()
}

/// A non-empty query parameter.
pub fn param<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// The JSON object in a POST body: 44002 if empty, 47001 if not a JSON object.
pub fn json_body(body: &[u8]) -> Result<Value, WxError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(WxError::new(errcode::EMPTY_POST_DATA));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(WxError::new(errcode::DATA_FORMAT_ERROR)),
    }
}

/// `{"errcode":0,"errmsg":"ok"}` plus `extra`'s fields.
pub fn ok(extra: Value) -> Json<Value> {
    let mut m = Map::new();
    m.insert("errcode".into(), 0.into());
    m.insert("errmsg".into(), "ok".into());
    if let Value::Object(x) = extra {
        m.extend(x);
    }
    Json(Value::Object(m))
}

/// A string field of a JSON body ("" if absent or not a string).
pub fn str_field<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or_default()
}

impl Sandbox {
    /// The appid behind the `access_token` query parameter, for an official-account API:
    /// 41001 if missing, 40001 if unknown or revoked, 42001 if expired.
    pub(crate) fn auth_official(&self, p: &Params, endpoint: &str) -> Result<String, WxError> {
        self.auth(
            p,
            endpoint,
            TokenKind::is_official,
            errcode::INVALID_CREDENTIAL,
        )
    }

    /// Same for WeCom, which calls an unknown token 40014.
    pub(crate) fn auth_wecom(&self, p: &Params, endpoint: &str) -> Result<String, WxError> {
        self.auth(p, endpoint, |k| k == TokenKind::Wecom, 40014)
    }

    fn auth(
        &self,
        p: &Params,
        endpoint: &str,
        accept: impl Fn(TokenKind) -> bool,
        unknown: i64,
    ) -> Result<String, WxError> {
        let token =
            param(p, "access_token").ok_or_else(|| WxError::new(errcode::ACCESS_TOKEN_MISSING))?;
        self.with(|s| {
            let now = s.now();
            let appid = s.tokens.validate(token, now, accept).map_err(|e| {
                if e.errcode == errcode::INVALID_CREDENTIAL {
                    WxError::new(unknown)
                } else {
                    e
                }
            })?;
            s.counters.hit_account(endpoint, &appid);
            Ok(appid)
        })
    }
}
