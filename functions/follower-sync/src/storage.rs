//! Where the sync reads and writes: followers and runs in DynamoDB, the listed openid pages in
//! S3. Behind a trait so the benchmark can count requests against an in-process stand-in.

use livenotify::blobs::sync_page_key;
use livenotify::domain::{AccountId, Follower, SyncRun, Timestamp};
use livenotify::store::{Store, StoreError};
use livenotify::sync::Snapshot;
use std::future::Future;

/// Why the sync's storage failed (the run resumes from its last checkpoint).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// DynamoDB.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// S3 (the stored `user/get` pages).
    #[error("S3 {operation} failed for {key}: {detail}")]
    Pages {
        /// Operation.
        operation: &'static str,
        /// Object key.
        key: String,
        /// What S3 said.
        detail: String,
    },
}

/// What one sync needs from storage.
pub trait SyncStorage: Sync {
    /// Every stored follower of the account, reduced to fingerprints.
    fn snapshot(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Snapshot, StorageError>> + Send;

    /// Writes new followers; returns the write requests made.
    fn add_followers(
        &self,
        followers: &[Follower],
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// Overwrites the WeChat-owned fields of a stored follower (one request).
    fn update_follower(
        &self,
        follower: &Follower,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Marks a follower unsubscribed; false if they were not subscribed (one request).
    fn mark_unsubscribed(
        &self,
        account: &AccountId,
        openid: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;

    /// Records WeChat's follower total on the account once a run completed.
    fn set_follower_total(
        &self,
        account: &AccountId,
        total: u64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Saves the run (checkpoint and counts).
    fn save_run(&self, run: &SyncRun) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Keeps page `number` of WeChat's list for the run.
    fn save_page(
        &self,
        run: &SyncRun,
        number: u64,
        openids: &[String],
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Reads page `number` back.
    fn load_page(
        &self,
        run: &SyncRun,
        number: u64,
    ) -> impl Future<Output = Result<Vec<String>, StorageError>> + Send;

    /// Removes the run's pages (after it completed).
    fn delete_pages(&self, run: &SyncRun) -> impl Future<Output = Result<(), StorageError>> + Send;
}

/// The deployed storage: the platform table and bucket.
#[derive(Debug, Clone)]
pub struct PlatformStorage {
    store: Store,
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl PlatformStorage {
    /// Storage over `store` and `bucket`.
    pub fn new(store: Store, s3: aws_sdk_s3::Client, bucket: String) -> Self {
        Self { store, s3, bucket }
    }

    fn s3_error(
        operation: &'static str,
        key: &str,
        err: impl std::error::Error + 'static,
    ) -> StorageError {
        StorageError::Pages {
            operation,
            key: key.to_string(),
            detail: aws_sdk_s3::error::DisplayErrorContext(&err).to_string(),
        }
    }
}

impl SyncStorage for PlatformStorage {
    async fn snapshot(&self, account: &AccountId) -> Result<Snapshot, StorageError> {
        let mut snapshot = Snapshot::new();
        self.store
            .for_each_follower(account, |f| snapshot.insert(&f))
            .await?;
        Ok(snapshot)
    }

    async fn add_followers(&self, followers: &[Follower]) -> Result<u64, StorageError> {
        Ok(self.store.put_followers(followers).await?)
    }

    async fn update_follower(&self, follower: &Follower) -> Result<(), StorageError> {
        Ok(self.store.update_synced_follower(follower).await?)
    }

    async fn mark_unsubscribed(
        &self,
        account: &AccountId,
        openid: &str,
        at: Timestamp,
    ) -> Result<bool, StorageError> {
        Ok(self.store.mark_unsubscribed(account, openid, at).await?)
    }

    async fn set_follower_total(
        &self,
        account: &AccountId,
        total: u64,
    ) -> Result<(), StorageError> {
        Ok(self.store.set_follower_count(account, total).await?)
    }

    async fn save_run(&self, run: &SyncRun) -> Result<(), StorageError> {
        Ok(self.store.save_sync_run(run).await?)
    }

    async fn save_page(
        &self,
        run: &SyncRun,
        number: u64,
        openids: &[String],
    ) -> Result<(), StorageError> {
        let key = sync_page_key(&run.account_id, run.id, number);
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("text/plain")
            .body(openids.join("\n").into_bytes().into())
            .send()
            .await
            .map_err(|e| Self::s3_error("PutObject", &key, e))?;
        Ok(())
    }

    async fn load_page(&self, run: &SyncRun, number: u64) -> Result<Vec<String>, StorageError> {
        let key = sync_page_key(&run.account_id, run.id, number);
        let out = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| Self::s3_error("GetObject", &key, e))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| Self::s3_error("GetObject", &key, e))?
            .into_bytes();
        let text = std::str::from_utf8(&bytes).map_err(|e| Self::s3_error("GetObject", &key, e))?;
        Ok(text
            .split('\n')
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    async fn delete_pages(&self, run: &SyncRun) -> Result<(), StorageError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let keys: Vec<String> = (0..run.counts.pages)
            .map(|n| sync_page_key(&run.account_id, run.id, n))
            .collect();
        // DeleteObjects takes 1,000 keys a request.
        for chunk in keys.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Self::s3_error("DeleteObjects", &chunk[0], e))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| Self::s3_error("DeleteObjects", &chunk[0], e))?;
            self.s3
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| Self::s3_error("DeleteObjects", &chunk[0], e))?;
        }
        Ok(())
    }
}
