//! Opening a callback: check `signature` (and the timestamp) before reading the body, then in
//! compatible / safe mode check `msg_signature` over `Encrypt` and decrypt it.
//!
//! The account's configured mode decides, not the caller: a Safe or Compatible account
//! accepts only an encrypted body with a valid `msg_signature` (its plaintext fields, in
//! compatible mode, are ignored). A plaintext body's `signature` covers only token,
//! timestamp and nonce, not the body, so the caller must also refuse a signed query seen
//! before with another body (see [`Opened::replayable`]).

use super::CallbackError;
use crate::domain::CallbackMode;
use crate::wechat::crypto::{self, MessageCrypto};
use serde::Deserialize;
use sha2::{Digest, Sha256};

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
    /// The `signature` of the query (unique per request WeChat signs).
    pub signature: String,
    /// sha256 of the raw body, hex.
    pub body_digest: String,
}

impl Opened {
    /// A plaintext callback's signature does not cover its body: anyone who saw one signed
    /// URL could post another body under it within the window. Such a callback must be
    /// recorded (signature → body digest) and refused when the digest differs.
    pub fn replayable(&self) -> bool {
        !self.encrypted
    }
}

/// The timestamp of a signed request, if within [`REPLAY_WINDOW_SECS`] of `now`.
pub fn fresh_timestamp(timestamp: &str, now: i64) -> Result<i64, CallbackError> {
    let sent_at: i64 = timestamp
        .parse()
        .map_err(|_| CallbackError::StaleTimestamp(timestamp.to_string()))?;
    if (now - sent_at).abs() > REPLAY_WINDOW_SECS {
        return Err(CallbackError::StaleTimestamp(timestamp.to_string()));
    }
    Ok(sent_at)
}

/// Only the envelope's `Encrypt` element; every other element is ignored here.
#[derive(Deserialize)]
struct EncryptedBody {
    #[serde(rename = "Encrypt", default)]
    encrypt: Option<String>,
}

/// Verifies and opens one callback for an account in `mode`. `crypto` is the account's AES
/// context, if it has a key; `now` is epoch seconds.
pub fn open(
    query: &CallbackQuery,
    body: &[u8],
    token: &str,
    crypto: Option<&MessageCrypto>,
    mode: CallbackMode,
    now: i64,
) -> Result<Opened, CallbackError> {
    let signature = required(&query.signature, "signature")?;
    let timestamp = required(&query.timestamp, "timestamp")?;
    let nonce = required(&query.nonce, "nonce")?;
    if !crypto::verify_signature(signature, token, timestamp, nonce) {
        return Err(CallbackError::BadSignature);
    }
    fresh_timestamp(timestamp, now)?;
    let encrypted = match mode {
        // Only an encrypted body is trusted, whatever the query says.
        CallbackMode::Safe | CallbackMode::Compatible => {
            if query.msg_signature.as_deref().is_none_or(str::is_empty) {
                return Err(CallbackError::PlaintextRefused);
            }
            true
        }
        // Plaintext accounts get plaintext from WeChat; an encrypted body with a valid
        // msg_signature is at least as trustworthy, so it is opened too. A msg_signature
        // beside a plaintext body is not something WeChat sends: refused, not ignored.
        CallbackMode::Plaintext => {
            let aes = query
                .encrypt_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("aes"));
            if !aes
                && query
                    .msg_signature
                    .as_deref()
                    .is_some_and(|m| !m.is_empty())
            {
                return Err(CallbackError::BadSignature);
            }
            aes
        }
    };
    let text = std::str::from_utf8(body).map_err(|_| CallbackError::NotUtf8)?;
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
        // One spelling per signature (verification accepts any case): the replay record
        // is keyed on it, so an upper-case copy must not land on another key.
        signature: signature.to_ascii_lowercase(),
        body_digest: hex::encode(Sha256::digest(body)),
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

    fn signed(ts: i64, nonce: &str) -> CallbackQuery {
        let timestamp = ts.to_string();
        CallbackQuery {
            signature: Some(crypto::signature(TOKEN, &timestamp, nonce)),
            timestamp: Some(timestamp),
            nonce: Some(nonce.into()),
            ..Default::default()
        }
    }

    fn query(ts: i64) -> CallbackQuery {
        signed(ts, "n1")
    }

    /// What WeChat posts in safe mode for `message`: the envelope and its signed query.
    fn sealed(message: &str, ts: i64, nonce: &str) -> (CallbackQuery, String, String) {
        let crypto = MessageCrypto::new(KEY, APPID).unwrap();
        let encrypt = crypto.encrypt(message.as_bytes());
        let body = format!(
            "<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        );
        let mut q = signed(ts, nonce);
        q.encrypt_type = Some("aes".into());
        q.msg_signature = Some(crypto::msg_signature(
            TOKEN,
            &ts.to_string(),
            nonce,
            &encrypt,
        ));
        (q, body, encrypt)
    }

    #[test]
    fn a_signature_in_any_case_is_recorded_in_one_spelling() {
        let lower = query(NOW);
        let mut upper = query(NOW);
        upper.signature = upper.signature.map(|s| s.to_ascii_uppercase());
        let open_plain =
            |q: &CallbackQuery| open(q, b"<xml/>", TOKEN, None, CallbackMode::Plaintext, NOW);
        let a = open_plain(&lower).unwrap();
        let b = open_plain(&upper).unwrap();
        // The replay record's key: an upper-case copy of a seen query must meet its record.
        assert_eq!(a.signature, b.signature);
        assert_eq!(a.signature, a.signature.to_ascii_lowercase());
    }

    #[test]
    fn a_plaintext_body_with_a_msg_signature_is_refused() {
        let mut q = query(NOW);
        q.msg_signature = Some("0".repeat(40));
        let refused = open(&q, b"<xml/>", TOKEN, None, CallbackMode::Plaintext, NOW);
        assert_eq!(refused.unwrap_err(), CallbackError::BadSignature);
    }

    #[test]
    fn plaintext_opens_when_signed_and_fresh() {
        let opened = open(
            &query(NOW),
            b"<xml/>",
            TOKEN,
            None,
            CallbackMode::Plaintext,
            NOW,
        )
        .unwrap();
        assert_eq!(opened.xml, "<xml/>");
        assert!(!opened.encrypted);
        assert!(opened.replayable());
        assert_eq!(opened.body_digest, hex::encode(Sha256::digest(b"<xml/>")));
    }

    #[test]
    fn forged_missing_and_stale_are_refused() {
        let plain = CallbackMode::Plaintext;
        let mut q = query(NOW);
        q.signature = Some("0".repeat(40));
        assert_eq!(
            open(&q, b"", TOKEN, None, plain, NOW),
            Err(CallbackError::BadSignature)
        );
        let mut q = query(NOW);
        q.nonce = None;
        assert_eq!(
            open(&q, b"", TOKEN, None, plain, NOW),
            Err(CallbackError::MissingParameter("nonce"))
        );
        assert!(matches!(
            open(
                &query(NOW - REPLAY_WINDOW_SECS - 1),
                b"",
                TOKEN,
                None,
                plain,
                NOW
            ),
            Err(CallbackError::StaleTimestamp(_))
        ));
        assert!(
            open(
                &query(NOW - REPLAY_WINDOW_SECS),
                b"",
                TOKEN,
                None,
                plain,
                NOW
            )
            .is_ok()
        );
        assert!(fresh_timestamp("not-a-number", NOW).is_err());
        assert!(fresh_timestamp(&(NOW + REPLAY_WINDOW_SECS + 1).to_string(), NOW).is_err());
    }

    #[test]
    fn safe_mode_checks_msg_signature_then_decrypts() {
        let crypto = MessageCrypto::new(KEY, APPID).unwrap();
        let safe = CallbackMode::Safe;
        let (q, body, _) = sealed("<xml><MsgType>text</MsgType></xml>", NOW, "n1");
        let opened = open(&q, body.as_bytes(), TOKEN, Some(&crypto), safe, NOW).unwrap();
        assert!(opened.encrypted);
        assert!(!opened.replayable(), "msg_signature covers the message");
        assert_eq!(opened.xml, "<xml><MsgType>text</MsgType></xml>");

        let mut forged = q.clone();
        forged.msg_signature = Some(crypto::msg_signature(
            TOKEN,
            &NOW.to_string(),
            "n1",
            "other",
        ));
        assert_eq!(
            open(&forged, body.as_bytes(), TOKEN, Some(&crypto), safe, NOW),
            Err(CallbackError::BadSignature)
        );
        assert_eq!(
            open(&q, body.as_bytes(), TOKEN, None, safe, NOW),
            Err(CallbackError::NoAesKey)
        );
        assert_eq!(
            open(
                &q,
                b"<xml><ToUserName>gh</ToUserName></xml>",
                TOKEN,
                Some(&crypto),
                safe,
                NOW
            ),
            Err(CallbackError::MissingEncrypt)
        );
        assert!(matches!(
            open(&q, b"<xml><Encrypt>", TOKEN, Some(&crypto), safe, NOW),
            Err(CallbackError::MalformedXml(_) | CallbackError::MissingEncrypt)
        ));
    }

    #[test]
    fn the_accounts_mode_decides_not_the_query() {
        let crypto = MessageCrypto::new(KEY, APPID).unwrap();
        // A correctly signed plaintext body, with or without encrypt_type, to a Safe or a
        // Compatible account.
        for mode in [CallbackMode::Safe, CallbackMode::Compatible] {
            for encrypt_type in [None, Some("aes".to_string())] {
                let mut q = query(NOW);
                q.encrypt_type = encrypt_type;
                assert_eq!(
                    open(
                        &q,
                        b"<xml><MsgType>event</MsgType></xml>",
                        TOKEN,
                        Some(&crypto),
                        mode,
                        NOW
                    ),
                    Err(CallbackError::PlaintextRefused),
                    "{mode:?}"
                );
            }
        }
        // Compatible mode: the encrypted part is what is read, not the plaintext beside it.
        let (q, body, encrypt) = sealed("<xml><Content>密文</Content></xml>", NOW, "n1");
        let _ = body;
        let compatible = format!(
            "<xml><Content>明文伪造</Content><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        );
        let opened = open(
            &q,
            compatible.as_bytes(),
            TOKEN,
            Some(&crypto),
            CallbackMode::Compatible,
            NOW,
        )
        .unwrap();
        assert_eq!(opened.xml, "<xml><Content>密文</Content></xml>");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        /// Encrypt then open gives back the message, in safe and compatible mode, for any
        /// text, timestamp inside the window and nonce.
        #[test]
        fn sealed_messages_open_to_what_was_sealed(
            message in "\\PC{0,300}",
            skew in -REPLAY_WINDOW_SECS..=REPLAY_WINDOW_SECS,
            nonce in "[A-Za-z0-9]{1,16}",
            compatible in any::<bool>(),
        ) {
            let crypto = MessageCrypto::new(KEY, APPID).unwrap();
            let mode = if compatible { CallbackMode::Compatible } else { CallbackMode::Safe };
            let (q, body, _) = sealed(&message, NOW + skew, &nonce);
            let opened = open(&q, body.as_bytes(), TOKEN, Some(&crypto), mode, NOW).unwrap();
            prop_assert_eq!(opened.xml, message);
            prop_assert!(opened.encrypted);
        }

        /// Any change to the ciphertext, the signatures, the timestamp or the nonce is refused.
        #[test]
        fn any_change_is_refused(
            message in "\\PC{1,100}",
            which in 0usize..5,
            position in any::<prop::sample::Index>(),
            replacement in "[A-Za-z0-9+/]",
        ) {
            let crypto = MessageCrypto::new(KEY, APPID).unwrap();
            let (mut q, body, encrypt) = sealed(&message, NOW, "n1");
            let mut body = body;
            let change = |text: &str| -> String {
                let mut chars: Vec<char> = text.chars().collect();
                let i = position.index(chars.len());
                let new = replacement.chars().next().unwrap_or('A');
                chars[i] = if chars[i] == new { if new == 'A' { 'B' } else { 'A' } } else { new };
                chars.into_iter().collect()
            };
            // Signatures are compared as hex, case-insensitively: change a digit's value.
            let flip = |hex: &str| -> String {
                let mut chars: Vec<char> = hex.chars().collect();
                let i = position.index(chars.len());
                chars[i] = if chars[i] == '0' { '1' } else { '0' };
                chars.into_iter().collect()
            };
            match which {
                0 => body = body.replace(&encrypt, &change(&encrypt)),
                1 => q.signature = q.signature.as_deref().map(flip),
                2 => q.msg_signature = q.msg_signature.as_deref().map(flip),
                3 => q.timestamp = Some((NOW + 1 + (position.index(REPLAY_WINDOW_SECS as usize) as i64)).to_string()),
                _ => q.nonce = q.nonce.as_deref().map(|n| format!("{n}{replacement}")),
            }
            prop_assert!(open(&q, body.as_bytes(), TOKEN, Some(&crypto), CallbackMode::Safe, NOW).is_err());
        }

        /// Plaintext to a Safe account is refused, whatever the body; plaintext bodies that
        /// differ have different digests (what the replay record compares).
        #[test]
        fn plaintext_to_a_safe_account_is_refused(
            body in proptest::collection::vec(any::<u8>(), 0..400),
            other in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let crypto = MessageCrypto::new(KEY, APPID).unwrap();
            prop_assert_eq!(
                open(&query(NOW), &body, TOKEN, Some(&crypto), CallbackMode::Safe, NOW),
                Err(CallbackError::PlaintextRefused)
            );
            if let (Ok(a), Ok(b)) = (
                open(&query(NOW), &body, TOKEN, None, CallbackMode::Plaintext, NOW),
                open(&query(NOW), &other, TOKEN, None, CallbackMode::Plaintext, NOW),
            ) {
                prop_assert_eq!(a.body_digest == b.body_digest, body == other);
                prop_assert_eq!(a.signature, b.signature);
            }
        }

        /// Correctly signed but arbitrary `Encrypt` text gives a typed error, never a panic
        /// or a message (the ciphertext carries the appid, which random bytes do not).
        #[test]
        fn arbitrary_ciphertext_is_refused(encrypt in "[A-Za-z0-9+/=]{0,200}", raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            let crypto = MessageCrypto::new(KEY, APPID).unwrap();
            for candidate in [encrypt, base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &raw)] {
                let body = format!("<xml><Encrypt>{candidate}</Encrypt></xml>");
                let mut q = query(NOW);
                q.encrypt_type = Some("aes".into());
                q.msg_signature = Some(crypto::msg_signature(TOKEN, &NOW.to_string(), "n1", &candidate));
                prop_assert!(open(&q, body.as_bytes(), TOKEN, Some(&crypto), CallbackMode::Safe, NOW).is_err());
            }
        }
    }
}
