//! The one table of error codes. Each stable snake_case code has exactly one gRPC code and
//! one HTTP status, so an error raised deep inside a service reaches an HTTP client as the
//! same problem document wherever it started.

use tonic::{Code, Status, metadata::MetadataValue};

/// The gRPC metadata key that carries the stable code across a hop.
pub const CODE_METADATA_KEY: &str = "fv-error-code";

macro_rules! error_codes {
    ($($variant:ident => ($code:literal, $http:literal, $grpc:ident, $title:literal),)+) => {
        /// A stable, machine-readable error code (`code` in problem documents).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            pub fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $http,)+
                }
            }

            pub fn grpc_code(self) -> Code {
                match self {
                    $(ErrorCode::$variant => Code::$grpc,)+
                }
            }

            /// A short, human-readable summary that does not change between occurrences.
            pub fn title(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $title,)+
                }
            }

            pub fn parse(code: &str) -> Option<ErrorCode> {
                match code {
                    $($code => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    InvalidRequest => ("invalid_request", 400, InvalidArgument, "The request is malformed"),
    InvalidFileName => ("invalid_file_name", 400, InvalidArgument, "The file name is not usable"),
    InvalidDuration => ("invalid_duration", 400, InvalidArgument, "The duration is not one of 1h, 1d, 7d, 30d, unlimited"),
    MissingFile => ("missing_file", 400, InvalidArgument, "The upload has no file part"),
    Unauthenticated => ("unauthenticated", 401, Unauthenticated, "Authentication is required"),
    SignInFailed => ("sign_in_failed", 401, Unauthenticated, "The sign-in could not be completed"),
    Forbidden => ("forbidden", 403, PermissionDenied, "The request is not allowed"),
    CrossOriginRequest => ("cross_origin_request", 403, PermissionDenied, "A cookie-authenticated change must come from this site"),
    NotFound => ("not_found", 404, NotFound, "The resource does not exist"),
    RequestTimeout => ("request_timeout", 408, DeadlineExceeded, "The request body arrived too slowly"),
    MethodNotAllowed => ("method_not_allowed", 405, Unimplemented, "The method is not allowed on this resource"),
    Conflict => ("conflict", 409, Aborted, "The resource is in a conflicting state"),
    FileExpired => ("file_expired", 410, FailedPrecondition, "The file has expired"),
    UploadExpired => ("upload_expired", 410, FailedPrecondition, "The resumable upload has expired"),
    UploadLocked => ("upload_locked", 423, Aborted, "Another request is writing to this upload"),
    OffsetMismatch => ("offset_mismatch", 409, FailedPrecondition, "Upload-Offset is not the upload's offset"),
    ChecksumMismatch => ("checksum_mismatch", 460, DataLoss, "The chunk does not match its Upload-Checksum"),
    PreconditionFailed => ("precondition_failed", 412, FailedPrecondition, "The request's protocol version is not supported"),
    ShareExpired => ("share_expired", 410, FailedPrecondition, "The share link has expired"),
    ShareUsedUp => ("share_used_up", 410, FailedPrecondition, "The share link has no downloads left"),
    PasswordRequired => ("password_required", 403, PermissionDenied, "The share link needs a password"),
    WrongPassword => ("wrong_password", 403, PermissionDenied, "The password is wrong"),
    IdempotencyKeyReused => ("idempotency_key_reused", 422, FailedPrecondition, "The Idempotency-Key was used for a different request"),
    FileTooLarge => ("file_too_large", 413, OutOfRange, "The file is larger than the upload limit"),
    BodyTooLarge => ("body_too_large", 413, OutOfRange, "The request body is larger than this route accepts"),
    QuotaExceeded => ("quota_exceeded", 413, ResourceExhausted, "The upload would exceed your storage quota"),
    RangeNotSatisfiable => ("range_not_satisfiable", 416, OutOfRange, "The requested range is not satisfiable"),
    UnsupportedMediaType => ("unsupported_media_type", 415, InvalidArgument, "The request body has an unsupported media type"),
    FileTypeNotAllowed => ("file_type_not_allowed", 415, InvalidArgument, "This file type is not allowed"),
    ContentMismatch => ("content_mismatch", 415, InvalidArgument, "The file content does not match its extension"),
    RateLimited => ("rate_limited", 429, ResourceExhausted, "Too many requests"),
    TooManyConnections => ("too_many_connections", 429, ResourceExhausted, "This address has too many connections open"),
    Internal => ("internal", 500, Internal, "An internal error occurred"),
    UpstreamFailed => ("upstream_failed", 502, Unknown, "A backend service failed"),
    UpstreamUnavailable => ("upstream_unavailable", 503, Unavailable, "A backend service is unavailable"),
    UpstreamTimeout => ("upstream_timeout", 504, DeadlineExceeded, "A backend service did not answer in time"),
}

impl ErrorCode {
    /// A gRPC status carrying this code, so the next hop can recover it exactly.
    pub fn status(self, message: impl Into<String>) -> Status {
        let mut status = Status::new(self.grpc_code(), message);
        status
            .metadata_mut()
            .insert(CODE_METADATA_KEY, MetadataValue::from_static(self.as_str()));
        status
    }

    /// The code a status stands for: the one it carries, else the closest by gRPC code.
    /// Transport failures (a service that is down or too slow) map to 503 and 504.
    pub fn of_status(status: &Status) -> ErrorCode {
        let carried = status
            .metadata()
            .get(CODE_METADATA_KEY)
            .and_then(|value| value.to_str().ok())
            .and_then(ErrorCode::parse);
        if let Some(code) = carried {
            return code;
        }
        match status.code() {
            Code::InvalidArgument | Code::OutOfRange => ErrorCode::InvalidRequest,
            Code::Unauthenticated => ErrorCode::Unauthenticated,
            Code::PermissionDenied => ErrorCode::Forbidden,
            Code::NotFound => ErrorCode::NotFound,
            Code::AlreadyExists | Code::Aborted => ErrorCode::Conflict,
            Code::ResourceExhausted => ErrorCode::RateLimited,
            Code::Unavailable => ErrorCode::UpstreamUnavailable,
            Code::DeadlineExceeded => ErrorCode::UpstreamTimeout,
            // What tonic makes of a deadline that passed, on either side of the call.
            Code::Cancelled if status.message() == tonic::TimeoutExpired(()).to_string() => {
                ErrorCode::UpstreamTimeout
            }
            Code::Ok
            | Code::Cancelled
            | Code::Unknown
            | Code::FailedPrecondition
            | Code::Unimplemented
            | Code::Internal
            | Code::DataLoss => ErrorCode::UpstreamFailed,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_survives_a_grpc_hop() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::of_status(&code.status("detail")), code);
        }
    }

    #[test]
    fn codes_are_unique_snake_case_and_parse_back() {
        let mut seen = HashSet::new();
        for &code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} appears twice");
            assert!(text.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert_eq!(ErrorCode::parse(text), Some(code));
            assert!((400..600).contains(&code.http_status()));
        }
    }

    #[test]
    fn transport_failures_map_to_503_and_504() {
        let down = ErrorCode::of_status(&Status::unavailable("connection refused"));
        let slow = ErrorCode::of_status(&Status::deadline_exceeded("timeout"));
        assert_eq!(down.http_status(), 503);
        assert_eq!(slow.http_status(), 504);
    }

    #[test]
    fn a_deadline_tonic_enforced_is_504_and_other_cancellations_502() {
        // The conversion tonic applies when its timeout layer gives up on a call.
        let expired = Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(expired.code(), tonic::Code::Cancelled);
        assert_eq!(ErrorCode::of_status(&expired).http_status(), 504);
        let cancelled = ErrorCode::of_status(&Status::cancelled("the caller went away"));
        assert_eq!(cancelled.http_status(), 502);
    }

    #[test]
    fn an_unknown_carried_code_falls_back_to_the_grpc_code() {
        let mut status = Status::not_found("gone");
        status.metadata_mut().insert(
            CODE_METADATA_KEY,
            MetadataValue::from_static("no_such_code"),
        );
        assert_eq!(ErrorCode::of_status(&status), ErrorCode::NotFound);
    }
}
