//! Automatic course reminders: at each lead time before a course starts
//! (`Course.reminder_minutes`, e.g. a day and 15 minutes), its signed-up users get a push on
//! every account the course has a template for.
//!
//! A per-minute tick looks at the courses starting within the horizon. A due reminder gets a
//! push whose id is derived from (course, account, start time, lead time), created with a
//! conditional write: however many ticks see it, it is created, and so sent, once.

use crate::{Deps, JobError};
use livenotify::domain::{
    AccountId, Audience, Channel, Course, CourseId, CourseStatus, Push, PushCounters, PushId,
    PushStatus, Timestamp, sort_key_time,
};
use livenotify::jobs::PushJob;
use livenotify::store::{CourseFilter, PageRequest, StoreError};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Courses starting later than this are not looked at (longest lead time honoured).
pub const REMINDER_HORIZON: chrono::Duration = chrono::Duration::hours(48);

/// The reminder push of `course` on `account`: a ULID whose time is the due instant and whose
/// random part is a digest of what makes the reminder (so a moved course gets a new one).
pub fn reminder_push_id(course: &Course, account: &AccountId, minutes: u32) -> PushId {
    let due = course.starts_at - chrono::Duration::minutes(i64::from(minutes));
    let mut hash = Sha256::new();
    for part in [
        course.id.to_string(),
        account.to_string(),
        sort_key_time(course.starts_at),
        minutes.to_string(),
    ] {
        hash.update(part.as_bytes());
        hash.update(b"\n");
    }
    let digest = hash.finalize();
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    let ulid = ulid::Ulid::from_parts(
        u64::try_from(due.timestamp_millis()).unwrap_or(0),
        u128::from_be_bytes(random),
    );
    // A ULID always parses back into a push id.
    ulid.to_string()
        .parse()
        .unwrap_or_else(|_| PushId::generate())
}

/// The lead time of `course`'s reminder due at `at` (before the start), if any: the nearest
/// lead already reached. A reminder reached late (a course created or moved after its time)
/// is still sent while less than half the way to the next one, so a late course does not get
/// a burst of the reminders it missed; the last one before the start is sent however late.
fn due_minutes(course: &Course, at: Timestamp) -> Option<u32> {
    if course.status != CourseStatus::Published || at >= course.starts_at {
        return None;
    }
    let mut leads = course.reminder_minutes.clone();
    leads.sort_unstable();
    let minutes = |m: u32| chrono::Duration::minutes(i64::from(m));
    let reached = leads
        .iter()
        .position(|m| course.starts_at - minutes(*m) <= at)?;
    let lead = leads[reached];
    if reached == 0 {
        return Some(lead);
    }
    let late = at - (course.starts_at - minutes(lead));
    (late * 2 <= minutes(lead - leads[reached - 1])).then_some(lead)
}

fn reminder(course: &Course, account: &AccountId, minutes: u32, at: Timestamp) -> Push {
    Push {
        id: reminder_push_id(course, account, minutes),
        course_id: course.id,
        account_id: account.clone(),
        audience: Audience::SignedUp,
        channel: Channel::Template,
        status: PushStatus::Pending,
        scheduled_at: None,
        created_by: "system".into(),
        created_at: at,
        started_at: None,
        finished_at: None,
        status_reason: None,
        counters: PushCounters::default(),
    }
}

/// Creates (once) and starts every reminder due at `at`; returns how many were created.
pub async fn tick(deps: &Deps, at: Timestamp) -> Result<u32, JobError> {
    let store = &deps.platform.store;
    let filter = CourseFilter {
        starts_from: Some(at),
        starts_to: Some(at + REMINDER_HORIZON),
        status: Some(CourseStatus::Published),
        ..CourseFilter::default()
    };
    let mut created = 0;
    let mut page = PageRequest::first(livenotify::store::MAX_LIMIT);
    loop {
        let courses = store.list_courses(&filter, &page).await?;
        for course in &courses.items {
            let Some(minutes) = due_minutes(course, at) else {
                continue;
            };
            for account in course.templates.keys() {
                if start_reminder(deps, course.id, reminder(course, account, minutes, at)).await? {
                    created += 1;
                }
            }
        }
        match courses.next_cursor {
            Some(cursor) => {
                page = PageRequest::new(Some(livenotify::store::MAX_LIMIT), Some(cursor))?
            }
            None => return Ok(created),
        }
    }
}

async fn start_reminder(deps: &Deps, course: CourseId, push: Push) -> Result<bool, JobError> {
    let store = &deps.platform.store;
    let plan = PushJob::Plan { push_id: push.id };
    match store.create_push(&push).await {
        Ok(()) => {
            deps.platform.queues.push(&plan, Duration::ZERO).await?;
            tracing::info!(push_id = %push.id, course_id = %course, account = %push.account_id, "course reminder started");
            Ok(true)
        }
        Err(StoreError::Conflict { .. }) => {
            // Created by an earlier tick. If that tick died before enqueueing the plan, the
            // push is still pending: enqueue it again (planning a started push is a no-op).
            if store.get_push(push.id).await?.status == PushStatus::Pending {
                deps.platform.queues.push(&plan, Duration::ZERO).await?;
            }
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livenotify::domain::now;
    use std::collections::BTreeMap;

    fn course(minutes: Vec<u32>, starts_in: i64) -> Course {
        let at = now();
        Course {
            id: CourseId::generate(),
            title: "t".into(),
            speaker: String::new(),
            description: String::new(),
            starts_at: at + chrono::Duration::minutes(starts_in),
            ends_at: None,
            live_url: "https://x".into(),
            cover_url: None,
            required_account: None,
            templates: BTreeMap::new(),
            reminder_minutes: minutes,
            status: CourseStatus::Published,
            qr: None,
            permanent_qr: false,
            qr_error: None,
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn due_only_inside_the_window_before_the_start() {
        let at = now();
        assert_eq!(due_minutes(&course(vec![30], 29), at), Some(30));
        assert_eq!(due_minutes(&course(vec![30], 31), at), None);
        assert_eq!(due_minutes(&course(vec![30], -1), at), None);
        assert_eq!(due_minutes(&course(vec![], 5), at), None);
        // A day and a quarter of an hour: the day one from 24 h before, the other at 15 min.
        let two = vec![1440, 15];
        assert_eq!(due_minutes(&course(two.clone(), 1441), at), None);
        assert_eq!(due_minutes(&course(two.clone(), 1439), at), Some(1440));
        // Reached a day late, 16 minutes before: skipped, the 15-minute one comes next.
        assert_eq!(due_minutes(&course(two.clone(), 16), at), None);
        assert_eq!(due_minutes(&course(two.clone(), 1000), at), Some(1440));
        assert_eq!(due_minutes(&course(two.clone(), 14), at), Some(15));
        // Created 10 minutes before: only the nearest reminder, not the missed one too.
        assert_eq!(due_minutes(&course(two, 10), at), Some(15));
        let mut draft = course(vec![30], 10);
        draft.status = CourseStatus::Draft;
        assert_eq!(due_minutes(&draft, at), None);
    }

    #[test]
    fn reminder_ids_are_stable_and_distinct() {
        let c = course(vec![30], 20);
        let a = AccountId::new("wxa").unwrap();
        let b = AccountId::new("wxb").unwrap();
        assert_eq!(reminder_push_id(&c, &a, 30), reminder_push_id(&c, &a, 30));
        assert_ne!(reminder_push_id(&c, &a, 30), reminder_push_id(&c, &b, 30));
        assert_ne!(reminder_push_id(&c, &a, 30), reminder_push_id(&c, &a, 15));
        let mut moved = c.clone();
        moved.starts_at += chrono::Duration::hours(1);
        assert_ne!(
            reminder_push_id(&c, &a, 30),
            reminder_push_id(&moved, &a, 30)
        );
    }
}
