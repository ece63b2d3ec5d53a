//! Parametric QR codes: `qrcode/create` and the `showqrcode` image URL.

use crate::wechat::client::{Host, WechatClient};
use crate::wechat::error::WechatError;
use serde::Deserialize;
use serde_json::{Value, json};

/// Longest lifetime of a temporary QR code (30 days).
pub const MAX_EXPIRE_SECONDS: u32 = 2_592_000;
/// Largest integer scene of a permanent QR code.
pub const MAX_LIMIT_SCENE_ID: u32 = 100_000;
/// Longest string scene, in characters.
pub const MAX_SCENE_STR_CHARS: usize = 64;

/// What a QR code carries and how long it lives; one variant per WeChat `action_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrCodeRequest {
    /// `QR_SCENE`: temporary, non-zero 32-bit integer scene.
    Scene {
        /// Scene id (1..=u32::MAX).
        scene_id: u32,
        /// Lifetime, 1..=2,592,000 s.
        expire_seconds: u32,
    },
    /// `QR_STR_SCENE`: temporary, string scene of 1..=64 characters.
    StrScene {
        /// Scene string.
        scene_str: String,
        /// Lifetime, 1..=2,592,000 s.
        expire_seconds: u32,
    },
    /// `QR_LIMIT_SCENE`: permanent, integer scene 1..=100000.
    LimitScene {
        /// Scene id.
        scene_id: u32,
    },
    /// `QR_LIMIT_STR_SCENE`: permanent, string scene of 1..=64 characters.
    LimitStrScene {
        /// Scene string.
        scene_str: String,
    },
}

fn invalid(reason: String) -> WechatError {
    WechatError::InvalidRequest(reason)
}

fn check_expire(expire_seconds: u32) -> Result<(), WechatError> {
    if expire_seconds == 0 || expire_seconds > MAX_EXPIRE_SECONDS {
        return Err(invalid(format!(
            "expire_seconds must be 1..={MAX_EXPIRE_SECONDS}, got {expire_seconds}"
        )));
    }
    Ok(())
}

fn check_scene_str(scene_str: &str) -> Result<(), WechatError> {
    let chars = scene_str.chars().count();
    if chars == 0 || chars > MAX_SCENE_STR_CHARS {
        return Err(invalid(format!(
            "scene_str must be 1..={MAX_SCENE_STR_CHARS} characters, got {chars}"
        )));
    }
    Ok(())
}

impl QrCodeRequest {
    /// WeChat's `action_name`.
    pub fn action_name(&self) -> &'static str {
        match self {
            Self::Scene { .. } => "QR_SCENE",
            Self::StrScene { .. } => "QR_STR_SCENE",
            Self::LimitScene { .. } => "QR_LIMIT_SCENE",
            Self::LimitStrScene { .. } => "QR_LIMIT_STR_SCENE",
        }
    }

    /// Whether the code never expires.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::LimitScene { .. } | Self::LimitStrScene { .. })
    }

    /// Checks scene ranges and lifetime against WeChat's limits.
    pub fn validate(&self) -> Result<(), WechatError> {
        match self {
            Self::Scene {
                scene_id,
                expire_seconds,
            } => {
                if *scene_id == 0 {
                    return Err(invalid("QR_SCENE scene_id must be non-zero".into()));
                }
                check_expire(*expire_seconds)
            }
            Self::StrScene {
                scene_str,
                expire_seconds,
            } => {
                check_scene_str(scene_str)?;
                check_expire(*expire_seconds)
            }
            Self::LimitScene { scene_id } => {
                if !(1..=MAX_LIMIT_SCENE_ID).contains(scene_id) {
                    return Err(invalid(format!(
                        "QR_LIMIT_SCENE scene_id must be 1..={MAX_LIMIT_SCENE_ID}, got {scene_id}"
                    )));
                }
                Ok(())
            }
            Self::LimitStrScene { scene_str } => check_scene_str(scene_str),
        }
    }

    /// The JSON body of `qrcode/create`.
    pub fn to_json(&self) -> Value {
        let action_name = self.action_name();
        match self {
            Self::Scene {
                scene_id,
                expire_seconds,
            } => json!({
                "expire_seconds": expire_seconds, "action_name": action_name,
                "action_info": {"scene": {"scene_id": scene_id}}
            }),
            Self::StrScene {
                scene_str,
                expire_seconds,
            } => json!({
                "expire_seconds": expire_seconds, "action_name": action_name,
                "action_info": {"scene": {"scene_str": scene_str}}
            }),
            Self::LimitScene { scene_id } => json!({
                "action_name": action_name, "action_info": {"scene": {"scene_id": scene_id}}
            }),
            Self::LimitStrScene { scene_str } => json!({
                "action_name": action_name, "action_info": {"scene": {"scene_str": scene_str}}
            }),
        }
    }
}

/// Answer of `qrcode/create`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QrTicket {
    /// Ticket for `showqrcode`.
    pub ticket: String,
    /// Lifetime in seconds (absent for permanent codes).
    #[serde(default)]
    pub expire_seconds: Option<u64>,
    /// The QR content itself: render it locally instead of fetching WeChat's image.
    pub url: String,
}

impl WechatClient {
    /// `POST cgi-bin/qrcode/create` after validating the request.
    pub async fn create_qrcode(
        &self,
        access_token: &str,
        request: &QrCodeRequest,
    ) -> Result<QrTicket, WechatError> {
        request.validate()?;
        self.post_json(
            Host::Api,
            "cgi-bin/qrcode/create",
            Some(access_token),
            &request.to_json(),
        )
        .await
    }

    /// URL of WeChat's image for `ticket` (`showqrcode?ticket=<url-encoded>`); needs no token.
    pub fn show_qrcode_url(&self, ticket: &str) -> Result<String, WechatError> {
        let base = format!("{}/cgi-bin/showqrcode", self.endpoints().mp_base);
        let url = reqwest::Url::parse_with_params(&base, &[("ticket", ticket)])
            .map_err(|e| invalid(format!("bad showqrcode base {base:?}: {e}")))?;
        Ok(url.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::client::WechatEndpoints;

    #[test]
    fn action_names_and_bodies() {
        let temp = QrCodeRequest::Scene {
            scene_id: 123,
            expire_seconds: 604_800,
        };
        assert_eq!(
            temp.to_json(),
            json!({"expire_seconds": 604800, "action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 123}}})
        );
        let temp_str = QrCodeRequest::StrScene {
            scene_str: "course:1".into(),
            expire_seconds: 60,
        };
        assert_eq!(temp_str.action_name(), "QR_STR_SCENE");
        assert_eq!(
            temp_str.to_json()["action_info"]["scene"]["scene_str"],
            "course:1"
        );
        let perm = QrCodeRequest::LimitScene { scene_id: 7 };
        assert_eq!(
            perm.to_json(),
            json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 7}}})
        );
        assert!(perm.is_permanent());
        let perm_str = QrCodeRequest::LimitStrScene {
            scene_str: "c".into(),
        };
        assert_eq!(perm_str.action_name(), "QR_LIMIT_STR_SCENE");
        assert!(perm_str.to_json().get("expire_seconds").is_none());
    }

    #[test]
    fn validation_limits() {
        let ok = |r: QrCodeRequest| r.validate().is_ok();
        assert!(ok(QrCodeRequest::LimitScene { scene_id: 1 }));
        assert!(ok(QrCodeRequest::LimitScene { scene_id: 100_000 }));
        assert!(!ok(QrCodeRequest::LimitScene { scene_id: 0 }));
        assert!(!ok(QrCodeRequest::LimitScene { scene_id: 100_001 }));
        assert!(ok(QrCodeRequest::Scene {
            scene_id: u32::MAX,
            expire_seconds: MAX_EXPIRE_SECONDS
        }));
        assert!(!ok(QrCodeRequest::Scene {
            scene_id: 0,
            expire_seconds: 60
        }));
        assert!(!ok(QrCodeRequest::Scene {
            scene_id: 1,
            expire_seconds: MAX_EXPIRE_SECONDS + 1
        }));
        assert!(!ok(QrCodeRequest::Scene {
            scene_id: 1,
            expire_seconds: 0
        }));
        assert!(ok(QrCodeRequest::LimitStrScene {
            scene_str: "课".repeat(64)
        }));
        assert!(!ok(QrCodeRequest::LimitStrScene {
            scene_str: "x".repeat(65)
        }));
        assert!(!ok(QrCodeRequest::LimitStrScene {
            scene_str: String::new()
        }));
        assert!(!ok(QrCodeRequest::StrScene {
            scene_str: "x".into(),
            expire_seconds: 2_592_001
        }));
    }

    #[test]
    fn showqrcode_url_encodes_ticket() {
        let client = WechatClient::new(WechatEndpoints::default()).unwrap();
        let url = client
            .show_qrcode_url("gQH47joAAAAAAAAAASxo/dHRw+Oi8v=")
            .unwrap();
        assert_eq!(
            url,
            "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQH47joAAAAAAAAAASxo%2FdHRw%2BOi8v%3D"
        );
    }
}
