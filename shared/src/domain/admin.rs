use super::{AccountId, Course, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// What an admin may do (the seed's tiered administration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// Everything, including managing admins.
    SuperAdmin,
    /// Courses and pushes, only for these accounts.
    Operator {
        /// Accounts this operator may act for.
        accounts: BTreeSet<AccountId>,
    },
    /// Read-only, only for these accounts.
    Viewer {
        /// Accounts this viewer may read (an item written before scopes existed has none).
        #[serde(default)]
        accounts: BTreeSet<AccountId>,
    },
}

/// Which accounts an admin may see: the same for reads and, for operators, writes. The
/// default, every account, is for internal jobs (sync, reminders, QR refresh) that act for
/// the platform; admin requests always pass the caller's scope.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Every account (super admins).
    #[default]
    All,
    /// Only these.
    Accounts(BTreeSet<AccountId>),
}

impl Scope {
    /// Is `account` inside the scope?
    pub fn contains(&self, account: &AccountId) -> bool {
        match self {
            Self::All => true,
            Self::Accounts(accounts) => accounts.contains(account),
        }
    }

    /// Is every one of `accounts` inside the scope?
    pub fn contains_all<'a>(&self, accounts: impl IntoIterator<Item = &'a AccountId>) -> bool {
        accounts.into_iter().all(|a| self.contains(a))
    }

    /// Is at least one of `accounts` inside the scope?
    pub fn contains_any<'a>(&self, accounts: impl IntoIterator<Item = &'a AccountId>) -> bool {
        match self {
            Self::All => true,
            Self::Accounts(_) => accounts.into_iter().any(|a| self.contains(a)),
        }
    }

    /// May an admin with this scope see `course`? Yes if it involves one of the scope's
    /// accounts, or no account at all yet (a draft carries no account's data).
    pub fn sees_course(&self, course: &Course) -> bool {
        let involved = course.involved_accounts();
        involved.is_empty() || self.contains_any(&involved)
    }
}

impl Role {
    /// A viewer of `accounts`.
    pub fn viewer<'a>(accounts: impl IntoIterator<Item = &'a AccountId>) -> Self {
        Self::Viewer {
            accounts: accounts.into_iter().cloned().collect(),
        }
    }

    /// An operator of `accounts`.
    pub fn operator<'a>(accounts: impl IntoIterator<Item = &'a AccountId>) -> Self {
        Self::Operator {
            accounts: accounts.into_iter().cloned().collect(),
        }
    }

    /// The accounts this role may see.
    pub fn scope(&self) -> Scope {
        match self {
            Self::SuperAdmin => Scope::All,
            Self::Operator { accounts } | Self::Viewer { accounts } => {
                Scope::Accounts(accounts.clone())
            }
        }
    }

    /// May this role push and manage courses for `account`?
    pub fn may_operate(&self, account: &AccountId) -> bool {
        match self {
            Self::SuperAdmin => true,
            Self::Operator { accounts } => accounts.contains(account),
            Self::Viewer { .. } => false,
        }
    }

    /// May this role read `account`'s data?
    pub fn may_see(&self, account: &AccountId) -> bool {
        self.scope().contains(account)
    }
}

/// A person who logs into the admin console.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminUser {
    /// Login name (unique).
    pub username: String,
    /// Shown name.
    #[serde(default)]
    pub display_name: String,
    /// Permissions.
    #[serde(flatten)]
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Cannot log in.
    #[serde(default)]
    pub disabled: bool,
    /// Tokens carry the epoch they were issued in; moving it on (logout, a password, role or
    /// scope change, a disable) ends every token issued before. Failed logins are counted
    /// apart (`store::login_throttle`), so a login never rewrites this record.
    #[serde(default)]
    pub session_epoch: u64,
    /// Created.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

impl fmt::Debug for AdminUser {
    // The password hash stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_scope() {
        let a = AccountId::new("wxa").unwrap();
        let b = AccountId::new("wxb").unwrap();
        let op = Role::Operator {
            accounts: [a.clone()].into(),
        };
        assert!(op.may_operate(&a));
        assert!(!op.may_operate(&b));
        assert!(Role::SuperAdmin.may_operate(&b));
        let viewer = Role::viewer([&a]);
        assert!(!viewer.may_operate(&a));
        assert!(viewer.may_see(&a));
        assert!(!viewer.may_see(&b));
        assert!(op.may_see(&a) && !op.may_see(&b));
        assert!(Role::SuperAdmin.may_see(&b));
    }

    #[test]
    fn viewer_written_before_scopes_sees_nothing() {
        let role: Role = serde_json::from_str(r#"{"role":"viewer"}"#).unwrap();
        assert_eq!(role.scope(), Scope::Accounts(BTreeSet::new()));
    }
}
