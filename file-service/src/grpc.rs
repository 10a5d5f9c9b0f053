//! The gRPC adapter: proto messages in, repository calls, proto messages out.

use flowsvault_proto::{
    FileDuration, FileName,
    files::v1::{
        BeginResumableRequest, BeginUploadRequest, CheckQuotaRequest, CheckQuotaResponse,
        ClaimPurgeableRequest, ClaimPurgeableResponse, ClaimShareDownloadRequest,
        ClaimShareDownloadResponse, CompleteUploadRequest, CreateShareRequest, CreateShareResponse,
        DeleteFileRequest, DeleteFilesRequest, DeleteFilesResponse, FailUploadRequest, File,
        FileStatus, FindUnknownKeysRequest, FindUnknownKeysResponse, ForgetFilesRequest,
        ForgetFilesResponse, GetFileRequest, LeaseUploadRequest, ListFilesRequest,
        ListFilesResponse, ListSharesRequest, ListSharesResponse, ListUserObjectsRequest,
        ListUserObjectsResponse, MarkPurgedRequest, MarkPurgedResponse, OpenShareRequest,
        OpenShareResponse, PurgeSharesRequest, PurgeSharesResponse, RecordUploadOffsetRequest,
        RevokeShareRequest, Share, SharedFile, StoredObject, UploadSession, UploadSessionRequest,
        file_service_server::FileService,
    },
    to_timestamp,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    domain::{ListQuery, RowStatus},
    error::FileError,
    repository::{
        Begun, FileRecord, FileRepository, NewFile, NewSession, SessionRecord, ShareRow,
        SharedRecord,
    },
    sharing::{self, ShareRequest},
};

const MAX_MIME_TYPE_BYTES: usize = 255;
const MAX_CLAIM: u32 = 1_000;
const MAX_BULK_DELETE: usize = 1_000;
/// Longest Upload-Metadata header kept.
const MAX_UPLOAD_METADATA_BYTES: usize = 4096;

#[derive(Clone)]
pub struct FileApi {
    files: FileRepository,
}

impl FileApi {
    pub fn new(files: FileRepository) -> Self {
        Self { files }
    }
}

fn parse_id(text: &str, what: &str) -> Result<Uuid, FileError> {
    Uuid::parse_str(text).map_err(|_| FileError::InvalidArgument(format!("{what} is not a uuid")))
}

/// A count of bytes as the database keeps it.
fn byte_count(value: u64, what: &str) -> Result<i64, FileError> {
    i64::try_from(value).map_err(|_| FileError::InvalidArgument(format!("{what} is too large")))
}

/// The pending row a begun upload makes, from the request's checked fields.
fn new_file(request: BeginUploadRequest) -> Result<NewFile, FileError> {
    let user_id = parse_id(&request.user_id, "user_id")?;
    let name = FileName::sanitize(&request.original_name)
        .map_err(|error| FileError::InvalidArgument(error.to_string()))?;
    let duration = parse_duration(request.duration)?;
    let mime_type = match request.mime_type.trim() {
        "" => "application/octet-stream".to_owned(),
        text if text.len() > MAX_MIME_TYPE_BYTES => {
            return Err(FileError::InvalidArgument("mime_type is too long".into()));
        }
        text => text.to_owned(),
    };
    let idempotency_key = match request.idempotency_key {
        Some(key) if key.is_empty() || key.len() > 255 => {
            return Err(FileError::InvalidArgument(
                "the idempotency key must be 1 to 255 bytes".into(),
            ));
        }
        other => other,
    };
    let reserve_bytes = byte_count(request.reserve_bytes, "reserve_bytes")?;
    let quota_bytes = byte_count(request.quota_bytes, "quota_bytes")?;
    let id = Uuid::new_v4();
    Ok(NewFile {
        reserve_bytes,
        quota_bytes,
        id,
        user_id,
        file_name: name.storage_name(id),
        extension: name.extension(),
        original_name: name.as_str().to_owned(),
        mime_type,
        duration: duration.as_str(),
        idempotency_key,
    })
}

/// A session's owner and id; a malformed id is a session nobody has.
fn session_ids(user_id: &str, id: &str) -> Result<(Uuid, Uuid), FileError> {
    let user_id = parse_id(user_id, "user_id")?;
    let id = Uuid::parse_str(id).map_err(|_| FileError::NotFound)?;
    Ok((user_id, id))
}

fn session_to_proto(session: SessionRecord) -> UploadSession {
    let pending = session.file.status == RowStatus::Pending.as_str();
    UploadSession {
        length: session
            .upload_length
            .and_then(|length| u64::try_from(length).ok()),
        offset: u64::try_from(session.upload_offset).unwrap_or_default(),
        metadata: session.metadata.clone(),
        expires_at: Some(to_timestamp(session.session_expires_at)),
        expired: pending && session.session_expired,
        finished: !pending,
        file: Some(to_proto(session.file_record())),
    }
}

/// At most `MAX_BULK_DELETE` ids, each a uuid.
fn parse_ids(ids: &[String]) -> Result<Vec<Uuid>, FileError> {
    if ids.len() > MAX_BULK_DELETE {
        return Err(FileError::InvalidArgument(format!(
            "at most {MAX_BULK_DELETE} ids per request"
        )));
    }
    ids.iter().map(|id| parse_id(id, "every id")).collect()
}

fn parse_duration(value: i32) -> Result<FileDuration, FileError> {
    FileDuration::from_proto(value)
        .ok_or_else(|| FileError::InvalidArgument("duration is missing or unknown".into()))
}

fn share_to_proto(share: ShareRow) -> Share {
    Share {
        id: share.id.to_string(),
        file_id: share.file_id.to_string(),
        expires_at: share.expires_at.map(to_timestamp),
        max_downloads: share.max_downloads.and_then(|max| u32::try_from(max).ok()),
        downloads: u32::try_from(share.downloads).unwrap_or_default(),
        has_password: share.has_password,
        created_at: Some(to_timestamp(share.created_at)),
        revoked_at: share.revoked_at.map(to_timestamp),
    }
}

/// What the public may learn through a link: the file's name, size and type, and the
/// link's own limits. Never the owner or other files.
fn shared_file(record: &SharedRecord) -> SharedFile {
    let expires_at = match (record.share_expires_at, record.file.expires_at) {
        (Some(share), Some(file)) => Some(share.min(file)),
        (share, file) => share.or(file),
    };
    SharedFile {
        name: record.file.original_name.clone(),
        size: u64::try_from(record.file.size).unwrap_or_default(),
        mime_type: record.file.mime_type.clone(),
        expires_at: expires_at.map(to_timestamp),
        has_password: record.password_hash.is_some(),
        downloads_left: record
            .max_downloads
            .map(|max| u32::try_from(max - record.downloads).unwrap_or_default()),
    }
}

fn to_proto(record: FileRecord) -> File {
    let FileRecord {
        metadata: row,
        expired,
    } = record;
    let status = match RowStatus::parse(&row.status) {
        Some(RowStatus::Active) if expired => FileStatus::Expired,
        Some(RowStatus::Active) => FileStatus::Active,
        Some(RowStatus::Pending) => FileStatus::Pending,
        Some(RowStatus::Failed) => FileStatus::Failed,
        Some(RowStatus::Deleted) => FileStatus::Deleted,
        // An expired file whose bytes are gone is still reported as expired.
        Some(RowStatus::Purged) if expired && row.deleted_at.is_none() => FileStatus::Expired,
        Some(RowStatus::Purged) => FileStatus::Purged,
        None => FileStatus::Unspecified,
    };
    let duration = FileDuration::parse(&row.duration).map_or(0, |d| d.to_proto() as i32);
    File {
        id: row.id.to_string(),
        user_id: row.user_id.to_string(),
        original_name: row.original_name,
        file_name: row.file_name,
        // The column has a `size >= 0` check.
        size: u64::try_from(row.size).unwrap_or_default(),
        mime_type: row.mime_type,
        extension: row.extension,
        sha256: row.sha256.unwrap_or_default(),
        uploaded_at: Some(to_timestamp(row.uploaded_at.unwrap_or(row.created_at))),
        expires_at: row.expires_at.map(to_timestamp),
        duration,
        status: status as i32,
    }
}

impl FileApi {
    /// The session, unless its upload was terminated, failed or deleted (`NotFound`).
    async fn live_session(&self, user_id: Uuid, id: Uuid) -> Result<SessionRecord, FileError> {
        let session = self
            .files
            .session(user_id, id)
            .await?
            .ok_or(FileError::NotFound)?;
        live(session)
    }
}

/// `session`, unless its upload was terminated, failed or deleted (`NotFound`).
fn live(session: SessionRecord) -> Result<SessionRecord, FileError> {
    let gone = matches!(
        RowStatus::parse(&session.file.status),
        Some(RowStatus::Failed | RowStatus::Deleted) | None
    ) || (session.file.status == RowStatus::Purged.as_str() && !session.file_expired);
    if gone {
        return Err(FileError::NotFound);
    }
    Ok(session)
}

#[tonic::async_trait]
impl FileService for FileApi {
    #[tracing::instrument(skip_all)]
    async fn begin_upload(
        &self,
        request: Request<BeginUploadRequest>,
    ) -> Result<Response<File>, Status> {
        let new = new_file(request.into_inner())?;
        let (id, user_id) = (new.id, new.user_id);
        let record = self.files.insert_pending(new).await?;
        match record {
            Begun::New(record) => {
                tracing::info!(%id, %user_id, "upload begun");
                Ok(Response::new(to_proto(record)))
            }
            // Pending, or changing state right now: the caller may retry shortly.
            Begun::Existing(existing)
                if existing.metadata.status != RowStatus::Active.as_str() || existing.expired =>
            {
                Err(FileError::Conflict(
                    "an upload with this Idempotency-Key is still in progress".into(),
                )
                .into())
            }
            Begun::Existing(existing) => {
                tracing::info!(id = %existing.metadata.id, "idempotent upload replayed");
                Ok(Response::new(to_proto(existing)))
            }
        }
    }

    #[tracing::instrument(skip_all)]
    async fn check_quota(
        &self,
        request: Request<CheckQuotaRequest>,
    ) -> Result<Response<CheckQuotaResponse>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        let needed = byte_count(request.needed_bytes, "needed_bytes")?;
        let quota = byte_count(request.quota_bytes, "quota_bytes")?;
        self.files
            .check_quota(user_id, needed, quota, request.idempotency_key.as_deref())
            .await?;
        Ok(Response::new(CheckQuotaResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn complete_upload(
        &self,
        request: Request<CompleteUploadRequest>,
    ) -> Result<Response<File>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        let id = parse_id(&request.id, "id")?;
        let duration = parse_duration(request.duration)?;
        let size = i64::try_from(request.size)
            .map_err(|_| FileError::InvalidArgument("size is out of range".into()))?;
        let sha256 = request.sha256.to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(FileError::InvalidArgument("sha256 must be 64 hex digits".into()).into());
        }
        let record = self
            .files
            .complete(
                user_id,
                id,
                size,
                &sha256,
                duration.as_str(),
                duration.seconds(),
            )
            .await?;
        tracing::info!(%id, size, "upload completed");
        Ok(Response::new(to_proto(record)))
    }

    #[tracing::instrument(skip_all)]
    async fn fail_upload(
        &self,
        request: Request<FailUploadRequest>,
    ) -> Result<Response<File>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        let id = parse_id(&request.id, "id")?;
        let record = self.files.fail(user_id, id).await?;
        tracing::info!(%id, "upload failed");
        Ok(Response::new(to_proto(record)))
    }

    #[tracing::instrument(skip_all)]
    async fn get_file(&self, request: Request<GetFileRequest>) -> Result<Response<File>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        // A malformed id cannot name any file: not found, like a missing one.
        let id = Uuid::parse_str(&request.id).map_err(|_| FileError::NotFound)?;
        let record = self.files.get_active(user_id, id).await?;
        Ok(Response::new(to_proto(record)))
    }

    #[tracing::instrument(skip_all)]
    async fn list_files(
        &self,
        request: Request<ListFilesRequest>,
    ) -> Result<Response<ListFilesResponse>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        let query = ListQuery::parse(&request)?;
        let (records, total) = self.files.list(user_id, &query).await?;
        Ok(Response::new(ListFilesResponse {
            items: records.into_iter().map(to_proto).collect(),
            total: u64::try_from(total).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_file(
        &self,
        request: Request<DeleteFileRequest>,
    ) -> Result<Response<File>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        let id = Uuid::parse_str(&request.id).map_err(|_| FileError::NotFound)?;
        let record = self.files.soft_delete(user_id, id).await?;
        tracing::info!(%id, "file deleted");
        Ok(Response::new(to_proto(record)))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_files(
        &self,
        request: Request<DeleteFilesRequest>,
    ) -> Result<Response<DeleteFilesResponse>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        let ids = parse_ids(&request.ids)?;
        let deleted = self.files.soft_delete_many(user_id, &ids).await?;
        tracing::info!(count = deleted.len(), "files deleted");
        Ok(Response::new(DeleteFilesResponse {
            files: deleted.into_iter().map(to_proto).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn list_user_objects(
        &self,
        request: Request<ListUserObjectsRequest>,
    ) -> Result<Response<ListUserObjectsResponse>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        let limit = i64::from(request.limit.clamp(1, MAX_BULK_DELETE as u32));
        let objects = self.files.user_objects(user_id, limit).await?;
        Ok(Response::new(ListUserObjectsResponse {
            objects: objects
                .into_iter()
                .map(|(id, key)| StoredObject {
                    id: id.to_string(),
                    key,
                })
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn forget_files(
        &self,
        request: Request<ForgetFilesRequest>,
    ) -> Result<Response<ForgetFilesResponse>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        let ids = parse_ids(&request.ids)?;
        let forgotten = self.files.forget(user_id, &ids).await?;
        tracing::info!(forgotten, "file records forgotten");
        Ok(Response::new(ForgetFilesResponse { forgotten }))
    }

    #[tracing::instrument(skip_all)]
    async fn begin_resumable(
        &self,
        request: Request<BeginResumableRequest>,
    ) -> Result<Response<UploadSession>, Status> {
        let request = request.into_inner();
        let upload = request
            .upload
            .ok_or_else(|| FileError::InvalidArgument("upload is missing".into()))?;
        let mut new = new_file(upload)?;
        // Resumable uploads have their own identity; an Idempotency-Key is not for them.
        new.idempotency_key = None;
        let length = request
            .length
            .map(|length| {
                i64::try_from(length)
                    .map_err(|_| FileError::InvalidArgument("length is too large".into()))
            })
            .transpose()?;
        let expires_in_seconds = i64::try_from(request.expires_in_seconds)
            .ok()
            .filter(|seconds| (1..=30 * 86_400).contains(seconds))
            .ok_or_else(|| {
                FileError::InvalidArgument("expires_in_seconds must be 1 s to 30 days".into())
            })?;
        if request.metadata.len() > MAX_UPLOAD_METADATA_BYTES {
            return Err(FileError::InvalidArgument("the metadata is too long".into()).into());
        }
        let id = new.id;
        let session = self
            .files
            .insert_resumable(
                new,
                NewSession {
                    length,
                    metadata: &request.metadata,
                    expires_in_seconds,
                },
            )
            .await?;
        tracing::info!(%id, ?length, "resumable upload begun");
        Ok(Response::new(session_to_proto(session)))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_upload_session(
        &self,
        request: Request<UploadSessionRequest>,
    ) -> Result<Response<UploadSession>, Status> {
        let request = request.into_inner();
        let (user_id, id) = session_ids(&request.user_id, &request.id)?;
        let session = self.live_session(user_id, id).await?;
        Ok(Response::new(session_to_proto(session)))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn lease_upload_session(
        &self,
        request: Request<LeaseUploadRequest>,
    ) -> Result<Response<UploadSession>, Status> {
        let request = request.into_inner();
        let (user_id, id) = session_ids(&request.user_id, &request.id)?;
        let holder = parse_id(&request.holder, "holder")?;
        let seconds = i32::try_from(request.lease_seconds.clamp(1, 300)).unwrap_or(30);
        let outcome = self
            .files
            .lease(user_id, id, holder, seconds)
            .await?
            .ok_or(FileError::NotFound)?;
        let session = live(outcome.session)?;
        if session.file.status != RowStatus::Pending.as_str() {
            // Finished: nothing to write, nothing to lease.
            return Ok(Response::new(session_to_proto(session)));
        }
        if session.session_expired {
            return Err(FileError::UploadExpired.into());
        }
        if !outcome.leased {
            return Err(FileError::UploadLocked.into());
        }
        Ok(Response::new(session_to_proto(session)))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id, offset = request.get_ref().offset))]
    async fn record_upload_offset(
        &self,
        request: Request<RecordUploadOffsetRequest>,
    ) -> Result<Response<UploadSession>, Status> {
        let request = request.into_inner();
        let (user_id, id) = session_ids(&request.user_id, &request.id)?;
        let holder = parse_id(&request.holder, "holder")?;
        let as_i64 = |value: u64| {
            i64::try_from(value).map_err(|_| FileError::InvalidArgument("out of range".into()))
        };
        let offset = as_i64(request.offset)?;
        let length = request.length.map(as_i64).transpose()?;
        if length.is_some_and(|length| offset > length) {
            return Err(FileError::InvalidArgument("the offset is past the length".into()).into());
        }
        let session = self
            .files
            .record_offset(user_id, id, holder, offset, length, request.release)
            .await?
            .ok_or(FileError::UploadLocked)?;
        Ok(Response::new(session_to_proto(live(session)?)))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn release_upload_session(
        &self,
        request: Request<LeaseUploadRequest>,
    ) -> Result<Response<UploadSession>, Status> {
        let request = request.into_inner();
        let (user_id, id) = session_ids(&request.user_id, &request.id)?;
        let holder = parse_id(&request.holder, "holder")?;
        self.files.release(user_id, id, holder).await?;
        let session = self.live_session(user_id, id).await?;
        Ok(Response::new(session_to_proto(session)))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn create_share(
        &self,
        request: Request<CreateShareRequest>,
    ) -> Result<Response<CreateShareResponse>, Status> {
        let request = request.into_inner();
        let (share, token) = sharing::create(
            &self.files,
            ShareRequest {
                user_id: parse_id(&request.user_id, "user_id")?,
                file_id: Uuid::parse_str(&request.file_id).map_err(|_| FileError::NotFound)?,
                expires_in_seconds: request.expires_in_seconds,
                max_downloads: request.max_downloads,
                password: request.password,
            },
        )
        .await?;
        tracing::info!(share_id = %share.id, file_id = %share.file_id, "share link created");
        Ok(Response::new(CreateShareResponse {
            share: Some(share_to_proto(share)),
            token,
        }))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn list_shares(
        &self,
        request: Request<ListSharesRequest>,
    ) -> Result<Response<ListSharesResponse>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        let file_id = Uuid::parse_str(&request.file_id).map_err(|_| FileError::NotFound)?;
        // The file must be the user's and visible, as for GetFile.
        self.files.get_active(user_id, file_id).await?;
        let shares = self.files.list_shares(user_id, file_id).await?;
        Ok(Response::new(ListSharesResponse {
            shares: shares.into_iter().map(share_to_proto).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(user_id = %request.get_ref().user_id))]
    async fn revoke_share(
        &self,
        request: Request<RevokeShareRequest>,
    ) -> Result<Response<Share>, Status> {
        let request = request.into_inner();
        let user_id = parse_id(&request.user_id, "user_id")?;
        let id = Uuid::parse_str(&request.id).map_err(|_| FileError::NotFound)?;
        let share = self.files.revoke_share(user_id, id).await?;
        tracing::info!(share_id = %share.id, "share link revoked");
        Ok(Response::new(share_to_proto(share)))
    }

    #[tracing::instrument(skip_all)]
    async fn open_share(
        &self,
        request: Request<OpenShareRequest>,
    ) -> Result<Response<OpenShareResponse>, Status> {
        let record = sharing::open(&self.files, &request.get_ref().token).await?;
        Ok(Response::new(OpenShareResponse {
            shared: Some(shared_file(&record)),
        }))
    }

    #[tracing::instrument(skip_all, fields(share_id))]
    async fn claim_share_download(
        &self,
        request: Request<ClaimShareDownloadRequest>,
    ) -> Result<Response<ClaimShareDownloadResponse>, Status> {
        let request = request.into_inner();
        let granted = sharing::claim(
            &self.files,
            &request.token,
            request.password,
            request.grant.as_deref(),
        )
        .await?;
        let share_id = granted.record.share_id.to_string();
        tracing::Span::current().record("share_id", &share_id);
        tracing::info!(counted = granted.grant.is_some(), "share download granted");
        Ok(Response::new(ClaimShareDownloadResponse {
            file: Some(to_proto(granted.record.file_record())),
            counted: granted.grant.is_some(),
            grant: granted.grant,
            share_id,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn mark_purged(
        &self,
        request: Request<MarkPurgedRequest>,
    ) -> Result<Response<MarkPurgedResponse>, Status> {
        let id = parse_id(&request.into_inner().id, "id")?;
        self.files.mark_purged(id).await?;
        Ok(Response::new(MarkPurgedResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn claim_purgeable(
        &self,
        request: Request<ClaimPurgeableRequest>,
    ) -> Result<Response<ClaimPurgeableResponse>, Status> {
        let request = request.into_inner();
        let seconds = |value: u64, what: &str| {
            i64::try_from(value)
                .map_err(|_| FileError::InvalidArgument(format!("{what} is out of range")))
        };
        let limit = i64::from(request.limit.clamp(1, MAX_CLAIM));
        let stale_after = seconds(request.stale_after_seconds, "stale_after_seconds")?;
        let lease = seconds(request.lease_seconds, "lease_seconds")?;
        let records = self
            .files
            .claim_purgeable(limit, stale_after, lease)
            .await?;
        Ok(Response::new(ClaimPurgeableResponse {
            files: records.into_iter().map(to_proto).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().objects.len()))]
    async fn find_unknown_keys(
        &self,
        request: Request<FindUnknownKeysRequest>,
    ) -> Result<Response<FindUnknownKeysResponse>, Status> {
        let request = request.into_inner();
        if request.objects.len() > MAX_CLAIM as usize {
            return Err(FileError::InvalidArgument(format!(
                "at most {MAX_CLAIM} keys per request"
            ))
            .into());
        }
        let grace = i64::try_from(request.grace_seconds)
            .map_err(|_| FileError::InvalidArgument("grace_seconds is out of range".into()))?;
        let (keys, modified): (Vec<String>, Vec<chrono::DateTime<chrono::Utc>>) = request
            .objects
            .into_iter()
            .map(|object| {
                let modified = object
                    .last_modified
                    .as_ref()
                    .and_then(flowsvault_proto::from_timestamp)
                    .ok_or_else(|| {
                        FileError::InvalidArgument("every object needs its last_modified".into())
                    })?;
                Ok((object.key, modified))
            })
            .collect::<Result<Vec<_>, FileError>>()?
            .into_iter()
            .unzip();
        let keys = self.files.unknown_keys(&keys, &modified, grace).await?;
        Ok(Response::new(FindUnknownKeysResponse { keys }))
    }

    #[tracing::instrument(skip_all)]
    async fn purge_shares(
        &self,
        request: Request<PurgeSharesRequest>,
    ) -> Result<Response<PurgeSharesResponse>, Status> {
        let retention = i64::try_from(request.into_inner().retention_seconds).map_err(|_| {
            FileError::InvalidArgument("retention_seconds is out of range".to_owned())
        })?;
        let (shares, grants) = self.files.purge_shares(retention).await?;
        if shares > 0 || grants > 0 {
            tracing::info!(shares, grants, "share links and grants removed");
        }
        Ok(Response::new(PurgeSharesResponse { shares, grants }))
    }
}
