//! The single-table key layout: every partition/sort key the platform writes is built here.
//!
//! | entity       | PK                     | SK                          | GSI1 (PK / SK)                           | GSI2 (PK / SK)                         | GSI3 (PK / SK)              |
//! |--------------|------------------------|-----------------------------|------------------------------------------|----------------------------------------|-----------------------------|
//! | account      | `ACCOUNT#<id>`         | `ACCOUNT`                   | `ACCOUNTS` / `<kind>#<id>`               |                                        |                             |
//! | follower     | `ACCOUNT#<id>`         | `FOLLOWER#<openid>`         |                                          | `FOLLOWERS#<id>#<1|0>` / `<since>#<openid>` | `UNION#<unionid>` / `FOLLOWER#<account>` |
//! | sync run     | `ACCOUNT#<id>`         | `SYNCRUN#<run ulid>`        |                                          | `SYNCRUNS` / `<run ulid>`              |                             |
//! | sync lease   | `ACCOUNT#<id>`         | `SYNCLEASE`                 |                                          |                                        |                             |
//! | course       | `COURSE#<id>`          | `COURSE`                    | `COURSES` / `<starts_at>#<id>`           |                                        |                             |
//! | sign-up      | `COURSE#<id>`          | `SIGNUP#<account>#<openid>` | `USER#<account>#<openid>` / `SIGNUP#<course>` |                                   |                             |
//! | push         | `PUSH#<id>`            | `PUSH`                      | `COURSE#<course>#PUSHES` / `<push ulid>` | `PUSHES` / `<push ulid>`               |                             |
//! | delivery     | `PUSH#<id>`            | `DELIVERY#<openid>`         | `USER#<account>#<openid>` / `DELIVERY#<created_at>#<push>` |                      | `MSGID#<account>#<msgid>` / `DELIVERY` |
//! | token cache  | `TOKEN#<cache key>`    | `TOKEN`                     |                                          |                                        |                             |
//! | dedupe key   | `DEDUPE#<account>#<key>` | `DEDUPE`                  |                                          |                                        |                             |
//! | signed query | `SIGNED#<account>#<signature>` | `SIGNED`          |                                          |                                        |                             |
//! | parked receipt | `RECEIPT#<account>#<msgid>` | `RECEIPT`           |                                          |                                        |                             |
//! | consent      | `ACCOUNT#<id>`         | `CONSENT#<openid>#<template>` |                                        |                                        |                             |
//! | admin user   | `ADMIN#<username>`     | `ADMIN`                     | `ADMINS` / `<username>`                  |                                        |                             |
//! | audit entry  | `AUDIT#<id>`           | `AUDIT`                     | `AUDIT` / `<audit ulid>`                 |                                        |                             |
//! | verification file | `VERIFYFILE#<name>`  | `VERIFYFILE`                |                                          |                                        |                             |
//! | account's verification file | `ACCOUNT#<id>` | `VERIFYFILE`        |                                          |                                        |                             |
//! | login failures (admin, address) | `LOGINFAIL#USER#<username>` | `ADDR#<address>` |                  |                                        |                             |
//! | login failures (address) | `LOGINFAIL#ADDR#<address>` | `ADDR`              |                                          |                                        |                             |
//! | export job   | `EXPORT#<ulid>`         | `EXPORT`                    | `EXPORTS#<owner>` / `<ulid>`             |                                        |                             |
//!
//! ULIDs sort by creation time, so "newest first" is a reverse query on a ULID sort key.
//! Expiring items (dedupe keys, deliveries past retention, token items) carry `expires_at`
//! (epoch seconds), the table's TTL attribute.

use crate::domain::{
    AccountId, AccountKind, CourseId, PushId, SyncRunId, Timestamp, sort_key_time,
};

/// Table partition key attribute.
pub const PK: &str = "PK";
/// Table sort key attribute.
pub const SK: &str = "SK";
/// TTL attribute (epoch seconds).
pub const EXPIRES_AT: &str = "expires_at";
/// Attribute naming the entity type of an item.
pub const ENTITY_TYPE: &str = "entity";

/// A global secondary index of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// GSI1: lists and "by user" lookups.
    Gsi1,
    /// GSI2: filtered or global time-ordered lists.
    Gsi2,
    /// GSI3: sparse lookups (unionid, msgid).
    Gsi3,
}

impl Index {
    /// Index name in the table definition.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gsi1 => "GSI1",
            Self::Gsi2 => "GSI2",
            Self::Gsi3 => "GSI3",
        }
    }

    /// Partition key attribute.
    pub fn pk(self) -> &'static str {
        match self {
            Self::Gsi1 => "GSI1PK",
            Self::Gsi2 => "GSI2PK",
            Self::Gsi3 => "GSI3PK",
        }
    }

    /// Sort key attribute.
    pub fn sk(self) -> &'static str {
        match self {
            Self::Gsi1 => "GSI1SK",
            Self::Gsi2 => "GSI2SK",
            Self::Gsi3 => "GSI3SK",
        }
    }
}

/// Primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Partition key value.
    pub pk: String,
    /// Sort key value.
    pub sk: String,
}

/// An item's entry in one secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    /// Which index.
    pub index: Index,
    /// Partition key value.
    pub pk: String,
    /// Sort key value.
    pub sk: String,
}

fn key(pk: String, sk: impl Into<String>) -> Key {
    Key { pk, sk: sk.into() }
}

fn index(index: Index, pk: impl Into<String>, sk: impl Into<String>) -> IndexKey {
    IndexKey {
        index,
        pk: pk.into(),
        sk: sk.into(),
    }
}

/// Partition holding an account, its followers, sync runs and sync lease.
pub fn account_pk(id: &AccountId) -> String {
    format!("ACCOUNT#{id}")
}

/// An account.
pub fn account(id: &AccountId) -> Key {
    key(account_pk(id), "ACCOUNT")
}

/// Partition of one admin's failed-login counters (one item per client address).
pub fn login_failures_user_pk(username: &str) -> String {
    format!("LOGINFAIL#USER#{username}")
}

/// Failed logins of `username` from `address`.
pub fn login_failures_by_user(username: &str, address: &str) -> Key {
    key(login_failures_user_pk(username), format!("ADDR#{address}"))
}

/// Failed logins from `address`, whatever the username.
pub fn login_failures_by_address(address: &str) -> Key {
    key(format!("LOGINFAIL#ADDR#{address}"), "ADDR")
}

/// A domain verification file, by the name WeChat fetches.
pub fn verification_file(name: &str) -> Key {
    key(format!("VERIFYFILE#{name}"), "VERIFYFILE")
}

/// An account's domain verification file (at most one per account).
pub fn account_verification_file(id: &AccountId) -> Key {
    key(account_pk(id), "VERIFYFILE")
}

/// Account list entry.
pub fn account_list(kind: AccountKind, id: &AccountId) -> IndexKey {
    index(Index::Gsi1, ACCOUNTS, format!("{}#{id}", kind.as_str()))
}

/// GSI1 partition listing every account.
pub const ACCOUNTS: &str = "ACCOUNTS";

/// Sort-key prefix of followers inside an account partition.
pub const FOLLOWER_PREFIX: &str = "FOLLOWER#";

/// A follower of an account.
pub fn follower(account: &AccountId, openid: &str) -> Key {
    key(account_pk(account), format!("{FOLLOWER_PREFIX}{openid}"))
}

/// GSI2 partition of an account's followers with the given subscribe state.
pub fn followers_by_state_pk(account: &AccountId, subscribed: bool) -> String {
    format!("FOLLOWERS#{account}#{}", u8::from(subscribed))
}

/// A follower's entry in its account's by-state list, ordered by `since`: the subscribe time
/// of followers, the unsubscribe time of unfollowers.
pub fn follower_by_state(
    account: &AccountId,
    subscribed: bool,
    since: Option<Timestamp>,
    openid: &str,
) -> IndexKey {
    // Followers WeChat gave no time for sort first ("-" < "2").
    let time = since.map(sort_key_time).unwrap_or_else(|| "-".into());
    index(
        Index::Gsi2,
        followers_by_state_pk(account, subscribed),
        format!("{time}#{openid}"),
    )
}

/// GSI3 partition of one person (unionid) across accounts.
pub fn union_pk(unionid: &str) -> String {
    format!("UNION#{unionid}")
}

/// A follower's entry under its unionid.
pub fn follower_by_union(unionid: &str, account: &AccountId) -> IndexKey {
    index(
        Index::Gsi3,
        union_pk(unionid),
        format!("FOLLOWER#{account}"),
    )
}

/// Sort-key prefix of sync runs inside an account partition.
pub const SYNC_RUN_PREFIX: &str = "SYNCRUN#";

/// A sync run.
pub fn sync_run(account: &AccountId, id: SyncRunId) -> Key {
    key(account_pk(account), format!("{SYNC_RUN_PREFIX}{id}"))
}

/// GSI2 partition listing sync runs of every account.
pub const SYNC_RUNS: &str = "SYNCRUNS";

/// A sync run's entry in the global history.
pub fn sync_run_history(id: SyncRunId) -> IndexKey {
    index(Index::Gsi2, SYNC_RUNS, id.to_string())
}

/// The lease that keeps two syncs of one account from overlapping.
pub fn sync_lease(account: &AccountId) -> Key {
    key(account_pk(account), "SYNCLEASE")
}

/// Partition of a course and its sign-ups.
pub fn course_pk(id: CourseId) -> String {
    format!("COURSE#{id}")
}

/// A course.
pub fn course(id: CourseId) -> Key {
    key(course_pk(id), "COURSE")
}

/// GSI1 partition listing courses by start time.
pub const COURSES: &str = "COURSES";

/// A course's entry in the by-start-time list.
pub fn course_by_start(starts_at: Timestamp, id: CourseId) -> IndexKey {
    index(
        Index::Gsi1,
        COURSES,
        format!("{}#{id}", sort_key_time(starts_at)),
    )
}

/// Sort-key prefix of sign-ups inside a course partition.
pub const SIGNUP_PREFIX: &str = "SIGNUP#";

/// A sign-up.
pub fn signup(course: CourseId, account: &AccountId, openid: &str) -> Key {
    key(
        course_pk(course),
        format!("{SIGNUP_PREFIX}{account}#{openid}"),
    )
}

/// GSI1 partition of everything about one user of one account.
pub fn user_pk(account: &AccountId, openid: &str) -> String {
    format!("USER#{account}#{openid}")
}

/// A sign-up's entry under its user.
pub fn signup_by_user(account: &AccountId, openid: &str, course: CourseId) -> IndexKey {
    index(
        Index::Gsi1,
        user_pk(account, openid),
        format!("{SIGNUP_PREFIX}{course}"),
    )
}

/// Partition of a push and its deliveries.
pub fn push_pk(id: PushId) -> String {
    format!("PUSH#{id}")
}

/// A push job.
pub fn push(id: PushId) -> Key {
    key(push_pk(id), "PUSH")
}

/// Partition of a push's batch ledger (apart from the deliveries, so reading it is small).
pub fn push_ledger_pk(id: PushId) -> String {
    format!("PUSH#{id}#LEDGER")
}

/// One shard of a push's batch ledger.
pub fn push_ledger(id: PushId, shard: u16) -> Key {
    key(push_ledger_pk(id), format!("{shard:05}"))
}

/// GSI1 partition of one course's pushes.
pub fn course_pushes_pk(course: CourseId) -> String {
    format!("COURSE#{course}#PUSHES")
}

/// A push's entry under its course.
pub fn push_by_course(course: CourseId, id: PushId) -> IndexKey {
    index(Index::Gsi1, course_pushes_pk(course), id.to_string())
}

/// GSI2 partition listing recent pushes.
pub const PUSHES: &str = "PUSHES";

/// A push's entry in the recent list.
pub fn push_recent(id: PushId) -> IndexKey {
    index(Index::Gsi2, PUSHES, id.to_string())
}

/// Sort-key prefix of deliveries inside a push partition.
pub const DELIVERY_PREFIX: &str = "DELIVERY#";

/// A delivery (notification record).
pub fn delivery(push: PushId, openid: &str) -> Key {
    key(push_pk(push), format!("{DELIVERY_PREFIX}{openid}"))
}

/// A delivery's entry under its user.
pub fn delivery_by_user(
    account: &AccountId,
    openid: &str,
    created_at: Timestamp,
    push: PushId,
) -> IndexKey {
    index(
        Index::Gsi1,
        user_pk(account, openid),
        format!("{DELIVERY_PREFIX}{}#{push}", sort_key_time(created_at)),
    )
}

/// GSI3 partition of a WeChat msgid (for TEMPLATESENDJOBFINISH receipts).
pub fn msgid_pk(account: &AccountId, msgid: &str) -> String {
    format!("MSGID#{account}#{msgid}")
}

/// A delivery's entry under its msgid.
pub fn delivery_by_msgid(account: &AccountId, msgid: &str) -> IndexKey {
    index(Index::Gsi3, msgid_pk(account, msgid), "DELIVERY")
}

/// Sort key of the cached access token of an appid or WeCom agent.
pub const TOKEN_SK: &str = "TOKEN";

/// Partition key of a cached access token; `cache_key` is an appid or `wecom:<corp>:<agent>`.
pub fn token_pk(cache_key: &str) -> String {
    format!("TOKEN#{cache_key}")
}

/// The cached access token of an appid or WeCom agent.
pub fn token(cache_key: &str) -> Key {
    key(token_pk(cache_key), TOKEN_SK)
}

/// A signed callback query seen, with its body's digest (replays of a signed URL).
pub fn signed_query(account: &AccountId, signature: &str) -> Key {
    key(format!("SIGNED#{account}#{signature}"), "SIGNED")
}

/// A callback dedupe marker (WeChat retries the same event up to three times).
pub fn dedupe(account: &AccountId, dedupe_key: &str) -> Key {
    key(format!("DEDUPE#{account}#{dedupe_key}"), "DEDUPE")
}

/// A receipt that arrived before its send was recorded.
pub fn parked_receipt(account: &AccountId, msgid: &str) -> Key {
    key(format!("RECEIPT#{account}#{msgid}"), "RECEIPT")
}

/// Prefix of consent sort keys in an account's partition.
pub const CONSENT_PREFIX: &str = "CONSENT#";

/// A user's subscription-message consent for one template.
pub fn consent(account: &AccountId, openid: &str, template_id: &str) -> Key {
    key(
        account_pk(account),
        format!("{CONSENT_PREFIX}{openid}#{template_id}"),
    )
}

/// An admin user.
pub fn admin(username: &str) -> Key {
    key(format!("ADMIN#{username}"), "ADMIN")
}

/// GSI1 partition listing admins.
pub const ADMINS: &str = "ADMINS";

/// An admin's list entry.
pub fn admin_list(username: &str) -> IndexKey {
    index(Index::Gsi1, ADMINS, username)
}

/// An audit entry.
pub fn audit(id: crate::domain::AuditId) -> Key {
    key(format!("AUDIT#{id}"), "AUDIT")
}

/// GSI1 partition listing audit entries by time.
pub const AUDIT: &str = "AUDIT";

/// An audit entry's list entry.
pub fn audit_list(id: crate::domain::AuditId) -> IndexKey {
    index(Index::Gsi1, AUDIT, id.to_string())
}

/// An export job.
pub fn export_job(id: crate::domain::ExportJobId) -> Key {
    key(format!("EXPORT#{id}"), "EXPORT")
}

/// GSI1 partition of one admin's export jobs, newest first by ULID.
pub fn export_jobs_of_pk(owner: &str) -> String {
    format!("EXPORTS#{owner}")
}

/// An export job's entry under its owner.
pub fn export_job_by_owner(owner: &str, id: crate::domain::ExportJobId) -> IndexKey {
    index(Index::Gsi1, export_jobs_of_pk(owner), id.to_string())
}
