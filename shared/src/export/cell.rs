//! One cell of an exported row.

/// A cell: text, or a number (kept numeric in XLSX).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
}

impl From<String> for Cell {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Self::Text(value.to_string())
    }
}

impl From<u64> for Cell {
    fn from(value: u64) -> Self {
        // Counts in exports stay far below 2^53.
        Self::Number(value as f64)
    }
}

/// Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a leading tab or
/// carriage return) gets a leading `'`, so a follower's remark cannot become a formula.
pub fn neutralise_formula(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for text in ["=1+1", "+86", "-2", "@SUM(A1)", "\t=x", "\r=x"] {
            assert!(neutralise_formula(text).starts_with('\''), "{text:?}");
        }
        for text in ["直播", "a=b", "", "1-2"] {
            assert_eq!(neutralise_formula(text), text);
        }
    }
}
