//! Cross-origin requests. By default the API is same-origin only: no CORS header is ever
//! sent, so a browser keeps other sites' pages from reading any answer. Origins listed
//! in FLOWSVAULT_CORS_ORIGINS may call `/api/` from their pages with an API key: their
//! preflights are answered and their answers readable. Credentials (cookies) are never
//! allowed cross-origin, and a cookie-authenticated change from another origin is still
//! refused by the CSRF rule.

use actix_web::{
    Error, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Method,
        header::{self, HeaderMap, HeaderValue},
    },
    middleware::Next,
    web,
};

use crate::startup::AppState;

const ALLOWED_METHODS: &str = "GET, HEAD, POST, PATCH, DELETE, OPTIONS";
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Idempotency-Key, X-Request-Id, \
     Range, If-None-Match, X-Share-Password, Tus-Resumable, Upload-Length, Upload-Offset, \
     Upload-Metadata, Upload-Defer-Length, Upload-Checksum, X-HTTP-Method-Override";
const EXPOSED_HEADERS: &str = "Content-Disposition, Content-Range, ETag, Location, \
     Retry-After, X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, \
     Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, \
     Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Expires";
/// How long a browser may reuse a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The origins allowed to call the API from their pages.
#[derive(Debug, Clone, Default)]
pub struct CorsOrigins {
    any: bool,
    origins: Vec<String>,
}

impl CorsOrigins {
    /// A comma-separated list of origins (`https://app.example.com`, with a port when it
    /// is not the scheme's), or `*` for any.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut allowed = Self::default();
        for entry in list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            if entry == "*" {
                allowed.any = true;
                continue;
            }
            let url = url::Url::parse(entry)
                .map_err(|_| format!("{entry:?} is not an origin like https://app.example.com"))?;
            let origin = url.origin().ascii_serialization();
            let bare = entry.trim_end_matches('/');
            if !matches!(url.scheme(), "http" | "https") || !origin.eq_ignore_ascii_case(bare) {
                return Err(format!(
                    "{entry:?} is not an origin (scheme://host[:port], no path)"
                ));
            }
            allowed.origins.push(origin);
        }
        Ok(allowed)
    }

    pub fn is_empty(&self) -> bool {
        !self.any && self.origins.is_empty()
    }

    fn allows(&self, origin: &str) -> bool {
        self.any
            || self
                .origins
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// Answers the preflights of allowed origins and marks their answers readable.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let allowed_origin = request
        .app_data::<web::Data<AppState>>()
        .filter(|state| !state.cors.is_empty())
        .and_then(|state| {
            let origin = request.headers().get(header::ORIGIN)?.to_str().ok()?;
            state.cors.allows(origin).then(|| origin.to_owned())
        })
        .filter(|_| request.path().starts_with("/api/"));
    let Some(origin) = allowed_origin else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut response = HttpResponse::NoContent().finish();
        let headers = response.headers_mut();
        insert(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
        insert(
            headers,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            ALLOWED_METHODS,
        );
        insert(
            headers,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            ALLOWED_HEADERS,
        );
        insert(headers, header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE);
        insert(headers, header::VARY, "Origin");
        return Ok(request.into_response(response).map_into_right_body());
    }
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    insert(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
    insert(
        headers,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        EXPOSED_HEADERS,
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    Ok(response.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_and_paths_are_refused() {
        let allowed =
            CorsOrigins::parse(" https://app.example.com, http://127.0.0.1:3000 ").unwrap();
        assert!(allowed.allows("https://app.example.com"));
        assert!(allowed.allows("http://127.0.0.1:3000"));
        assert!(!allowed.allows("https://app.example.com.evil.example"));
        assert!(!allowed.allows("http://app.example.com"));
        assert!(CorsOrigins::parse("").unwrap().is_empty());
        assert!(
            CorsOrigins::parse("*")
                .unwrap()
                .allows("https://anywhere.example")
        );
        assert!(CorsOrigins::parse("https://app.example.com/path").is_err());
        assert!(CorsOrigins::parse("app.example.com").is_err());
        assert!(CorsOrigins::parse("ftp://app.example.com").is_err());
    }
}
