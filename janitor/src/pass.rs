//! One janitor pass: its tasks run one after the other, each on its own, so a task that
//! fails (a service unreachable) is logged and counted and the others still run. Within
//! a task each item is handled on its own too: a failure is counted and the item stays
//! for a later pass.

use std::{collections::HashSet, time::Duration};

use flowsvault_proto::{
    files::v1::{
        ClaimPurgeableRequest, FileStatus, FindUnknownKeysRequest, MarkPurgedRequest,
        PurgeSharesRequest, StoredKey, file_service_client::FileServiceClient,
    },
    storage::v1::{
        AbortStaleWritesRequest, DeleteRequest, ListObjectsRequest, ObjectSummary,
        storage_service_client::StorageServiceClient,
    },
};
use tonic::transport::Channel;

use crate::metrics::JanitorMetrics;

const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Keys asked about in one `FindUnknownKeys` call.
const ORPHAN_BATCH: usize = 500;

/// What one pass removed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub expired_files: u64,
    pub stale_uploads: u64,
    pub deleted_files: u64,
    pub orphans: u64,
    pub expired_shares: u64,
    pub stale_writes: u64,
    pub bytes_freed: u64,
    pub failures: u64,
}

impl PassReport {
    /// Objects removed, of every kind.
    pub fn purged(&self) -> u64 {
        self.expired_files + self.stale_uploads + self.deleted_files + self.orphans
    }

    pub fn to_proto(self) -> flowsvault_proto::janitor::v1::PassReport {
        flowsvault_proto::janitor::v1::PassReport {
            expired_files: self.expired_files,
            stale_uploads: self.stale_uploads,
            deleted_files: self.deleted_files,
            bytes_freed: self.bytes_freed,
            failures: self.failures,
            orphans: self.orphans,
            expired_shares: self.expired_shares,
            stale_writes: self.stale_writes,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PassSettings {
    pub batch: u32,
    pub stale_upload_secs: u64,
    pub lease_secs: u64,
    /// An object no record names is removed once it is this old.
    pub orphan_grace_secs: u64,
    /// Expired and revoked share links stay this long for their owner to see.
    pub share_retention_secs: u64,
}

#[derive(Clone)]
pub struct Janitor {
    files: FileServiceClient<Channel>,
    storage: StorageServiceClient<Channel>,
    settings: PassSettings,
    metrics: JanitorMetrics,
}

fn request<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

/// Keys of file objects, `{uuid}-{name}`: the only objects whose owner (file-service)
/// the janitor can ask. Others (profile pictures, `avatar-…`) belong to auth-service.
fn is_file_key(key: &str) -> bool {
    key.len() > 37 && key.as_bytes()[36] == b'-' && uuid::Uuid::try_parse(&key[..36]).is_ok()
}

impl Janitor {
    pub fn new(
        files: Channel,
        storage: Channel,
        settings: PassSettings,
        metrics: JanitorMetrics,
    ) -> Self {
        Self {
            files: FileServiceClient::new(files),
            storage: StorageServiceClient::new(storage),
            settings,
            metrics,
        }
    }

    /// One pass of every task; `orphans` adds the reconciliation of orphan objects,
    /// which lists the whole store.
    #[tracing::instrument(skip(self))]
    pub async fn run_pass(&self, orphans: bool) -> PassReport {
        let started = std::time::Instant::now();
        let mut report = PassReport::default();
        if let Err(status) = self.purge_files(&mut report).await {
            report.failures += 1;
            tracing::warn!(%status, "removing the objects of expired, deleted and failed files failed");
        }
        if let Err(status) = self.purge_shares(&mut report).await {
            report.failures += 1;
            tracing::warn!(%status, "removing expired share links failed");
        }
        if orphans && let Err(status) = self.reconcile_orphans(&mut report).await {
            report.failures += 1;
            tracing::warn!(%status, "reconciling orphan objects failed");
        }
        if orphans && let Err(status) = self.abort_stale_writes(&mut report).await {
            report.failures += 1;
            tracing::warn!(%status, "removing unfinished writes failed");
        }
        self.metrics.record(&report, started.elapsed());
        tracing::info!(
            expired_files = report.expired_files,
            stale_uploads = report.stale_uploads,
            deleted_files = report.deleted_files,
            orphans = report.orphans,
            expired_shares = report.expired_shares,
            stale_writes = report.stale_writes,
            bytes_freed = report.bytes_freed,
            failures = report.failures,
            "janitor pass finished"
        );
        report
    }

    /// Claims batches until one comes back short, so a pass drains its backlog.
    async fn purge_files(&self, report: &mut PassReport) -> Result<(), tonic::Status> {
        let failures_before = report.failures;
        loop {
            let mut files = self.files.clone();
            let claimed = files
                .claim_purgeable(request(ClaimPurgeableRequest {
                    limit: self.settings.batch,
                    stale_after_seconds: self.settings.stale_upload_secs,
                    lease_seconds: self.settings.lease_secs,
                }))
                .await?
                .into_inner()
                .files;
            let claimed_count = claimed.len();
            for file in claimed {
                match self.purge(&file.id, &file.file_name).await {
                    Ok(()) => {
                        match FileStatus::try_from(file.status) {
                            Ok(FileStatus::Expired) => report.expired_files += 1,
                            Ok(FileStatus::Deleted) => report.deleted_files += 1,
                            _ => report.stale_uploads += 1,
                        }
                        report.bytes_freed += file.size;
                    }
                    Err(status) => {
                        report.failures += 1;
                        tracing::warn!(id = %file.id, %status, "purging failed; retried next pass");
                    }
                }
            }
            // A batch of failures only would be claimed again after its lease; stop here.
            if claimed_count < self.settings.batch as usize || report.failures > failures_before {
                return Ok(());
            }
        }
    }

    async fn purge(&self, id: &str, key: &str) -> Result<(), tonic::Status> {
        let mut storage = self.storage.clone();
        storage
            .delete(request(DeleteRequest {
                key: key.to_owned(),
            }))
            .await?;
        let mut files = self.files.clone();
        files
            .mark_purged(request(MarkPurgedRequest { id: id.to_owned() }))
            .await?;
        Ok(())
    }

    async fn purge_shares(&self, report: &mut PassReport) -> Result<(), tonic::Status> {
        let mut files = self.files.clone();
        let purged = files
            .purge_shares(request(PurgeSharesRequest {
                retention_seconds: self.settings.share_retention_secs,
            }))
            .await?
            .into_inner();
        report.expired_shares += purged.shares;
        Ok(())
    }

    /// Removes file objects that no record names and that are older than the grace
    /// period (by the database clock: file-service decides): what a crash between
    /// writing an object and recording it, or a lost removal, left behind. The grace
    /// period covers uploads in flight, whose record exists before their first byte
    /// anyway.
    async fn reconcile_orphans(&self, report: &mut PassReport) -> Result<(), tonic::Status> {
        let mut storage = self.storage.clone();
        let mut listed = storage
            .list_objects(tonic::Request::new(ListObjectsRequest {}))
            .await?
            .into_inner();
        let mut batch = Vec::with_capacity(ORPHAN_BATCH);
        while let Some(object) = listed.message().await? {
            if object.last_modified.is_some() && is_file_key(&object.key) {
                batch.push(object);
            }
            if batch.len() == ORPHAN_BATCH {
                self.remove_orphans(std::mem::take(&mut batch), report)
                    .await?;
            }
        }
        if !batch.is_empty() {
            self.remove_orphans(batch, report).await?;
        }
        Ok(())
    }

    /// Unfinished writes older than the orphan grace period: what a storage-service
    /// killed mid-upload left (a multipart upload on S3, a partial file on disk). The
    /// grace period is far longer than any upload may run.
    async fn abort_stale_writes(&self, report: &mut PassReport) -> Result<(), tonic::Status> {
        let mut storage = self.storage.clone();
        let mut request = tonic::Request::new(AbortStaleWritesRequest {
            older_than_secs: self.settings.orphan_grace_secs,
            key_prefix: String::new(),
        });
        request.set_timeout(CALL_TIMEOUT);
        let removed = storage
            .abort_stale_writes(request)
            .await?
            .into_inner()
            .removed;
        report.stale_writes += removed;
        Ok(())
    }

    async fn remove_orphans(
        &self,
        objects: Vec<ObjectSummary>,
        report: &mut PassReport,
    ) -> Result<(), tonic::Status> {
        let mut files = self.files.clone();
        let unknown: HashSet<String> = files
            .find_unknown_keys(request(FindUnknownKeysRequest {
                objects: objects
                    .iter()
                    .map(|object| StoredKey {
                        key: object.key.clone(),
                        last_modified: object.last_modified,
                    })
                    .collect(),
                grace_seconds: self.settings.orphan_grace_secs,
            }))
            .await?
            .into_inner()
            .keys
            .into_iter()
            .collect();
        for object in objects
            .into_iter()
            .filter(|object| unknown.contains(&object.key))
        {
            let mut storage = self.storage.clone();
            match storage
                .delete(request(DeleteRequest {
                    key: object.key.clone(),
                }))
                .await
            {
                Ok(_) => {
                    tracing::info!(key = %object.key, size = object.size, "orphan object removed");
                    report.orphans += 1;
                    report.bytes_freed += object.size;
                }
                Err(status) => {
                    report.failures += 1;
                    tracing::warn!(key = %object.key, %status, "removing an orphan failed");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_file_keys_are_reconciled() {
        assert!(is_file_key(
            "0196f3a0-7a3c-7cc0-8f8a-2b8f3d3c9e11-report.pdf"
        ));
        assert!(!is_file_key(
            "avatar-0196f3a0-7a3c-7cc0-8f8a-2b8f3d3c9e11-0196f3a0-7a3c-7cc0-8f8a-2b8f3d3c9e12.png"
        ));
        assert!(!is_file_key("0196f3a0-7a3c-7cc0-8f8a-2b8f3d3c9e11"));
        assert!(!is_file_key(
            "not-a-uuid-at-all-but-long-enough-for-it-x.txt"
        ));
        assert!(!is_file_key("0196f3a0-7a3c-7cc0-8f8a-2b8f3d3c9e11_x.txt"));
    }
}
