//! `GET /api/limits`: what an upload must respect, so that clients (the web UI) can check
//! a file before sending it.

use actix_web::{HttpResponse, web};
use flowsvault_proto::FileDuration;
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::TooManyRequests;
use crate::startup::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UploadLimits)]
pub struct LimitsView {
    /// The largest upload, in bytes.
    #[schema(example = 104857600)]
    max_upload_bytes: u64,
    /// Extensions accepted (lower case, no dot); `["*"]` when every one is.
    #[schema(example = json!(["jpg", "pdf", "png"]))]
    allowed_extensions: Vec<String>,
    /// The durations an upload may ask for.
    #[schema(example = json!(["1h", "1d", "7d", "30d", "unlimited"]))]
    durations: Vec<&'static str>,
    /// The duration of an upload that names none.
    #[schema(example = "unlimited")]
    default_duration: &'static str,
}

/// The upload limits.
#[utoipa::path(
    get,
    path = "/api/limits",
    tag = "files",
    operation_id = "getLimits",
    responses(
        (status = 200, description = "The upload limits", body = LimitsView),
        (status = 429, response = TooManyRequests),
    ),
)]
pub async fn limits(state: web::Data<AppState>) -> HttpResponse {
    let settings = &state.settings;
    HttpResponse::Ok().json(LimitsView {
        max_upload_bytes: settings.max_upload_bytes,
        allowed_extensions: settings.allowed_extensions.extensions(),
        durations: FileDuration::ALL
            .iter()
            .map(|duration| duration.as_str())
            .collect(),
        default_duration: settings.default_duration.as_str(),
    })
}
