//! Share links (API.md "Sharing"): the owner makes, lists and revokes links; anyone with
//! a link sees what it shares (`GET /api/s/{token}`, or the page `/s/{token}`, which
//! works without JavaScript) and downloads through it, as often as the link allows.
//!
//! Counting. Every download through a link counts once, atomically in file-service, so
//! with `maxDownloads = N` exactly N downloads succeed however many race. A counted
//! download sets the cookie `fv_share_grant` (HttpOnly, scoped to that link's download
//! path, 24 hours). A **continuation** is a request whose `Range` starts after byte 0
//! and that presents that cookie while it is valid: it is served without counting, even
//! when the link has been used up since, so an interrupted download can resume. Every
//! other request (no `Range`, a range from byte 0, no valid grant) is a new download.

use actix_web::{
    HttpRequest, HttpResponse, ResponseError,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    http::header,
    web,
};
use flowsvault_proto::{
    ErrorCode,
    files::v1::{
        ClaimShareDownloadRequest, CreateShareRequest, ListSharesRequest, OpenShareRequest,
        RevokeShareRequest, Share, SharedFile,
    },
    from_timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{
    download::{RangeRequest, parse_range, send_file},
    form_body,
    keys::{KeyLifetime, key_lifetime_schema, rfc3339},
    no_content,
    openapi::{
        BadGateway, BadRequest, Forbidden, GatewayTimeout, Gone, NotFound, PayloadTooLarge,
        ServiceUnavailable, TooManyRequests, Unauthorized,
    },
};
use crate::{
    auth::Principal,
    problem::ApiError,
    rate_limit::{Class, Identifier},
    request_id::RequestId,
    startup::AppState,
};

const GRANT_COOKIE: &str = "fv_share_grant";
const GRANT_HOURS: i64 = 24;

/// A share link as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ShareLink)]
pub struct ShareView {
    #[schema(format = "uuid")]
    id: String,
    /// The link's secret: only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// The public page of the link: only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    max_downloads: Option<u32>,
    downloads: u32,
    has_password: bool,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    revoked_at: Option<String>,
}

fn share_view(share: Share, token_and_url: Option<(String, String)>) -> ShareView {
    let (token, url) = token_and_url.unzip();
    ShareView {
        id: share.id,
        token,
        url,
        expires_at: share.expires_at.as_ref().map(rfc3339),
        max_downloads: share.max_downloads,
        downloads: share.downloads,
        has_password: share.has_password,
        created_at: share.created_at.as_ref().map(rfc3339).unwrap_or_default(),
        revoked_at: share.revoked_at.as_ref().map(rfc3339),
    }
}

/// A link to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateShare {
    #[schema(schema_with = key_lifetime_schema, required = false)]
    expires_in: Option<Value>,
    /// How many downloads the link allows (1 to 1,000,000); absent: unlimited.
    #[schema(minimum = 1, maximum = 1000000)]
    max_downloads: Option<u32>,
    /// Asked before each new download (at most 72 bytes); absent or empty: none.
    password: Option<String>,
}

/// What a link shows anyone who holds it: never the owner or other files.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SharedFile)]
pub struct SharedView {
    name: String,
    size: u64,
    mime_type: String,
    /// The earlier of the link's and the file's expiry.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    has_password: bool,
    /// Downloads left; absent when unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    downloads_left: Option<u32>,
}

fn shared_view(shared: SharedFile) -> SharedView {
    SharedView {
        expires_at: shared.expires_at.as_ref().map(rfc3339),
        name: shared.name,
        size: shared.size,
        mime_type: shared.mime_type,
        has_password: shared.has_password,
        downloads_left: shared.downloads_left,
    }
}

/// Makes a link to one of the caller's files. The answer is the only place the token
/// appears, so it must not be stored by any cache on the way.
#[utoipa::path(
    post,
    path = "/api/files/{id}/shares",
    tag = "shares",
    operation_id = "createShare",
    params(("id" = String, Path, format = "uuid", description = "The file's id")),
    request_body = CreateShare,
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 201, description = "The link, with its token and URL shown this once",
            body = ShareView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    file_id: web::Path<String>,
    body: web::Json<CreateShare>,
) -> Result<HttpResponse, ApiError> {
    let CreateShare {
        expires_in,
        max_downloads,
        password,
    } = body.into_inner();
    let lifetime = expires_in.as_ref().map(KeyLifetime::parse).transpose()?;
    let mut files = state.backends.files();
    let created = files
        .create_share(state.backends.request(
            CreateShareRequest {
                user_id: principal.user_id,
                file_id: file_id.into_inner(),
                expires_in_seconds:
                    lifetime.map(|KeyLifetime(lifetime)| lifetime.num_seconds().unsigned_abs()),
                max_downloads,
                password,
            },
            &request_id,
        ))
        .await?
        .into_inner();
    let share = created
        .share
        .ok_or_else(|| ApiError::new(ErrorCode::UpstreamFailed, "file-service sent no link"))?;
    let url = format!("{}/s/{}", state.site.origin, created.token);
    let view = share_view(share, Some((created.token, url)));
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(view))
}

/// The caller's links to one file, newest first, revoked ones included; without tokens.
#[utoipa::path(
    get,
    path = "/api/files/{id}/shares",
    tag = "shares",
    operation_id = "listShares",
    params(("id" = String, Path, format = "uuid", description = "The file's id")),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 200, description = "The file's links", body = Vec<ShareView>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    file_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut files = state.backends.files();
    let listed = files
        .list_shares(state.backends.request(
            ListSharesRequest {
                user_id: principal.user_id,
                file_id: file_id.into_inner(),
            },
            &request_id,
        ))
        .await?
        .into_inner();
    let views: Vec<ShareView> = listed
        .shares
        .into_iter()
        .map(|share| share_view(share, None))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Revokes a link at once; revoking it again changes nothing.
#[utoipa::path(
    delete,
    path = "/api/shares/{id}",
    tag = "shares",
    operation_id = "revokeShare",
    params(("id" = String, Path, format = "uuid", description = "The link's id")),
    security(("apiKey" = []), ("session" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn revoke(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut files = state.backends.files();
    files
        .revoke_share(state.backends.request(
            RevokeShareRequest {
                user_id: principal.user_id,
                id: id.into_inner(),
            },
            &request_id,
        ))
        .await?;
    Ok(no_content())
}

async fn open_share(
    state: &AppState,
    request_id: &RequestId,
    token: String,
) -> Result<SharedFile, ApiError> {
    let mut files = state.backends.files();
    let opened = files
        .open_share(
            state
                .backends
                .request(OpenShareRequest { token }, request_id),
        )
        .await?
        .into_inner();
    opened
        .shared
        .ok_or_else(|| ApiError::new(ErrorCode::UpstreamFailed, "file-service sent no file"))
}

/// What a link shares. No authentication.
#[utoipa::path(
    get,
    path = "/api/s/{token}",
    tag = "shares",
    operation_id = "getSharedFile",
    params(("token" = String, Path, description = "The link's token")),
    responses(
        (status = 200, description = "The shared file", body = SharedView),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub async fn shared(
    state: web::Data<AppState>,
    request_id: RequestId,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let shared = open_share(&state, &request_id, token.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(shared_view(shared)))
}

/// The `password` field of a form body, if any.
fn form_password(body: &[u8]) -> Result<Option<String>, ApiError> {
    Ok(url::form_urlencoded::parse(body)
        .find(|(name, _)| name == "password")
        .map(|(_, value)| value.into_owned()))
}

/// Claims one download through the link and sends the bytes (see the module comment
/// for what counts).
async fn download_through(
    request: &HttpRequest,
    state: &AppState,
    request_id: &RequestId,
    token: String,
    password: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let password = password.filter(|password| !password.is_empty());
    if password.is_some() {
        limit_password_attempts(request, state, &token).await?;
    }
    let grant_path = format!("/api/s/{token}/download");
    let continues = matches!(
        parse_range(
            request
                .headers()
                .get(header::RANGE)
                .and_then(|value| value.to_str().ok()),
            u64::MAX,
        ),
        RangeRequest::Partial(start, _) if start > 0
    );
    let grant = continues
        .then(|| {
            request
                .cookie(GRANT_COOKIE)
                .map(|cookie| cookie.value().to_owned())
        })
        .flatten();
    let mut files = state.backends.files();
    let claimed = files
        .claim_share_download(state.backends.request(
            ClaimShareDownloadRequest {
                token,
                password,
                grant,
            },
            request_id,
        ))
        .await?
        .into_inner();
    let file = claimed
        .file
        .ok_or_else(|| ApiError::new(ErrorCode::UpstreamFailed, "file-service sent no file"))?;
    let mut response = send_file(request, state, request_id, file, false).await?;
    if let Some(grant) = claimed.grant {
        let cookie = Cookie::build(GRANT_COOKIE, grant)
            .path(grant_path)
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(state.site.secure)
            .max_age(CookieDuration::hours(GRANT_HOURS))
            .finish();
        response
            .add_cookie(&cookie)
            .map_err(|_| ApiError::new(ErrorCode::Internal, "setting the grant cookie failed"))?;
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// Password attempts count per link and per client address, before file-service runs
/// bcrypt.
async fn limit_password_attempts(
    request: &HttpRequest,
    state: &AppState,
    token: &str,
) -> Result<(), ApiError> {
    let mut ids = vec![Identifier::Link(Identifier::prefix(&Sha256::digest(
        token.as_bytes(),
    )))];
    if let Some(address) = state.proxies.client_ip(request) {
        ids.push(Identifier::Ip(address));
    }
    match state.limiter.check(Class::SharePassword, &ids).await {
        Some(decision) if !decision.allowed => Err(ApiError::new(
            ErrorCode::RateLimited,
            "too many password attempts on this link; try again later",
        )
        .with_header(
            header::RETRY_AFTER,
            decision.reset.as_secs().max(1).to_string(),
        )),
        _ => Ok(()),
    }
}

/// Downloads through a link. The password goes in `X-Share-Password` or, with POST, in
/// the form field `password`. No authentication.
#[utoipa::path(
    get,
    path = "/api/s/{token}/download",
    tag = "shares",
    operation_id = "downloadShared",
    params(
        ("token" = String, Path, description = "The link's token"),
        ("X-Share-Password" = Option<String>, Header, description = "The link's password"),
    ),
    responses(
        (status = 200, description = "The bytes, as an attachment, with the file's own `Content-Type`", content_type = "*/*"),
        (status = 302, description = "With `FLOWSVAULT_DOWNLOAD_REDIRECT` on an S3 backend: the bytes are at `Location`, a URL of the storage backend valid five minutes that answers with the same type and disposition", headers(("Location" = String))),
        (status = 206, description = "A range of them"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub async fn download(
    request: HttpRequest,
    state: web::Data<AppState>,
    request_id: RequestId,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = form_body(payload).await?;
    let header_password = request
        .headers()
        .get("x-share-password")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let password = match header_password {
        Some(password) => Some(password),
        None => form_password(&body)?,
    };
    download_through(&request, &state, &request_id, token.into_inner(), password).await
}

/// The share download's form, as OpenAPI describes it (the handler reads it itself).
#[derive(ToSchema)]
#[allow(dead_code, reason = "describes the form for the OpenAPI document only")]
pub struct SharePasswordForm {
    /// The link's password, when it has one.
    password: Option<String>,
}

/// `POST` of the same, documented separately for the form.
#[utoipa::path(
    post,
    path = "/api/s/{token}/download",
    tag = "shares",
    operation_id = "downloadSharedWithForm",
    params(("token" = String, Path, description = "The link's token")),
    request_body(content = SharePasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The bytes, as an attachment, with the file's own `Content-Type`", content_type = "*/*"),
        (status = 302, description = "With `FLOWSVAULT_DOWNLOAD_REDIRECT` on an S3 backend: the bytes are at `Location`, a URL of the storage backend valid five minutes that answers with the same type and disposition", headers(("Location" = String))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub async fn download_with_form(
    request: HttpRequest,
    state: web::Data<AppState>,
    request_id: RequestId,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    download(request, state, request_id, token, payload).await
}

/// The public page of a link: what it shares and a download button (with a password
/// field when needed). Plain HTML, no script.
pub async fn page(
    state: web::Data<AppState>,
    request_id: RequestId,
    token: web::Path<String>,
) -> HttpResponse {
    let token = token.into_inner();
    match open_share(&state, &request_id, token.clone()).await {
        Ok(shared) => page_response(200, &super::share_page::available(&token, &shared, None)),
        Err(error) => error_page(&error),
    }
}

/// The page's download form: the file on success, the page with a message otherwise.
pub async fn page_download(
    request: HttpRequest,
    state: web::Data<AppState>,
    request_id: RequestId,
    token: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let token = token.into_inner();
    let body = match form_body(payload).await {
        Ok(body) => body,
        Err(error) => return error_page(&error),
    };
    let password = match form_password(&body) {
        Ok(password) => password,
        Err(error) => return error_page(&error),
    };
    match download_through(&request, &state, &request_id, token.clone(), password).await {
        Ok(response) => response,
        Err(error)
            if matches!(
                error.code(),
                ErrorCode::PasswordRequired | ErrorCode::WrongPassword | ErrorCode::RateLimited
            ) =>
        {
            match open_share(&state, &request_id, token.clone()).await {
                Ok(shared) => page_response(
                    error.status_code().as_u16(),
                    &super::share_page::available(&token, &shared, Some(error.code())),
                ),
                Err(error) => error_page(&error),
            }
        }
        Err(error) => error_page(&error),
    }
}

fn error_page(error: &ApiError) -> HttpResponse {
    page_response(
        error.status_code().as_u16(),
        &super::share_page::unavailable(error.code()),
    )
}

fn page_response(status: u16, html: &str) -> HttpResponse {
    let status =
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK);
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, super::share_page::policy()))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(html.to_owned())
}

/// When a link's expiry is shown.
pub(super) fn expiry_text(shared: &SharedFile) -> Option<String> {
    shared
        .expires_at
        .as_ref()
        .and_then(from_timestamp)
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
}
