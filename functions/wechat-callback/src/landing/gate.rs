//! The follow gate: may this visitor enter the live room of a course that requires following
//! a (subscription) account?

use crate::session::Session;
use livenotify::domain::AccountId;
use livenotify::store::{Store, StoreResult};

/// What the platform knows of the visitor and the required account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No gate on this course.
    Open,
    /// The visitor follows the required account.
    Following,
    /// The visitor does not follow it (or unfollowed).
    NotFollowing,
    /// Not signed in through WeChat (e.g. another browser): cannot tell.
    Anonymous,
    /// Signed in, but WeChat gave no unionid to link accounts: cannot tell.
    NoUnionid,
}

/// Whether `session`'s person follows `required`: directly by openid when they signed in
/// through that account, otherwise through their unionid.
pub async fn check(
    store: &Store,
    required: &AccountId,
    session: Option<&Session>,
) -> StoreResult<Access> {
    let Some(session) = session else {
        return Ok(Access::Anonymous);
    };
    if session.account == *required {
        let follows = store
            .find_follower(required, &session.openid)
            .await?
            .is_some_and(|f| f.subscribed);
        return Ok(if follows {
            Access::Following
        } else {
            Access::NotFollowing
        });
    }
    let Some(unionid) = session.unionid.as_deref() else {
        return Ok(Access::NoUnionid);
    };
    let follows = store
        .followers_by_unionid(unionid)
        .await?
        .iter()
        .any(|f| f.account_id == *required && f.subscribed);
    Ok(if follows {
        Access::Following
    } else {
        Access::NotFollowing
    })
}
