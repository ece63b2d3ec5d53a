//! Export jobs: created by the admin API, advanced by the export worker, listed per owner
//! newest first. State changes are conditional on the state read, so a redelivered job
//! message never overwrites a finished job.

use super::keys::{self, Index, IndexKey, Key};
use super::{Page, PageRequest, Query, Store, StoreError, StoreResult, Stored, to_item};
use crate::domain::{ExportJob, ExportJobId, ExportJobStatus};
use aws_sdk_dynamodb::types::AttributeValue;

impl Stored for ExportJob {
    const ENTITY: &'static str = "export";

    fn key(&self) -> Key {
        keys::export_job(self.id)
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        vec![keys::export_job_by_owner(&self.owner, self.id)]
    }
}

fn status_text(status: ExportJobStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Store {
    /// Adds a job.
    pub async fn create_export_job(&self, job: &ExportJob) -> StoreResult<()> {
        self.create(job, job.id.to_string()).await
    }

    /// One job.
    pub async fn get_export_job(&self, id: ExportJobId) -> StoreResult<ExportJob> {
        self.get_required(&keys::export_job(id), id.to_string())
            .await
    }

    /// Jobs of one admin, newest first.
    pub async fn list_export_jobs(
        &self,
        owner: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<ExportJob>> {
        self.query(
            &Query::partition(Some(Index::Gsi1), keys::export_jobs_of_pk(owner)).reversed(),
            page,
        )
        .await
    }

    /// Replaces the stored job with `job` if the stored one is still in `expected` state;
    /// `Conflict` otherwise (another attempt finished it meanwhile).
    pub async fn save_export_job(
        &self,
        job: &ExportJob,
        expected: ExportJobStatus,
    ) -> StoreResult<()> {
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(job)?))
            .condition_expression("attribute_exists(PK) AND #status = :expected")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":expected", AttributeValue::S(status_text(expected)))
            .send()
            .await
            .map_err(|e| {
                StoreError::dynamo("PutItem", e).on_condition(
                    "export",
                    job.id.to_string(),
                    "not in the expected state",
                )
            })?;
        Ok(())
    }
}
