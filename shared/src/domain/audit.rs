use super::{AuditId, Timestamp};
use serde::{Deserialize, Serialize};

/// Result of an audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It was done.
    Succeeded,
    /// It was refused (validation, permission).
    Refused,
    /// It failed.
    Failed,
}

/// Who did what to what, when, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Id (time-ordered).
    pub id: AuditId,
    /// When.
    pub at: Timestamp,
    /// Admin username, or `system`.
    pub actor: String,
    /// Action name, e.g. `course.create`.
    pub action: String,
    /// Target, e.g. `course/01J…`.
    pub target: String,
    /// Outcome.
    pub outcome: AuditOutcome,
    /// Extra facts (never secrets).
    #[serde(default)]
    pub details: serde_json::Value,
}
