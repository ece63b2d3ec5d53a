//! The nightly follower sync: 01:00 in Asia/Shanghai (China has no daylight saving, but the
//! time zone is applied properly rather than assumed to be UTC+8).

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

/// Local time of the nightly sync.
pub const SYNC_AT: NaiveTime = match NaiveTime::from_hms_opt(1, 0, 0) {
    Some(t) => t,
    None => panic!("01:00 is a valid time"),
};

/// The first 01:00 Asia/Shanghai strictly after `now`.
pub fn next_sync_after(now: DateTime<Utc>) -> DateTime<Utc> {
    let local_today = now.with_timezone(&Shanghai).date_naive();
    [
        local_today,
        local_today
            .checked_add_days(Days::new(1))
            .unwrap_or(local_today),
    ]
    .into_iter()
    .filter_map(|day| {
        Shanghai
            .from_local_datetime(&day.and_time(SYNC_AT))
            .single()
    })
    .map(|t| t.with_timezone(&Utc))
    .find(|t| *t > now)
    // Unreachable for Shanghai (no DST gaps); a day later is the safe answer anyway.
    .unwrap_or(now + chrono::Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn fires_at_one_in_the_morning_china_time() {
        // 00:59 in Shanghai -> one minute later.
        assert_eq!(
            next_sync_after(utc("2026-11-22T16:59:00Z")),
            utc("2026-11-22T17:00:00Z")
        );
        // Exactly 01:00 -> the next night.
        assert_eq!(
            next_sync_after(utc("2026-11-22T17:00:00Z")),
            utc("2026-11-23T17:00:00Z")
        );
        // Midday UTC (20:00 in Shanghai) -> 17:00 UTC the same day.
        assert_eq!(
            next_sync_after(utc("2026-11-22T12:00:00Z")),
            utc("2026-11-22T17:00:00Z")
        );
    }
}
