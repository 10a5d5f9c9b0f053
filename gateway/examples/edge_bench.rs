//! The gateway of `make bench`'s edge benchmark: the real gateway, configured from the
//! environment as `gateway` is, with two more routes that do no work of their own, so
//! that what the gateway adds to every request can be measured on its own:
//!
//! - `GET /api/bench/plain` answers 204 without looking at the caller;
//! - `GET /api/bench/principal` answers 204 once the caller is authenticated (API key
//!   or session, through the verified-key cache as every other route).
//!
//! Both sit behind the same middleware as the public API (request id, security
//! headers, rate limits in the `api` class), so `FLOWSVAULT_RATE_LIMIT_API=off` turns
//! limiting off for them. Not part of any deployment.

use actix_web::{HttpResponse, web};
use clap::Parser;
use flowsvault_gateway::{auth::Principal, config::Config, startup::Application};

async fn plain() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

async fn principal(_caller: Principal) -> HttpResponse {
    HttpResponse::NoContent().finish()
}

fn bench_routes(config: &mut web::ServiceConfig) {
    config
        .route("/api/bench/plain", web::get().to(plain))
        .route("/api/bench/principal", web::get().to(principal));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    flowsvault_kit::telemetry::init("gateway-edge-bench");
    let listener = std::net::TcpListener::bind(&config.listen_addr)?;
    let application = Application::build_with_routes(config, listener, bench_routes).await?;
    tracing::info!(
        port = application.port(),
        "edge benchmark gateway listening"
    );
    application
        .run_until_stopped(flowsvault_kit::shutdown::signal())
        .await
}
