//! Liveness of the gateway and readiness of everything behind it.

use actix_web::{HttpResponse, web};
use flowsvault_proto::ErrorCode;
use serde_json::{Map, Value, json};

use crate::{problem::ApiError, startup::AppState};

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let checks = state.backends.readiness().await;
    let services: Map<String, Value> = checks
        .iter()
        .map(|(name, serving)| {
            let status = if *serving { "ok" } else { "unavailable" };
            ((*name).to_owned(), Value::from(status))
        })
        .collect();
    let failed: Vec<&str> = checks
        .iter()
        .filter(|(_, serving)| !serving)
        .map(|(name, _)| *name)
        .collect();
    if failed.is_empty() {
        return Ok(HttpResponse::Ok().json(json!({ "status": "ready", "services": services })));
    }
    Err(ApiError::new(
        ErrorCode::UpstreamUnavailable,
        format!("not ready: {} unavailable", failed.join(", ")),
    )
    .with("services", Value::Object(services)))
}
