//! The gateway's Prometheus metrics, served at `GET /metrics` in the OpenMetrics text
//! format. Each gateway has a registry of its own (no global state), so tests can run
//! several side by side and read each one's figures.

use std::{fmt::Write, time::Instant};

use actix_web::{
    Error, HttpRequest, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Method,
        header::{self, HeaderValue},
    },
    middleware::Next,
    web,
};
use flowsvault_proto::ErrorCode;
use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::{problem::ApiError, routes::admin::same_secret, startup::AppState};

/// The content type of the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern (`/api/files/{id}`), never the path itself: paths carry ids
    /// and tokens, and would make one series per file.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

/// Where a rate-limit decision was taken.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Store {
    /// In Redis, shared by every replica.
    Redis,
    /// From a lease of counts this replica took from Redis ahead of time.
    Lease,
    /// In this replica's memory, because Redis could not be reached.
    Memory,
    /// Refused by this replica without asking: the identifier was already over.
    Local,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Refused,
}

// By hand: the derive would write the variants' names as they are spelled in Rust.
impl EncodeLabelValue for Store {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(match self {
            Store::Redis => "redis",
            Store::Lease => "lease",
            Store::Memory => "memory",
            Store::Local => "local",
        })
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(match self {
            Outcome::Allowed => "allowed",
            Outcome::Refused => "refused",
        })
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub store: Store,
    pub outcome: Outcome,
}

/// What the rate limiter reports; cloned into the limiter (the handles share their
/// values with the registry).
#[derive(Debug, Clone, Default)]
pub struct RateLimitMetrics {
    pub decisions: Family<DecisionLabels, Counter>,
    /// 1 while decisions are taken in Redis, 0 while they fall back to memory.
    pub redis_up: Gauge,
    /// Times Redis was found unreachable and decisions moved to memory.
    pub redis_fallbacks: Counter,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    in_flight: Gauge,
    pub rate_limits: RateLimitMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("flowsvault_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        // 1 ms to about 65 s.
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 17))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival until its response began, by route",
            durations.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being answered now",
            in_flight.clone(),
        );
        let rate_limits = RateLimitMetrics::default();
        registry.register(
            "rate_limit_decisions",
            "Rate-limit decisions, by where they were taken and their outcome",
            rate_limits.decisions.clone(),
        );
        registry.register(
            "rate_limit_redis_up",
            "1 while rate limits are decided in Redis, 0 while this replica decides in memory",
            rate_limits.redis_up.clone(),
        );
        registry.register(
            "rate_limit_redis_fallbacks",
            "Times Redis was unreachable and rate limits fell back to memory",
            rate_limits.redis_fallbacks.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            in_flight,
            rate_limits,
        }
    }

    /// The registry in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// `GET /metrics`: open, or behind `Authorization: Bearer <FLOWSVAULT_METRICS_TOKEN>`.
pub async fn metrics(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(expected) = &state.settings.metrics_token_digest {
        let presented = crate::auth::bearer_token(&request).unwrap_or_default();
        if !same_secret(&presented, expected) {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "Authorization: Bearer <FLOWSVAULT_METRICS_TOKEN> is required",
            ));
        }
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(state.metrics.render()))
}

/// Counts and times every request. The time is until the response head, not the end of
/// its body: a download's length says nothing about the gateway.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let method = method_label(request.method());
    let api = request.path().starts_with("/api/");
    if let Some(state) = &state {
        state.metrics.in_flight.inc();
    }
    let result = next.call(request).await;
    let Some(state) = state else {
        return result;
    };
    state.metrics.in_flight.dec();
    // Outside /api/ the fallback serves the web UI's pages and files.
    let unmatched = || if api { "unmatched" } else { "web" }.to_owned();
    let (route, status) = match &result {
        Ok(response) => (
            response.request().match_pattern().unwrap_or_else(unmatched),
            response.status().as_u16(),
        ),
        Err(error) => (
            unmatched(),
            error.as_response_error().status_code().as_u16(),
        ),
    };
    state
        .metrics
        .durations
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method.to_owned(),
            route,
            status,
        })
        .inc();
    result
}

/// The method as a label: the standard ones by name, any other as `other` (a client
/// must not be able to make new series at will).
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_renders_as_openmetrics_text() {
        let metrics = Metrics::new();
        metrics
            .requests
            .get_or_create(&RequestLabels {
                method: "GET".into(),
                route: "/api/files/{id}".into(),
                status: 404,
            })
            .inc();
        metrics
            .rate_limits
            .decisions
            .get_or_create(&DecisionLabels {
                store: Store::Memory,
                outcome: Outcome::Refused,
            })
            .inc();
        metrics.rate_limits.redis_up.set(1);
        let text = metrics.render();
        assert!(
            text.contains(
                "flowsvault_gateway_http_requests_total{method=\"GET\",route=\"/api/files/{id}\",status=\"404\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("flowsvault_gateway_rate_limit_redis_up 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "flowsvault_gateway_rate_limit_decisions_total{store=\"memory\",outcome=\"refused\"} 1"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
