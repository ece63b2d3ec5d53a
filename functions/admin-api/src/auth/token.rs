//! Admin bearer tokens: signed with `SIGNING_KEY`, purpose `admin`, short-lived.

use livenotify::domain::{Timestamp, now};
use livenotify::signed::Signer;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Token purpose: a token minted for OAuth state or sessions is refused here.
pub(super) const PURPOSE: &str = "admin";
/// How long a token works.
pub const TOKEN_TTL: Duration = Duration::from_secs(60 * 60);

/// What a token says.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Claims {
    /// Username.
    pub sub: String,
}

/// A fresh token for `username` and when it expires.
pub fn issue_token(signer: &Signer, username: &str) -> (String, Timestamp) {
    let token = signer.sign(
        PURPOSE,
        &Claims {
            sub: username.to_string(),
        },
        TOKEN_TTL,
    );
    let ttl = chrono::Duration::from_std(TOKEN_TTL).unwrap_or(chrono::Duration::hours(1));
    (token, now() + ttl)
}
