//! Authentication (passwords, bearer tokens, login throttling) and authorisation (roles and
//! account scope).

mod caller;
mod client_address;
mod password;
mod scope;
mod token;

pub use caller::{ActorSlot, Caller, SuperAdmin, Writer};
pub use client_address::{ClientAddress, client_address};
pub use password::{hash_password, verify_password};
pub use token::{TOKEN_TTL, issue_token};

/// Failed logins of one admin from one address, within [`FAILURE_WINDOW`], after which that
/// address may not log in as that admin until the window ends.
pub const MAX_FAILED_LOGINS: u64 = 5;
/// Failed logins from one address, whatever the usernames, after which the address may not
/// log in at all until the window ends (a storm against many names).
pub const MAX_FAILED_LOGINS_PER_ADDRESS: u64 = 30;
/// The counting window, and so the longest a lock lasts.
pub const FAILURE_WINDOW: chrono::Duration = chrono::Duration::minutes(15);
