//! Course sign-ups (from scanning a course's parametric QR): by course, by user.

use super::keys::{self, Index, IndexKey, Key};
use super::{Page, PageRequest, Query, Store, StoreError, StoreResult, Stored};
use crate::domain::{AccountId, CourseId, Scope, SignUp};
use std::collections::BTreeMap;

impl Stored for SignUp {
    const ENTITY: &'static str = "signup";

    fn key(&self) -> Key {
        keys::signup(self.course_id, &self.account_id, &self.openid)
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        vec![keys::signup_by_user(
            &self.account_id,
            &self.openid,
            self.course_id,
        )]
    }
}

impl Store {
    /// Records a sign-up once; returns false if the user had already signed up (the first
    /// sign-up time is kept).
    pub async fn add_signup(&self, signup: &SignUp) -> StoreResult<bool> {
        let id = format!(
            "{}/{}/{}",
            signup.course_id, signup.account_id, signup.openid
        );
        match self.create(signup, id).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Sign-ups of a course.
    pub async fn list_signups_by_course(
        &self,
        course: CourseId,
        page: &PageRequest,
    ) -> StoreResult<Page<SignUp>> {
        let query =
            Query::partition(None, keys::course_pk(course)).begins_with(keys::SIGNUP_PREFIX);
        self.query(&query, page).await
    }

    /// Sign-ups of a course through accounts in `scope` (through `account` only, when given),
    /// by account then openid.
    pub async fn list_course_signups(
        &self,
        course: CourseId,
        scope: &Scope,
        account: Option<&AccountId>,
        page: &PageRequest,
    ) -> StoreResult<Page<SignUp>> {
        let prefix = match account {
            Some(account) => format!("{}{account}#", keys::SIGNUP_PREFIX),
            None => keys::SIGNUP_PREFIX.to_string(),
        };
        let query = Query::partition(None, keys::course_pk(course)).begins_with(prefix);
        self.query_where(&query, page, |s: &SignUp| scope.contains(&s.account_id))
            .await
    }

    /// How many sign-ups a course has through each account in `scope`.
    pub async fn count_course_signups(
        &self,
        course: CourseId,
        scope: &Scope,
    ) -> StoreResult<BTreeMap<AccountId, u64>> {
        let mut counts = BTreeMap::new();
        let mut cursor = None;
        loop {
            let request = PageRequest::new(Some(super::page::MAX_LIMIT), cursor)?;
            let page = self
                .list_course_signups(course, scope, None, &request)
                .await?;
            for signup in page.items {
                *counts.entry(signup.account_id).or_insert(0) += 1;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(counts),
            }
        }
    }

    /// Courses a user signed up for (through one account).
    pub async fn list_signups_by_user(
        &self,
        account: &AccountId,
        openid: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<SignUp>> {
        let query = Query::partition(Some(Index::Gsi1), keys::user_pk(account, openid))
            .begins_with(keys::SIGNUP_PREFIX);
        self.query(&query, page).await
    }

    /// Removes a sign-up.
    pub async fn delete_signup(
        &self,
        course: CourseId,
        account: &AccountId,
        openid: &str,
    ) -> StoreResult<()> {
        self.delete_existing(
            "signup",
            &keys::signup(course, account, openid),
            format!("{course}/{account}/{openid}"),
        )
        .await
    }
}
