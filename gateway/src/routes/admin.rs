//! `POST /api/admin/cleanup`: runs a janitor pass now (for an external cron), guarded by
//! the shared `CRON_SECRET` rather than a user's key.

use actix_web::{HttpRequest, HttpResponse, web};
use flowsvault_proto::{ErrorCode, janitor::v1::RunPassRequest};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::openapi::{BadGateway, BadRequest, ServiceUnavailable, TooManyRequests, Unauthorized};
use crate::{problem::ApiError, request_id::RequestId, startup::AppState};

/// What the pass removed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    /// Expired files whose bytes were removed.
    expired_files: u64,
    /// Failed or abandoned uploads whose objects were removed.
    stale_uploads: u64,
    /// Deleted files whose object removal was finished.
    deleted_files: u64,
    /// Objects that no file record names, older than the grace period, removed (only
    /// when `orphans=true`, or on the janitor's own orphan schedule).
    orphans: u64,
    /// Share links removed: their file is gone, or they expired or were revoked longer
    /// ago than the retention.
    expired_shares: u64,
    /// Unfinished writes (S3 multipart uploads, partial files) removed with the orphans.
    stale_writes: u64,
    bytes_freed: u64,
    /// Items or tasks that failed; the next pass retries them.
    failures: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CleanupQuery {
    /// Also reconcile orphan objects (lists the whole store).
    #[serde(default)]
    orphans: bool,
}

/// Compares two secrets in time that does not depend on where they differ.
pub(crate) fn same_secret(presented: &str, expected: &[u8; 32]) -> bool {
    let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    digest
        .iter()
        .zip(expected)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

#[utoipa::path(
    post,
    path = "/api/admin/cleanup",
    tag = "admin",
    operation_id = "runCleanup",
    security(("cronSecret" = [])),
    params(CleanupQuery),
    responses(
        (status = 200, description = "The pass ran", body = CleanupReport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, description = "No CRON_SECRET is configured: the endpoint is off"),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub async fn cleanup(
    request: HttpRequest,
    query: web::Query<CleanupQuery>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let Some(expected) = state.settings.cron_secret_digest else {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the cleanup endpoint is off: no CRON_SECRET is configured",
        ));
    };
    let presented = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !same_secret(presented, &expected) {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "Authorization: Bearer <CRON_SECRET> is required",
        ));
    }
    let Some(janitor) = state.backends.janitor() else {
        return Err(ApiError::new(
            ErrorCode::UpstreamUnavailable,
            "no janitor is configured (FLOWSVAULT_JANITOR_URL)",
        ));
    };
    let mut janitor = janitor;
    let mut call = state.backends.stream_request(
        RunPassRequest {
            orphans: query.orphans,
        },
        &request_id,
    );
    // A pass drains its whole backlog; give it far longer than an ordinary call.
    call.set_timeout(std::time::Duration::from_secs(300));
    let report = janitor.run_pass(call).await?.into_inner();
    tracing::info!(?report, "cleanup run on demand");
    Ok(HttpResponse::Ok().json(CleanupReport {
        expired_files: report.expired_files,
        stale_uploads: report.stale_uploads,
        deleted_files: report.deleted_files,
        orphans: report.orphans,
        expired_shares: report.expired_shares,
        stale_writes: report.stale_writes,
        bytes_freed: report.bytes_freed,
        failures: report.failures,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_secret_matches() {
        let expected: [u8; 32] = Sha256::digest(b"s3cret").into();
        assert!(same_secret("s3cret", &expected));
        assert!(!same_secret("s3cre", &expected));
        assert!(!same_secret("", &expected));
    }
}
