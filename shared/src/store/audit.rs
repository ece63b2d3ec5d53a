//! The audit log: append-only, listed newest first.

use super::keys::{self, IndexKey, Key};
use super::{Page, PageRequest, Query, Store, StoreResult, Stored};
use crate::domain::AuditEntry;

impl Stored for AuditEntry {
    const ENTITY: &'static str = "audit";

    fn key(&self) -> Key {
        keys::audit(self.id)
    }

    fn index_keys(&self) -> Vec<IndexKey> {
        vec![keys::audit_list(self.id)]
    }
}

impl Store {
    /// Appends an entry.
    pub async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.create(entry, entry.id.to_string()).await
    }

    /// Entries, newest first.
    pub async fn list_audit(&self, page: &PageRequest) -> StoreResult<Page<AuditEntry>> {
        self.query(
            &Query::partition(Some(keys::Index::Gsi1), keys::AUDIT).reversed(),
            page,
        )
        .await
    }
}
