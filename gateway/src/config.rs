//! Typed settings: defaults, then environment, then command line.

use std::time::Duration;

use flowsvault_proto::FileDuration;

/// A crash the tests make happen at a chosen point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `POST /api/upload` stops after storage-service stored the object and before
    /// file-service records it, without any of its own clean-up, as a killed gateway
    /// would.
    CrashAfterStore,
}

#[derive(Clone, Debug, clap::Parser)]
#[command(name = "gateway", version, about = "Flowsvault HTTP gateway")]
pub struct Config {
    /// Address the HTTP server listens on (port 0 picks a free port).
    #[arg(
        long,
        env = "FLOWSVAULT_GATEWAY_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub listen_addr: String,

    /// gRPC URL of auth-service.
    #[arg(
        long,
        env = "FLOWSVAULT_AUTH_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub auth_url: String,

    /// gRPC URL of file-service.
    #[arg(
        long,
        env = "FLOWSVAULT_FILES_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub files_url: String,

    /// gRPC URL of storage-service.
    #[arg(
        long,
        env = "FLOWSVAULT_STORAGE_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub storage_url: String,

    /// gRPC URL of the janitor; empty to leave it out of readiness.
    #[arg(
        long,
        env = "FLOWSVAULT_JANITOR_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub janitor_url: String,

    /// Largest accepted upload, in bytes, counted on the stream.
    #[arg(long, env = "FLOWSVAULT_MAX_UPLOAD_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_upload_bytes: u64,

    /// Storage each user may fill, in bytes: their live files plus what their uploads in
    /// progress may still store (an upload reserves its Content-Length, or the upload
    /// limit when it sends none, up front). 0: no quota.
    #[arg(long, env = "FLOWSVAULT_QUOTA_BYTES", default_value_t = 0)]
    pub quota_bytes: u64,

    /// Extensions accepted for upload, comma-separated, without dots; `*` accepts all.
    #[arg(long, env = "FLOWSVAULT_ALLOWED_EXTENSIONS",
          default_value = crate::validation::DEFAULT_EXTENSIONS)]
    pub allowed_extensions: String,

    /// Lifetime of an upload that names none: 1h, 1d, 7d, 30d or unlimited.
    #[arg(long, env = "FLOWSVAULT_DEFAULT_DURATION", default_value = "unlimited")]
    pub default_duration: FileDuration,

    /// How long a verified API key is trusted without asking auth-service again; a
    /// revoked key is refused by every replica within this time.
    /// At most 10: API.md promises revocation everywhere within 10 s. 0 turns the cache
    /// off (every request then pays a bcrypt check: for benchmarks only).
    #[arg(long, env = "FLOWSVAULT_API_KEY_CACHE_TTL_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=10))]
    pub api_key_cache_ttl_secs: u64,

    /// Redis shared by all replicas for rate limits; unset or unreachable means each
    /// replica limits in memory on its own.
    #[arg(long, env = "FLOWSVAULT_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key, so deployments can share one Redis.
    #[arg(long, env = "FLOWSVAULT_REDIS_PREFIX", default_value = "fv")]
    pub redis_prefix: String,

    /// Uploads per client address and per credential: `<count>/<window>` (s, m, h) or off.
    #[arg(long, env = "FLOWSVAULT_RATE_LIMIT_UPLOADS", default_value = "50/5m")]
    pub rate_limit_uploads: String,

    /// Downloads and previews per client address and per credential.
    #[arg(
        long,
        env = "FLOWSVAULT_RATE_LIMIT_DOWNLOADS",
        default_value = "200/1m"
    )]
    pub rate_limit_downloads: String,

    /// Every other API call per client address and per credential.
    #[arg(long, env = "FLOWSVAULT_RATE_LIMIT_API", default_value = "200/1m")]
    pub rate_limit_api: String,

    /// Password attempts on one share link, per link and per client address.
    #[arg(
        long,
        env = "FLOWSVAULT_RATE_LIMIT_SHARE_PASSWORD",
        default_value = "10/5m"
    )]
    pub rate_limit_share_password: String,

    /// Proxies whose forwarded-address header is believed: addresses and CIDR ranges,
    /// comma-separated. Empty: the socket peer is always the client.
    #[arg(long, env = "FLOWSVAULT_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// The header trusted proxies write the client's address to: `X-Forwarded-For` or
    /// `Forwarded`. Only this one is read, whatever else a request carries.
    #[arg(
        long,
        env = "FLOWSVAULT_FORWARDED_HEADER",
        default_value = "X-Forwarded-For"
    )]
    pub forwarded_header: String,

    /// Seconds a client has to send a request's headers.
    #[arg(long, env = "FLOWSVAULT_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Seconds an upload body may send nothing before it is cut off with 408.
    #[arg(long, env = "FLOWSVAULT_BODY_IDLE_TIMEOUT_SECS", default_value_t = 30)]
    pub body_idle_timeout_secs: u64,

    /// Lowest average upload rate, in bytes per second over each rate window, before the
    /// upload is cut off with 408; 0 turns the check off.
    #[arg(
        long,
        env = "FLOWSVAULT_MIN_UPLOAD_BYTES_PER_SEC",
        default_value_t = 1024
    )]
    pub min_upload_bytes_per_sec: u64,

    /// Longest a single upload may take, in seconds (408 after). Keep it below the
    /// janitor's FLOWSVAULT_STALE_UPLOAD_SECS (6 h by default).
    #[arg(long, env = "FLOWSVAULT_MAX_UPLOAD_SECS", default_value_t = 4 * 3600)]
    pub max_upload_secs: u64,

    /// Seconds over which the upload rate is averaged.
    #[arg(long, env = "FLOWSVAULT_UPLOAD_RATE_WINDOW_SECS", default_value_t = 10)]
    pub upload_rate_window_secs: u64,

    /// Secret that `POST /api/admin/cleanup` requires as its bearer token; also read from
    /// CRON_SECRET and from files named by FLOWSVAULT_CRON_SECRET_FILE / CRON_SECRET_FILE.
    /// Unset: the endpoint answers 403.
    #[arg(long, env = "FLOWSVAULT_CRON_SECRET", hide_env_values = true)]
    pub cron_secret: Option<String>,

    /// Bearer token `GET /metrics` requires; also read from the file named by
    /// FLOWSVAULT_METRICS_TOKEN_FILE. Unset: the metrics are open to anyone who reaches
    /// the gateway (keep /metrics off the public ingress then).
    #[arg(long, env = "FLOWSVAULT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Connections one client address may hold open at once; the requests of any more
    /// are answered 429 `too_many_connections` and closed. Trusted proxies are not
    /// counted. 0: no cap.
    #[arg(long, env = "FLOWSVAULT_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: u32,

    /// Origins whose pages may call `/api/` with an API key (CORS), comma-separated, e.g.
    /// `https://app.example.com`; `*` for any. Empty: same-origin only. Never with
    /// cookies.
    #[arg(long, env = "FLOWSVAULT_CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,

    /// HTTP worker threads; 0 means one per CPU.
    #[arg(long, env = "FLOWSVAULT_GATEWAY_WORKERS", default_value_t = 0)]
    pub workers: usize,

    /// The URL browsers reach the gateway at (scheme, host and port), e.g.
    /// https://files.example.com. It makes the sign-in callback URL, decides the cookies'
    /// Secure flag and `__Host-` prefix, and is the one origin the CSRF check accepts.
    /// Unset: http:// and the address the gateway listens on.
    #[arg(long, env = "FLOWSVAULT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Offer the one-click development sign-in (a local test user). Refused unless the
    /// gateway listens on a loopback address only.
    #[arg(long, env = "FLOWSVAULT_DEV_SIGNIN", default_value_t = false,
          action = clap::ArgAction::Set)]
    pub dev_signin: bool,

    /// Answer downloads (not previews) with 302 to a URL the storage backend signed, valid
    /// five minutes, so the bytes skip the gateway. Only backends that sign URLs (S3)
    /// redirect; on local disk downloads stream as usual.
    #[arg(long, env = "FLOWSVAULT_DOWNLOAD_REDIRECT", default_value_t = false,
          action = clap::ArgAction::Set)]
    pub download_redirect: bool,

    /// How long an unfinished resumable (tus) upload is kept, in seconds (Upload-Expires).
    #[arg(long, env = "FLOWSVAULT_TUS_EXPIRY_SECS", default_value_t = 24 * 3600,
          value_parser = clap::value_parser!(u64).range(60..=30 * 86_400))]
    pub tus_expiry_secs: u64,

    /// A fault to inject, for the tests of what a crash leaves behind. Set by code only:
    /// no flag or variable reaches it.
    #[arg(skip)]
    pub fault: Option<Fault>,

    /// Directory of the built web UI (`npm run build` in gateway/web), served at `/`.
    /// Without an index.html in it, only the API is served.
    #[arg(long, env = "FLOWSVAULT_WEB_DIR", default_value = "gateway/web/dist")]
    pub web_dir: String,

    /// Deadline of unary calls to the services, in seconds.
    #[arg(long, env = "FLOWSVAULT_UPSTREAM_TIMEOUT_SECS", default_value_t = 10)]
    pub upstream_timeout_secs: u64,
}

impl Config {
    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_secs(self.upstream_timeout_secs)
    }

    /// The metrics token, from the setting or its file; an empty value counts as unset.
    pub fn metrics_token(&self) -> anyhow::Result<Option<String>> {
        if let Some(token) = self.metrics_token.clone().filter(|token| !token.is_empty()) {
            return Ok(Some(token));
        }
        Ok(
            flowsvault_kit::config::secret_from_env("FLOWSVAULT_METRICS_TOKEN")?
                .filter(|token| !token.is_empty()),
        )
    }

    /// The cron secret after its fallbacks; an empty value counts as unset.
    pub fn cron_secret(&self) -> anyhow::Result<Option<String>> {
        if let Some(secret) = self.cron_secret.clone().filter(|secret| !secret.is_empty()) {
            return Ok(Some(secret));
        }
        let from = |name: &str| -> anyhow::Result<Option<String>> {
            Ok(flowsvault_kit::config::secret_from_env(name)?.filter(|secret| !secret.is_empty()))
        };
        Ok(from("FLOWSVAULT_CRON_SECRET")?.or(from("CRON_SECRET")?))
    }
}
