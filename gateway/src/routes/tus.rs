//! Resumable uploads: the tus 1.0.0 protocol at `/api/uploads` (API.md "Resumable
//! uploads"), with the extensions creation, creation-with-upload, creation-defer-length,
//! termination, expiration and checksum, so that stock clients (tus-js-client, tuspy,
//! Uppy) work unchanged.
//!
//! The upload's id is the file's id: creation records a `pending` file and its session
//! in file-service, exactly like the intent of `POST /api/upload`. A PATCH takes the
//! session's lease (one writer at a time, across replicas; a dead writer's lease runs out
//! in seconds), streams its body to storage-service's staging at the acknowledged offset
//! and records the new offset, which is only then acknowledged to the client. The
//! streaming and the recording run in a task of their own, so a client that goes away
//! mid-body still has the bytes that arrived recorded. The last byte commits the staged
//! bytes as the object and makes the file active, after the same content check as a
//! single-request upload.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use base64::Engine;
use bytes::Bytes;
use chrono::Utc;
use flowsvault_proto::{
    ErrorCode, FileDuration, FileName,
    files::v1::{
        BeginResumableRequest, BeginUploadRequest, CompleteUploadRequest, FailUploadRequest,
        LeaseUploadRequest, RecordUploadOffsetRequest, UploadSession, UploadSessionRequest,
    },
    from_timestamp,
    storage::v1::{
        AppendHeader, AppendRequest, ByteRange, CommitRequest, GetRequest, StagedRequest,
        append_request,
    },
};
use futures_util::StreamExt;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use super::{
    files::{delete_owned, purge_object},
    openapi::{
        BadGateway, BadRequest, ChecksumMismatch, Conflict, Forbidden, GatewayTimeout, Gone,
        Locked, MethodNotAllowed, NotFound, PayloadTooLarge, PreconditionFailed, RequestTimeout,
        ServiceUnavailable, TooManyRequests, Unauthorized, UnsupportedMediaType,
    },
    upload::{Pace, check_quota, object_metadata, require_no_encoding, too_large},
};
use crate::{
    auth::Principal, problem::ApiError, request_id::RequestId, startup::AppState, validation,
};

pub const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str =
    "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum";
const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";

/// Marks an answer to a tus request given outside its routes (a refusal by the rate limit
/// or the connection cap): tus asks for `Tus-Resumable` on every answer.
pub fn mark_answer(path: &str, headers: &mut actix_web::http::header::HeaderMap) {
    if path == "/api/uploads" || path.starts_with("/api/uploads/") {
        headers.insert(
            header::HeaderName::from_static("tus-resumable"),
            header::HeaderValue::from_static(TUS_VERSION),
        );
    }
}

const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";
/// How long a PATCH's lease lasts; it is renewed while the body streams and while the
/// upload is being finished.
const LEASE_SECONDS: u32 = 10;
/// Bytes looked at to check the content against the extension.
const SNIFF_BYTES: usize = 4096;
/// Body chunks on their way to storage at once.
const CHUNKS_IN_FLIGHT: usize = 8;

/// `OPTIONS`: what this server supports. No authentication.
#[utoipa::path(
    options,
    path = "/api/uploads",
    tag = "uploads",
    operation_id = "tusOptions",
    responses((status = 204, description = "The server's tus capabilities", headers(
        ("Tus-Resumable" = String, description = "`1.0.0`"),
        ("Tus-Version" = String, description = "`1.0.0`"),
        ("Tus-Extension" = String, description = "creation, creation-with-upload, creation-defer-length, termination, expiration, checksum"),
        ("Tus-Max-Size" = u64, description = "The upload limit in bytes"),
        ("Tus-Checksum-Algorithm" = String, description = "`sha1,sha256`"),
    ))),
)]
pub async fn options(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("Tus-Version", TUS_VERSION))
        .insert_header(("Tus-Extension", EXTENSIONS))
        .insert_header(("Tus-Max-Size", state.settings.max_upload_bytes.to_string()))
        .insert_header(("Tus-Checksum-Algorithm", CHECKSUM_ALGORITHMS))
        .finish()
}

/// `OPTIONS` on one upload: the same capabilities.
#[utoipa::path(
    options,
    path = "/api/uploads/{id}",
    tag = "uploads",
    operation_id = "tusOptionsOfUpload",
    params(("id" = String, Path, format = "uuid", description = "The upload's id")),
    responses((status = 204, description = "The server's tus capabilities", headers(
        ("Tus-Resumable" = String, description = "`1.0.0`"),
        ("Tus-Version" = String, description = "`1.0.0`"),
        ("Tus-Extension" = String, description = "creation, creation-with-upload, creation-defer-length, termination, expiration, checksum"),
        ("Tus-Max-Size" = u64, description = "The upload limit in bytes"),
        ("Tus-Checksum-Algorithm" = String, description = "`sha1,sha256`"),
    ))),
)]
pub async fn options_of_upload(state: web::Data<AppState>) -> HttpResponse {
    options(state).await
}

/// 412 unless the request speaks tus 1.0.0.
fn require_version(request: &HttpRequest) -> Result<(), ApiError> {
    let version = request
        .headers()
        .get("tus-resumable")
        .and_then(|value| value.to_str().ok());
    if version == Some(TUS_VERSION) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::PreconditionFailed,
        "this server speaks tus 1.0.0 (Tus-Resumable: 1.0.0)",
    )
    .with_header(
        header::HeaderName::from_static("tus-version"),
        TUS_VERSION.to_owned(),
    ))
}

fn header_text<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

/// A header that must be a non-negative integer.
fn number_header(request: &HttpRequest, name: &str) -> Result<Option<u64>, ApiError> {
    header_text(request, name)
        .map(|text| {
            text.parse::<u64>()
                .map_err(|_| ApiError::invalid(format!("{name} must be a non-negative integer")))
        })
        .transpose()
}

/// One `Upload-Metadata` item: its key, and its value (any bytes) unless it has none.
type MetadataItem = (String, Option<Vec<u8>>);

/// `Upload-Metadata`: comma-separated `key base64(value)` pairs, a value may be absent.
/// Values are any bytes; those this server reads must be UTF-8 ([`metadata_value`]).
pub fn parse_metadata(header: &str) -> Result<Vec<MetadataItem>, ApiError> {
    let mut pairs = Vec::new();
    for item in header
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let mut parts = item.split(' ').filter(|part| !part.is_empty());
        let key = parts.next().unwrap_or_default();
        let value = parts.next();
        if parts.next().is_some() || key.is_empty() || !key.is_ascii() {
            return Err(ApiError::invalid(format!(
                "Upload-Metadata item {item:?} is malformed"
            )));
        }
        let value = value
            .map(|encoded| {
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|_| {
                        ApiError::invalid(format!(
                            "the Upload-Metadata value of {key} is not base64"
                        ))
                    })
            })
            .transpose()?;
        if pairs.iter().any(|(seen, _): &MetadataItem| seen == key) {
            return Err(ApiError::invalid(format!(
                "Upload-Metadata names {key} twice"
            )));
        }
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

/// The text of metadata `key`, if it has a value; 400 unless that is UTF-8.
fn metadata_value<'a>(pairs: &'a [MetadataItem], key: &str) -> Result<Option<&'a str>, ApiError> {
    pairs
        .iter()
        .find(|(name, _)| name == key)
        .and_then(|(_, value)| value.as_deref())
        .map(|bytes| {
            std::str::from_utf8(bytes).map_err(|_| {
                ApiError::invalid(format!(
                    "the Upload-Metadata value of {key} is not UTF-8 text"
                ))
            })
        })
        .transpose()
}

/// An HTTP-date (RFC 9110), as `Upload-Expires` carries it.
fn http_date(timestamp: &prost_types::Timestamp) -> Option<String> {
    from_timestamp(timestamp).map(|at| at.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

/// The headers every answer about a session carries.
fn describe(response: &mut actix_web::HttpResponseBuilder, session: &UploadSession) {
    match session.length {
        Some(length) => response.insert_header(("Upload-Length", length.to_string())),
        None => response.insert_header(("Upload-Defer-Length", "1")),
    };
    if !session.finished
        && let Some(expires) = session.expires_at.as_ref().and_then(http_date)
    {
        response.insert_header(("Upload-Expires", expires));
    }
}

/// `POST /api/uploads`: creates an upload (and, with a body, writes its first bytes).
#[utoipa::path(
    post,
    path = "/api/uploads",
    tag = "uploads",
    operation_id = "tusCreate",
    params(
        ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
        ("Upload-Length" = Option<u64>, Header, description = "The upload's size in bytes"),
        ("Upload-Defer-Length" = Option<String>, Header, description = "`1` when the size is not known yet"),
        ("Upload-Metadata" = String, Header, description = "`filename` (required), `filetype`, `duration`; values base64"),
    ),
    request_body(content = String, content_type = "application/offset+octet-stream",
        description = "Optional: the first bytes (creation-with-upload)"),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created", headers(
            ("Location" = String, description = "`/api/uploads/{id}`; the id is the future file's"),
            ("Upload-Expires" = String, description = "When an unfinished upload is removed"),
            ("Upload-Offset" = u64, description = "With a body: the bytes kept (a body cut short, too slow or failing its checksum keeps what holds: the client goes on from there)"),
            ("Upload-Length" = u64, description = "The upload's size, when known"),
            ("Upload-Defer-Length" = String, description = "`1` while the size is not known"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 408, response = RequestTimeout),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require_version(&request)?;
    let length = number_header(&request, "upload-length")?;
    let deferred = header_text(&request, "upload-defer-length");
    match (length, deferred) {
        (Some(_), None) | (None, Some("1")) => {}
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "send either Upload-Length or Upload-Defer-Length, not both",
            ));
        }
        (None, Some(_)) => return Err(ApiError::invalid("Upload-Defer-Length must be 1")),
        (None, None) => {
            return Err(ApiError::invalid(
                "Upload-Length (or Upload-Defer-Length: 1) is required",
            ));
        }
    }
    let limit = state.settings.max_upload_bytes;
    // A deferred length may still grow to the upload limit.
    let reserve_bytes = length.unwrap_or(limit).min(limit);
    check_quota(&state, &principal, &request_id, reserve_bytes, None).await?;
    if length.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let metadata_header = header_text(&request, "upload-metadata").unwrap_or_default();
    let metadata = parse_metadata(metadata_header)?;
    let original = metadata_value(&metadata, "filename")?
        .ok_or_else(|| ApiError::invalid("Upload-Metadata must carry the filename"))?;
    let name = FileName::sanitize(original)
        .map_err(|error| ApiError::new(ErrorCode::InvalidFileName, error.to_string()))?;
    validation::check_extension(&state.settings.allowed_extensions, &name.extension())?;
    let duration = match metadata_value(&metadata, "duration")? {
        Some(text) => text
            .parse::<FileDuration>()
            .map_err(|error| ApiError::new(ErrorCode::InvalidDuration, error.to_string()))?,
        None => state.settings.default_duration,
    };
    let mime_type = mime_guess::from_ext(&name.extension())
        .first_raw()
        .unwrap_or("application/octet-stream");
    let has_body = header_text(&request, "content-type") == Some(OFFSET_CONTENT_TYPE);
    if has_body {
        // What a body is refused for before it is read, refused before the upload exists.
        require_no_encoding(&request)?;
        Checksum::parse(&request)?;
    }
    let mut files = state.backends.files();
    let session = files
        .begin_resumable(state.backends.request(
            BeginResumableRequest {
                upload: Some(BeginUploadRequest {
                    user_id: principal.user_id.clone(),
                    original_name: name.as_str().to_owned(),
                    mime_type: mime_type.to_owned(),
                    duration: duration.to_proto() as i32,
                    idempotency_key: None,
                    reserve_bytes,
                    quota_bytes: state.settings.quota_bytes,
                }),
                length,
                metadata: metadata_header.to_owned(),
                expires_in_seconds: state.settings.tus_expiry_secs,
            },
            &request_id,
        ))
        .await?
        .into_inner();
    let file = session
        .file
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::UpstreamFailed, "file-service sent no file"))?;
    tracing::info!(id = %file.id, ?length, "resumable upload created");
    let location = format!("/api/uploads/{}", file.id);
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, location));
    if length == Some(0) && !has_body {
        // Clients send no PATCH for an empty file: it is finished here.
        let empty = futures_util::stream::empty();
        let session = write(&request, &state, &principal, &request_id, file.id, 0, empty).await?;
        response.insert_header(("Upload-Offset", session.offset.to_string()));
        describe(&mut response, &session);
    } else if has_body {
        // creation-with-upload: the body is the first PATCH.
        let written = write(
            &request,
            &state,
            &principal,
            &request_id,
            file.id.clone(),
            0,
            payload,
        )
        .await;
        let session = match written {
            Ok(session) => session,
            Err(error) if error.code() == ErrorCode::ChecksumMismatch => session,
            // The body was too large, or its content not what its name says: the
            // answer says so (the upload is finished or failed, nothing to go on with).
            Err(error)
                if matches!(
                    error.code(),
                    ErrorCode::FileTooLarge | ErrorCode::ContentMismatch
                ) =>
            {
                return Err(error);
            }
            // The body was cut short or too slow, or a service failed on the way: the
            // upload exists all the same, so its client gets its Location and the
            // offset that holds, and goes on from there, rather than an upload it
            // cannot reach (which would hold its quota until it expires).
            Err(error) => {
                tracing::info!(%error, "creation-with-upload stored part of its body");
                let mut files = state.backends.files();
                let Ok(current) = files
                    .get_upload_session(state.backends.request(
                        UploadSessionRequest {
                            user_id: principal.user_id.clone(),
                            id: file.id.clone(),
                        },
                        &request_id,
                    ))
                    .await
                else {
                    return Err(error);
                };
                current.into_inner()
            }
        };
        response.insert_header(("Upload-Offset", session.offset.to_string()));
        describe(&mut response, &session);
    } else {
        describe(&mut response, &session);
    }
    Ok(response.finish())
}

fn upload_id(id: web::Path<String>) -> String {
    id.into_inner()
}

async fn session_of(
    state: &AppState,
    principal: &Principal,
    request_id: &RequestId,
    id: &str,
) -> Result<UploadSession, ApiError> {
    let mut files = state.backends.files();
    let session = files
        .get_upload_session(state.backends.request(
            UploadSessionRequest {
                user_id: principal.user_id.clone(),
                id: id.to_owned(),
            },
            request_id,
        ))
        .await?
        .into_inner();
    if session.expired {
        return Err(ApiError::new(
            ErrorCode::UploadExpired,
            "the upload expired before it was finished",
        ));
    }
    Ok(session)
}

/// `HEAD /api/uploads/{id}`: how far the upload is. An upload whose every byte is in but
/// whose file was not made is finished first (see [`finish_left_over`]).
#[utoipa::path(
    head,
    path = "/api/uploads/{id}",
    tag = "uploads",
    operation_id = "tusHead",
    params(("id" = String, Path, format = "uuid", description = "The upload's id")),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 200, description = "The upload's state", headers(
            ("Upload-Offset" = u64), ("Upload-Length" = u64),
            ("Upload-Defer-Length" = String, description = "`1` while the size is not known"),
            ("Upload-Metadata" = String),
            ("Upload-Expires" = String), ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 412, response = PreconditionFailed),
        (status = 415, response = UnsupportedMediaType),
        (status = 423, response = Locked),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn head(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_version(&request)?;
    let id = upload_id(id);
    let mut session = session_of(&state, &principal, &request_id, &id).await?;
    if !session.finished && session.length == Some(session.offset) {
        session = finish_left_over(&state, &principal, &request_id, id).await?;
    }
    let mut response = HttpResponse::Ok();
    response
        .insert_header(("Upload-Offset", session.offset.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if !session.metadata.is_empty() {
        response.insert_header(("Upload-Metadata", session.metadata.clone()));
    }
    describe(&mut response, &session);
    Ok(response.finish())
}

/// Every byte of the upload is in, but it is no file yet: the last PATCH recorded its
/// offset, and then its commit, or the record after the commit, failed. A client told a
/// full offset stops there, so the file is made now, under a lease as a PATCH would; if
/// that fails too, the HEAD fails with it and the client asks again later.
async fn finish_left_over(
    state: &web::Data<AppState>,
    principal: &Principal,
    request_id: &RequestId,
    id: String,
) -> Result<UploadSession, ApiError> {
    let (lease, session) = Lease::take(state, principal, request_id, id).await?;
    if session.finished {
        return Ok(session);
    }
    if session.length != Some(session.offset) {
        lease.release().await;
        return Ok(session);
    }
    let finished = lease
        .hold(finish(state, &principal.user_id, request_id, &session))
        .await;
    if finished.is_err() {
        lease.release().await;
    }
    finished
}

/// `PATCH /api/uploads/{id}`: bytes at `Upload-Offset`. Acknowledged bytes (the 204's
/// `Upload-Offset`) survive any restart; a body cut off keeps what arrived.
#[utoipa::path(
    patch,
    path = "/api/uploads/{id}",
    tag = "uploads",
    operation_id = "tusPatch",
    params(
        ("id" = String, Path, format = "uuid", description = "The upload's id"),
        ("Upload-Offset" = u64, Header, description = "Where the body starts; must be the upload's offset"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha1|sha256 <base64 digest>` of the body"),
        ("Upload-Length" = Option<u64>, Header, description = "The size of an upload created with `Upload-Defer-Length`, once known"),
    ),
    request_body(content = String, content_type = "application/offset+octet-stream"),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 204, description = "Written", headers(
            ("Upload-Offset" = u64),
            ("Upload-Expires" = String, description = "While the upload is unfinished"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 408, response = RequestTimeout),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 423, response = Locked),
        (status = 429, response = TooManyRequests),
        (status = 460, response = ChecksumMismatch),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn patch(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require_version(&request)?;
    if header_text(&request, "content-type") != Some(OFFSET_CONTENT_TYPE) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("a PATCH body must be {OFFSET_CONTENT_TYPE}"),
        ));
    }
    let offset = number_header(&request, "upload-offset")?
        .ok_or_else(|| ApiError::invalid("Upload-Offset is required"))?;
    let session = write(
        &request,
        &state,
        &principal,
        &request_id,
        upload_id(id),
        offset,
        payload,
    )
    .await?;
    let mut response = HttpResponse::NoContent();
    response.insert_header(("Upload-Offset", session.offset.to_string()));
    describe(&mut response, &session);
    Ok(response.finish())
}

/// A checksum the client asked for: `Upload-Checksum: <algorithm> <base64 digest>`.
enum Checksum {
    Sha1(Sha1, Vec<u8>),
    Sha256(Sha256, Vec<u8>),
}

impl Checksum {
    fn parse(request: &HttpRequest) -> Result<Option<Self>, ApiError> {
        let Some(text) = header_text(request, "upload-checksum") else {
            return Ok(None);
        };
        let (algorithm, encoded) = text
            .split_once(' ')
            .ok_or_else(|| ApiError::invalid("Upload-Checksum must be `<algorithm> <base64>`"))?;
        let expected = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| ApiError::invalid("the Upload-Checksum digest is not base64"))?;
        match algorithm {
            "sha1" => Ok(Some(Self::Sha1(Sha1::new(), expected))),
            "sha256" => Ok(Some(Self::Sha256(Sha256::new(), expected))),
            other => Err(ApiError::invalid(format!(
                "Upload-Checksum algorithm {other} is not supported ({CHECKSUM_ALGORITHMS})"
            ))),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha1(hasher, _) => hasher.update(bytes),
            Self::Sha256(hasher, _) => hasher.update(bytes),
        }
    }

    fn matches(self) -> bool {
        match self {
            Self::Sha1(hasher, expected) => hasher.finalize().as_slice() == expected,
            Self::Sha256(hasher, expected) => hasher.finalize().as_slice() == expected,
        }
    }
}

/// What the body loop saw.
struct Received {
    /// Bytes of the body passed on to storage.
    sent: u64,
    /// Why the body was not taken whole, if it was not.
    failure: Option<ApiError>,
    checksum_ok: bool,
}

/// Writes a PATCH (or creation-with-upload) body at `offset` and returns the session as
/// recorded afterwards.
async fn write(
    request: &HttpRequest,
    state: &web::Data<AppState>,
    principal: &Principal,
    request_id: &RequestId,
    id: String,
    offset: u64,
    mut payload: impl futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>> + Unpin,
) -> Result<UploadSession, ApiError> {
    require_no_encoding(request)?;
    let mut checksum = Checksum::parse(request)?;
    let new_length = number_header(request, "upload-length")?;
    let (lease, session) = Lease::take(state, principal, request_id, id).await?;
    if session.offset != offset {
        lease.release().await;
        // No Upload-Offset header here: some clients read it whatever the status.
        return Err(ApiError::new(
            ErrorCode::OffsetMismatch,
            format!("the upload is at offset {}, not {offset}", session.offset),
        ));
    }
    let file = session
        .file
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::UpstreamFailed, "file-service sent no file"))?;
    let length = match (session.length, new_length) {
        (Some(known), Some(sent)) if known != sent => {
            lease.release().await;
            return Err(ApiError::invalid(format!(
                "Upload-Length is {known} already"
            )));
        }
        (Some(known), _) => Some(known),
        (None, sent) => sent,
    };
    let limit = state.settings.max_upload_bytes;
    if length.is_some_and(|length| length > limit) {
        lease.release().await;
        return Err(too_large(limit));
    }
    if length.is_some_and(|length| length < offset) {
        lease.release().await;
        return Err(ApiError::invalid(format!(
            "Upload-Length cannot be less than the offset {offset}"
        )));
    }
    if session.finished {
        lease.release().await;
        return Ok(session);
    }
    // Bytes this request may add: up to the length, or the limit while it is deferred.
    let room = length.unwrap_or(limit) - offset;

    // The storage side runs on its own: whatever happens to this request, the bytes that
    // reached storage are recorded and the lease released.
    let (sender, receiver) = mpsc::channel::<AppendRequest>(CHUNKS_IN_FLIGHT);
    let (done, outcome) = oneshot::channel();
    let (verdict_sender, verdict) = oneshot::channel();
    let writer = Writer {
        lease,
        key: file.file_name.clone(),
        offset,
        length,
        verdict,
        checksum_requested: checksum.is_some(),
        released: false,
    };
    actix_web::rt::spawn(async move {
        let result = writer.run(receiver).await;
        let _ = done.send(result);
    });

    let header = AppendRequest {
        message: Some(append_request::Message::Header(AppendHeader {
            key: file.file_name.clone(),
            offset,
            content_type: file.mime_type.clone(),
            metadata: object_metadata(&file, &principal.user_id),
        })),
    };
    let mut received = Received {
        sent: 0,
        failure: None,
        checksum_ok: true,
    };
    let mut head = Vec::new();
    let mut sniffed = offset > 0;
    if sender.send(header).await.is_ok() {
        let mut pace = Pace::new(&state.settings.pace);
        loop {
            let chunk = match pace.next_from(&mut payload, body_error).await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(error) => {
                    received.failure = Some(error);
                    break;
                }
            };
            let allowed = usize::try_from(room - received.sent).unwrap_or(usize::MAX);
            let overflow = chunk.len() > allowed;
            let chunk = if overflow {
                chunk.slice(..allowed)
            } else {
                chunk
            };
            if let Some(checksum) = checksum.as_mut() {
                checksum.update(&chunk);
            }
            if !sniffed {
                let wanted = SNIFF_BYTES - head.len();
                head.extend_from_slice(&chunk[..chunk.len().min(wanted)]);
            }
            received.sent += chunk.len() as u64;
            let message = AppendRequest {
                message: Some(append_request::Message::Chunk(chunk)),
            };
            if sender.send(message).await.is_err() {
                break;
            }
            if overflow {
                received.failure = Some(ApiError::new(
                    ErrorCode::FileTooLarge,
                    "the body goes past Upload-Length (or the upload limit); the bytes within it were kept",
                ));
                break;
            }
            // Content that does not match its extension is refused as soon as it shows.
            if !sniffed && (head.len() >= SNIFF_BYTES || received.sent >= room) {
                sniffed = true;
                if let Err(error) = validation::sniff(&file.extension, &head) {
                    received.failure = Some(error);
                    break;
                }
            }
        }
    }
    let content_refused = received
        .failure
        .as_ref()
        .is_some_and(|failure| failure.code() == ErrorCode::ContentMismatch);
    if let Some(checksum) = checksum {
        // A body cut short cannot be checked: it is discarded like a wrong one.
        received.checksum_ok = received.failure.is_none() && checksum.matches();
    }
    // Closing the channel ends the append; the verdict tells the writer whether to record
    // the new offset (a refused checksum leaves it where it was, and the next append
    // drops those bytes).
    drop(sender);
    let _ = verdict_sender.send(received.checksum_ok && !content_refused);
    let (session, _finished) = outcome
        .await
        .map_err(|_| ApiError::new(ErrorCode::UpstreamFailed, "the upload task ended early"))??;
    if content_refused {
        fail_quietly(
            state,
            &principal.user_id,
            request_id,
            &file.id,
            &file.file_name,
        )
        .await;
    }
    if !received.checksum_ok {
        return Err(ApiError::new(
            ErrorCode::ChecksumMismatch,
            "the body does not match Upload-Checksum; it was discarded",
        ));
    }
    // When the last byte was in, the writer has committed the file already (even when
    // more bytes were sent than allowed).
    match received.failure {
        Some(failure) => Err(failure),
        None => Ok(session),
    }
}

fn body_error(error: actix_web::error::PayloadError) -> ApiError {
    ApiError::invalid(format!("the body could not be read: {error}"))
}

/// A PATCH's hold on its upload.
#[derive(Clone)]
struct Lease {
    state: web::Data<AppState>,
    request_id: RequestId,
    user_id: String,
    id: String,
    holder: String,
}

impl Lease {
    /// Leases upload `id` for `principal` under a new holder: the lease, and the session
    /// as the leasing found it. Refused with 423 while another holder's lease runs.
    async fn take(
        state: &web::Data<AppState>,
        principal: &Principal,
        request_id: &RequestId,
        id: String,
    ) -> Result<(Self, UploadSession), ApiError> {
        let lease = Self {
            state: state.clone(),
            request_id: request_id.clone(),
            user_id: principal.user_id.clone(),
            id,
            holder: uuid::Uuid::new_v4().to_string(),
        };
        let mut files = state.backends.files();
        let session = files
            .lease_upload_session(state.backends.request(lease.request(), request_id))
            .await?
            .into_inner();
        Ok((lease, session))
    }

    fn request(&self) -> LeaseUploadRequest {
        LeaseUploadRequest {
            user_id: self.user_id.clone(),
            id: self.id.clone(),
            holder: self.holder.clone(),
            lease_seconds: LEASE_SECONDS,
        }
    }

    /// Runs `work` while renewing the lease, so that no other request takes the upload
    /// however long the work lasts (a large commit hashes or copies the whole file). The
    /// renewals run beside the work, not in its way, and none starts once it is done.
    async fn hold<T>(&self, work: impl Future<Output = T>) -> T {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let lease = self.clone();
        let renewing = actix_web::rt::spawn(async move {
            let period = Duration::from_secs(u64::from(LEASE_SECONDS) / 3);
            let mut renewals =
                tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            renewals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = renewals.tick() => {
                        if let Err(error) = lease.renew().await {
                            tracing::warn!(?error, "renewing the upload's lease failed");
                        }
                    }
                }
            }
        });
        let done = work.await;
        // A renewal under way ends first, so that none lands after a release.
        let _ = stop.send(());
        let _ = renewing.await;
        done
    }

    async fn renew(&self) -> Result<(), ApiError> {
        let mut files = self.state.backends.files();
        files
            .lease_upload_session(
                self.state
                    .backends
                    .request(self.request(), &self.request_id),
            )
            .await?;
        Ok(())
    }

    async fn release(&self) {
        let mut files = self.state.backends.files();
        let released = files
            .release_upload_session(
                self.state
                    .backends
                    .request(self.request(), &self.request_id),
            )
            .await;
        if let Err(status) = released {
            tracing::warn!(%status, "releasing the upload's lease failed; it runs out by itself");
        }
    }
}

/// The storage side of one PATCH.
struct Writer {
    lease: Lease,
    key: String,
    /// Where the append starts: the offset acknowledged so far.
    offset: u64,
    length: Option<u64>,
    /// Whether the bytes are to be kept, once the body has ended.
    verdict: oneshot::Receiver<bool>,
    checksum_requested: bool,
    /// The recording of the new offset released the lease too.
    released: bool,
}

impl Writer {
    /// Streams to storage until the channel closes, records the new offset, commits the
    /// file when the last byte is in, and releases the lease unless the file is done. Returns the session and
    /// whether the upload is now finished. It runs on even when the request is gone: an
    /// upload whose offset reached its length is always committed, so no client ever
    /// sees a full offset on an upload that stays unfinished.
    async fn run(
        mut self,
        receiver: mpsc::Receiver<AppendRequest>,
    ) -> Result<(UploadSession, bool), ApiError> {
        let outcome = match self.append_and_record(receiver).await {
            // The lease was kept, and is renewed, through the commit, so no other request
            // commits too.
            Ok((session, true)) => self
                .lease
                .hold(finish(
                    &self.lease.state,
                    &self.lease.user_id,
                    &self.lease.request_id,
                    &session,
                ))
                .await
                .map(|finished| (finished, true)),
            other => other,
        };
        // A finished upload is never leased again: its lease needs no releasing.
        let finished = matches!(outcome, Ok((_, true)));
        if !self.released && !finished {
            self.lease.release().await;
        }
        outcome
    }

    async fn append_and_record(
        &mut self,
        receiver: mpsc::Receiver<AppendRequest>,
    ) -> Result<(UploadSession, bool), ApiError> {
        let state = &self.lease.state;
        let mut storage = state.backends.storage();
        let append = storage.append(
            state
                .backends
                .stream_request(ReceiverStream::new(receiver), &self.lease.request_id),
        );
        let staged = match self.lease.hold(append).await {
            // Every byte that reached storage, synced (a body cut off ends the stream
            // early, not in error).
            Ok(response) => response.into_inner().length,
            // Storage holds fewer bytes than were acknowledged (its staging area was
            // lost): nothing was written, and the offset goes back to what it holds, so
            // the client sends the rest again.
            Err(status) if ErrorCode::of_status(&status) == ErrorCode::OffsetMismatch => {
                let held = state
                    .backends
                    .storage()
                    .staged(state.backends.request(
                        StagedRequest {
                            key: self.key.clone(),
                        },
                        &self.lease.request_id,
                    ))
                    .await?
                    .into_inner()
                    .length;
                if held >= self.offset {
                    return Err(status.into());
                }
                tracing::warn!(held, offset = self.offset, "storage lost staged bytes");
                held
            }
            // Storage failed or went away mid-append: nothing of this request is
            // recorded (what it wrote may not be synced, and bytes past the offset that
            // an earlier request left unacknowledged may still be there). The client
            // asks HEAD for the offset and sends the rest again.
            Err(status) => {
                tracing::warn!(%status, "append failed; the offset stays where it was");
                return Err(status.into());
            }
        };
        // Without a verdict the request is gone: its bytes are kept, unless they came
        // with a checksum that can no longer be checked. An offset that went back is
        // recorded whatever the verdict: none of this body was written.
        let keep = (&mut self.verdict)
            .await
            .unwrap_or(!self.checksum_requested)
            || staged < self.offset;
        let mut files = state.backends.files();
        if !keep {
            let session = files
                .get_upload_session(state.backends.request(
                    UploadSessionRequest {
                        user_id: self.lease.user_id.clone(),
                        id: self.lease.id.clone(),
                    },
                    &self.lease.request_id,
                ))
                .await?
                .into_inner();
            return Ok((session, false));
        }
        // Released with the recording, unless the last byte is in: the commit still needs it.
        let release = self.length != Some(staged);
        let session = files
            .record_upload_offset(state.backends.request(
                RecordUploadOffsetRequest {
                    user_id: self.lease.user_id.clone(),
                    id: self.lease.id.clone(),
                    holder: self.lease.holder.clone(),
                    offset: staged,
                    length: self.length,
                    release,
                },
                &self.lease.request_id,
            ))
            .await?
            .into_inner();
        self.released = release;
        let complete = session.length == Some(session.offset);
        Ok((session, complete))
    }
}

/// The last byte is in: the staged bytes become the object, the content is checked, and
/// the file becomes active. A file whose content does not match is failed and removed.
async fn finish(
    state: &AppState,
    user_id: &str,
    request_id: &RequestId,
    session: &UploadSession,
) -> Result<UploadSession, ApiError> {
    let file = session
        .file
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::UpstreamFailed, "file-service sent no file"))?;
    let length = session.offset;
    let mut storage = state.backends.storage();
    let committed = storage
        .commit(state.backends.request(
            CommitRequest {
                key: file.file_name.clone(),
                content_type: file.mime_type.clone(),
                metadata: object_metadata(&file, user_id),
                length,
            },
            request_id,
        ))
        .await;
    let stored = match committed {
        Ok(stored) => stored.into_inner(),
        // Storage has neither the acknowledged bytes nor an object made of them (its
        // staging area was lost; storage answers so for nothing else): this upload can
        // never be finished. Failing it answers 404 from now on, on which tus clients
        // start a new upload, instead of an error on every HEAD until it expires.
        Err(status) if ErrorCode::of_status(&status) == ErrorCode::NotFound => {
            tracing::error!(%status, id = %file.id, "the upload's bytes are gone; failing it");
            fail_quietly(state, user_id, request_id, &file.id, &file.file_name).await;
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "the upload's bytes were lost; start a new upload",
            ));
        }
        Err(status) => return Err(status.into()),
    };
    let head = read_head(state, request_id, &file.file_name, length).await?;
    if let Err(error) = validation::sniff(&file.extension, &head) {
        fail_quietly(state, user_id, request_id, &file.id, &file.file_name).await;
        return Err(error);
    }
    let mut files = state.backends.files();
    files
        .complete_upload(state.backends.request(
            CompleteUploadRequest {
                user_id: user_id.to_owned(),
                id: file.id.clone(),
                size: stored.size,
                sha256: stored.sha256,
                duration: file.duration,
            },
            request_id,
        ))
        .await?;
    tracing::info!(id = %file.id, size = stored.size, "resumable upload finished");
    let mut finished = session.clone();
    finished.finished = true;
    Ok(finished)
}

/// The first bytes of a stored object, for the content check.
async fn read_head(
    state: &AppState,
    request_id: &RequestId,
    key: &str,
    length: u64,
) -> Result<Vec<u8>, ApiError> {
    let end = length.min(SNIFF_BYTES as u64);
    if end == 0 {
        return Ok(Vec::new());
    }
    let mut storage = state.backends.storage();
    let mut chunks = storage
        .get(state.backends.stream_request(
            GetRequest {
                key: key.to_owned(),
                range: Some(ByteRange { start: 0, end }),
            },
            request_id,
        ))
        .await?
        .into_inner();
    let mut head = Vec::new();
    while let Some(message) = chunks.next().await {
        head.extend_from_slice(&message?.chunk);
    }
    Ok(head)
}

/// Ends an upload for good: the row failed, the bytes gone (staged or committed). When
/// file-service cannot fail the row, the upload stays as it was (the janitor fails it
/// once it expires).
async fn fail(
    state: &AppState,
    user_id: &str,
    request_id: &RequestId,
    id: &str,
    key: &str,
) -> Result<(), ApiError> {
    let mut files = state.backends.files();
    files
        .fail_upload(state.backends.request(
            FailUploadRequest {
                user_id: user_id.to_owned(),
                id: id.to_owned(),
            },
            request_id,
        ))
        .await?;
    purge_object(state, request_id, id, key).await;
    Ok(())
}

/// [`fail`], where the answer does not depend on it: a failure is logged.
async fn fail_quietly(
    state: &AppState,
    user_id: &str,
    request_id: &RequestId,
    id: &str,
    key: &str,
) {
    if let Err(error) = fail(state, user_id, request_id, id, key).await {
        tracing::warn!(%error, "failing the upload failed; the janitor will once it expires");
    }
}

/// `DELETE /api/uploads/{id}` (termination): an unfinished upload and its bytes are gone;
/// a finished one is deleted like its file.
#[utoipa::path(
    delete,
    path = "/api/uploads/{id}",
    tag = "uploads",
    operation_id = "tusTerminate",
    params(("id" = String, Path, format = "uuid", description = "The upload's id")),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 204, description = "Terminated"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn terminate(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_version(&request)?;
    let id = upload_id(id);
    let session = {
        let mut files = state.backends.files();
        files
            .get_upload_session(state.backends.request(
                UploadSessionRequest {
                    user_id: principal.user_id.clone(),
                    id: id.clone(),
                },
                &request_id,
            ))
            .await?
            .into_inner()
    };
    let file = session
        .file
        .ok_or_else(|| ApiError::new(ErrorCode::UpstreamFailed, "file-service sent no file"))?;
    if session.finished {
        delete_owned(&state, &principal, &request_id, id).await?;
    } else {
        // Terminated only once file-service says so: otherwise the answer is its error.
        fail(
            &state,
            &principal.user_id,
            &request_id,
            &file.id,
            &file.file_name,
        )
        .await?;
    }
    tracing::info!(id = %file.id, at = %Utc::now(), "resumable upload terminated");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/uploads/{id}` with `X-HTTP-Method-Override` (clients behind proxies that
/// only pass GET and POST).
#[utoipa::path(
    post,
    path = "/api/uploads/{id}",
    tag = "uploads",
    operation_id = "tusOverride",
    params(
        ("id" = String, Path, format = "uuid", description = "The upload's id"),
        ("X-HTTP-Method-Override" = String, Header, description = "`PATCH` or `DELETE`; the other headers and the body are those of that method"),
    ),
    request_body(content = String, content_type = "application/offset+octet-stream",
        description = "For `PATCH`: the bytes at `Upload-Offset`"),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 204, description = "As the overridden method", headers(
            ("Upload-Offset" = u64, description = "For `PATCH`"),
            ("Upload-Expires" = String, description = "For `PATCH`, while the upload is unfinished"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 405, response = MethodNotAllowed),
        (status = 408, response = RequestTimeout),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 423, response = Locked),
        (status = 429, response = TooManyRequests),
        (status = 460, response = ChecksumMismatch),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn overridden(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    match header_text(&request, "x-http-method-override") {
        Some(method) if method.eq_ignore_ascii_case("PATCH") => {
            patch(request, state, principal, request_id, id, payload).await
        }
        Some(method) if method.eq_ignore_ascii_case("DELETE") => {
            terminate(request, state, principal, request_id, id).await
        }
        _ => Err(ApiError::new(
            ErrorCode::MethodNotAllowed,
            "POST on an upload needs X-HTTP-Method-Override: PATCH or DELETE",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_pairs_are_decoded() {
        let pairs =
            parse_metadata("filename d29ybGRfZG9taW5hdGlvbi5wbmc=,is_confidential, duration N2Q=")
                .unwrap();
        assert_eq!(
            metadata_value(&pairs, "filename").unwrap(),
            Some("world_domination.png")
        );
        assert_eq!(metadata_value(&pairs, "duration").unwrap(), Some("7d"));
        assert_eq!(pairs[1], ("is_confidential".to_owned(), None));
        assert_eq!(metadata_value(&pairs, "is_confidential").unwrap(), None);
        // Values are bytes; only those read must be text.
        let binary = parse_metadata("thumbnail //79, filename //79").unwrap();
        assert_eq!(binary[0].1.as_deref(), Some(&[0xff, 0xfe, 0xfd][..]));
        assert!(metadata_value(&binary, "filename").is_err());
        assert!(parse_metadata("filename !!!").is_err());
        assert!(parse_metadata("a YQ==,a Yg==").is_err());
        assert!(parse_metadata("a YQ== extra").is_err());
        assert!(parse_metadata("").unwrap().is_empty());
    }
}
