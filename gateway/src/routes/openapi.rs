//! The OpenAPI 3.1 document of the public API, assembled from the `#[utoipa::path]`
//! attributes on the handlers and the schemas derived on the JSON types, built once at
//! start-up and served at `GET /api/openapi.json`.

use std::collections::HashMap;

use actix_web::{HttpResponse, http::header::ContentType, web};
use bytes::Bytes;
use utoipa::{
    Modify, OpenApi, ToResponse,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::problem::Problem;

/// The name of the API-key security scheme that authenticated operations require.
pub const API_KEY_SCHEME: &str = "apiKey";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Flowsvault API",
        description = "The public HTTP API of Flowsvault. Errors are RFC 9457 problem documents \
            (`application/problem+json`) with a stable `code`. Every response carries \
            `X-Request-Id`; every rate-limited response carries `X-RateLimit-Limit`, \
            `X-RateLimit-Remaining` and `X-RateLimit-Reset`. A method a path does not serve \
            answers 405 (`method_not_allowed`), an unknown path 404 (`not_found`)."
    ),
    paths(
        super::health::health,
        super::health::ready,
        openapi,
        super::limits::limits,
        super::upload::upload,
        super::tus::options,
        super::tus::options_of_upload,
        super::tus::create,
        super::tus::head,
        super::tus::patch,
        super::tus::terminate,
        super::tus::overridden,
        super::files::list,
        super::files::bulk_delete,
        super::files::get,
        super::files::delete,
        super::download::download,
        super::download::preview,
        super::keys::list,
        super::keys::create,
        super::keys::revoke,
        super::admin::cleanup,
        super::sign_in::providers,
        super::sign_in::sign_in,
        super::sign_in::dev_sign_in,
        super::sign_in::callback,
        super::sign_in::session,
        super::sign_in::sign_out,
        super::shares::create,
        super::shares::list,
        super::shares::revoke,
        super::shares::shared,
        super::shares::download,
        super::shares::download_with_form,
        super::profile::get,
        super::profile::picture,
        super::profile::set_picture,
        super::profile::delete_account,
    ),
    components(
        schemas(Problem),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            Conflict,
            Gone,
            PreconditionFailed,
            Locked,
            ChecksumMismatch,
            RequestTimeout,
            PayloadTooLarge,
            UnsupportedMediaType,
            RangeNotSatisfiable,
            UnprocessableContent,
            TooManyRequests,
            BadGateway,
            ServiceUnavailable,
            GatewayTimeout,
        ),
    ),
    modifiers(&ApiKeyScheme),
    tags(
        (name = "health", description = "Liveness, readiness and this document"),
        (name = "files", description = "Uploading, listing, downloading and deleting files"),
        (name = "uploads", description = "Resumable uploads (tus 1.0.0)"),
        (name = "keys", description = "The caller's API keys"),
        (name = "auth", description = "Signing in with an identity provider, the session, signing out"),
        (name = "profile", description = "The caller's profile and account"),
        (name = "shares", description = "Share links: made by a file's owner, used by anyone who holds one"),
        (name = "admin", description = "Operations for the platform's operators"),
    ),
)]
struct ApiDoc;

/// `Authorization: Bearer fv_<prefix>_<secret>`.
struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cronSecret",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The operator's CRON_SECRET"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "fv_session",
                    "The session cookie set by the sign-in (`__Host-fv_session` over https); \
                     changes must come from this site (Origin / Sec-Fetch-Site)",
                ),
            )),
        );
        components.add_security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("fv_<8 chars>_<secret>")
                    .description(Some(
                        "An API key, `fv_` + an 8-character prefix + `_` + the secret",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document, as the code describes it.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // utoipa would fill in the crate's license, which the workspace does not set.
    document.info.license = None;
    document
}

/// The operations a path item may hold, as OpenAPI names them.
const OPERATIONS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Routes served outside the API document: the Prometheus scrape and the share page.
const UNDOCUMENTED: [(&str, &str); 2] = [("/metrics", "GET"), ("/s/{token}", "GET, POST")];

/// The document serialized once, shared by every worker.
#[derive(Debug, Clone)]
pub struct OpenApiJson {
    json: Bytes,
    /// The methods of each documented path pattern, as an `Allow` header lists them.
    allowed: HashMap<String, String>,
}

impl OpenApiJson {
    pub fn build() -> anyhow::Result<Self> {
        let json = document().to_json()?;
        let parsed: serde_json::Value = serde_json::from_str(&json)?;
        let mut allowed: HashMap<String, String> = parsed["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, item)| {
                // A path item also holds `parameters`, `summary` and the like.
                let methods: Vec<String> = item
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(name, _)| OPERATIONS.contains(&name.as_str()))
                    .map(|(method, _)| method.to_ascii_uppercase())
                    .collect();
                (path.clone(), methods.join(", "))
            })
            .collect();
        for (path, methods) in UNDOCUMENTED {
            allowed.insert((*path).to_owned(), (*methods).to_owned());
        }
        Ok(Self {
            json: Bytes::from(json),
            allowed,
        })
    }

    /// The `Allow` header of a documented path pattern (`/api/files/{id}`).
    pub fn allowed(&self, pattern: &str) -> Option<&str> {
        self.allowed
            .get(pattern)
            .map(String::as_str)
            .filter(|methods| !methods.is_empty())
    }
}

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "health",
    operation_id = "openapi",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object)),
)]
pub async fn openapi(json: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(json.json.clone())
}

/// The request is malformed: a bad query, path, header, form or JSON body.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct BadRequest(pub Problem);

/// No valid session or API key.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "`Bearer`"))
)]
pub struct Unauthorized(pub Problem);

/// Not allowed: a cookie-authenticated change from another site
/// (`cross_origin_request`), or an operation that is switched off (`forbidden`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Forbidden(pub Problem);

/// No such resource, or not the caller's.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NotFound(pub Problem);

/// The path exists but does not serve this method.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct MethodNotAllowed(pub Problem);

/// The resource is in a conflicting state (e.g. an upload with the same
/// `Idempotency-Key` is still in progress).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Conflict(pub Problem);

/// The request does not speak tus 1.0.0 (`precondition_failed`); `Tus-Version` says
/// what does.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct PreconditionFailed(pub Problem);

/// Another request is writing to this upload (`upload_locked`); retry shortly.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Locked(pub Problem);

/// The body does not match its `Upload-Checksum` and was discarded (`checksum_mismatch`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct ChecksumMismatch(pub Problem);

/// Gone: an expired file (`file_expired`), share link (`share_expired`, `share_used_up`) or
/// unfinished upload (`upload_expired`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Gone(pub Problem);

/// The body stopped arriving, or arrived slower than the minimum rate
/// (`request_timeout`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct RequestTimeout(pub Problem);

/// The file is larger than the upload limit (`file_too_large`, with `limit` in bytes), or
/// would not fit in the owner's storage quota (`quota_exceeded`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct PayloadTooLarge(pub Problem);

/// Not multipart (`unsupported_media_type`), an extension that is not allowed
/// (`file_type_not_allowed`), or content that does not match it (`content_mismatch`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UnsupportedMediaType(pub Problem);

/// The range starts past the end of the file.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Content-Range" = String, description = "`bytes */<size>`"))
)]
pub struct RangeNotSatisfiable(pub Problem);

/// The `Idempotency-Key` was used for a different file (`idempotency_key_reused`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UnprocessableContent(pub Problem);

/// Over the rate limit (`rate_limited`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(
        ("Retry-After" = u64, description = "Seconds to wait"),
        ("X-RateLimit-Limit" = u64, description = "Requests allowed in the window"),
        ("X-RateLimit-Remaining" = u64, description = "`0`"),
        ("X-RateLimit-Reset" = u64, description = "Seconds until the window has room again"),
    )
)]
pub struct TooManyRequests(pub Problem);

/// A backend service failed (`upstream_failed`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct BadGateway(pub Problem);

/// A backend service is unavailable (`upstream_unavailable`); readiness adds `services`.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait"))
)]
pub struct ServiceUnavailable(pub Problem);

/// A backend service did not answer in time (`upstream_timeout`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct GatewayTimeout(pub Problem);

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(members) => {
                for (key, member) in members {
                    match (key.as_str(), member) {
                        ("$ref", Value::String(target)) => found.push(target),
                        _ => refs(member, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let json = serde_json::to_value(document()).unwrap();
        let mut found = Vec::new();
        refs(&json, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let pointer = target.strip_prefix('#').unwrap();
            assert!(json.pointer(pointer).is_some(), "{target} does not resolve");
        }
    }
}
