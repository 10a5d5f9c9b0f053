//! One janitor pass. Each item is handled on its own: a failure is logged and counted,
//! and the rest of the batch goes on; the row stays unpurged so a later pass retries it.

use std::time::Duration;

use flowsvault_proto::{
    files::v1::{
        ClaimPurgeableRequest, FileStatus, MarkPurgedRequest,
        file_service_client::FileServiceClient,
    },
    storage::v1::{DeleteRequest, storage_service_client::StorageServiceClient},
};
use tonic::transport::Channel;

const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What one pass removed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub expired_files: u64,
    pub stale_uploads: u64,
    pub deleted_files: u64,
    pub bytes_freed: u64,
    pub failures: u64,
}

impl PassReport {
    /// Objects removed, of every kind.
    pub fn purged(&self) -> u64 {
        self.expired_files + self.stale_uploads + self.deleted_files
    }

    pub fn to_proto(self) -> flowsvault_proto::janitor::v1::PassReport {
        flowsvault_proto::janitor::v1::PassReport {
            expired_files: self.expired_files,
            stale_uploads: self.stale_uploads,
            deleted_files: self.deleted_files,
            bytes_freed: self.bytes_freed,
            failures: self.failures,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PassSettings {
    pub batch: u32,
    pub stale_upload_secs: u64,
    pub lease_secs: u64,
}

#[derive(Clone)]
pub struct Janitor {
    files: FileServiceClient<Channel>,
    storage: StorageServiceClient<Channel>,
    settings: PassSettings,
}

fn request<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

impl Janitor {
    pub fn new(files: Channel, storage: Channel, settings: PassSettings) -> Self {
        Self {
            files: FileServiceClient::new(files),
            storage: StorageServiceClient::new(storage),
            settings,
        }
    }

    /// Claims batches until one comes back short, so a pass drains its backlog.
    #[tracing::instrument(skip(self))]
    pub async fn run_pass(&self) -> Result<PassReport, tonic::Status> {
        let mut report = PassReport::default();
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
            if claimed_count < self.settings.batch as usize || report.failures > 0 {
                break;
            }
        }
        tracing::info!(
            expired_files = report.expired_files,
            stale_uploads = report.stale_uploads,
            deleted_files = report.deleted_files,
            bytes_freed = report.bytes_freed,
            failures = report.failures,
            "janitor pass finished"
        );
        Ok(report)
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
}
