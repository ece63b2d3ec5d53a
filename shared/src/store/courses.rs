//! Courses: by id, by start time, searched by title.

use super::item::SEARCH_TEXT;
use super::keys::{self, Index, IndexKey, Key};
use super::{
    Filter, Page, PageRequest, Query, Store, StoreError, StoreResult, Stored, from_item,
    key_attributes, to_item,
};
use crate::domain::{
    Course, CourseId, CourseQrCodes, CourseStatus, QrFailure, Scope, Timestamp, now, sort_key_time,
};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::collections::HashMap;

/// Attribute of the rendered codes (written only by qr-generator).
const QR: &str = "qr";
/// Attribute of the last QR failure.
const QR_ERROR: &str = "qr_error";

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
    /// Only courses an admin with this scope may see.
    pub scope: Scope,
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

    /// Updates a course if it is still at `course.version` (optimistic concurrency); returns
    /// the stored course with its new version. The QR state (`qr`, `qr_error`) belongs to
    /// qr-generator and is left as stored, so an edit never undoes a rendering that finished
    /// while the admin was typing.
    pub async fn update_course(&self, course: &Course) -> StoreResult<Course> {
        let mut next = course.clone();
        next.version = course.version + 1;
        next.updated_at = now();
        let mut item = to_item(&next)?;
        for attribute in [keys::PK, keys::SK, QR, QR_ERROR] {
            item.remove(attribute);
        }
        // Fields that are now empty (`None`) must go, as a full replace would drop them.
        let cleared: Vec<String> = match serde_json::to_value(&next) {
            Ok(serde_json::Value::Object(fields)) => fields
                .into_iter()
                .filter(|(name, value)| value.is_null() && name != QR && name != QR_ERROR)
                .map(|(name, _)| name)
                .collect(),
            _ => Vec::new(),
        };
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut sets = Vec::new();
        for (i, (name, value)) in item.into_iter().enumerate() {
            names.insert(format!("#a{i}"), name);
            values.insert(format!(":a{i}"), value);
            sets.push(format!("#a{i} = :a{i}"));
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !cleared.is_empty() {
            let removes: Vec<String> = cleared
                .into_iter()
                .enumerate()
                .map(|(i, name)| {
                    names.insert(format!("#r{i}"), name);
                    format!("#r{i}")
                })
                .collect();
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        names.insert("#version_check".into(), "version".into());
        values.insert(
            ":expected_version".into(),
            AttributeValue::N(course.version.to_string()),
        );
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::course(course.id))))
            .update_expression(expression)
            .condition_expression("attribute_exists(PK) AND #version_check = :expected_version")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("UpdateItem", e).on_condition(
                    "course",
                    course.id.to_string(),
                    "changed by someone else or deleted",
                )
            })?;
        match out.attributes {
            Some(attributes) => from_item(attributes),
            None => Ok(next),
        }
    }

    /// Records freshly rendered QR codes on `read` (the course as it was read before
    /// rendering), only if neither the course nor its codes changed since: a course edited
    /// meanwhile, or rendered by a concurrent job, gets `Conflict`, and the caller renders
    /// again from the newer state. Clears `qr_error`. Neither the version nor `updated_at`
    /// changes, so recording codes never looks like an edit.
    pub async fn set_course_qr(&self, read: &Course, qr: &CourseQrCodes) -> StoreResult<()> {
        let malformed = |source| StoreError::Malformed {
            entity: Course::ENTITY,
            source,
        };
        let value = serde_dynamo::to_attribute_value(qr).map_err(malformed)?;
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::course(read.id))))
            .update_expression("SET #qr = :qr REMOVE #qr_error")
            .expression_attribute_names("#qr", QR)
            .expression_attribute_names("#qr_error", QR_ERROR)
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":qr", value)
            .expression_attribute_values(":version", AttributeValue::N(read.version.to_string()));
        request = match &read.qr {
            Some(previous) => {
                let generated =
                    serde_dynamo::to_attribute_value(previous.generated_at).map_err(malformed)?;
                request
                    .condition_expression(
                        "attribute_exists(PK) AND #version = :version \
                         AND #qr.#generated_at = :generated_at",
                    )
                    .expression_attribute_names("#generated_at", "generated_at")
                    .expression_attribute_values(":generated_at", generated)
            }
            None => request.condition_expression(
                "attribute_exists(PK) AND #version = :version AND attribute_not_exists(#qr)",
            ),
        };
        request.send().await.map_err(|e| {
            StoreError::dynamo("UpdateItem", e).on_condition(
                "course",
                read.id.to_string(),
                "changed or deleted while its QR codes were rendered",
            )
        })?;
        Ok(())
    }

    /// Records why the QR generation of a course failed (shown to admins); the codes
    /// recorded before, if any, stay.
    pub async fn set_course_qr_error(&self, id: CourseId, failure: &QrFailure) -> StoreResult<()> {
        let value =
            serde_dynamo::to_attribute_value(failure).map_err(|source| StoreError::Malformed {
                entity: Course::ENTITY,
                source,
            })?;
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::course(id))))
            .update_expression("SET #qr_error = :failure")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#qr_error", QR_ERROR)
            .expression_attribute_values(":failure", value)
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("UpdateItem", e).on_missing("course", id.to_string())
            })?;
        Ok(())
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
        let filter_scope = filter.scope.clone();
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
        let scope = &filter_scope;
        self.query_where(&query.filtered(filter), page, |course: &Course| {
            scope.sees_course(course)
        })
        .await
    }
}
