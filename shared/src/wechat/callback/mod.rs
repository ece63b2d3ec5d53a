//! Inbound callbacks of an account's server URL, as WeChat specifies them:
//!
//! - [`envelope`]: signature and replay checks, then the AES envelope of compatible / safe mode;
//! - [`message`]: the XML message or event, parsed into [`Incoming`];
//! - [`reply`]: passive replies, encrypted and signed in safe mode.
//!
//! The order is fixed: nothing is parsed before the signature is checked.

pub mod envelope;
pub mod message;
pub mod reply;

pub use envelope::{CallbackQuery, Opened, REPLAY_WINDOW_SECS, fresh_timestamp, open};
pub use message::{ConsentDecision, Incoming, IncomingKind, SentResult, TemplateJobStatus, parse};
pub use reply::{encrypt_reply, text_reply};

/// Why a callback was refused. Every variant is the sender's fault and maps to a 4xx.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// A query parameter WeChat always sends is missing.
    #[error("query parameter {0} is missing")]
    MissingParameter(&'static str),
    /// `signature` or `msg_signature` does not match the account's token.
    #[error("signature does not match")]
    BadSignature,
    /// The timestamp is not a number or too far from now (replay).
    #[error("timestamp {0:?} is outside the replay window")]
    StaleTimestamp(String),
    /// The body is not UTF-8.
    #[error("body is not UTF-8")]
    NotUtf8,
    /// The body is not the XML WeChat sends.
    #[error("malformed XML: {0}")]
    MalformedXml(String),
    /// A Safe or Compatible account got a body without `msg_signature` (plaintext).
    #[error("the account accepts only encrypted callbacks")]
    PlaintextRefused,
    /// This signed query was seen before with another body (a replayed URL).
    #[error("signed query replayed with another body")]
    Replayed,
    /// Safe mode without an `Encrypt` element.
    #[error("encrypted callback without an Encrypt element")]
    MissingEncrypt,
    /// Safe mode on an account with no EncodingAESKey configured.
    #[error("encrypted callback but the account has no EncodingAESKey")]
    NoAesKey,
    /// The ciphertext did not open (wrong key, tampered, other app).
    #[error("cannot decrypt: {0}")]
    Crypto(#[from] crate::wechat::CryptoError),
    /// A required element is missing or empty.
    #[error("element {0} is missing")]
    MissingElement(&'static str),
}
