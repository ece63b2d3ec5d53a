//! Scanning a course's parametric code (subscribe with `qrscene_…`, or SCAN): the user signs
//! up for the course and is told its details at once.

use super::{Outcome, texts};
use livenotify::domain::{Account, CourseStatus, Follower, Scene, SignUp, SignUpSource, Timestamp};
use livenotify::platform::Platform;
use livenotify::store::{StoreError, StoreResult};

/// Signs `follower` up for the course in `event_key` (when `record` gives how) and builds the
/// reply.
/// Scenes the platform did not create get no reply.
pub async fn from_scene(
    platform: &Platform,
    account: &Account,
    follower: &Follower,
    event_key: &str,
    at: Timestamp,
    record: Option<SignUpSource>,
) -> StoreResult<Outcome> {
    let Some(Scene::Course(course_id)) = Scene::from_event_key(event_key) else {
        tracing::info!(event_key, "scene not created by the platform");
        return Ok(Outcome::Nothing);
    };
    let course = match platform.store.get_course(course_id).await {
        Ok(course) if course.status != CourseStatus::Draft => course,
        Ok(_) | Err(StoreError::NotFound { .. }) => {
            return Ok(Outcome::Text(texts::COURSE_GONE.into()));
        }
        Err(e) => return Err(e),
    };
    if course.status == CourseStatus::Cancelled {
        return Ok(Outcome::Text(texts::cancelled(&course)));
    }
    if let Some(source) = record {
        let signup = SignUp {
            course_id,
            account_id: account.id.clone(),
            openid: follower.openid.clone(),
            unionid: follower.unionid.clone(),
            scene: Scene::Course(course_id).encode(),
            source: Some(source),
            signed_up_at: at,
        };
        let first = platform.store.add_signup(&signup).await?;
        tracing::info!(course = %course_id, first, "course sign-up");
    }
    let link = format!("{}/c/{course_id}", platform.config.public_base_url);
    Ok(Outcome::Text(texts::signed_up(&course, &link)))
}
