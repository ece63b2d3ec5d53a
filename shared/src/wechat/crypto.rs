//! Callback crypto exactly as WeChat specifies it (plain signature, safe-mode `msg_signature`
//! and the AES-256-CBC message envelope shared by official accounts, mini programs and WeCom).
//!
//! Envelope: `base64(AES-256-CBC(key, iv = key[0..16], pkcs7_32(random16 | be_u32(len) | msg | appid)))`
//! where `key = base64(EncodingAESKey + "=")`. The padding block size is 32 bytes, not AES's 16:
//! that is WeChat's scheme and every SDK follows it.

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use sha1::{Digest, Sha1};
use std::fmt;

type Aes256CbcEnc = cbc::Encryptor<Aes256>;
type Aes256CbcDec = cbc::Decryptor<Aes256>;

/// Length of an `EncodingAESKey` as WeChat hands it out.
pub const ENCODING_AES_KEY_LEN: usize = 43;
/// Block size of WeChat's PKCS#7 padding (twice the AES block).
const PAD_BLOCK: usize = 32;
/// AES block size: the ciphertext must be a whole number of these.
const AES_BLOCK: usize = 16;
/// Random prefix length.
const RANDOM_LEN: usize = 16;
/// Random prefix + big-endian length.
const HEADER_LEN: usize = RANDOM_LEN + 4;

/// Decodes the 43-char key plus its "=" even when its last character carries non-zero
/// trailing bits: WeChat generates keys as 43 random alphanumerics, so about 3 in 4 keys are
/// not canonical base64, and Python's decoder (wechatpy) accepts them.
const KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a key could not be loaded or a message could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The EncodingAESKey is not 43 characters long.
    #[error("EncodingAESKey must be {ENCODING_AES_KEY_LEN} characters, got {0}")]
    InvalidKeyLength(usize),
    /// The EncodingAESKey is not base64.
    #[error("EncodingAESKey is not valid base64")]
    InvalidKeyEncoding,
    /// The encrypted payload is not base64.
    #[error("encrypted payload is not valid base64")]
    InvalidBase64,
    /// The decoded ciphertext is empty or not a whole number of AES blocks.
    #[error("ciphertext length {0} is not a positive multiple of {AES_BLOCK}")]
    InvalidCiphertextLength(usize),
    /// The decrypted block does not end in valid 32-byte PKCS#7 padding (wrong key or altered).
    #[error("invalid padding after decryption (wrong key or tampered payload)")]
    InvalidPadding,
    /// The plaintext is too short or its length field points past its end.
    #[error("decrypted message length field is inconsistent with the payload")]
    InvalidMessageLength,
    /// The trailing appid (or WeCom corpid) is not ours.
    #[error("message is for app {found:?}, expected {expected:?}")]
    AppIdMismatch {
        /// Our appid.
        expected: String,
        /// The appid found in the message (lossy UTF-8).
        found: String,
    },
}

/// `sha1(sorted(parts).join(""))` as lowercase hex.
fn sorted_sha1(parts: &mut [&str]) -> String {
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for part in parts.iter() {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Plain-mode callback signature: sha1 hex of the sorted concatenation of token, timestamp, nonce.
pub fn signature(token: &str, timestamp: &str, nonce: &str) -> String {
    sorted_sha1(&mut [token, timestamp, nonce])
}

/// Safe-mode `msg_signature`: sha1 hex of the sorted concatenation including the `Encrypt` text.
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    sorted_sha1(&mut [token, timestamp, nonce, encrypt])
}

/// Compares two byte strings in time independent of where they differ (lengths are public).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Fold every difference in so the loop never exits early on the first mismatch.
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a plain-mode `signature` query parameter (hex, any case) in constant time.
pub fn verify_signature(expected_hex: &str, token: &str, timestamp: &str, nonce: &str) -> bool {
    let computed = signature(token, timestamp, nonce);
    constant_time_eq(
        expected_hex.to_ascii_lowercase().as_bytes(),
        computed.as_bytes(),
    )
}

/// Checks a safe-mode `msg_signature` query parameter (hex, any case) in constant time.
pub fn verify_msg_signature(
    expected_hex: &str,
    token: &str,
    timestamp: &str,
    nonce: &str,
    encrypt: &str,
) -> bool {
    let computed = msg_signature(token, timestamp, nonce, encrypt);
    constant_time_eq(
        expected_hex.to_ascii_lowercase().as_bytes(),
        computed.as_bytes(),
    )
}

/// Encrypts and decrypts callback payloads of one app (appid, or corpid for WeCom).
#[derive(Clone)]
pub struct MessageCrypto {
    key: [u8; 32],
    appid: String,
}

impl fmt::Debug for MessageCrypto {
    // The AES key is a secret: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageCrypto")
            .field("appid", &self.appid)
            .finish_non_exhaustive()
    }
}

impl MessageCrypto {
    /// Loads a 43-character EncodingAESKey for `appid` (the corpid for WeCom apps).
    pub fn new(encoding_aes_key: &str, appid: &str) -> Result<Self, CryptoError> {
        let chars = encoding_aes_key.chars().count();
        if chars != ENCODING_AES_KEY_LEN {
            return Err(CryptoError::InvalidKeyLength(chars));
        }
        let decoded = KEY_ENGINE
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| CryptoError::InvalidKeyEncoding)?;
        let key: [u8; 32] = decoded
            .try_into()
            .map_err(|_| CryptoError::InvalidKeyEncoding)?;
        Ok(Self {
            key,
            appid: appid.to_string(),
        })
    }

    /// The appid this instance encrypts for and accepts.
    pub fn appid(&self) -> &str {
        &self.appid
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }

    /// Encrypts `plaintext` with a fresh random 16-byte prefix; returns base64.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        self.encrypt_with_random(plaintext, rand::random::<[u8; RANDOM_LEN]>())
    }

    /// Encrypts with a caller-chosen random prefix (deterministic output for tests and vectors).
    pub fn encrypt_with_random(&self, plaintext: &[u8], random: [u8; 16]) -> String {
        // The length field is 32 bits by WeChat's format; callback bodies are kilobytes, so a
        // message over 4 GiB cannot occur and saturating only keeps this function total.
        let len = u32::try_from(plaintext.len()).unwrap_or(u32::MAX);
        let body_len = HEADER_LEN + plaintext.len() + self.appid.len();
        let pad = PAD_BLOCK - body_len % PAD_BLOCK;
        let mut buf = Vec::with_capacity(body_len + pad);
        buf.extend_from_slice(&random);
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(plaintext);
        buf.extend_from_slice(self.appid.as_bytes());
        // pad is 1..=32, so it always fits in a byte.
        buf.resize(body_len + pad, pad as u8);
        let ciphertext = Aes256CbcEnc::new(&self.key.into(), &self.iv().into())
            .encrypt_padded_vec_mut::<NoPadding>(&buf);
        STANDARD.encode(ciphertext)
    }

    /// Decrypts a base64 payload, checking padding, the length field and the appid.
    pub fn decrypt(&self, encrypted_b64: &str) -> Result<Vec<u8>, CryptoError> {
        let ciphertext = STANDARD
            .decode(encrypted_b64.trim())
            .map_err(|_| CryptoError::InvalidBase64)?;
        if ciphertext.is_empty() || ciphertext.len() % AES_BLOCK != 0 {
            return Err(CryptoError::InvalidCiphertextLength(ciphertext.len()));
        }
        let mut plain = Aes256CbcDec::new(&self.key.into(), &self.iv().into())
            .decrypt_padded_vec_mut::<NoPadding>(&ciphertext)
            // Unreachable with NoPadding on whole blocks; mapped rather than unwrapped anyway.
            .map_err(|_| CryptoError::InvalidPadding)?;
        let pad = usize::from(*plain.last().ok_or(CryptoError::InvalidPadding)?);
        if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
            return Err(CryptoError::InvalidPadding);
        }
        let unpadded_len = plain.len() - pad;
        if plain[unpadded_len..].iter().any(|&b| usize::from(b) != pad) {
            return Err(CryptoError::InvalidPadding);
        }
        plain.truncate(unpadded_len);
        if plain.len() < HEADER_LEN {
            return Err(CryptoError::InvalidMessageLength);
        }
        let mut len_bytes = [0u8; 4];
        len_bytes.copy_from_slice(&plain[RANDOM_LEN..HEADER_LEN]);
        let msg_len = usize::try_from(u32::from_be_bytes(len_bytes))
            .map_err(|_| CryptoError::InvalidMessageLength)?;
        let msg_end = HEADER_LEN
            .checked_add(msg_len)
            .ok_or(CryptoError::InvalidMessageLength)?;
        if msg_end > plain.len() {
            return Err(CryptoError::InvalidMessageLength);
        }
        let found = &plain[msg_end..];
        if !constant_time_eq(found, self.appid.as_bytes()) {
            return Err(CryptoError::AppIdMismatch {
                expected: self.appid.clone(),
                found: String::from_utf8_lossy(found).into_owned(),
            });
        }
        plain.truncate(msg_end);
        Ok(plain.split_off(HEADER_LEN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Sample values from WeChat's own documentation of safe mode.
    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const APPID: &str = "wx2c2769f8efd9abc2";

    fn crypto() -> MessageCrypto {
        MessageCrypto::new(KEY, APPID).unwrap()
    }

    #[test]
    fn signature_sorts_before_hashing() {
        // `echo -n "1409659589263014780token" | sha1sum`.
        let sig = signature("token", "1409659589", "263014780");
        assert_eq!(sig, "a83561230f657434ed17865ce9dbacbd1601fe6e");
        assert_eq!(sig, sorted_sha1(&mut ["263014780", "token", "1409659589"]));
        assert_eq!(sig.len(), 40);
        assert!(verify_signature(&sig, "token", "1409659589", "263014780"));
        assert!(verify_signature(
            &sig.to_uppercase(),
            "token",
            "1409659589",
            "263014780"
        ));
        assert!(!verify_signature(&sig, "token", "1409659589", "263014781"));
        assert!(!verify_signature("", "token", "1409659589", "263014780"));
        assert!(!verify_signature(
            &sig[..39],
            "token",
            "1409659589",
            "263014780"
        ));
    }

    #[test]
    fn signature_known_vector() {
        // `echo -n "12345abctoken" | sha1sum` (sorted: "12345" < "abc" < "token").
        assert_eq!(
            signature("token", "12345", "abc"),
            "40f0432bd307644fbb6bc13f915888d4fca29cad"
        );
        assert_eq!(
            signature("abc", "token", "12345"),
            "40f0432bd307644fbb6bc13f915888d4fca29cad"
        );
    }

    #[test]
    fn msg_signature_includes_encrypt() {
        let a = msg_signature("token", "1", "2", "ENC");
        assert_ne!(a, signature("token", "1", "2"));
        assert_eq!(a, sorted_sha1(&mut ["ENC", "1", "2", "token"]));
        assert!(verify_msg_signature(&a, "token", "1", "2", "ENC"));
        assert!(!verify_msg_signature(&a, "token", "1", "2", "END"));
    }

    #[test]
    fn key_must_be_43_chars_of_base64() {
        assert_eq!(
            MessageCrypto::new("short", APPID).unwrap_err(),
            CryptoError::InvalidKeyLength(5)
        );
        let bad = "!bcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        assert_eq!(
            MessageCrypto::new(bad, APPID).unwrap_err(),
            CryptoError::InvalidKeyEncoding
        );
        let multibyte = "é".repeat(43);
        assert_eq!(
            MessageCrypto::new(&multibyte, APPID).unwrap_err(),
            CryptoError::InvalidKeyEncoding
        );
    }

    #[test]
    fn key_with_noncanonical_trailing_bits_is_accepted() {
        // 'G' = 0b000110: its low two bits are non-zero, so strict base64 would refuse it.
        let c = crypto();
        assert_eq!(c.key.len(), 32);
        assert_eq!(&c.iv()[..], &c.key[..16]);
    }

    #[test]
    fn round_trip_and_layout() {
        let c = crypto();
        let msg = b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName></xml>";
        let enc = c.encrypt_with_random(msg, [7u8; 16]);
        assert_eq!(
            enc,
            c.encrypt_with_random(msg, [7u8; 16]),
            "deterministic given the prefix"
        );
        let raw = STANDARD.decode(&enc).unwrap();
        assert_eq!(raw.len() % PAD_BLOCK, 0, "padded to 32-byte blocks");
        assert_eq!(c.decrypt(&enc).unwrap(), msg);
        assert_ne!(c.encrypt(msg), c.encrypt(msg), "random prefix differs");
    }

    #[test]
    fn exact_block_gets_a_full_pad_block() {
        let c = MessageCrypto::new(KEY, "").unwrap();
        // 20 header bytes + 12 = 32: a full extra block of 32 padding bytes.
        let enc = c.encrypt_with_random(&[1u8; 12], [0; 16]);
        assert_eq!(STANDARD.decode(&enc).unwrap().len(), 64);
        assert_eq!(c.decrypt(&enc).unwrap(), vec![1u8; 12]);
    }

    #[test]
    fn wrong_appid_is_refused() {
        let enc = crypto().encrypt(b"hello");
        let other = MessageCrypto::new(KEY, "wxother").unwrap();
        assert_eq!(
            other.decrypt(&enc).unwrap_err(),
            CryptoError::AppIdMismatch {
                expected: "wxother".into(),
                found: APPID.into()
            }
        );
    }

    #[test]
    fn malformed_inputs_map_to_distinct_errors() {
        let c = crypto();
        assert_eq!(
            c.decrypt("not base64!!").unwrap_err(),
            CryptoError::InvalidBase64
        );
        assert_eq!(
            c.decrypt("").unwrap_err(),
            CryptoError::InvalidCiphertextLength(0)
        );
        assert_eq!(
            c.decrypt(&STANDARD.encode([0u8; 15])).unwrap_err(),
            CryptoError::InvalidCiphertextLength(15)
        );
        // A block encrypted under another key almost surely decrypts to bad padding.
        let other =
            MessageCrypto::new("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg", APPID).unwrap();
        let enc = other.encrypt_with_random(b"x", [1; 16]);
        assert_eq!(c.decrypt(&enc).unwrap_err(), CryptoError::InvalidPadding);
    }

    /// Encrypts a hand-built plaintext block (already padded) under `c`.
    fn encrypt_raw(c: &MessageCrypto, buf: &[u8]) -> String {
        STANDARD.encode(
            Aes256CbcEnc::new(&c.key.into(), &c.iv().into())
                .encrypt_padded_vec_mut::<NoPadding>(buf),
        )
    }

    #[test]
    fn bad_padding_and_lengths_are_detected() {
        let c = crypto();
        // Pad byte 0.
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &[0u8; 32])).unwrap_err(),
            CryptoError::InvalidPadding
        );
        // Pad byte 33 (> block).
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &[33u8; 64])).unwrap_err(),
            CryptoError::InvalidPadding
        );
        // Inconsistent pad bytes.
        let mut buf = [3u8; 32];
        buf[30] = 2;
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &buf)).unwrap_err(),
            CryptoError::InvalidPadding
        );
        // Valid padding but shorter than the 20-byte header.
        let mut buf = [0u8; 32];
        buf[19..].fill(13);
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &buf)).unwrap_err(),
            CryptoError::InvalidMessageLength
        );
        // Length field pointing past the end.
        let mut buf = vec![0u8; 16];
        buf.extend_from_slice(&u32::MAX.to_be_bytes());
        buf.resize(32, 12);
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &buf)).unwrap_err(),
            CryptoError::InvalidMessageLength
        );
    }

    #[test]
    fn errors_do_not_leak_the_key() {
        let c = crypto();
        assert!(!format!("{c:?}").contains("key:"));
    }

    proptest! {
        #[test]
        fn prop_round_trip(msg in proptest::collection::vec(any::<u8>(), 0..2048), appid in "[a-z0-9]{0,32}", random in any::<[u8; 16]>()) {
            let c = MessageCrypto::new(KEY, &appid).unwrap();
            let enc = c.encrypt_with_random(&msg, random);
            prop_assert_eq!(STANDARD.decode(&enc).unwrap().len() % PAD_BLOCK, 0);
            prop_assert_eq!(c.decrypt(&enc).unwrap(), msg);
        }

        #[test]
        fn prop_decrypt_arbitrary_string_never_panics(s in ".*") {
            let _ = crypto().decrypt(&s);
        }

        #[test]
        fn prop_decrypt_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            // Base64 of random bytes gets past the decoder and exercises the AES/padding path.
            let _ = crypto().decrypt(&STANDARD.encode(&bytes));
        }

        #[test]
        fn prop_new_never_panics(key in ".{0,60}", appid in ".{0,40}") {
            let _ = MessageCrypto::new(&key, &appid);
        }

        #[test]
        fn prop_any_key_of_43_alphanumerics_loads(key in "[A-Za-z0-9]{43}") {
            prop_assert!(MessageCrypto::new(&key, APPID).is_ok());
        }
    }
}
