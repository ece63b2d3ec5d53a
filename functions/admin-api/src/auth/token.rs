//! Admin bearer tokens: signed with `SIGNING_KEY`, purpose `admin`, short-lived.

use livenotify::domain::{AdminUser, Timestamp, now};
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
    /// The admin's session epoch when issued: a token of an earlier epoch is ended.
    #[serde(default)]
    pub epoch: u64,
}

/// A fresh token for `admin` (in its current session epoch) and when it expires.
pub fn issue_token(signer: &Signer, admin: &AdminUser) -> (String, Timestamp) {
    let token = signer.sign(
        PURPOSE,
        &Claims {
            sub: admin.username.clone(),
            epoch: admin.session_epoch,
        },
        TOKEN_TTL,
    );
    let ttl = chrono::Duration::from_std(TOKEN_TTL).unwrap_or(chrono::Duration::hours(1));
    (token, now() + ttl)
}
