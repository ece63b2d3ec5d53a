use super::{AccountId, CourseId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Editorial state of a course, set by admins. Whether it is upcoming, live or ended follows
/// from its times (see [`Course::phase_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CourseStatus {
    /// Being prepared; not shown to users, not pushed.
    Draft,
    /// Visible and pushable.
    #[default]
    Published,
    /// Called off; its page says so and nothing more is pushed.
    Cancelled,
}

/// Which WeChat template carries this course's notification on one account, and how the
/// course's fields fill the template's keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateMapping {
    /// WeChat template id.
    pub template_id: String,
    /// Template key (e.g. `thing1`) -> text with placeholders such as `{title}`, `{start_time}`.
    pub fields: BTreeMap<String, String>,
}

/// A live course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Course {
    /// Id.
    pub id: CourseId,
    /// Title shown everywhere.
    pub title: String,
    /// Speaker (讲者).
    #[serde(default)]
    pub speaker: String,
    /// Longer description.
    #[serde(default)]
    pub description: String,
    /// When the live starts.
    pub starts_at: Timestamp,
    /// When it ends, if known.
    #[serde(default)]
    pub ends_at: Option<Timestamp>,
    /// The live room.
    pub live_url: String,
    /// Cover image URL.
    #[serde(default)]
    pub cover_url: Option<String>,
    /// Subscription account a viewer must follow before entering (the follow gate).
    #[serde(default)]
    pub required_account: Option<AccountId>,
    /// Template per service account used when pushing this course.
    #[serde(default)]
    pub templates: BTreeMap<AccountId, TemplateMapping>,
    /// Lead times, in minutes before the start, at which signed-up users are reminded (e.g.
    /// a day and a quarter of an hour); empty = no reminder. Items written when a course had
    /// one reminder hold a number, read as a list of one.
    #[serde(default, deserialize_with = "one_or_many")]
    pub reminder_minutes: Vec<u32>,
    /// Editorial status.
    #[serde(default)]
    pub status: CourseStatus,
    /// QR codes rendered by qr-generator; `None` until the first rendering.
    #[serde(default)]
    pub qr: Option<CourseQrCodes>,
    /// Ask for permanent parametric codes (QR_LIMIT_STR_SCENE, at most 100,000 per account
    /// for all time) instead of 30-day temporary ones that are renewed before they expire.
    #[serde(default)]
    pub permanent_qr: bool,
    /// Why the last QR generation failed; cleared by the next successful one.
    #[serde(default)]
    pub qr_error: Option<QrFailure>,
    /// Optimistic-concurrency version, incremented by every update.
    #[serde(default)]
    pub version: u64,
    /// Created.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// One rendered QR code: what it encodes and where its images are in S3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrImage {
    /// The text encoded (landing-page URL, or the `url` of WeChat's ticket).
    pub content: String,
    /// S3 key of the PNG.
    pub png_key: String,
    /// S3 key of the SVG.
    pub svg_key: String,
    /// WeChat ticket, for parametric codes.
    #[serde(default)]
    pub ticket: Option<String>,
    /// Scene string, for parametric codes.
    #[serde(default)]
    pub scene: Option<String>,
    /// When a temporary parametric code stops working; `None` = never.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

/// A course's QR codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseQrCodes {
    /// The landing page (`PUBLIC_BASE_URL/c/<course_id>`).
    pub landing: QrImage,
    /// A parametric code per service account; scanning it signs the user up for the course.
    #[serde(default)]
    pub accounts: BTreeMap<AccountId, QrImage>,
    /// When these were rendered.
    pub generated_at: Timestamp,
}

/// A failed QR generation, kept on the course for admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrFailure {
    /// What went wrong (for admins, Chinese first).
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// The course's landing page (`<public_base_url>/c/<course_id>`), the landing QR's content.
pub fn landing_url(public_base_url: &str, course: CourseId) -> String {
    format!("{}/c/{course}", public_base_url.trim_end_matches('/'))
}

/// Where a course is in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoursePhase {
    /// Not started yet.
    Upcoming,
    /// Started and not ended.
    Live,
    /// Over.
    Ended,
}

impl Course {
    /// The accounts the course is pushed from or gated on (what an admin's scope is
    /// checked against).
    pub fn involved_accounts(&self) -> std::collections::BTreeSet<AccountId> {
        self.templates
            .keys()
            .cloned()
            .chain(self.required_account.clone())
            .collect()
    }

    /// Phase at `now`. A course with no end time counts as live for 3 hours after its start.
    pub fn phase_at(&self, now: Timestamp) -> CoursePhase {
        let end = self
            .ends_at
            .unwrap_or(self.starts_at + chrono::Duration::hours(3));
        if now < self.starts_at {
            CoursePhase::Upcoming
        } else if now < end {
            CoursePhase::Live
        } else {
            CoursePhase::Ended
        }
    }
}

/// Reads a lead-time list from a list, a single number, or nothing.
pub fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(u32),
        Many(Vec<u32>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(m)) => vec![m],
        Some(OneOrMany::Many(list)) => list,
    })
}

#[cfg(test)]
mod reminder_tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use std::collections::HashMap;

    #[derive(Deserialize)]
    struct Lead {
        #[serde(default, deserialize_with = "one_or_many")]
        reminder_minutes: Vec<u32>,
    }

    fn from_item(value: Option<AttributeValue>) -> Vec<u32> {
        let mut item = HashMap::new();
        if let Some(value) = value {
            item.insert("reminder_minutes".to_string(), value);
        }
        let lead: Lead = serde_dynamo::from_item(item).expect("decodes");
        lead.reminder_minutes
    }

    #[test]
    fn old_single_reminders_and_new_lists_both_read() {
        assert_eq!(from_item(Some(AttributeValue::N("30".into()))), vec![30]);
        let list = AttributeValue::L(vec![
            AttributeValue::N("1440".into()),
            AttributeValue::N("15".into()),
        ]);
        assert_eq!(from_item(Some(list)), vec![1440, 15]);
        assert_eq!(
            from_item(Some(AttributeValue::Null(true))),
            Vec::<u32>::new()
        );
        assert_eq!(from_item(None), Vec::<u32>::new());
        let json: Lead = serde_json::from_str(r#"{"reminder_minutes": 30}"#).unwrap();
        assert_eq!(json.reminder_minutes, vec![30]);
    }
}
