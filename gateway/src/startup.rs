//! Start-up: what `main` runs and what tests start on port 0.

use std::{net::TcpListener, time::Duration};

use actix_web::{
    App, HttpServer,
    dev::Server,
    middleware::{DefaultHeaders, from_fn},
    web,
};
use anyhow::Context;
use flowsvault_proto::FileDuration;
use sha2::Digest;

use crate::{
    auth::KeyCache,
    backends::Backends,
    client_ip::TrustedProxies,
    config::Config,
    rate_limit::{self, Limiter, RateLimits, RateSpec},
    request_id,
    routes::{self, PaceSettings, invalid_input, openapi::OpenApiJson},
    validation::Allowlist,
};

/// How long in-flight requests (uploads included) may run after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Upload and download settings the handlers read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_upload_bytes: u64,
    pub allowed_extensions: Allowlist,
    pub pace: PaceSettings,
    /// SHA-256 of the cron secret; `None` turns the cleanup endpoint off.
    pub cron_secret_digest: Option<[u8; 32]>,
    pub default_duration: FileDuration,
}

/// What every handler shares.
pub struct AppState {
    pub backends: Backends,
    pub keys: KeyCache,
    pub settings: Settings,
    pub limiter: Limiter,
    pub proxies: TrustedProxies,
}

/// The headers API.md puts on every response.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ))
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.listen_addr)
            .with_context(|| format!("binding {}", config.listen_addr))?;
        let port = listener.local_addr()?.port();
        let spec = |name: &str, text: &str| {
            RateSpec::parse(text).map_err(|error| anyhow::anyhow!("{name}: {error}"))
        };
        let limits = RateLimits {
            upload: spec("FLOWSVAULT_RATE_LIMIT_UPLOADS", &config.rate_limit_uploads)?,
            download: spec(
                "FLOWSVAULT_RATE_LIMIT_DOWNLOADS",
                &config.rate_limit_downloads,
            )?,
            api: spec("FLOWSVAULT_RATE_LIMIT_API", &config.rate_limit_api)?,
        };
        let proxies = TrustedProxies::parse(&config.trusted_proxies)
            .map_err(|error| anyhow::anyhow!("FLOWSVAULT_TRUSTED_PROXIES: {error}"))?;
        let state = web::Data::new(AppState {
            limiter: Limiter::new(limits, config.redis_url.as_deref(), &config.redis_prefix)?,
            proxies,
            backends: Backends::connect(&config)?,
            keys: KeyCache::new(Duration::from_secs(config.api_key_cache_ttl_secs)),
            settings: Settings {
                max_upload_bytes: config.max_upload_bytes,
                allowed_extensions: Allowlist::parse(&config.allowed_extensions),
                cron_secret_digest: config
                    .cron_secret()?
                    .map(|secret| sha2::Sha256::digest(secret.as_bytes()).into()),
                pace: PaceSettings {
                    idle: Duration::from_secs(config.body_idle_timeout_secs.max(1)),
                    min_bytes_per_sec: config.min_upload_bytes_per_sec,
                    window: Duration::from_secs(config.upload_rate_window_secs.max(1)),
                    max_duration: Duration::from_secs(config.max_upload_secs.max(1)),
                },
                default_duration: config.default_duration,
            },
        });
        let openapi =
            web::Data::new(OpenApiJson::build().context("building the OpenAPI document")?);
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(openapi.clone())
                .app_data(
                    web::QueryConfig::default().error_handler(|error, _| invalid_input(error)),
                )
                .app_data(web::PathConfig::default().error_handler(|error, _| invalid_input(error)))
                .app_data(web::JsonConfig::default().error_handler(|error, _| invalid_input(error)))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(rate_limit::middleware))
                .wrap(security_headers())
                .wrap(from_fn(request_id::middleware))
        })
        .listen(listener)?
        .client_request_timeout(Duration::from_secs(config.header_timeout_secs.max(1)))
        .client_disconnect_timeout(Duration::from_secs(1))
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        .disable_signals();
        if config.workers > 0 {
            server = server.workers(config.workers);
        }
        Ok(Self {
            port,
            server: server.run(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
    /// finish for up to 30 seconds.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let server = self.server;
        tokio::select! {
            served = server => served.context("http server failed"),
            () = shutdown => {
                handle.stop(true).await;
                Ok(())
            }
        }
    }
}
