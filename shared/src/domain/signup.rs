use super::{AccountId, CourseId, Timestamp};
use serde::{Deserialize, Serialize};

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
    /// First sign-up; a repeated scan keeps the first time.
    pub signed_up_at: Timestamp,
}
