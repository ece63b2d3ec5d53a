//! Read scoping: which accounts a caller may see, and how something outside answers.
//!
//! The rules (ARCHITECTURE.md, "Access rules"): an out-of-scope ID in a path answers 404
//! exactly as a missing one does, so nothing reveals that it exists; an out-of-scope account
//! named in a filter or a body answers 403; lists hold only in-scope items.

use super::Caller;
use crate::error::{ApiError, ApiResult};
use livenotify::domain::{AccountId, Course, Push, Scope};

impl Caller {
    /// The accounts this caller may see.
    pub fn scope(&self) -> Scope {
        self.admin.role.scope()
    }

    /// An account named in the path: 404 (as if absent) outside the scope.
    pub fn see_account(&self, account: &AccountId) -> ApiResult<()> {
        if self.scope().contains(account) {
            Ok(())
        } else {
            Err(not_found("account", account.to_string()))
        }
    }

    /// An account named in a filter or a body: 403 outside the scope.
    pub fn filter_account(&self, account: &AccountId) -> ApiResult<()> {
        if self.scope().contains(account) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "无权查看公众号 {account} 的数据"
            )))
        }
    }

    /// A course named in the path: 404 unless it involves an account in scope.
    pub fn see_course(&self, course: &Course) -> ApiResult<()> {
        if self.scope().sees_course(course) {
            Ok(())
        } else {
            Err(not_found("course", course.id.to_string()))
        }
    }

    /// A push named in the path: 404 unless its account is in scope.
    pub fn see_push(&self, push: &Push) -> ApiResult<()> {
        if self.scope().contains(&push.account_id) {
            Ok(())
        } else {
            Err(not_found("push", push.id.to_string()))
        }
    }
}

/// The same error the store gives for a missing item.
fn not_found(entity: &'static str, id: String) -> ApiError {
    ApiError::NotFound { entity, id }
}
