//! RFC 9457 problem documents: every error a client sees, with a stable `code` from the
//! shared table. Internal detail never leaves the process; it is logged here instead.

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header::HeaderName},
};
use flowsvault_proto::ErrorCode;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::{
    ToSchema,
    openapi::schema::{Object, ObjectBuilder, Type},
};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document. Some problems add extension members (`limit` on 413,
/// `services` on a failed readiness check).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:flowsvault:problem:<code>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:flowsvault:problem:file_too_large")]
    pub problem_type: String,
    /// A short summary that is the same for every occurrence of the code.
    #[schema(example = "The file is larger than the upload limit")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 413)]
    pub status: u16,
    /// What went wrong this time.
    #[schema(example = "the upload limit is 104857600 bytes")]
    pub detail: String,
    /// A stable, machine-readable code.
    #[schema(schema_with = error_code_schema)]
    pub code: String,
}

/// Every code of the shared table, for the OpenAPI document.
fn error_code_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ErrorCode::ALL.iter().map(|code| code.as_str())))
        .description(Some("A stable, machine-readable code."))
        .build()
}

#[derive(Debug, Clone)]
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    extensions: Map<String, Value>,
    headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            extensions: Map::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a member to the problem document (RFC 9457 extension members).
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extensions.insert(key.to_owned(), value);
        self
    }

    /// Adds a response header (e.g. `Content-Range` on 416).
    pub fn with_header(mut self, name: HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            ErrorCode::Unauthenticated,
            "a valid session or API key is required",
        )
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "no such resource")
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, detail)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.code, self.detail)
    }
}

impl From<tonic::Status> for ApiError {
    /// An upstream failure becomes the same problem the upstream meant. Messages of
    /// client errors are ours and safe to show; server-side messages are replaced.
    fn from(status: tonic::Status) -> Self {
        let code = ErrorCode::of_status(&status);
        if code.http_status() >= 500 {
            tracing::error!(code = %code, grpc_code = ?status.code(), message = status.message(), "upstream call failed");
            return Self::new(code, code.title());
        }
        Self::new(code, status.message())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let problem = Problem {
            problem_type: format!("urn:flowsvault:problem:{}", self.code),
            title: self.code.title().to_owned(),
            status: status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_owned(),
        };
        let mut body = serde_json::to_value(problem).unwrap_or_default();
        if let Value::Object(members) = &mut body {
            for (key, value) in &self.extensions {
                members.insert(key.clone(), value.clone());
            }
        }
        let mut response = HttpResponse::build(status);
        response.content_type(PROBLEM_JSON);
        match self.code {
            ErrorCode::Unauthenticated => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ErrorCode::UpstreamUnavailable => {
                response.insert_header(("Retry-After", "5"));
            }
            _ => {}
        }
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.as_str()));
        }
        response.body(body.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn a_problem_document_has_the_rfc_9457_members_and_a_code() {
        let response = ApiError::new(ErrorCode::FileTooLarge, "over 100 MiB").error_response();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            PROBLEM_JSON
        );
        let bytes = response.into_body().try_into_bytes().unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["status"], 413);
        assert_eq!(body["code"], "file_too_large");
        assert_eq!(body["detail"], "over 100 MiB");
        assert!(body["type"].as_str().unwrap().ends_with("file_too_large"));
        assert!(body["title"].is_string());
    }

    #[test]
    fn server_side_upstream_messages_are_not_shown_to_clients() {
        let error = ApiError::from(tonic::Status::internal("SELECT * FROM secret failed"));
        assert_eq!(error.status_code(), StatusCode::BAD_GATEWAY);
        assert!(!error.to_string().contains("SELECT"));
    }

    #[test]
    fn client_errors_from_upstream_keep_their_code_and_message() {
        let status = ErrorCode::FileExpired.status("the file has expired");
        let error = ApiError::from(status);
        assert_eq!(error.status_code(), StatusCode::GONE);
        assert_eq!(error.code(), ErrorCode::FileExpired);
    }
}
