//! HTTP routes of the public API (see API.md), each answering with JSON or a problem
//! document.

pub(crate) mod admin;
mod download;
mod files;
mod health;
mod keys;
mod limits;
pub mod openapi;
mod profile;
mod share_page;
mod shares;
mod sign_in;
pub(crate) mod tus;
mod upload;
mod web_ui;

use actix_web::{HttpRequest, HttpResponse, http::Method, web};
use flowsvault_proto::ErrorCode;

use crate::problem::ApiError;

pub use files::FileView;
pub use upload::PaceSettings;
pub use web_ui::{WebUi, fallback as web_fallback};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource("/api/health").route(web::get().to(health::health)))
        .service(resource("/api/ready").route(web::get().to(health::ready)))
        .service(resource("/metrics").route(web::get().to(crate::metrics::metrics)))
        .service(resource("/api/openapi.json").route(web::get().to(openapi::openapi)))
        .service(resource("/api/limits").route(web::get().to(limits::limits)))
        .service(resource("/api/upload").route(web::post().to(upload::upload)))
        .service(
            resource("/api/uploads")
                .wrap(tus_headers())
                .route(web::method(Method::OPTIONS).to(tus::options))
                .route(web::post().to(tus::create)),
        )
        .service(
            resource("/api/uploads/{id}")
                .wrap(tus_headers())
                .route(web::method(Method::OPTIONS).to(tus::options_of_upload))
                .route(web::head().to(tus::head))
                .route(web::patch().to(tus::patch))
                .route(web::delete().to(tus::terminate))
                .route(web::post().to(tus::overridden)),
        )
        .service(resource("/api/files").route(web::get().to(files::list)))
        // Before `/api/files/{id}`, which would otherwise match it first.
        .service(resource("/api/files/bulk-delete").route(web::post().to(files::bulk_delete)))
        .service(
            resource("/api/files/{id}/shares")
                .route(web::get().to(shares::list))
                .route(web::post().to(shares::create)),
        )
        .service(resource("/api/shares/{id}").route(web::delete().to(shares::revoke)))
        .service(resource("/api/s/{token}").route(web::get().to(shares::shared)))
        .service(
            resource("/api/s/{token}/download")
                .route(web::get().to(shares::download))
                .route(web::post().to(shares::download_with_form)),
        )
        .service(
            resource("/s/{token}")
                .route(web::get().to(shares::page))
                .route(web::post().to(shares::page_download)),
        )
        .service(
            resource("/api/files/{id}")
                .route(web::get().to(files::get))
                .route(web::delete().to(files::delete)),
        )
        .service(resource("/api/download/{id}").route(web::get().to(download::download)))
        .service(resource("/api/preview/{id}").route(web::get().to(download::preview)))
        .service(
            resource("/api/keys")
                .route(web::get().to(keys::list))
                .route(web::post().to(keys::create)),
        )
        .service(resource("/api/keys/{id}").route(web::delete().to(keys::revoke)))
        .service(resource("/api/admin/cleanup").route(web::post().to(admin::cleanup)))
        .service(resource("/api/auth/providers").route(web::get().to(sign_in::providers)))
        // Before `/api/auth/signin/{provider}`, which would otherwise match it first.
        .service(resource("/api/auth/signin/dev").route(web::post().to(sign_in::dev_sign_in)))
        .service(resource("/api/auth/signin/{provider}").route(web::get().to(sign_in::sign_in)))
        .service(resource("/api/auth/callback/{provider}").route(web::get().to(sign_in::callback)))
        .service(resource("/api/auth/session").route(web::get().to(sign_in::session)))
        .service(resource("/api/auth/signout").route(web::post().to(sign_in::sign_out)))
        .service(resource("/api/profile").route(web::get().to(profile::get)))
        .service(
            resource("/api/profile/picture")
                .route(web::get().to(profile::picture))
                .route(web::post().to(profile::set_picture)),
        )
        .service(resource("/api/profile/delete").route(web::delete().to(profile::delete_account)));
}

/// What every tus answer carries, errors included; browsers may read the tus headers.
fn tus_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("Tus-Resumable", tus::TUS_VERSION))
        .add((
            "Access-Control-Expose-Headers",
            "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, \
             Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, \
             Upload-Expires, Location",
        ))
}

/// A resource whose unmatched methods answer 405 as a problem document.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let error = ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed on {}", request.method(), request.path()),
    );
    // The methods the OpenAPI document gives the route (a test holds it to the routes).
    let allowed = request.match_pattern().and_then(|pattern| {
        let document = request.app_data::<web::Data<openapi::OpenApiJson>>()?;
        document.allowed(&pattern).map(str::to_owned)
    });
    Err(match allowed {
        Some(methods) => error.with_header(actix_web::http::header::ALLOW, methods),
        None => error,
    })
}

pub async fn not_found(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        ErrorCode::NotFound,
        format!("no route for {}", request.path()),
    ))
}

/// Maps extractor failures (bad query strings, paths, JSON) to 400 problem documents.
pub fn invalid_input(error: impl std::fmt::Display) -> actix_web::Error {
    ApiError::invalid(error.to_string()).into()
}

/// Largest JSON body any route takes (key and share creation, bulk delete of 1,000 ids).
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// The largest form body read whole (a share password, the development sign-in).
pub const MAX_FORM_BYTES: usize = 4096;

/// A small form body, read whole: past [`MAX_FORM_BYTES`], or when it cannot be read,
/// a problem document (the `web::Bytes` extractor answers those in plain text).
pub async fn form_body(payload: web::Payload) -> Result<web::Bytes, ApiError> {
    match payload.to_bytes_limited(MAX_FORM_BYTES).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(_)) => Err(ApiError::invalid("the request body could not be read")),
        Err(_) => Err(ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("a form body may be at most {MAX_FORM_BYTES} bytes"),
        )),
    }
}

/// Maps JSON body errors: too large is 413 `body_too_large`, anything else 400.
pub fn invalid_json(error: actix_web::error::JsonPayloadError) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(
                ErrorCode::BodyTooLarge,
                format!("a JSON body may be at most {MAX_JSON_BYTES} bytes"),
            )
            .into()
        }
        other => invalid_input(other),
    }
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
