//! How far a push's fan-out got: the plan checkpoint (audience cursor) and the quota-pause
//! resume time (per-batch counting is in [`super::push_ledger`]). These are attributes of the push item
//! beside the [`Push`] fields, written only here.

use super::keys;
use super::{Store, StoreError, StoreResult, from_item, key_attributes};
use crate::domain::{Push, PushId, PushStatus, Timestamp, sort_key_time};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

const PLAN_PAGES: &str = "plan_pages";
const PLAN_CURSOR: &str = "plan_cursor";
const PLAN_DONE: &str = "plan_done";
const RESUME_AT: &str = "resume_at";

/// Where the audience paging of a push stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanCheckpoint {
    /// Audience pages already enqueued and counted.
    pub pages: u64,
    /// Cursor of the next page (`None`: start, or done).
    pub cursor: Option<String>,
    /// Every page is enqueued: `targeted` is final.
    pub done: bool,
}

/// A push with its fan-out progress, read consistently.
#[derive(Debug, Clone, PartialEq)]
pub struct PushProgress {
    /// The push.
    pub push: Push,
    /// Its plan checkpoint.
    pub plan: PlanCheckpoint,
    /// When a quota pause ends by itself.
    pub resume_at: Option<Timestamp>,
}

impl PushProgress {
    /// The plan is done and every targeted recipient is accounted for.
    pub fn all_accounted(&self) -> bool {
        let c = &self.push.counters;
        self.plan.done && c.sent + c.skipped + c.failed >= c.targeted
    }
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn read_u64(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    }
}

fn read_string(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

impl Store {
    /// The push with its plan checkpoint and resume time (strongly consistent read).
    pub async fn push_progress(&self, id: PushId) -> StoreResult<PushProgress> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::push(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        let item = out.item.ok_or_else(|| StoreError::NotFound {
            entity: "push",
            id: id.to_string(),
        })?;
        let plan = PlanCheckpoint {
            pages: read_u64(&item, PLAN_PAGES),
            cursor: read_string(&item, PLAN_CURSOR),
            done: matches!(item.get(PLAN_DONE), Some(AttributeValue::Bool(true))),
        };
        let resume_at = read_string(&item, RESUME_AT)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        let push = self.with_ledger(from_item(item)?).await?;
        Ok(PushProgress {
            push,
            plan,
            resume_at,
        })
    }

    /// Records that the audience page after `from` was enqueued: moves the cursor to `next`
    /// (`None`: the audience is exhausted) and adds the page's targeted and skipped counts, in
    /// one conditional write. Returns false (nothing written) if another planner moved the
    /// checkpoint first, so a page is counted once however often it is enqueued.
    pub async fn advance_plan(
        &self,
        id: PushId,
        from: &PlanCheckpoint,
        next: Option<&str>,
        targeted: u64,
        skipped: u64,
    ) -> StoreResult<bool> {
        let mut update = format!(
            "SET {PLAN_PAGES} = :pages, {PLAN_DONE} = :done{} ADD counters.targeted :targeted, counters.skipped :skipped",
            if next.is_some() {
                format!(", {PLAN_CURSOR} = :cursor")
            } else {
                String::new()
            }
        );
        if next.is_none() {
            update.push_str(&format!(" REMOVE {PLAN_CURSOR}"));
        }
        let condition = if from.pages == 0 {
            format!("attribute_exists(PK) AND attribute_not_exists({PLAN_PAGES})")
        } else {
            format!("{PLAN_PAGES} = :from")
        };
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::push(id))))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_values(":pages", n(from.pages + 1))
            .expression_attribute_values(":done", AttributeValue::Bool(next.is_none()))
            .expression_attribute_values(":targeted", n(targeted))
            .expression_attribute_values(":skipped", n(skipped));
        if let Some(cursor) = next {
            request =
                request.expression_attribute_values(":cursor", AttributeValue::S(cursor.into()));
        }
        if from.pages > 0 {
            request = request.expression_attribute_values(":from", n(from.pages));
        }
        let result = request.send().await;
        super::error::applied("UpdateItem", result)
    }

    /// Pauses a running push for the daily quota until `resume_at` (with a reason for
    /// admins). `Conflict` if it was not running (another worker paused, or it was cancelled).
    pub async fn pause_push(
        &self,
        id: PushId,
        reason: &str,
        resume_at: Timestamp,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.transition_push(
            id,
            &[PushStatus::Running],
            PushStatus::Paused,
            Some(reason),
            at,
        )
        .await?;
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::push(id))))
            .update_expression(format!("SET {RESUME_AT} = :at"))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":at", AttributeValue::S(sort_key_time(resume_at)))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }
}
