use super::{AccountId, Timestamp};
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
    /// Read-only.
    Viewer,
}

impl Role {
    /// May this role push and manage courses for `account`?
    pub fn may_operate(&self, account: &AccountId) -> bool {
        match self {
            Self::SuperAdmin => true,
            Self::Operator { accounts } => accounts.contains(account),
            Self::Viewer => false,
        }
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
    /// Consecutive failed logins, for throttling.
    #[serde(default)]
    pub failed_logins: u32,
    /// Refuse logins until then.
    #[serde(default)]
    pub locked_until: Option<Timestamp>,
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
        assert!(!Role::Viewer.may_operate(&a));
    }
}
