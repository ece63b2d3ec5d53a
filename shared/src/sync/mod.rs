//! Follower sync logic that needs no I/O: what WeChat says a follower is, how a stored
//! follower is compared with it cheaply, and what to write. The follower-sync function drives
//! it page by page.
//!
//! Change detection: every stored follower of the account is read once per invocation (one
//! key-ordered query of the account's partition, ~1 MB a request) and reduced to a 64-bit
//! [`fingerprint`](fingerprint::fingerprint) of the fields WeChat owns, kept in a
//! [`Snapshot`](snapshot::Snapshot). Each follower WeChat returns is fingerprinted the same
//! way; only a different (or missing) fingerprint costs a write. Fingerprints are computed from
//! the stored fields rather than stored beside them, so they cannot go stale when another writer
//! (the callback handler) changes a follower.

pub mod fingerprint;
pub mod reconcile;
pub mod snapshot;

pub use fingerprint::fingerprint;
pub use reconcile::{Change, follower_from_wechat, reconcile};
pub use snapshot::{Known, Snapshot};
