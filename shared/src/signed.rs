//! Signed, expiring tokens (admin bearer tokens, OAuth `state`, session cookies):
//! `base64url(json) "." base64url(HMAC-SHA256(key, purpose "." base64url(json)))`.
//! The purpose is part of the MAC, so a token minted for one use is refused by every other.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused. Deliberately coarse: callers answer 401/400 without detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not of the token's shape, or its payload is not what was expected.
    #[error("token is malformed")]
    Malformed,
    /// The MAC does not match (forged, altered, or minted for another purpose or key).
    #[error("token signature does not match")]
    BadSignature,
    /// Past its expiry.
    #[error("token has expired")]
    Expired,
}

/// What is signed: the caller's claims plus the expiry.
#[derive(Serialize, serde::Deserialize)]
struct Envelope<T> {
    /// Expiry, epoch seconds.
    exp: i64,
    /// The claims.
    data: T,
}

/// Signs and verifies tokens with one key. Cheap to clone; `Debug` hides the key.
#[derive(Clone)]
pub struct Signer {
    key: Arc<[u8]>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { .. }")
    }
}

impl Signer {
    /// A signer over raw key bytes (at least 32).
    pub fn new(key: &[u8]) -> Self {
        Self {
            key: Arc::from(key),
        }
    }

    /// A signer over a base64 key such as `SIGNING_KEY`.
    pub fn from_base64(key: &str) -> Result<Self, crate::secrets::SecretsError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| crate::secrets::SecretsError::BadKey)?;
        if bytes.len() < 32 {
            return Err(crate::secrets::SecretsError::BadKey);
        }
        Ok(Self::new(&bytes))
    }

    fn mac(&self, purpose: &str, payload: &str) -> HmacSha256 {
        // HMAC accepts keys of any length; new_from_slice cannot fail for it.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(purpose.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac
    }

    /// A short hex MAC of `message` for `purpose` (128 bits), for places that only take
    /// `[A-Za-z0-9]`, such as WeChat's OAuth `state`.
    pub fn tag(&self, purpose: &str, message: &str) -> String {
        hex::encode(&self.mac(purpose, message).finalize().into_bytes()[..16])
    }

    /// Checks a [`Signer::tag`] in constant time.
    pub fn check_tag(&self, purpose: &str, message: &str, tag_hex: &str) -> bool {
        match hex::decode(tag_hex) {
            Ok(tag) if tag.len() == 16 => self
                .mac(purpose, message)
                .verify_truncated_left(&tag)
                .is_ok(),
            _ => false,
        }
    }

    /// A token carrying `claims` for `purpose`, valid for `ttl` from now.
    pub fn sign<T: Serialize>(&self, purpose: &str, claims: &T, ttl: Duration) -> String {
        let exp = crate::domain::now().timestamp() + ttl.as_secs() as i64;
        let envelope = Envelope { exp, data: claims };
        // Serialising plain claims structs cannot fail; an empty payload would fail verify.
        let json = serde_json::to_vec(&envelope).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(purpose, &payload).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// The claims of a token minted for `purpose` by this key, if it has not expired.
    pub fn verify<T: DeserializeOwned>(&self, purpose: &str, token: &str) -> Result<T, TokenError> {
        let (payload, tag) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Malformed)?;
        self.mac(purpose, payload)
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let envelope: Envelope<T> =
            serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if envelope.exp < crate::domain::now().timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(envelope.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Claims {
        user: String,
    }

    fn claims() -> Claims {
        Claims {
            user: "张三".into(),
        }
    }

    #[test]
    fn round_trip() {
        let signer = Signer::new(&[7; 32]);
        let token = signer.sign("session", &claims(), Duration::from_secs(60));
        assert_eq!(signer.verify::<Claims>("session", &token), Ok(claims()));
    }

    #[test]
    fn other_purpose_key_or_tampering_is_refused() {
        let signer = Signer::new(&[7; 32]);
        let token = signer.sign("session", &claims(), Duration::from_secs(60));
        assert_eq!(
            signer.verify::<Claims>("oauth_state", &token),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            Signer::new(&[8; 32]).verify::<Claims>("session", &token),
            Err(TokenError::BadSignature)
        );
        let (payload, tag) = token.split_once('.').unwrap();
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(br#"{"exp":9999999999,"data":{"user":"root"}}"#)
        );
        assert_eq!(
            signer.verify::<Claims>("session", &forged),
            Err(TokenError::BadSignature)
        );
        for bad in ["", ".", "abc", &format!("{payload}.!!"), payload] {
            assert!(signer.verify::<Claims>("session", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_check_message_and_purpose() {
        let signer = Signer::new(&[7; 32]);
        let tag = signer.tag("oauth", "wx1|c1|123");
        assert_eq!(tag.len(), 32);
        assert!(signer.check_tag("oauth", "wx1|c1|123", &tag));
        assert!(!signer.check_tag("oauth", "wx1|c2|123", &tag));
        assert!(!signer.check_tag("other", "wx1|c1|123", &tag));
        assert!(!signer.check_tag("oauth", "wx1|c1|123", "zz"));
        assert!(!signer.check_tag("oauth", "wx1|c1|123", &tag[..30]));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let signer = Signer::new(&[7; 32]);
        let envelope = Envelope {
            exp: 1,
            data: claims(),
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&envelope).unwrap());
        let tag = URL_SAFE_NO_PAD.encode(signer.mac("s", &payload).finalize().into_bytes());
        assert_eq!(
            signer.verify::<Claims>("s", &format!("{payload}.{tag}")),
            Err(TokenError::Expired)
        );
    }
}
