//! The placeholders a template mapping may use, and how a course fills them.

use crate::domain::{Course, Timestamp};
use chrono_tz::Asia::Shanghai;

/// Every placeholder a template field may contain, as written in the mapping.
pub const PLACEHOLDERS: [&str; 7] = [
    "{title}",
    "{speaker}",
    "{start_time}",
    "{start_date}",
    "{end_time}",
    "{live_url}",
    "{description}",
];

/// A course's values for the placeholders. Times are shown in China time (Asia/Shanghai),
/// which is what followers read, whatever the server's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseFields {
    /// `{title}`.
    pub title: String,
    /// `{speaker}`.
    pub speaker: String,
    /// `{start_time}`: `2026-11-23 19:30`.
    pub start_time: String,
    /// `{start_date}`: `2026-11-23`.
    pub start_date: String,
    /// `{end_time}`: `21:00`, empty when the course has no end time.
    pub end_time: String,
    /// `{live_url}`.
    pub live_url: String,
    /// `{description}`.
    pub description: String,
}

fn china(at: Timestamp, format: &str) -> String {
    at.with_timezone(&Shanghai).format(format).to_string()
}

impl CourseFields {
    /// The values of `course`.
    pub fn of(course: &Course) -> Self {
        Self {
            title: course.title.clone(),
            speaker: course.speaker.clone(),
            start_time: china(course.starts_at, "%Y-%m-%d %H:%M"),
            start_date: china(course.starts_at, "%Y-%m-%d"),
            end_time: course
                .ends_at
                .map(|t| china(t, "%H:%M"))
                .unwrap_or_default(),
            live_url: course.live_url.clone(),
            description: course.description.clone(),
        }
    }

    fn value(&self, name: &str) -> Option<&str> {
        Some(match name {
            "title" => &self.title,
            "speaker" => &self.speaker,
            "start_time" => &self.start_time,
            "start_date" => &self.start_date,
            "end_time" => &self.end_time,
            "live_url" => &self.live_url,
            "description" => &self.description,
            _ => return None,
        })
    }

    /// `text` with every `{name}` replaced; `{{` and `}}` stand for literal braces.
    /// Errors name the unknown placeholder or the unbalanced brace.
    pub fn fill(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(pos) = rest.find(['{', '}']) {
            out.push_str(&rest[..pos]);
            let tail = &rest[pos..];
            if let Some(after) = tail.strip_prefix("{{") {
                out.push('{');
                rest = after;
            } else if let Some(after) = tail.strip_prefix("}}") {
                out.push('}');
                rest = after;
            } else if tail.starts_with('}') {
                return Err(format!("“}}” 没有对应的 “{{”：{text}"));
            } else {
                let Some(end) = tail.find('}') else {
                    return Err(format!("“{{” 没有闭合：{text}"));
                };
                let name = &tail[1..end];
                let value = self.value(name).ok_or_else(|| {
                    format!("未知占位符 {{{name}}}，可用：{}", PLACEHOLDERS.join(" "))
                })?;
                out.push_str(value);
                rest = &tail[end + 1..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{CourseId, CourseStatus};
    use chrono::TimeZone;

    pub(crate) fn course() -> Course {
        let start = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 11, 30, 0)
            .single()
            .unwrap();
        Course {
            id: CourseId::generate(),
            title: "心内科病例讨论".into(),
            speaker: "王医生".into(),
            description: "每周一课".into(),
            starts_at: start,
            ends_at: Some(start + chrono::Duration::minutes(90)),
            live_url: "https://live.example/r/1".into(),
            cover_url: None,
            required_account: None,
            templates: Default::default(),
            reminder_minutes: Vec::new(),
            status: CourseStatus::Published,
            qr: None,
            permanent_qr: false,
            qr_error: None,
            version: 0,
            created_at: start,
            updated_at: start,
        }
    }

    #[test]
    fn times_are_china_time() {
        let f = CourseFields::of(&course());
        assert_eq!(f.start_time, "2026-11-23 19:30");
        assert_eq!(f.start_date, "2026-11-23");
        assert_eq!(f.end_time, "21:00");
    }

    #[test]
    fn fills_placeholders_and_escapes() {
        let f = CourseFields::of(&course());
        assert_eq!(
            f.fill("{title}（{speaker}）{{直播}} {start_time}").unwrap(),
            "心内科病例讨论（王医生）{直播} 2026-11-23 19:30"
        );
        assert_eq!(f.fill("无占位符").unwrap(), "无占位符");
    }

    #[test]
    fn unknown_or_unbalanced_placeholders_are_refused() {
        let f = CourseFields::of(&course());
        assert!(f.fill("{titel}").unwrap_err().contains("{titel}"));
        assert!(f.fill("{title").is_err());
        assert!(f.fill("title}").is_err());
    }
}
