//! Identifiers. Generated ids are ULIDs: unique without coordination and sortable by creation.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An identifier that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id {value:?}: {reason}")]
pub struct IdError {
    /// Which kind of id.
    pub kind: &'static str,
    /// The rejected text (already bounded by the caller's body limits).
    pub value: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

/// A configured WeChat account. For official accounts and mini programs this is the appid,
/// which is what WeChat's callback URL carries; for WeCom apps it is chosen by the admin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// Validates: 1 to 64 ASCII letters, digits, `_` or `-` (safe inside keys and URL paths).
    pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        let reason = if value.is_empty() || value.len() > 64 {
            Some("must be 1 to 64 characters")
        } else if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Some("only ASCII letters, digits, '_' and '-' are allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(IdError {
                kind: "account",
                value,
                reason,
            }),
            None => Ok(Self(value)),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> Self {
        id.0
    }
}

impl FromStr for AccountId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(ulid::Ulid);

        impl $name {
            /// A fresh id, ordered after every id generated earlier.
            pub fn generate() -> Self {
                Self(ulid::Ulid::new())
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                ulid::Ulid::from_string(s).map(Self).map_err(|_| IdError {
                    kind: $kind,
                    value: s.chars().take(64).collect(),
                    reason: "must be a 26-character ULID",
                })
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0.to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

ulid_id!(
    /// A live course.
    CourseId,
    "course"
);
ulid_id!(
    /// A push job (one course, one account, one audience).
    PushId,
    "push"
);
ulid_id!(
    /// One follower-sync run of one account.
    SyncRunId,
    "sync run"
);
ulid_id!(
    /// One audit-log entry.
    AuditId,
    "audit"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_accepts_appids_and_rejects_key_breakers() {
        assert!(AccountId::new("wx1234567890abcdef").is_ok());
        assert!(AccountId::new("corp_1000002").is_ok());
        for bad in ["", "a#b", "a/b", "空", &"x".repeat(65)] {
            assert!(AccountId::new(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn ulid_ids_round_trip_and_reject_garbage() {
        let id = CourseId::generate();
        assert_eq!(id.to_string().parse::<CourseId>(), Ok(id));
        let err = "not-a-ulid".parse::<PushId>().unwrap_err();
        assert_eq!(err.kind, "push");
    }

    #[test]
    fn ids_serialize_as_strings() {
        let id = AccountId::new("wxabc").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"wxabc\"");
        assert!(serde_json::from_str::<AccountId>("\"a b\"").is_err());
    }
}
