//! Opening a callback: check `signature` (and the timestamp) before reading the body, then in
//! compatible / safe mode check `msg_signature` over `Encrypt` and decrypt it.

use super::CallbackError;
use crate::wechat::crypto::{self, MessageCrypto};
use serde::Deserialize;

/// WeChat retries for about 15 s; 5 minutes tolerates clock skew and still bounds replays.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// The query WeChat puts on every POST to the server URL.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackQuery {
    /// sha1 of token, timestamp, nonce.
    pub signature: Option<String>,
    /// Seconds since the epoch, as text.
    pub timestamp: Option<String>,
    /// Random text.
    pub nonce: Option<String>,
    /// The sender's openid (informational; the signed body is authoritative).
    pub openid: Option<String>,
    /// `aes` in compatible and safe mode.
    pub encrypt_type: Option<String>,
    /// sha1 of token, timestamp, nonce and `Encrypt`.
    pub msg_signature: Option<String>,
}

/// A verified callback: the plaintext XML, and whether it came encrypted (then so must the
/// reply be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The message XML.
    pub xml: String,
    /// It arrived in an AES envelope.
    pub encrypted: bool,
    /// The request's timestamp and nonce, reused to sign an encrypted reply.
    pub timestamp: String,
    /// See `timestamp`.
    pub nonce: String,
}

/// Only the envelope's `Encrypt` element; every other element is ignored here.
#[derive(Deserialize)]
struct EncryptedBody {
    #[serde(rename = "Encrypt", default)]
    encrypt: Option<String>,
}

/// Verifies and opens one callback. `crypto` is the account's AES context, if it has a key;
/// `now` is epoch seconds.
pub fn open(
    query: &CallbackQuery,
    body: &[u8],
    token: &str,
    crypto: Option<&MessageCrypto>,
    now: i64,
) -> Result<Opened, CallbackError> {
    let signature = required(&query.signature, "signature")?;
    let timestamp = required(&query.timestamp, "timestamp")?;
    let nonce = required(&query.nonce, "nonce")?;
    if !crypto::verify_signature(signature, token, timestamp, nonce) {
        return Err(CallbackError::BadSignature);
    }
    let sent_at: i64 = timestamp
        .parse()
        .map_err(|_| CallbackError::StaleTimestamp(timestamp.to_string()))?;
    if (now - sent_at).abs() > REPLAY_WINDOW_SECS {
        return Err(CallbackError::StaleTimestamp(timestamp.to_string()));
    }
    let text = std::str::from_utf8(body).map_err(|_| CallbackError::NotUtf8)?;
    let encrypted = query
        .encrypt_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("aes"));
    let xml = if encrypted {
        let msg_signature = required(&query.msg_signature, "msg_signature")?;
        let envelope: EncryptedBody = quick_xml::de::from_str(text)
            .map_err(|e| CallbackError::MalformedXml(e.to_string()))?;
        let encrypt = envelope
            .encrypt
            .filter(|e| !e.trim().is_empty())
            .ok_or(CallbackError::MissingEncrypt)?;
        if !crypto::verify_msg_signature(msg_signature, token, timestamp, nonce, &encrypt) {
            return Err(CallbackError::BadSignature);
        }
        let crypto = crypto.ok_or(CallbackError::NoAesKey)?;
        let plain = crypto.decrypt(&encrypt)?;
        String::from_utf8(plain).map_err(|_| CallbackError::NotUtf8)?
    } else {
        text.to_string()
    };
    Ok(Opened {
        xml,
        encrypted,
        timestamp: timestamp.to_string(),
        nonce: nonce.to_string(),
    })
}

fn required<'a>(value: &'a Option<String>, name: &'static str) -> Result<&'a str, CallbackError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or(CallbackError::MissingParameter(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOKEN: &str = "token";
    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const APPID: &str = "wx2c2769f8efd9abc2";
    const NOW: i64 = 1_700_000_000;

    fn query(ts: i64) -> CallbackQuery {
        let timestamp = ts.to_string();
        CallbackQuery {
            signature: Some(crypto::signature(TOKEN, &timestamp, "n1")),
            timestamp: Some(timestamp),
            nonce: Some("n1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn plaintext_opens_when_signed_and_fresh() {
        let opened = open(&query(NOW), b"<xml/>", TOKEN, None, NOW).unwrap();
        assert_eq!(opened.xml, "<xml/>");
        assert!(!opened.encrypted);
    }

    #[test]
    fn forged_missing_and_stale_are_refused() {
        let mut q = query(NOW);
        q.signature = Some("0".repeat(40));
        assert_eq!(
            open(&q, b"", TOKEN, None, NOW),
            Err(CallbackError::BadSignature)
        );
        let mut q = query(NOW);
        q.nonce = None;
        assert_eq!(
            open(&q, b"", TOKEN, None, NOW),
            Err(CallbackError::MissingParameter("nonce"))
        );
        assert!(matches!(
            open(&query(NOW - REPLAY_WINDOW_SECS - 1), b"", TOKEN, None, NOW),
            Err(CallbackError::StaleTimestamp(_))
        ));
        assert!(open(&query(NOW - REPLAY_WINDOW_SECS), b"", TOKEN, None, NOW).is_ok());
    }

    #[test]
    fn safe_mode_checks_msg_signature_then_decrypts() {
        let crypto = MessageCrypto::new(KEY, APPID).unwrap();
        let encrypt = crypto.encrypt(b"<xml><MsgType>text</MsgType></xml>");
        let body = format!(
            "<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        );
        let mut q = query(NOW);
        q.encrypt_type = Some("aes".into());
        q.msg_signature = Some(crypto::msg_signature(
            TOKEN,
            &NOW.to_string(),
            "n1",
            &encrypt,
        ));
        let opened = open(&q, body.as_bytes(), TOKEN, Some(&crypto), NOW).unwrap();
        assert!(opened.encrypted);
        assert_eq!(opened.xml, "<xml><MsgType>text</MsgType></xml>");

        let mut forged = q.clone();
        forged.msg_signature = Some(crypto::msg_signature(
            TOKEN,
            &NOW.to_string(),
            "n1",
            "other",
        ));
        assert_eq!(
            open(&forged, body.as_bytes(), TOKEN, Some(&crypto), NOW),
            Err(CallbackError::BadSignature)
        );
        assert_eq!(
            open(&q, body.as_bytes(), TOKEN, None, NOW),
            Err(CallbackError::NoAesKey)
        );
        assert_eq!(
            open(
                &q,
                b"<xml><ToUserName>gh</ToUserName></xml>",
                TOKEN,
                Some(&crypto),
                NOW
            ),
            Err(CallbackError::MissingEncrypt)
        );
        assert!(matches!(
            open(&q, b"<xml><Encrypt>", TOKEN, Some(&crypto), NOW),
            Err(CallbackError::MalformedXml(_) | CallbackError::MissingEncrypt)
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        /// Correctly signed but arbitrary `Encrypt` text never panics the decryptor.
        #[test]
        fn arbitrary_ciphertext_never_panics(encrypt in "[A-Za-z0-9+/=]{0,200}", raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            let crypto = MessageCrypto::new(KEY, APPID).unwrap();
            for candidate in [encrypt, base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &raw)] {
                let body = format!("<xml><Encrypt>{candidate}</Encrypt></xml>");
                let mut q = query(NOW);
                q.encrypt_type = Some("aes".into());
                q.msg_signature = Some(crypto::msg_signature(TOKEN, &NOW.to_string(), "n1", &candidate));
                let _ = open(&q, body.as_bytes(), TOKEN, Some(&crypto), NOW);
                let _ = crypto.decrypt(&candidate);
            }
        }

        /// Arbitrary bodies and queries never panic `open`.
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400), aes in any::<bool>()) {
            let crypto = MessageCrypto::new(KEY, APPID).unwrap();
            let mut q = query(NOW);
            if aes {
                q.encrypt_type = Some("aes".into());
                q.msg_signature = Some("x".into());
            }
            let _ = open(&q, &body, TOKEN, Some(&crypto), NOW);
        }
    }
}
