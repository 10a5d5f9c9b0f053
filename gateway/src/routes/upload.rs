//! `POST /api/upload`: a multipart body streamed part by part to storage-service, never
//! held whole. The row is recorded `pending` before the first byte is stored and made
//! `active` only after the object is complete; every other ending marks it `failed`
//! and removes whatever was stored.

use actix_multipart::{Field, Multipart};
use actix_web::{HttpRequest, HttpResponse, http::header, web};
use bytes::Bytes;
use flowsvault_proto::{
    ErrorCode, FileDuration, FileName,
    files::v1::{
        BeginUploadRequest, CheckQuotaRequest, CompleteUploadRequest, FailUploadRequest, File,
        FileStatus,
    },
    from_timestamp,
    storage::v1::{PutFinish, PutHeader, PutRequest, put_request},
};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::ToSchema;

use super::{
    FileView,
    files::{duration_schema, purge_object},
    openapi::{
        BadGateway, BadRequest, Conflict, Forbidden, GatewayTimeout, PayloadTooLarge,
        RequestTimeout, ServiceUnavailable, TooManyRequests, Unauthorized, UnprocessableContent,
        UnsupportedMediaType,
    },
};
use crate::{
    auth::Principal, config::Fault, problem::ApiError, request_id::RequestId, startup::AppState,
    validation,
};

/// Room for multipart boundaries and part headers when judging `Content-Length`.
const MULTIPART_OVERHEAD_BYTES: u64 = 64 * 1024;
/// Longest value accepted in a text field.
const MAX_FIELD_BYTES: usize = 64;
/// Chunks queued between the client's stream and storage-service: the back-pressure
/// buffer, so memory per upload stays bounded whatever the file size.
const CHUNKS_IN_FLIGHT: usize = 8;

/// The multipart form of an upload, as the OpenAPI document describes it; the handler
/// reads the parts as a stream instead.
#[derive(ToSchema)]
#[allow(dead_code, reason = "only describes the form; never built")]
struct UploadForm {
    /// The file's bytes; the part's `filename` is the file's name.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    /// How long to keep the file; the server's default when absent. Send it before
    /// the `file` part.
    #[schema(schema_with = duration_schema, required = false)]
    duration: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/upload",
    tag = "files",
    operation_id = "uploadFile",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    params(
        ("Idempotency-Key" = Option<String>, Header, max_length = 255,
            description = "1 to 255 visible ASCII characters: repeating an upload with the same key and the same file returns the first one instead of storing it again"),
    ),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 201, description = "The stored file", body = FileView,
            headers(("Location" = String, description = "`/api/files/{id}`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 408, response = RequestTimeout),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableContent),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn upload(
    request: HttpRequest,
    payload: web::Payload,
    principal: Principal,
    request_id: RequestId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_multipart(&request)?;
    require_no_encoding(&request)?;
    let limit = state.settings.max_upload_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let idempotency_key = idempotency_key(&request)?;
    // The file part is smaller than the whole body.
    let reserve_bytes = declared.map_or(limit, |length| length.min(limit));
    check_quota(
        &state,
        &principal,
        &request_id,
        reserve_bytes,
        idempotency_key.as_deref(),
    )
    .await?;
    if declared.is_some_and(|length| length > limit.saturating_add(MULTIPART_OVERHEAD_BYTES)) {
        return Err(too_large(limit));
    }

    let mut multipart = Multipart::new(request.headers(), payload);
    let mut duration: Option<FileDuration> = None;
    let mut stored: Option<Received> = None;
    let mut pace = Pace::new(&state.settings.pace);
    while let Some(mut field) = pace.next_part(&mut multipart).await? {
        match field.name() {
            Some("duration") => {
                let text = read_text(&mut field, &mut pace).await?;
                duration = Some(FileDuration::parse(&text).map_err(|error| {
                    ApiError::new(ErrorCode::InvalidDuration, error.to_string())
                })?);
            }
            Some("file") if stored.is_some() => {
                return Err(ApiError::invalid("send one `file` part per request"));
            }
            Some("file") => {
                let raw_name = field
                    .content_disposition()
                    .and_then(|disposition| disposition.get_filename())
                    .ok_or_else(|| {
                        ApiError::new(
                            ErrorCode::InvalidFileName,
                            "the `file` part has no filename",
                        )
                    })?;
                let name = FileName::sanitize(raw_name).map_err(|error| {
                    ApiError::new(ErrorCode::InvalidFileName, error.to_string())
                })?;
                let extension = name.extension();
                validation::check_extension(&state.settings.allowed_extensions, &extension)?;
                let head = Head::read(&mut field, limit, &mut pace).await?;
                let sniffed = validation::sniff(&extension, &head.prefix())?;
                let mime_type = sniffed.map_or_else(
                    || {
                        mime_guess::from_ext(&extension)
                            .first_or_octet_stream()
                            .essence_str()
                            .to_owned()
                    },
                    str::to_owned,
                );
                let intent = Intent {
                    name: &name,
                    mime_type,
                    duration: duration.unwrap_or(state.settings.default_duration),
                    idempotency_key: idempotency_key.clone(),
                    reserve_bytes,
                };
                stored = Some(
                    match PendingUpload::begin(&state, &principal, &request_id, intent).await? {
                        Begun::New(mut pending) => {
                            pending.store(head, &mut field, limit, &mut pace).await?;
                            Received::New(pending)
                        }
                        Begun::Replay(file) => {
                            same_upload(&file, &name, head, &mut field, limit, &mut pace).await?;
                            Received::Replay(file)
                        }
                    },
                );
            }
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "unexpected form field `{other}`"
                )));
            }
            None => return Err(ApiError::invalid("a form part has no name")),
        }
    }
    let received = stored
        .ok_or_else(|| ApiError::new(ErrorCode::MissingFile, "the form has no `file` part"))?;
    let file = match received {
        Received::New(pending) => {
            pending
                .complete(duration.unwrap_or(state.settings.default_duration))
                .await?
        }
        Received::Replay(file) => file,
    };
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/files/{}", file.id)))
        .json(FileView::from_proto(file)))
}

/// The quota, checked before the body is read: API.md's order is authentication, rate
/// limit, quota, then the file's own checks. `needed` is what beginning the upload would
/// reserve. An early answer only: that reservation is what holds when uploads race.
pub(super) async fn check_quota(
    state: &AppState,
    principal: &Principal,
    request_id: &RequestId,
    needed: u64,
    idempotency_key: Option<&str>,
) -> Result<(), ApiError> {
    if state.settings.quota_bytes == 0 {
        return Ok(());
    }
    let mut files = state.backends.files();
    files
        .check_quota(state.backends.request(
            CheckQuotaRequest {
                user_id: principal.user_id.clone(),
                needed_bytes: needed,
                quota_bytes: state.settings.quota_bytes,
                idempotency_key: idempotency_key.map(str::to_owned),
            },
            request_id,
        ))
        .await?;
    Ok(())
}

/// How slow an upload may be before it is cut off.
#[derive(Debug, Clone, Copy)]
pub struct PaceSettings {
    /// Longest wait for the next bytes of the body.
    pub idle: Duration,
    /// Lowest average rate over each `window`, in bytes per second; 0 turns it off.
    pub min_bytes_per_sec: u64,
    pub window: Duration,
    /// Longest a whole upload may take; kept below the janitor's stale-upload age, so a
    /// slow but legal upload is never given up while it still streams.
    pub max_duration: Duration,
}

/// Guards every read of an upload body: a client that stops sending (slowloris) or
/// trickles bytes (1 byte/s) is cut off with 408, and its upload cleaned up as any
/// other interrupted one.
pub(super) struct Pace {
    settings: PaceSettings,
    started: Instant,
    window_start: Instant,
    window_bytes: u64,
}

impl Pace {
    pub(super) fn new(settings: &PaceSettings) -> Self {
        Self {
            settings: *settings,
            started: Instant::now(),
            window_start: Instant::now(),
            window_bytes: 0,
        }
    }

    fn stalled(&self) -> ApiError {
        ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "no body bytes arrived for {} s",
                self.settings.idle.as_secs()
            ),
        )
    }

    async fn next_part(&mut self, multipart: &mut Multipart) -> Result<Option<Field>, ApiError> {
        match tokio::time::timeout(self.settings.idle, multipart.next()).await {
            Err(_) => Err(self.stalled()),
            Ok(None) => Ok(None),
            Ok(Some(field)) => field.map(Some).map_err(malformed),
        }
    }

    async fn next_chunk(&mut self, field: &mut Field) -> Result<Option<Bytes>, ApiError> {
        self.next_from(field, malformed).await
    }

    /// The next chunk of a body, cut off with 408 when it stalls, trickles, or runs
    /// longer than an upload may.
    pub(super) async fn next_from<S, E>(
        &mut self,
        body: &mut S,
        malformed: fn(E) -> ApiError,
    ) -> Result<Option<Bytes>, ApiError>
    where
        S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let chunk = match tokio::time::timeout(self.settings.idle, body.next()).await {
            Err(_) => return Err(self.stalled()),
            Ok(None) => return Ok(None),
            Ok(Some(chunk)) => chunk.map_err(malformed)?,
        };
        if self.started.elapsed() > self.settings.max_duration {
            return Err(ApiError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "an upload may take at most {} s",
                    self.settings.max_duration.as_secs()
                ),
            ));
        }
        self.window_bytes += chunk.len() as u64;
        let elapsed = self.window_start.elapsed();
        if elapsed >= self.settings.window {
            let rate = self.window_bytes as f64 / elapsed.as_secs_f64();
            if self.settings.min_bytes_per_sec > 0 && rate < self.settings.min_bytes_per_sec as f64
            {
                return Err(ApiError::new(
                    ErrorCode::RequestTimeout,
                    format!(
                        "the upload is slower than {} bytes/s",
                        self.settings.min_bytes_per_sec
                    ),
                ));
            }
            self.window_start = Instant::now();
            self.window_bytes = 0;
        }
        Ok(Some(chunk))
    }
}

/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| {
            !key.is_empty()
                && key.len() <= MAX_IDEMPOTENCY_KEY_BYTES
                && key.bytes().all(|byte| byte.is_ascii_graphic())
        })
        .ok_or_else(|| {
            ApiError::invalid("Idempotency-Key must be 1 to 255 visible ASCII characters")
        })?;
    Ok(Some(key.to_owned()))
}

/// What the `file` part became.
enum Received {
    New(PendingUpload),
    /// An earlier upload with the same `Idempotency-Key` and the same content.
    Replay(File),
}

/// What beginning an upload found.
enum Begun {
    New(PendingUpload),
    Replay(File),
}

/// What a new upload is to be.
struct Intent<'a> {
    name: &'a FileName,
    mime_type: String,
    duration: FileDuration,
    idempotency_key: Option<String>,
    /// What the quota must hold for this upload until it completes.
    reserve_bytes: u64,
}

/// Reads the repeated part to its end and checks it is the upload the key already made:
/// same name, size and SHA-256. Otherwise the key was reused for another file: 422.
async fn same_upload(
    earlier: &File,
    name: &FileName,
    head: Head,
    field: &mut Field,
    limit: u64,
    pace: &mut Pace,
) -> Result<(), ApiError> {
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    for chunk in &head.chunks {
        hasher.update(chunk);
        size += chunk.len() as u64;
    }
    if !head.whole_part {
        while let Some(chunk) = pace.next_chunk(field).await? {
            size += chunk.len() as u64;
            if size > limit {
                return Err(too_large(limit));
            }
            hasher.update(&chunk);
        }
    }
    let same = size == earlier.size
        && hex::encode(hasher.finalize()) == earlier.sha256
        && name.as_str() == earlier.original_name;
    if same {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different file",
        ))
    }
}

/// 415 unless the body is `multipart/form-data`.
pub(super) fn require_multipart(request: &HttpRequest) -> Result<(), ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if is_multipart {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be multipart/form-data with a `file` part",
        ))
    }
}

/// 415 for a compressed body: a client's body is never inflated, since a small
/// compressed upload can expand without bound.
pub(super) fn require_no_encoding(request: &HttpRequest) -> Result<(), ApiError> {
    let encoded = request
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| !value.trim().eq_ignore_ascii_case("identity"));
    if encoded {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "compressed request bodies (Content-Encoding) are not accepted",
        ));
    }
    Ok(())
}

pub(super) fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::FileTooLarge,
        format!("the upload limit is {limit} bytes"),
    )
    .with("limit", limit.into())
}

fn malformed(error: actix_multipart::MultipartError) -> ApiError {
    ApiError::invalid(format!("malformed multipart body: {error}"))
}

/// The first [`validation::SNIFF_BYTES`] or more of a part (fewer only at its end), as
/// the chunks that carried them, so they are sent on without a copy.
struct Head {
    chunks: Vec<Bytes>,
    /// The part ended within the head: the field must not be polled again.
    whole_part: bool,
}

impl Head {
    async fn read(field: &mut Field, limit: u64, pace: &mut Pace) -> Result<Self, ApiError> {
        let mut chunks = Vec::new();
        let mut length = 0;
        while length < validation::SNIFF_BYTES {
            let Some(chunk) = pace.next_chunk(field).await? else {
                return Ok(Self {
                    chunks,
                    whole_part: true,
                });
            };
            length += chunk.len();
            if length as u64 > limit {
                return Err(too_large(limit));
            }
            chunks.push(chunk);
        }
        Ok(Self {
            chunks,
            whole_part: false,
        })
    }

    fn prefix(&self) -> Vec<u8> {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.iter().copied())
            .take(validation::SNIFF_BYTES)
            .collect()
    }
}

async fn read_text(field: &mut Field, pace: &mut Pace) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = pace.next_chunk(field).await? {
        if bytes.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(ApiError::invalid("a form field is too long"));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| ApiError::invalid("a form field is not UTF-8"))
}

/// An upload whose row exists. Unless it is completed, dropping it (an error, or the
/// client going away mid-stream) marks the row failed and removes the object.
struct PendingUpload {
    state: web::Data<AppState>,
    request_id: RequestId,
    user_id: String,
    file: File,
    completed: bool,
    stored: Option<(u64, String)>,
}

impl PendingUpload {
    async fn begin(
        state: &web::Data<AppState>,
        principal: &Principal,
        request_id: &RequestId,
        intent: Intent<'_>,
    ) -> Result<Begun, ApiError> {
        let mut files = state.backends.files();
        let file = files
            .begin_upload(state.backends.request(
                BeginUploadRequest {
                    user_id: principal.user_id.clone(),
                    original_name: intent.name.as_str().to_owned(),
                    mime_type: intent.mime_type,
                    duration: intent.duration.to_proto() as i32,
                    idempotency_key: intent.idempotency_key,
                    reserve_bytes: intent.reserve_bytes,
                    quota_bytes: state.settings.quota_bytes,
                },
                request_id,
            ))
            .await?
            .into_inner();
        // Only a pending row is ours to fill (and to clean up if we fail).
        if file.status != FileStatus::Pending as i32 {
            return Ok(Begun::Replay(file));
        }
        Ok(Begun::New(Self {
            state: state.clone(),
            request_id: request_id.clone(),
            user_id: principal.user_id.clone(),
            file,
            completed: false,
            stored: None,
        }))
    }

    /// Streams the part (its already read `head`, then the rest) to storage-service,
    /// counting bytes as they pass.
    async fn store(
        &mut self,
        head: Head,
        field: &mut Field,
        limit: u64,
        pace: &mut Pace,
    ) -> Result<(), ApiError> {
        let (sender, receiver) = mpsc::channel::<PutRequest>(CHUNKS_IN_FLIGHT);
        let header = PutRequest {
            message: Some(put_request::Message::Header(PutHeader {
                key: self.file.file_name.clone(),
                content_type: self.file.mime_type.clone(),
                metadata: object_metadata(&self.file, &self.user_id),
            })),
        };
        let feed = async move {
            let storage_gone =
                || ApiError::new(ErrorCode::UpstreamUnavailable, "storage stopped receiving");
            sender.send(header).await.map_err(|_| storage_gone())?;
            let mut size: u64 = 0;
            let whole_part = head.whole_part;
            let mut head = head.chunks.into_iter();
            loop {
                let chunk: Bytes = match head.next() {
                    Some(chunk) => chunk,
                    None if whole_part => break,
                    None => match pace.next_chunk(field).await? {
                        Some(chunk) => chunk,
                        None => break,
                    },
                };
                size += chunk.len() as u64;
                if size > limit {
                    return Err(too_large(limit));
                }
                let message = PutRequest {
                    message: Some(put_request::Message::Chunk(chunk)),
                };
                sender.send(message).await.map_err(|_| storage_gone())?;
            }
            let finish = PutRequest {
                message: Some(put_request::Message::Finish(PutFinish { size })),
            };
            sender.send(finish).await.map_err(|_| storage_gone())?;
            Ok::<_, ApiError>(size)
        };
        let mut storage = self.state.backends.storage();
        let call = async {
            storage
                .put(
                    self.state
                        .backends
                        .stream_request(ReceiverStream::new(receiver), &self.request_id),
                )
                .await
                .map(tonic::Response::into_inner)
                .map_err(ApiError::from)
        };
        // The first failure on either side drops the other: a dropped call cancels the
        // stream, and storage-service aborts an upload that never finished.
        let (sent, stored) = tokio::try_join!(feed, call)?;
        if stored.size != sent {
            return Err(ApiError::new(
                ErrorCode::UpstreamFailed,
                "storage stored a different number of bytes",
            ));
        }
        self.stored = Some((stored.size, stored.sha256));
        Ok(())
    }

    async fn complete(mut self, duration: FileDuration) -> Result<File, ApiError> {
        let Some((size, sha256)) = self.stored.clone() else {
            return Err(ApiError::new(ErrorCode::Internal, "no bytes were stored"));
        };
        if self.state.settings.fault == Some(Fault::CrashAfterStore) {
            // What a crash here leaves: the object stored, the row pending, and none of
            // the clean-up that dropping `self` would start.
            self.completed = true;
            return Err(ApiError::new(
                ErrorCode::Internal,
                "injected fault: the gateway crashed before recording the upload",
            ));
        }
        let mut files = self.state.backends.files();
        let file = files
            .complete_upload(self.state.backends.request(
                CompleteUploadRequest {
                    user_id: self.user_id.clone(),
                    id: self.file.id.clone(),
                    size,
                    sha256,
                    duration: duration.to_proto() as i32,
                },
                &self.request_id,
            ))
            .await?
            .into_inner();
        self.completed = true;
        tracing::info!(id = %file.id, size, "upload stored");
        Ok(file)
    }
}

impl Drop for PendingUpload {
    fn drop(&mut self) {
        if self.completed {
            return;
        }
        let state = self.state.clone();
        let request_id = self.request_id.clone();
        let id = self.file.id.clone();
        let key = self.file.file_name.clone();
        let user_id = self.user_id.clone();
        // Runs detached: the request may already be gone.
        actix_web::rt::spawn(async move {
            let mut files = state.backends.files();
            let failed = files
                .fail_upload(state.backends.request(
                    FailUploadRequest {
                        user_id,
                        id: id.clone(),
                    },
                    &request_id,
                ))
                .await;
            match failed {
                Ok(_) => purge_object(&state, &request_id, &id, &key).await,
                Err(status) => {
                    tracing::warn!(%id, %status, "marking the upload failed did not work; the janitor will retry");
                }
            }
        });
    }
}

/// What an object carries besides its bytes, as the seed's objects did: its original
/// name, owner, upload time, duration and expiry (when it has one). Kept with the object
/// where the backend can (S3 metadata), so a bucket alone still says whose each object is
/// and until about when it is wanted. Like the seed's, they are the values known when the
/// bytes begin to arrive, as object metadata cannot change later: the upload's start,
/// and the duration chosen by then (a form's `duration` field sent after its file part
/// comes too late, the default stands in the metadata). The row in file-service, whose
/// expiry counts from the upload's completion, is what the janitor acts on.
pub fn object_metadata(file: &File, user_id: &str) -> HashMap<String, String> {
    let uploaded_at = file
        .uploaded_at
        .as_ref()
        .and_then(from_timestamp)
        .unwrap_or_else(chrono::Utc::now);
    let duration = FileDuration::from_proto(file.duration);
    let expires_at = file
        .expires_at
        .as_ref()
        .and_then(from_timestamp)
        .or_else(|| {
            let seconds = duration?.seconds()?;
            Some(uploaded_at + chrono::TimeDelta::seconds(seconds))
        });
    let at = |time: chrono::DateTime<chrono::Utc>| {
        time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let mut metadata = HashMap::from([
        ("originalName".to_owned(), file.original_name.clone()),
        ("userId".to_owned(), user_id.to_owned()),
        ("uploadedAt".to_owned(), at(uploaded_at)),
    ]);
    if let Some(duration) = duration {
        metadata.insert("duration".to_owned(), duration.as_str().to_owned());
    }
    if let Some(expires_at) = expires_at {
        metadata.insert("expiresAt".to_owned(), at(expires_at));
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_carry_the_seeds_metadata() {
        let file = File {
            original_name: "Résumé.pdf".to_owned(),
            duration: FileDuration::OneDay.to_proto().into(),
            ..File::default()
        };
        let metadata = object_metadata(&file, "u-1");
        assert_eq!(metadata["originalName"], "Résumé.pdf");
        assert_eq!(metadata["userId"], "u-1");
        assert_eq!(metadata["duration"], "1d");
        let parse = |name: &str| chrono::DateTime::parse_from_rfc3339(&metadata[name]).unwrap();
        assert_eq!(
            parse("expiresAt") - parse("uploadedAt"),
            chrono::TimeDelta::days(1)
        );

        let kept = File {
            duration: FileDuration::Unlimited.to_proto().into(),
            uploaded_at: Some(flowsvault_proto::to_timestamp(
                chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
                    .unwrap()
                    .to_utc(),
            )),
            ..file
        };
        let metadata = object_metadata(&kept, "u-1");
        assert_eq!(metadata["uploadedAt"], "2026-01-02T03:04:05.000Z");
        assert_eq!(metadata["duration"], "unlimited");
        assert!(!metadata.contains_key("expiresAt"));
    }
}
