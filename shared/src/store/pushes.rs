//! Push jobs: by id, by course, recent; status transitions and atomic progress counters.

use super::keys::{self, Index, IndexKey, Key};
use super::{Page, PageRequest, Query, Store, StoreError, StoreResult, Stored, key_attributes};
use crate::domain::{CourseId, Push, PushId, PushStatus, Scope, Timestamp, sort_key_time};
use aws_sdk_dynamodb::types::AttributeValue;

impl Stored for Push {
    const ENTITY: &'static str = "push";

    fn key(&self) -> Key {
        keys::push(self.id)
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        vec![
            keys::push_by_course(self.course_id, self.id),
            keys::push_recent(self.id),
        ]
    }
}

/// Amounts to add to a push's counters in one atomic update.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterDelta {
    /// Added to `targeted`.
    pub targeted: i64,
    /// Added to `sent`.
    pub sent: i64,
    /// Added to `delivered`.
    pub delivered: i64,
    /// Added to `user_blocked`.
    pub user_blocked: i64,
    /// Added to `skipped`.
    pub skipped: i64,
    /// Added to `failed`.
    pub failed: i64,
}

impl CounterDelta {
    fn fields(&self) -> [(&'static str, i64); 6] {
        [
            ("targeted", self.targeted),
            ("sent", self.sent),
            ("delivered", self.delivered),
            ("user_blocked", self.user_blocked),
            ("skipped", self.skipped),
            ("failed", self.failed),
        ]
    }
}

fn status_value(status: PushStatus) -> AttributeValue {
    let text = serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    AttributeValue::S(text)
}

impl Store {
    /// Adds a push job.
    pub async fn create_push(&self, push: &Push) -> StoreResult<()> {
        self.create(push, push.id.to_string()).await
    }

    /// One push job.
    pub async fn get_push(&self, id: PushId) -> StoreResult<Push> {
        let push = self.get_required(&keys::push(id), id.to_string()).await?;
        self.with_ledger(push).await
    }

    /// Pushes of a course from accounts in `scope`, newest first.
    pub async fn list_pushes_by_course(
        &self,
        course: CourseId,
        scope: &Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<Push>> {
        let page = self
            .query_where(
                &Query::partition(Some(Index::Gsi1), keys::course_pushes_pk(course)).reversed(),
                page,
                |push: &Push| scope.contains(&push.account_id),
            )
            .await?;
        self.pushes_with_ledgers(page).await
    }

    /// Recent pushes of every course from accounts in `scope`, newest first.
    pub async fn list_recent_pushes(
        &self,
        scope: &Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<Push>> {
        let page = self
            .query_where(
                &Query::partition(Some(Index::Gsi2), keys::PUSHES).reversed(),
                page,
                |push: &Push| scope.contains(&push.account_id),
            )
            .await?;
        self.pushes_with_ledgers(page).await
    }

    /// Every push of a page with its ledger's counts added.
    async fn pushes_with_ledgers(&self, mut page: Page<Push>) -> StoreResult<Page<Push>> {
        let mut items = Vec::with_capacity(page.items.len());
        for push in std::mem::take(&mut page.items) {
            items.push(self.with_ledger(push).await?);
        }
        page.items = items;
        Ok(page)
    }

    /// Moves a push from one of `from` to `to` (with a reason for admins). `Conflict` if it is
    /// in another state, so two workers never both start, finish or resume a push.
    pub async fn transition_push(
        &self,
        id: PushId,
        from: &[PushStatus],
        to: PushStatus,
        reason: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<()> {
        let allowed: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut set = vec!["#status = :to"];
        if to == PushStatus::Running {
            set.push("started_at = if_not_exists(started_at, :at)");
        }
        if to.is_final() {
            set.push("finished_at = :at");
        }
        let mut update = format!("SET {}", set.join(", "));
        update.push_str(if reason.is_some() {
            ", status_reason = :reason"
        } else {
            " REMOVE status_reason"
        });
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::push(id))))
            .update_expression(update)
            .condition_expression(format!(
                "attribute_exists(PK) AND #status IN ({})",
                allowed.join(", ")
            ))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", status_value(to));
        if to == PushStatus::Running || to.is_final() {
            request =
                request.expression_attribute_values(":at", AttributeValue::S(sort_key_time(at)));
        }
        if let Some(reason) = reason {
            request = request
                .expression_attribute_values(":reason", AttributeValue::S(reason.to_string()));
        }
        for (name, status) in allowed.iter().zip(from) {
            request = request.expression_attribute_values(name, status_value(*status));
        }
        request.send().await.map_err(|e| {
            StoreError::dynamo("UpdateItem", e).on_condition(
                "push",
                id.to_string(),
                "not in the expected state",
            )
        })?;
        Ok(())
    }

    /// Adds to a push's counters atomically (DynamoDB ADD), so concurrent workers never lose
    /// an increment.
    pub async fn add_push_counters(&self, id: PushId, delta: CounterDelta) -> StoreResult<()> {
        let changes: Vec<_> = delta
            .fields()
            .into_iter()
            .filter(|(_, v)| *v != 0)
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let update = changes
            .iter()
            .map(|(name, _)| format!("counters.{name} :{name}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_attributes(&keys::push(id))))
            .update_expression(format!("ADD {update}"))
            .condition_expression("attribute_exists(PK)");
        for (name, value) in changes {
            request = request.expression_attribute_values(
                format!(":{name}"),
                AttributeValue::N(value.to_string()),
            );
        }
        request
            .send()
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e).on_missing("push", id.to_string()))?;
        Ok(())
    }
}
