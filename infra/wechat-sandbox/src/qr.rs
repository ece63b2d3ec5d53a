//! Parametric QR codes: `qrcode/create` validation, tickets, and the `showqrcode` image.

use crate::errcode::{self, WxError};
use crate::ids;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// Longest temporary QR lifetime (30 days).
pub const MAX_EXPIRE_SECONDS: i64 = 2_592_000;
/// Lifetime of a temporary QR code created without `expire_seconds`.
pub const DEFAULT_EXPIRE_SECONDS: i64 = 60;
/// Permanent QR codes allowed per account.
pub const MAX_PERMANENT: usize = 100_000;
/// Longest `scene_str`.
pub const MAX_SCENE_STR: usize = 64;

/// A QR scene: integer id or string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scene {
    /// `scene_id`.
    Id(u64),
    /// `scene_str`.
    Str(String),
}

impl fmt::Display for Scene {
    // The form WeChat puts in EventKey.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Str(s) => f.write_str(s),
        }
    }
}

/// A QR code created through `qrcode/create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrTicket {
    /// The ticket (standard base64, so it must be URL-encoded in `showqrcode`).
    pub ticket: String,
    /// Account that created it.
    pub appid: String,
    /// `QR_SCENE`, `QR_STR_SCENE`, `QR_LIMIT_SCENE` or `QR_LIMIT_STR_SCENE`.
    pub action_name: String,
    /// Its scene.
    pub scene: Scene,
    /// Permanent code?
    pub permanent: bool,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// Expiry (Unix seconds) of temporary codes.
    pub expires_at: Option<i64>,
    /// The QR content, `http://weixin.qq.com/q/...`.
    pub url: String,
}

impl QrTicket {
    /// The `qrcode/create` response.
    pub fn to_response(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("ticket".into(), self.ticket.clone().into());
        if let Some(exp) = self.expires_at {
            m.insert("expire_seconds".into(), (exp - self.created_at).into());
        }
        m.insert("url".into(), self.url.clone().into());
        Value::Object(m)
    }

    /// Whether a temporary code has expired at `now`.
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }
}

/// Every QR code created.
#[derive(Debug, Default)]
pub struct QrStore {
    tickets: HashMap<String, QrTicket>,
    by_url: HashMap<String, String>,
    permanent: HashMap<(String, Scene), String>,
    permanent_count: HashMap<String, usize>,
}

impl QrStore {
    /// Handles a `qrcode/create` body for `appid`.
    pub fn create(&mut self, appid: &str, body: &Value, now: i64) -> Result<QrTicket, WxError> {
        let action = body
            .get("action_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (permanent, want_str) = match action {
            "QR_SCENE" => (false, false),
            "QR_STR_SCENE" => (false, true),
            "QR_LIMIT_SCENE" => (true, false),
            "QR_LIMIT_STR_SCENE" => (true, true),
            _ => return Err(WxError::new(errcode::INVALID_ACTION_NAME)),
        };
        let scene_obj = body.get("action_info").and_then(|i| i.get("scene"));
        let scene = if want_str {
            let s = scene_obj
                .and_then(|s| s.get("scene_str"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let len = s.chars().count();
            if len == 0 || len > MAX_SCENE_STR {
                return Err(WxError::with_detail(
                    errcode::INVALID_ACTION_INFO,
                    "scene_str must be 1-64 characters",
                ));
            }
            Scene::Str(s.to_string())
        } else {
            let max = if permanent {
                MAX_PERMANENT as u64
            } else {
                u64::from(u32::MAX)
            };
            match scene_obj
                .and_then(|s| s.get("scene_id"))
                .and_then(Value::as_u64)
            {
                Some(id) if (1..=max).contains(&id) => Scene::Id(id),
                _ => {
                    let range = if permanent {
                        "1-100000"
                    } else {
                        "a non-zero 32-bit integer"
                    };
                    return Err(WxError::with_detail(
                        errcode::INVALID_ACTION_INFO,
                        &format!("scene_id must be {range}"),
                    ));
                }
            }
        };
        if permanent {
            // WeChat hands back the same ticket for an existing permanent scene.
            if let Some(t) = self
                .permanent
                .get(&(appid.to_string(), scene.clone()))
                .and_then(|t| self.tickets.get(t))
            {
                return Ok(t.clone());
            }
            if self.permanent_count.get(appid).copied().unwrap_or(0) >= MAX_PERMANENT {
                return Err(WxError::with_detail(
                    errcode::INVALID_ACTION_INFO,
                    "permanent qrcode limit (100000) reached",
                ));
            }
        }
        let expires_at = if permanent {
            None
        } else {
            let secs = match body.get("expire_seconds") {
                None | Some(Value::Null) => DEFAULT_EXPIRE_SECONDS,
                Some(v) => match v.as_i64() {
                    Some(s) if s > 0 => s.min(MAX_EXPIRE_SECONDS),
                    _ => {
                        return Err(WxError::with_detail(
                            errcode::INVALID_ACTION_INFO,
                            "invalid expire_seconds",
                        ));
                    }
                },
            };
            Some(now + secs)
        };
        let url = format!("http://weixin.qq.com/q/02{}", ids::random_alnum(22));
        let ticket = make_ticket(&url, permanent, now, expires_at.unwrap_or(0));
        let qr = QrTicket {
            ticket: ticket.clone(),
            appid: appid.to_string(),
            action_name: action.to_string(),
            scene: scene.clone(),
            permanent,
            created_at: now,
            expires_at,
            url: url.clone(),
        };
        if permanent {
            self.permanent
                .insert((appid.to_string(), scene), ticket.clone());
            *self.permanent_count.entry(appid.to_string()).or_default() += 1;
        }
        self.by_url.insert(url, ticket.clone());
        self.tickets.insert(ticket, qr.clone());
        Ok(qr)
    }

    /// The QR code with this ticket, or with this URL (what a phone camera reads).
    pub fn resolve(&self, ticket_or_url: &str) -> Option<&QrTicket> {
        self.tickets.get(ticket_or_url).or_else(|| {
            self.by_url
                .get(ticket_or_url)
                .and_then(|t| self.tickets.get(t))
        })
    }

    /// QR codes of one account (all accounts if `None`), oldest first.
    pub fn list(&self, appid: Option<&str>) -> Vec<QrTicket> {
        let mut v: Vec<QrTicket> = self
            .tickets
            .values()
            .filter(|t| appid.is_none_or(|a| t.appid == a))
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.ticket.cmp(&b.ticket))
        });
        v
    }
}

/// A ticket shaped like WeChat's: standard base64 of a binary record holding the URL and
/// times, starting `gQ`, ending `==`, and always containing `+` and `/` so a client that
/// forgets to URL-encode it fails every time rather than now and then.
fn make_ticket(url: &str, permanent: bool, created: i64, expires: i64) -> String {
    let mut b: Vec<u8> = vec![0x81, if permanent { 0x02 } else { 0x01 }, rand::random()];
    b.extend_from_slice(&[0xfb, 0xff, 0xbf]);
    b.extend_from_slice(&rand::random::<[u8; 6]>());
    b.push(u8::try_from(url.len()).unwrap_or(u8::MAX));
    b.extend_from_slice(url.as_bytes());
    b.extend_from_slice(&[0x00, 0x02, 0x04]);
    b.extend_from_slice(&u32::try_from(created.max(0)).unwrap_or(0).to_le_bytes());
    b.extend_from_slice(&[0x03, 0x04]);
    b.extend_from_slice(&u32::try_from(expires.max(0)).unwrap_or(0).to_le_bytes());
    while b.len() % 3 != 1 {
        b.push(rand::random());
    }
    STANDARD.encode(b)
}

/// PNG of the QR code encoding `content`, 8 pixels a module with a 4-module quiet zone.
pub fn render_png(content: &str) -> Option<Vec<u8>> {
    let code = ::qrcode::QrCode::new(content.as_bytes()).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let side = (width + 2 * QUIET) * SCALE;
    let side_u32 = u32::try_from(side).ok()?;
    Some(crate::png::encode_bilevel(side_u32, side_u32, |x, y| {
        let (mx, my) = (x as usize / SCALE, y as usize / SCALE);
        if mx < QUIET || my < QUIET || mx >= width + QUIET || my >= width + QUIET {
            return false;
        }
        colors.get((my - QUIET) * width + (mx - QUIET)) == Some(&::qrcode::Color::Dark)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn temporary_codes_validate_and_expire() {
        let mut s = QrStore::default();
        let t = s
            .create("wx1", &json!({"expire_seconds": 604800, "action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 123}}}), 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.to_response()["expire_seconds"], 604_800);
        assert!(
            t.ticket.starts_with("gQ") && t.ticket.ends_with("==") && t.ticket.contains("+/+/")
        );
        assert!(t.url.starts_with("http://weixin.qq.com/q/"));
        assert!(!t.expired(1000 + 604_799));
        assert!(t.expired(1000 + 604_800));
        let d = s.create(
            "wx1",
            &json!({"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "c1"}}}),
            0,
        );
        assert_eq!(d.map(|t| t.expires_at), Ok(Some(60)));
        let huge = s.create("wx1", &json!({"expire_seconds": 99_999_999, "action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 1}}}), 0);
        assert_eq!(huge.map(|t| t.expires_at), Ok(Some(MAX_EXPIRE_SECONDS)));
        assert_eq!(
            s.resolve(&t.url).map(|q| q.scene.clone()),
            Some(Scene::Id(123))
        );
    }

    #[test]
    fn invalid_requests_get_wechat_codes() {
        let mut s = QrStore::default();
        let code = |s: &mut QrStore, v: Value| s.create("wx1", &v, 0).err().map(|e| e.errcode);
        assert_eq!(code(&mut s, json!({"action_name": "QR_NOPE"})), Some(40052));
        assert_eq!(
            code(
                &mut s,
                json!({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 0}}})
            ),
            Some(40053)
        );
        assert_eq!(
            code(
                &mut s,
                json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}})
            ),
            Some(40053)
        );
        assert_eq!(
            code(
                &mut s,
                json!({"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "x".repeat(65)}}})
            ),
            Some(40053)
        );
        assert_eq!(
            code(
                &mut s,
                json!({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {}})
            ),
            Some(40053)
        );
        assert_eq!(
            code(
                &mut s,
                json!({"action_name": "QR_SCENE", "expire_seconds": "x", "action_info": {"scene": {"scene_id": 1}}})
            ),
            Some(40053)
        );
    }

    #[test]
    fn permanent_codes_are_reused_and_limited() {
        let mut s = QrStore::default();
        let body = |id: u64| json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": id}}});
        let a = s.create("wx1", &body(5), 0).map(|t| t.ticket);
        let b = s.create("wx1", &body(5), 10).map(|t| t.ticket);
        assert_eq!(a, b);
        assert!(
            s.create("wx1", &body(5), 0)
                .is_ok_and(|t| t.to_response().get("expire_seconds").is_none())
        );
        s.permanent_count.insert("wx1".into(), MAX_PERMANENT);
        assert_eq!(
            s.create("wx1", &body(6), 0).err().map(|e| e.errcode),
            Some(40053)
        );
        // The existing one is still handed back.
        assert!(s.create("wx1", &body(5), 0).is_ok());
    }

    #[test]
    fn renders_a_png() {
        let png = render_png("http://weixin.qq.com/q/02abc").unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG"));
    }
}
