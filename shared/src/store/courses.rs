//! Courses: by id, by start time, searched by title.

use super::item::SEARCH_TEXT;
use super::keys::{self, Index, IndexKey, Key};
use super::{Filter, Page, PageRequest, Query, Store, StoreError, StoreResult, Stored, to_item};
use crate::domain::{Course, CourseId, CourseStatus, Timestamp, now, sort_key_time};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

impl Stored for Course {
    const ENTITY: &'static str = "course";

    fn key(&self) -> Key {
        keys::course(self.id)
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        vec![keys::course_by_start(self.starts_at, self.id)]
    }

    fn search_text(&self) -> Option<String> {
        Some(format!("{} {}", self.title, self.speaker))
    }
}

/// Which courses to list.
#[derive(Debug, Clone, Default)]
pub struct CourseFilter {
    /// Starting at or after.
    pub starts_from: Option<Timestamp>,
    /// Starting at or before.
    pub starts_to: Option<Timestamp>,
    /// Title or speaker contains this (case-insensitive).
    pub text: Option<String>,
    /// Editorial status.
    pub status: Option<CourseStatus>,
    /// Latest start first.
    pub newest_first: bool,
}

impl Store {
    /// Adds a course (version 1).
    pub async fn create_course(&self, course: &Course) -> StoreResult<()> {
        let mut course = course.clone();
        course.version = 1;
        self.create(&course, course.id.to_string()).await
    }

    /// One course.
    pub async fn get_course(&self, id: CourseId) -> StoreResult<Course> {
        self.get_required(&keys::course(id), id.to_string()).await
    }

    /// Replaces a course if it is still at `course.version` (optimistic concurrency); returns
    /// the stored course with its new version.
    pub async fn update_course(&self, course: &Course) -> StoreResult<Course> {
        let mut next = course.clone();
        next.version = course.version + 1;
        next.updated_at = now();
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(&next)?))
            .condition_expression("attribute_exists(PK) AND version = :v")
            .expression_attribute_values(":v", AttributeValue::N(course.version.to_string()))
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("PutItem", e).on_condition(
                    "course",
                    course.id.to_string(),
                    "changed by someone else or deleted",
                )
            })?;
        Ok(next)
    }

    /// Deletes a course (its sign-ups, pushes and records stay as history).
    pub async fn delete_course(&self, id: CourseId) -> StoreResult<()> {
        self.delete_existing("course", &keys::course(id), id.to_string())
            .await
    }

    /// Courses by start time, filtered.
    pub async fn list_courses(
        &self,
        filter: &CourseFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Course>> {
        // Key values cannot be empty: "0" sorts before every year, '~' after every digit.
        let from = filter
            .starts_from
            .map(sort_key_time)
            .unwrap_or_else(|| "0".into());
        let to = filter
            .starts_to
            .map(|t| format!("{}#~", sort_key_time(t)))
            .unwrap_or_else(|| "~".into());
        let mut query = Query::partition(Some(Index::Gsi1), keys::COURSES).between(from, to);
        if filter.newest_first {
            query = query.reversed();
        }
        let mut clauses = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        if let Some(text) = filter
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            clauses.push("contains(#text, :text)");
            names.insert("#text".to_string(), SEARCH_TEXT.to_string());
            values.insert(":text".to_string(), AttributeValue::S(text.to_lowercase()));
        }
        if let Some(status) = filter.status {
            clauses.push("#status = :status");
            names.insert("#status".to_string(), "status".to_string());
            let status = serde_json::to_value(status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            values.insert(":status".to_string(), AttributeValue::S(status));
        }
        let filter = (!clauses.is_empty()).then(|| Filter {
            expression: clauses.join(" AND "),
            names,
            values,
        });
        self.query(&query.filtered(filter), page).await
    }
}
