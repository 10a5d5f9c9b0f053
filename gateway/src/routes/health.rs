//! Liveness of the gateway and readiness of everything behind it.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use flowsvault_proto::ErrorCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::{problem::ApiError, startup::AppState};

/// The gateway itself is alive.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// Every downstream service answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    status: &'static str,
    /// Each service's state: `ok` or `unavailable`.
    #[schema(example = json!({"auth": "ok", "files": "ok", "storage": "ok", "janitor": "ok"}))]
    services: BTreeMap<String, String>,
}

#[utoipa::path(
    get,
    path = "/api/health",
    tag = "health",
    operation_id = "health",
    responses((status = 200, description = "The gateway is alive", body = Health)),
)]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[utoipa::path(
    get,
    path = "/api/ready",
    tag = "health",
    operation_id = "ready",
    responses(
        (status = 200, description = "Every downstream service answers", body = Readiness),
        (status = 503, response = super::openapi::ServiceUnavailable),
    ),
)]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let checks = state.backends.readiness().await;
    let services: BTreeMap<String, String> = checks
        .iter()
        .map(|(name, serving)| {
            let status = if *serving { "ok" } else { "unavailable" };
            ((*name).to_owned(), status.to_owned())
        })
        .collect();
    let failed: Vec<&str> = checks
        .iter()
        .filter(|(_, serving)| !serving)
        .map(|(name, _)| *name)
        .collect();
    if failed.is_empty() {
        return Ok(HttpResponse::Ok().json(Readiness {
            status: "ready",
            services,
        }));
    }
    Err(ApiError::new(
        ErrorCode::UpstreamUnavailable,
        format!("not ready: {} unavailable", failed.join(", ")),
    )
    .with(
        "services",
        Value::Object(
            services
                .into_iter()
                .map(|(name, status)| (name, Value::from(status)))
                .collect(),
        ),
    ))
}
