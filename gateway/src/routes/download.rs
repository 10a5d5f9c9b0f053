//! `GET /api/download/{id}` and `GET /api/preview/{id}`: the bytes streamed from
//! storage-service with exact length, a strong ETag (the SHA-256), conditional requests
//! and single byte ranges. Every response carrying user bytes is sandboxed: `nosniff`
//! and a CSP that lets nothing run, whatever the bytes are.

use actix_web::{
    HttpRequest, HttpResponse,
    body::SizedStream,
    http::{StatusCode, header},
    web,
};
use flowsvault_proto::{
    ErrorCode,
    files::v1::File,
    storage::v1::{ByteRange, GetRequest, PresignRequest},
};
use futures_util::StreamExt;

use super::{
    files::active_file,
    openapi::{
        BadGateway, BadRequest, GatewayTimeout, Gone, NotFound, RangeNotSatisfiable,
        ServiceUnavailable, TooManyRequests, Unauthorized,
    },
};
use crate::{
    auth::Principal, content_disposition, problem::ApiError, request_id::RequestId,
    startup::AppState,
};

/// What a `Range` header asks of an object of a known size.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No range, or one we answer with the whole body (several ranges, other units).
    Whole,
    /// Inclusive start, exclusive end.
    Partial(u64, u64),
    Unsatisfiable,
}

pub fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|value| value.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let parsed = if start.is_empty() {
        // A suffix: the last `end` bytes.
        match end.parse::<u64>() {
            Ok(0) => return RangeRequest::Unsatisfiable,
            Ok(length) => Some((size.saturating_sub(length), size)),
            Err(_) => None,
        }
    } else {
        match (start.parse::<u64>(), end) {
            (Ok(first), "") => Some((first, size)),
            (Ok(first), last) => match last.parse::<u64>() {
                Ok(last) if last >= first => Some((first, size.min(last.saturating_add(1)))),
                _ => None,
            },
            _ => None,
        }
    };
    match parsed {
        // A syntactically invalid range is ignored (RFC 9110 §14.2).
        None => RangeRequest::Whole,
        Some((first, _)) if first >= size => RangeRequest::Unsatisfiable,
        Some((first, end)) => RangeRequest::Partial(first, end),
    }
}

fn etag_matches(if_none_match: Option<&str>, etag: &str) -> bool {
    if_none_match.is_some_and(|value| {
        value
            .split(',')
            .map(|candidate| candidate.trim().trim_start_matches("W/"))
            .any(|candidate| candidate == "*" || candidate == etag)
    })
}

/// Types a browser only displays: shown inline by preview. Everything else (HTML, SVG,
/// XML, scripts, unknown types) is always an attachment.
fn is_inline_safe(mime_type: &str) -> bool {
    const RASTER_IMAGES: &[&str] = &[
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
    ];
    RASTER_IMAGES.contains(&mime_type)
        || mime_type == "application/pdf"
        || mime_type == "text/plain"
        || mime_type.starts_with("audio/")
        || mime_type.starts_with("video/")
}

/// What the user bytes may do in a browser: nothing, not even be framed (previews
/// included: the UI shows them in elements of their own, and a PDF in a tab of its own).
pub(super) const USER_CONTENT_POLICY: &str =
    "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; frame-ancestors 'none'";
/// Browsers do not render a PDF in a sandboxed document; a PDF runs no page script, so
/// its preview goes without `sandbox` and keeps the rest.
const PDF_PREVIEW_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

#[utoipa::path(
    get,
    path = "/api/download/{id}",
    tag = "files",
    operation_id = "downloadFile",
    params(
        ("id" = String, Path, format = "uuid", description = "The file's id"),
        ("Range" = Option<String>, Header, description = "One range, `bytes=<first>-<last>`, `bytes=<first>-` or `bytes=-<suffix length>`; several ranges get the whole file"),
        ("If-None-Match" = Option<String>, Header, description = "ETags (the file's is its quoted SHA-256), or `*`: 304 when one matches"),
    ),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 200, description = "The whole file, with its exact `Content-Type`", content_type = "*/*", body = [u8], headers(
            ("Content-Disposition" = String, description = "`attachment` with `filename` and RFC 8187 `filename*`"),
            ("Content-Length" = u64),
            ("ETag" = String, description = "The quoted SHA-256 of the content"),
            ("Accept-Ranges" = String, description = "`bytes`"),
        )),
        (status = 206, description = "The requested range", content_type = "*/*", body = [u8], headers(
            ("Content-Range" = String, description = "`bytes <first>-<last>/<size>`"),
            ("Content-Length" = u64),
            ("ETag" = String, description = "The quoted SHA-256 of the content"),
        )),
        (status = 302, description = "With `FLOWSVAULT_DOWNLOAD_REDIRECT` on an S3 backend: the bytes are at `Location`, a URL of the storage backend valid five minutes that answers with the same type and disposition, and serves ranges (its ETag is the backend's own)", headers(("Location" = String))),
        (status = 304, description = "The client's copy is current", headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 416, response = RangeNotSatisfiable),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn download(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    serve(
        request,
        state,
        principal,
        request_id,
        id.into_inner(),
        false,
    )
    .await
}

#[utoipa::path(
    get,
    path = "/api/preview/{id}",
    tag = "files",
    operation_id = "previewFile",
    params(
        ("id" = String, Path, format = "uuid", description = "The file's id"),
        ("Range" = Option<String>, Header, description = "One range, `bytes=<first>-<last>`, `bytes=<first>-` or `bytes=-<suffix length>`; several ranges get the whole file"),
        ("If-None-Match" = Option<String>, Header, description = "ETags (the file's is its quoted SHA-256), or `*`: 304 when one matches"),
    ),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 200, description = "The whole file, with its exact `Content-Type`; shown inline only for raster images, PDF, audio, video and plain text", content_type = "*/*", body = [u8], headers(
            ("Content-Disposition" = String, description = "`inline` for types a browser only displays, otherwise `attachment`"),
            ("Content-Length" = u64),
            ("ETag" = String, description = "The quoted SHA-256 of the content"),
            ("Accept-Ranges" = String, description = "`bytes`"),
        )),
        (status = 206, description = "The requested range", content_type = "*/*", body = [u8], headers(
            ("Content-Range" = String, description = "`bytes <first>-<last>/<size>`"),
            ("Content-Length" = u64),
            ("ETag" = String, description = "The quoted SHA-256 of the content"),
        )),
        (status = 304, description = "The client's copy is current", headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 416, response = RangeNotSatisfiable),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn preview(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    serve(request, state, principal, request_id, id.into_inner(), true).await
}

async fn serve(
    request: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: String,
    preview: bool,
) -> Result<HttpResponse, ApiError> {
    let file = active_file(&state, &principal, &request_id, id).await?;
    send_file(&request, &state, &request_id, file, preview).await
}

/// The bytes of a live file, with the safe headers every copy of user content gets
/// (owner downloads, previews and share links alike): exact type and length, RFC 6266
/// disposition, strong ETag, single ranges, and a sandboxing policy.
pub(super) async fn send_file(
    request: &HttpRequest,
    state: &AppState,
    request_id: &RequestId,
    file: File,
    preview: bool,
) -> Result<HttpResponse, ApiError> {
    let etag = format!("\"{}\"", file.sha256);
    let header_text = |name| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    if etag_matches(header_text(header::IF_NONE_MATCH), &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let range = match parse_range(header_text(header::RANGE), file.size) {
        RangeRequest::Unsatisfiable => {
            return Err(ApiError::new(
                ErrorCode::RangeNotSatisfiable,
                format!("the file has {} bytes", file.size),
            )
            .with_header(header::CONTENT_RANGE, format!("bytes */{}", file.size)));
        }
        RangeRequest::Partial(start, end) if start > 0 || end < file.size => Some((start, end)),
        RangeRequest::Partial(..) | RangeRequest::Whole => None,
    };
    let mut storage = state.backends.storage();
    if state.settings.download_redirect
        && !preview
        && let Some(location) = presigned(state, request_id, &file).await?
    {
        return Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    let chunks = storage
        .get(state.backends.stream_request(
            GetRequest {
                key: file.file_name.clone(),
                range: range.map(|(start, end)| ByteRange { start, end }),
            },
            request_id,
        ))
        .await?
        .into_inner();
    let body = chunks.map(|message| {
        message.map(|message| message.chunk).map_err(|status| {
            tracing::warn!(%status, "download interrupted by storage");
            actix_web::error::ErrorBadGateway("storage stream failed")
        })
    });
    let (status, length) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, end - start),
        None => (StatusCode::OK, file.size),
    };
    let mut response = HttpResponse::build(status);
    let inline = preview && is_inline_safe(&file.mime_type);
    let (disposition, policy) = if inline {
        let policy = if file.mime_type == "application/pdf" {
            PDF_PREVIEW_POLICY
        } else {
            USER_CONTENT_POLICY
        };
        (content_disposition::inline(&file.original_name), policy)
    } else {
        (
            content_disposition::attachment(&file.original_name),
            USER_CONTENT_POLICY,
        )
    };
    response
        .content_type(file.mime_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::CONTENT_SECURITY_POLICY, policy))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::ETAG, etag))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"));
    if let Some((start, end)) = range {
        response.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{}", end - 1, file.size),
        ));
    }
    Ok(response.body(SizedStream::new(length, body)))
}

/// How long a presigned download URL works.
const PRESIGNED_URL_SECS: u32 = 300;

/// A URL that fetches the file from the storage backend itself, answered with the same
/// type and `attachment` disposition the gateway would send; `None` when the backend
/// cannot sign URLs (local disk), and the bytes go through the gateway.
async fn presigned(
    state: &AppState,
    request_id: &RequestId,
    file: &File,
) -> Result<Option<String>, ApiError> {
    let mut storage = state.backends.storage();
    let answer = storage
        .presign(state.backends.request(
            PresignRequest {
                key: file.file_name.clone(),
                expires_in_secs: PRESIGNED_URL_SECS,
                content_type: file.mime_type.clone(),
                content_disposition: content_disposition::attachment(&file.original_name),
            },
            request_id,
        ))
        .await;
    match answer {
        Ok(answer) => Ok(Some(answer.into_inner().url)),
        Err(status) if status.code() == tonic::Code::Unimplemented => Ok(None),
        Err(status) => Err(status.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_parsed_as_rfc_9110_says() {
        use RangeRequest::*;
        assert_eq!(parse_range(None, 100), Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Partial(0, 10));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Partial(90, 100));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Partial(90, 100));
        assert_eq!(parse_range(Some("bytes=-500"), 100), Partial(0, 100));
        assert_eq!(parse_range(Some("bytes=50-5000"), 100), Partial(50, 100));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-0"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=9-1"), 100), Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=x-y"), 100), Whole);
    }

    #[test]
    fn only_types_a_browser_cannot_run_are_inline() {
        for safe in [
            "image/png",
            "application/pdf",
            "video/mp4",
            "audio/mpeg",
            "text/plain",
        ] {
            assert!(is_inline_safe(safe), "{safe}");
        }
        for unsafe_type in [
            "text/html",
            "image/svg+xml",
            "application/xml",
            "text/javascript",
            "application/octet-stream",
            "text/csv",
        ] {
            assert!(!is_inline_safe(unsafe_type), "{unsafe_type}");
        }
    }

    #[test]
    fn if_none_match_compares_strong_and_weak_tags() {
        let etag = "\"abc\"";
        assert!(etag_matches(Some("\"abc\""), etag));
        assert!(etag_matches(Some("\"x\", W/\"abc\""), etag));
        assert!(etag_matches(Some("*"), etag));
        assert!(!etag_matches(Some("\"abd\""), etag));
        assert!(!etag_matches(None, etag));
    }
}
