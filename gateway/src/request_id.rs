//! Request ids: taken from `X-Request-Id` when the client sent a sane one, made up
//! otherwise; logged with every line of the request, passed to every gRPC hop, and
//! echoed on the response.

use actix_web::{
    Error, FromRequest, HttpMessage, HttpRequest,
    body::MessageBody,
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";
const MAX_LENGTH: usize = 128;

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id the middleware gave this request.
    pub fn of(request: &HttpRequest) -> Self {
        request
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()))
    }
}

fn acceptable(candidate: &str) -> bool {
    !candidate.is_empty()
        && candidate.len() <= MAX_LENGTH
        && candidate
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte))
}

pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|candidate| acceptable(candidate))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "http",
        method = %request.method(),
        path = %request.path(),
        request_id = %id,
    );
    let mut response = next.call(request).instrument(span.clone()).await?;
    span.in_scope(|| {
        tracing::info!(status = response.status().as_u16(), "request finished");
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(HEADER), value);
    }
    Ok(response)
}

impl FromRequest for RequestId {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(RequestId::of(request)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_echoed() {
        assert!(acceptable("abc-123_x.y:z"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("evil\r\nSet-Cookie: x"));
        assert!(!acceptable(&"a".repeat(129)));
    }
}
