//! Authentication (passwords, bearer tokens, login throttling) and authorisation (roles and
//! account scope).

mod caller;
mod password;
mod scope;
mod token;

pub use caller::{ActorSlot, Caller, SuperAdmin, Writer};
pub use password::{hash_password, verify_password};
pub use token::{TOKEN_TTL, issue_token};

/// Consecutive failed logins after which a username is locked.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked username stays locked.
pub const LOCK_DURATION: chrono::Duration = chrono::Duration::minutes(15);
