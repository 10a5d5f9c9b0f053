//! Start-up: what `main` runs and what tests start on port 0.

use std::{net::TcpListener, sync::Arc, time::Duration};

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
    auth::{KeyCache, Site},
    backends::Backends,
    body_pace,
    client_ip::{ForwardedHeader, TrustedProxies},
    config::{Config, Fault},
    connections::{self, ConnectionCounter},
    cors::{self, CorsOrigins},
    metrics::{self, Metrics},
    rate_limit::{self, Limiter, RateLimits, RateSpec},
    request_id,
    routes::{self, PaceSettings, WebUi, invalid_input, openapi::OpenApiJson},
    validation::Allowlist,
};

/// How long in-flight requests (uploads included) may run after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Upload and download settings the handlers read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_upload_bytes: u64,
    /// Per-user storage quota; 0 for none.
    pub quota_bytes: u64,
    pub allowed_extensions: Allowlist,
    pub pace: PaceSettings,
    /// SHA-256 of the cron secret; `None` turns the cleanup endpoint off.
    pub cron_secret_digest: Option<[u8; 32]>,
    /// SHA-256 of the token `/metrics` requires; `None` leaves it open.
    pub metrics_token_digest: Option<[u8; 32]>,
    pub default_duration: FileDuration,
    /// The one-click development sign-in is offered.
    pub dev_signin: bool,
    /// Lifetime of an unfinished resumable upload.
    pub tus_expiry_secs: u64,
    /// Downloads answer 302 to a presigned URL where the storage backend signs them.
    pub download_redirect: bool,
    /// The injected fault, in tests.
    pub fault: Option<Fault>,
}

/// What every handler shares.
pub struct AppState {
    pub backends: Backends,
    pub keys: KeyCache,
    pub settings: Settings,
    pub limiter: Arc<Limiter>,
    pub proxies: TrustedProxies,
    pub site: Site,
    /// The built web UI, when there is one.
    pub web: Option<WebUi>,
    /// Origins allowed to call the API from their pages.
    pub cors: CorsOrigins,
    pub metrics: Metrics,
}

/// The headers API.md puts on every response. A response that sets its own
/// Content-Security-Policy or X-Frame-Options (the UI, user content) keeps it.
fn security_headers(site: &Site) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ));
    if site.secure {
        headers.add((
            "Strict-Transport-Security",
            "max-age=63072000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// `scheme://host[:port]` of the configured public URL, or of the listening address.
fn public_origin(public_url: Option<&str>, local: std::net::SocketAddr) -> anyhow::Result<String> {
    let Some(text) = public_url.map(str::trim).filter(|text| !text.is_empty()) else {
        let host = if local.ip().is_unspecified() {
            std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port())
        } else {
            local
        };
        return Ok(format!("http://{host}"));
    };
    let url = url::Url::parse(text)
        .with_context(|| format!("FLOWSVAULT_PUBLIC_URL is not a URL: {text}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        anyhow::bail!("FLOWSVAULT_PUBLIC_URL must be an http:// or https:// URL: {text}");
    }
    Ok(url.origin().ascii_serialization())
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.listen_addr)
            .with_context(|| format!("binding {}", config.listen_addr))?;
        Self::build_on(config, listener).await
    }

    /// Serves on a listener bound already (tests that must know the port before the
    /// gateway starts); `config.listen_addr` is not used.
    pub async fn build_on(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        Self::build_with_routes(config, listener, |_| {}).await
    }

    /// Serves, besides the public API, the routes `extra` adds, behind the same
    /// middleware (request id, security headers, rate limits). The edge benchmark
    /// (`examples/edge_bench.rs`) measures authentication and rate limiting with it.
    pub async fn build_with_routes(
        config: Config,
        listener: TcpListener,
        extra: fn(&mut web::ServiceConfig),
    ) -> anyhow::Result<Self> {
        let local = listener.local_addr()?;
        let port = local.port();
        if config.dev_signin && !local.ip().is_loopback() {
            anyhow::bail!(
                "FLOWSVAULT_DEV_SIGNIN lets anyone sign in without a password: it is only \
                 allowed when the gateway listens on a loopback address, not on {local}"
            );
        }
        let site = Site::new(public_origin(config.public_url.as_deref(), local)?);
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
            share_password: spec(
                "FLOWSVAULT_RATE_LIMIT_SHARE_PASSWORD",
                &config.rate_limit_share_password,
            )?,
        };
        let header = ForwardedHeader::parse(&config.forwarded_header)
            .map_err(|error| anyhow::anyhow!("FLOWSVAULT_FORWARDED_HEADER: {error}"))?;
        let proxies = TrustedProxies::parse(&config.trusted_proxies, header)
            .map_err(|error| anyhow::anyhow!("FLOWSVAULT_TRUSTED_PROXIES: {error}"))?;
        let metrics = Metrics::new();
        let state = web::Data::new(AppState {
            limiter: Arc::new(Limiter::new(
                limits,
                config.redis_url.as_deref(),
                &config.redis_prefix,
                metrics.rate_limits.clone(),
            )?),
            metrics,
            proxies,
            web: WebUi::load(&config.web_dir),
            cors: CorsOrigins::parse(&config.cors_origins)
                .map_err(|error| anyhow::anyhow!("FLOWSVAULT_CORS_ORIGINS: {error}"))?,
            site: site.clone(),
            backends: Backends::connect(&config)?,
            keys: KeyCache::new(Duration::from_secs(config.api_key_cache_ttl_secs)),
            settings: Settings {
                max_upload_bytes: config.max_upload_bytes,
                quota_bytes: config.quota_bytes,
                allowed_extensions: Allowlist::parse(&config.allowed_extensions),
                cron_secret_digest: config
                    .cron_secret()?
                    .map(|secret| sha2::Sha256::digest(secret.as_bytes()).into()),
                metrics_token_digest: config
                    .metrics_token()?
                    .map(|token| sha2::Sha256::digest(token.as_bytes()).into()),
                pace: PaceSettings {
                    idle: Duration::from_secs(config.body_idle_timeout_secs.max(1)),
                    min_bytes_per_sec: config.min_upload_bytes_per_sec,
                    window: Duration::from_secs(config.upload_rate_window_secs.max(1)),
                    max_duration: Duration::from_secs(config.max_upload_secs.max(1)),
                },
                default_duration: config.default_duration,
                dev_signin: config.dev_signin,
                tus_expiry_secs: config.tus_expiry_secs,
                download_redirect: config.download_redirect,
                fault: config.fault,
            },
        });
        let openapi =
            web::Data::new(OpenApiJson::build().context("building the OpenAPI document")?);
        let connections = connections::on_connect(
            ConnectionCounter::new(config.max_connections_per_ip),
            state.proxies.clone(),
        );
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(openapi.clone())
                .app_data(
                    web::QueryConfig::default().error_handler(|error, _| invalid_input(error)),
                )
                .app_data(web::PathConfig::default().error_handler(|error, _| invalid_input(error)))
                .app_data(
                    web::JsonConfig::default()
                        .limit(routes::MAX_JSON_BYTES)
                        .error_handler(|error, _| routes::invalid_json(error)),
                )
                .configure(routes::configure)
                .configure(extra)
                .default_service(web::to(routes::web_fallback))
                .wrap(from_fn(body_pace::middleware))
                .wrap(from_fn(rate_limit::middleware))
                .wrap(from_fn(cors::middleware))
                .wrap(from_fn(connections::middleware))
                .wrap(security_headers(&site))
                .wrap(from_fn(metrics::middleware))
                .wrap(from_fn(request_id::middleware))
        })
        .on_connect(connections)
        // Without it a response written in two parts (head, then a small body) waits for
        // the client's delayed ACK of the first: 40 ms on Linux.
        .tcp_nodelay(true)
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
        let mut server = self.server;
        tokio::select! {
            served = &mut server => return served.context("http server failed"),
            () = shutdown => {}
        }
        // The server future carries out the stop: it must go on being polled until the
        // requests in flight are done. Dropped here, it would close their connections.
        let stopping = std::time::Instant::now();
        let (_, served) = tokio::join!(handle.stop(true), server);
        tracing::info!(
            drained_ms = stopping.elapsed().as_millis(),
            "http server stopped"
        );
        served.context("http server failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_origin_comes_from_the_url_or_the_listener() {
        let local: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(public_origin(None, local).unwrap(), "http://127.0.0.1:8080");
        let any: std::net::SocketAddr = "0.0.0.0:9000".parse().unwrap();
        assert_eq!(public_origin(None, any).unwrap(), "http://127.0.0.1:9000");
        assert_eq!(
            public_origin(Some("https://Files.Example.com/app/"), local).unwrap(),
            "https://files.example.com"
        );
        assert_eq!(
            public_origin(Some("http://example.com:8443"), local).unwrap(),
            "http://example.com:8443"
        );
        assert!(public_origin(Some("ftp://example.com"), local).is_err());
        assert!(public_origin(Some("not a url"), local).is_err());
    }
}
