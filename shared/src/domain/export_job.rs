//! Export jobs: an admin's request for a CSV/XLSX file, written by the export worker in the
//! background (large exports outlast API Gateway's 29-second limit).

use super::{IdError, Timestamp};
use crate::export::ExportFormat;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An export job (a ULID: unique and ordered by creation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExportJobId(ulid::Ulid);

impl ExportJobId {
    /// A fresh id, ordered after every id generated earlier.
    pub fn generate() -> Self {
        Self(ulid::Ulid::new())
    }
}

impl FromStr for ExportJobId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ulid::Ulid::from_string(s).map(Self).map_err(|_| IdError {
            kind: "export",
            value: s.chars().take(64).collect(),
            reason: "must be a 26-character ULID",
        })
    }
}

impl TryFrom<String> for ExportJobId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ExportJobId> for String {
    fn from(id: ExportJobId) -> Self {
        id.0.to_string()
    }
}

impl fmt::Display for ExportJobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// 直播课程.
    Courses,
    /// 直播用户 / 关注用户 of one account.
    Followers,
    /// 通知记录.
    Deliveries,
    /// 报名用户 of one course.
    Signups,
}

/// Where an export job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportJobStatus {
    /// Queued, not started.
    Pending,
    /// Being written.
    Running,
    /// The file is in S3.
    Succeeded,
    /// Given up; `error` says why.
    Failed,
}

impl ExportJobStatus {
    /// Nothing more will happen to the job.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// One export job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportJob {
    /// Id.
    pub id: ExportJobId,
    /// Admin who asked for it (only they and super admins see it).
    pub owner: String,
    /// What is exported.
    pub kind: ExportKind,
    /// File format.
    pub format: ExportFormat,
    /// The request as validated by the API (kind, format and filters), replayed by the worker.
    pub request: serde_json::Value,
    /// State.
    pub status: ExportJobStatus,
    /// Data rows written (header not counted).
    #[serde(default)]
    pub rows: u64,
    /// File size.
    #[serde(default)]
    pub bytes: u64,
    /// S3 key of the file, once written.
    #[serde(default)]
    pub key: Option<String>,
    /// Download file name (Chinese, with the time of the export).
    #[serde(default)]
    pub file_name: Option<String>,
    /// Why it failed (Chinese, for admins).
    #[serde(default)]
    pub error: Option<String>,
    /// Worker attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Asked for.
    pub created_at: Timestamp,
    /// First attempt started.
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    /// Succeeded or failed.
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
    /// TTL (epoch seconds): the job goes when its file does (the bucket keeps exports 7 days).
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// How long an export job and its file are kept.
pub const EXPORT_RETENTION_DAYS: i64 = 7;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = ExportJobId::generate();
        assert_eq!(id.to_string().parse::<ExportJobId>(), Ok(id));
        assert_eq!("nope".parse::<ExportJobId>().unwrap_err().kind, "export");
        assert!(ExportJobStatus::Failed.is_final() && !ExportJobStatus::Running.is_final());
    }
}
