use super::{AccountId, CourseId, Timestamp};
use serde::{Deserialize, Serialize};

/// How a user came to sign up for a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignUpSource {
    /// A follower scanned the course's code (WeChat's SCAN event).
    Scan,
    /// Someone followed the account through the course's code (subscribe with its scene).
    FollowThroughCode,
}

impl SignUpSource {
    /// The name admins read.
    pub fn label(self) -> &'static str {
        match self {
            Self::Scan => "扫码报名",
            Self::FollowThroughCode => "扫码关注报名",
        }
    }
}

/// A user who scanned a course's parametric QR (and so wants its reminder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignUp {
    /// Course signed up for.
    pub course_id: CourseId,
    /// Account whose QR was scanned.
    pub account_id: AccountId,
    /// The user on that account.
    pub openid: String,
    /// Cross-account id, when known.
    #[serde(default)]
    pub unionid: Option<String>,
    /// Scene value of the QR scanned.
    pub scene: String,
    /// How the user signed up (absent on sign-ups recorded before sources were).
    #[serde(default)]
    pub source: Option<SignUpSource>,
    /// First sign-up; a repeated scan keeps the first time.
    pub signed_up_at: Timestamp,
}
