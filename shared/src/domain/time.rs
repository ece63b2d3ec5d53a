use chrono::{DateTime, SecondsFormat, Utc};

/// Every instant the platform stores is UTC.
pub type Timestamp = DateTime<Utc>;

/// The current instant.
pub fn now() -> Timestamp {
    Utc::now()
}

/// Fixed-width RFC 3339 (millisecond, `Z`), so that sort keys order lexicographically by time.
pub fn sort_key_time(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sort_key_time_is_fixed_width_and_ordered() {
        let a = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().unwrap();
        let b = a + chrono::Duration::milliseconds(1);
        assert_eq!(sort_key_time(a), "2026-01-02T03:04:05.000Z");
        assert!(sort_key_time(a) < sort_key_time(b));
        assert_eq!(sort_key_time(a).len(), sort_key_time(b).len());
    }
}
