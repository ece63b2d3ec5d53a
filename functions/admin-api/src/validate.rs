//! Field-level validation: every bad field is reported at once, each with a stable English
//! message key (for the console's translations) and a Chinese message (shown as is).

use crate::error::ApiError;
use serde::Serialize;
use utoipa::ToSchema;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldError {
    /// Field path, e.g. `title` or `templates.wx123.template_id`.
    pub field: String,
    /// Stable English message key, e.g. `required`, `too_long`.
    pub key: String,
    /// Message in Chinese.
    pub message: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, key: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Collects field errors; [`Validator::finish`] turns them into one `ApiError::Validation`.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error.
    pub fn add(&mut self, field: impl Into<String>, key: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, key, message));
    }

    /// Records an error built elsewhere.
    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Text that must be present (after trimming) and at most `max` characters long.
    pub fn required_text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "required", "必填");
        } else {
            self.max_len(field, value, max);
        }
    }

    /// Text of at most `max` characters.
    pub fn max_len(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(field, "too_long", format!("不能超过 {max} 个字符"));
        }
    }

    /// An absolute http(s) URL.
    pub fn url(&mut self, field: &str, value: &str) {
        let ok = (value.starts_with("https://") || value.starts_with("http://"))
            && value.len() > "https://".len()
            && value.len() <= 2048
            && !value.chars().any(char::is_whitespace);
        if !ok {
            self.add(
                field,
                "invalid_url",
                "须为 http:// 或 https:// 开头的完整网址",
            );
        }
    }

    /// Parses an id, recording the error under `field`.
    pub fn id<T: std::str::FromStr>(&mut self, field: &str, value: &str) -> Option<T> {
        match value.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                self.add(field, "invalid_id", "编号格式不正确");
                None
            }
        }
    }

    /// `Ok` if every check passed, else every error at once.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_error() {
        let mut v = Validator::new();
        v.required_text("title", "  ", 10);
        v.required_text("speaker", "一二三四五六", 5);
        v.url("live_url", "ftp://x");
        v.url("cover_url", "https://example.com/a.png");
        let Err(ApiError::Validation(errors)) = v.finish() else {
            panic!("expected validation errors");
        };
        let keys: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.key.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("title", "required"),
                ("speaker", "too_long"),
                ("live_url", "invalid_url")
            ]
        );
    }

    #[test]
    fn passes_when_clean() {
        let mut v = Validator::new();
        v.required_text("title", "直播", 10);
        assert!(v.finish().is_ok());
    }
}
