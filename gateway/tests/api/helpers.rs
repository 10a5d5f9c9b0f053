#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test with its location"
)]

use std::{collections::HashMap, future::pending};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use flowsvault_auth_service::{
    sign_in::ProviderConfig,
    testing::{register_provider, test_issuer},
};
use flowsvault_gateway::config::Config as GatewayConfig;
use flowsvault_kit::{database::create_test_database, grpc};
use flowsvault_proto::auth::v1::{
    CreateApiKeyRequest, EnsureUserRequest, auth_service_client::AuthServiceClient,
};
use flowsvault_proto::storage::v1::{
    AbortStaleWritesRequest, storage_service_client::StorageServiceClient,
};
pub use flowsvault_storage_service::config::Backend;
use flowsvault_storage_service::{error::StorageError, store::ObjectStorage};
use reqwest::multipart::{Form, Part};
use tempfile::TempDir;
use tonic::transport::Channel;

pub fn test_database_server() -> String {
    std::env::var("FLOWSVAULT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// storage-service in a runtime of its own, so a test can kill it the way a crash
/// would: every task and connection gone at once.
pub struct KillableStorage {
    runtime: Option<tokio::runtime::Runtime>,
    pub port: u16,
    root: std::path::PathBuf,
    pub backend: Backend,
}

impl KillableStorage {
    async fn start(root: std::path::PathBuf, backend: Backend) -> Self {
        Self::start_on(root, backend, 0).await
    }

    /// Kills the service and starts a new one on the same port and directory, as a
    /// restart after a crash would.
    pub async fn restart(&mut self) {
        self.kill();
        *self = Self::start_on(self.root.clone(), self.backend, self.port).await;
    }

    async fn start_on(root: std::path::PathBuf, backend: Backend, port: u16) -> Self {
        let (kept_root, kept_backend) = (root.clone(), backend);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (port_sender, port_receiver) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            let s3 = |name: &str| {
                (backend == Backend::S3).then(|| {
                    std::env::var(name)
                        .unwrap_or_else(|_| panic!("{name} is unset: run `make test`"))
                })
            };
            let config = flowsvault_storage_service::config::Config {
                backend,
                s3_bucket: s3("FLOWSVAULT_S3_BUCKET"),
                s3_endpoint: s3("FLOWSVAULT_S3_ENDPOINT"),
                s3_allow_http: true,
                listen_addr: format!("127.0.0.1:{port}"),
                ..flowsvault_storage_service::config::Config::local_on_any_port(root)
            };
            // After a kill the old listener may take a moment to close: retry the port.
            let mut attempts = 0;
            let application = loop {
                match flowsvault_storage_service::startup::Application::build(config.clone()).await
                {
                    Ok(application) => break application,
                    Err(error) if attempts < 100 && port != 0 => {
                        attempts += 1;
                        tracing::debug!(%error, "storage-service cannot start yet");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    Err(error) => panic!("starting storage-service: {error:#}"),
                }
            };
            port_sender.send(application.port()).unwrap();
            application.run_until_stopped(pending()).await.unwrap();
        });
        let port = port_receiver.await.unwrap();
        Self {
            runtime: Some(runtime),
            port,
            root: kept_root,
            backend: kept_backend,
        }
    }

    pub fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for KillableStorage {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct TestApp {
    pub gateway_config: GatewayConfig,
    pub address: String,
    pub client: reqwest::Client,
    pub files_database_url: String,
    pub auth_database_url: String,
    pub objects: TempDir,
    pub storage: KillableStorage,
    auth: AuthServiceClient<Channel>,
}

/// Runs each scenario (an `async fn(Backend)` of the invoking module) as two tests: on
/// local disk and on the real S3 server.
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario($crate::helpers::Backend::Local).await;
                }
            )+
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario($crate::helpers::Backend::S3).await;
                }
            )+
        }
    };
}
pub(crate) use on_both_backends;

/// The tests' S3 bucket as storage-service sees it.
fn s3_storage() -> ObjectStorage {
    let env = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is unset: run `make test`"))
    };
    ObjectStorage::from_config(&flowsvault_storage_service::config::Config {
        backend: Backend::S3,
        s3_bucket: Some(env("FLOWSVAULT_S3_BUCKET")),
        s3_endpoint: Some(env("FLOWSVAULT_S3_ENDPOINT")),
        s3_allow_http: true,
        ..flowsvault_storage_service::config::Config::local_on_any_port(std::env::temp_dir())
    })
    .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut GatewayConfig)) -> TestApp {
    spawn_app_on(Backend::Local, configure).await
}

/// The whole stack with storage-service on `backend`.
pub async fn spawn_app_on(backend: Backend, configure: impl FnOnce(&mut GatewayConfig)) -> TestApp {
    spawn_stack(backend, Vec::new(), configure).await
}

/// The whole stack with sign-in providers besides the local OpenID provider (`local`).
pub async fn spawn_app_with_providers(providers: Vec<ProviderConfig>) -> TestApp {
    spawn_stack(Backend::Local, providers, |_| {}).await
}

async fn spawn_stack(
    backend: Backend,
    extra_providers: Vec<ProviderConfig>,
    configure: impl FnOnce(&mut GatewayConfig),
) -> TestApp {
    flowsvault_kit::telemetry::init_for_tests();
    let server = test_database_server();
    let auth_database_url = create_test_database(&server, "fv_test").await.unwrap();
    let files_database_url = create_test_database(&server, "fv_test").await.unwrap();

    // The gateway's port must be known before auth-service starts: the OpenID client is
    // registered for its callback URL.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gateway_port = listener.local_addr().unwrap().port();
    let provider = register_provider(
        "local",
        &test_issuer().unwrap(),
        &format!("http://127.0.0.1:{gateway_port}/api/auth/callback/local"),
    )
    .await
    .unwrap();
    let auth = flowsvault_auth_service::startup::Application::build(
        flowsvault_auth_service::config::Config {
            listen_addr: "127.0.0.1:0".into(),
            database_url: Some(auth_database_url.clone()),
            database_pool_size: 4,
            provider_ids: Vec::new(),
            providers: std::iter::once(provider).chain(extra_providers).collect(),
            session_ttl_days: 30,
        },
    )
    .await
    .unwrap();
    let auth_port = auth.port();
    tokio::spawn(auth.run_until_stopped(pending()));

    let files = flowsvault_file_service::startup::Application::build(
        flowsvault_file_service::config::Config {
            listen_addr: "127.0.0.1:0".into(),
            database_url: Some(files_database_url.clone()),
            database_pool_size: 4,
        },
    )
    .await
    .unwrap();
    let files_port = files.port();
    tokio::spawn(files.run_until_stopped(pending()));

    let objects = tempfile::tempdir().unwrap();
    let storage = KillableStorage::start(objects.path().to_path_buf(), backend).await;

    // A janitor that only runs when asked (`POST /api/admin/cleanup`).
    let janitor =
        flowsvault_janitor::startup::Application::build(flowsvault_janitor::config::Config {
            listen_addr: "127.0.0.1:0".into(),
            files_url: format!("http://127.0.0.1:{files_port}"),
            storage_url: format!("http://127.0.0.1:{}", storage.port),
            schedule: "*/5 * * * *".into(),
            interval_secs: 24 * 3600,
            stale_upload_secs: 6 * 3600,
            batch: 100,
            lease_secs: 300,
            orphan_every: 0,
            orphan_grace_secs: 24 * 3600,
            share_retention_secs: 30 * 86_400,
            metrics_addr: String::new(),
        })
        .await
        .unwrap();
    let janitor_url = format!("http://127.0.0.1:{}", janitor.port());
    tokio::spawn(janitor.run_until_stopped(pending()));

    let mut config = GatewayConfig {
        listen_addr: "127.0.0.1:0".into(),
        auth_url: format!("http://127.0.0.1:{auth_port}"),
        files_url: format!("http://127.0.0.1:{files_port}"),
        storage_url: format!("http://127.0.0.1:{}", storage.port),
        janitor_url,
        max_upload_bytes: 100 * 1024 * 1024,
        quota_bytes: 0,
        allowed_extensions: flowsvault_gateway::validation::DEFAULT_EXTENSIONS.to_owned(),
        default_duration: flowsvault_proto::FileDuration::Unlimited,
        api_key_cache_ttl_secs: 10,
        workers: 2,
        redis_url: Some(
            std::env::var("FLOWSVAULT_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
        ),
        // Tests share one Redis: each app counts under its own prefix.
        redis_prefix: format!("fvtest{}", uuid::Uuid::new_v4().simple()),
        // Generous: tests that are about limits set their own.
        rate_limit_uploads: "10000/1m".into(),
        rate_limit_downloads: "10000/1m".into(),
        rate_limit_api: "10000/1m".into(),
        rate_limit_share_password: "10000/1m".into(),
        trusted_proxies: String::new(),
        forwarded_header: "X-Forwarded-For".into(),
        cron_secret: Some("test-cron-secret".into()),
        metrics_token: None,
        max_connections_per_ip: 0,
        cors_origins: String::new(),
        header_timeout_secs: 10,
        body_idle_timeout_secs: 30,
        min_upload_bytes_per_sec: 1024,
        upload_rate_window_secs: 10,
        max_upload_secs: 3600,
        upstream_timeout_secs: 10,
        public_url: None,
        dev_signin: false,
        // No UI: the tests that serve one make their own directory.
        web_dir: String::new(),
        tus_expiry_secs: 24 * 3600,
        download_redirect: false,
        fault: None,
    };
    configure(&mut config);
    let gateway = flowsvault_gateway::startup::Application::build_on(config.clone(), listener)
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", gateway.port());
    tokio::spawn(gateway.run_until_stopped(pending()));

    TestApp {
        gateway_config: config,
        address,
        client: reqwest::Client::new(),
        files_database_url,
        auth_database_url,
        objects,
        storage,
        auth: AuthServiceClient::new(
            grpc::channel(&format!("http://127.0.0.1:{auth_port}")).unwrap(),
        ),
    }
}

async fn start_gateway(config: GatewayConfig) -> String {
    let gateway = flowsvault_gateway::startup::Application::build(config)
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", gateway.port());
    tokio::spawn(gateway.run_until_stopped(pending()));
    address
}

impl TestApp {
    /// Another gateway replica in front of the same services, Redis and prefix.
    pub async fn spawn_replica(&self) -> String {
        start_gateway(self.gateway_config.clone()).await
    }

    /// Another replica that stops, as it does on SIGTERM, once `stop` is sent; `stopped`
    /// ends when it has.
    pub async fn spawn_stoppable_replica(
        &self,
    ) -> (
        String,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    ) {
        let gateway = flowsvault_gateway::startup::Application::build(self.gateway_config.clone())
            .await
            .unwrap();
        let address = format!("http://127.0.0.1:{}", gateway.port());
        let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
        let stopped = tokio::spawn(gateway.run_until_stopped(async {
            let _ = stopping.await;
        }));
        (address, stop, stopped)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Signs in through the real OpenID provider as a browser would (following every
    /// redirect with a cookie jar); returns that browser and its session token.
    pub async fn sign_in(&self) -> (reqwest::Client, String) {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let browser = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .build()
            .unwrap();
        let signed_in = browser
            .get(self.url("/api/auth/signin/local?callbackUrl=/api/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.url().as_str(), self.url("/api/health"));
        let token = session_token(&jar, &self.address).unwrap();
        (browser, token)
    }

    /// A new API key of the user with this email (created when needed).
    pub async fn api_key(&self, email: &str) -> String {
        let mut auth = self.auth.clone();
        let user = auth
            .ensure_user(EnsureUserRequest {
                email: email.into(),
                name: None,
            })
            .await
            .unwrap()
            .into_inner();
        auth.create_api_key(CreateApiKeyRequest {
            user_id: user.id,
            name: "test".into(),
            expires_at: None,
        })
        .await
        .unwrap()
        .into_inner()
        .key
    }

    pub async fn upload(&self, key: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
        self.upload_form(
            key,
            Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned())),
        )
        .await
    }

    pub async fn upload_form(&self, key: &str, form: Form) -> reqwest::Response {
        self.client
            .post(self.url("/api/upload"))
            .bearer_auth(key)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, key: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, key: &str, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// Rows of file-service in each state, read straight from its database.
    pub async fn rows_with_status(&self, status: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let mut connection = AsyncPgConnection::establish(&self.files_database_url)
            .await
            .unwrap();
        let count: Count =
            diesel::sql_query("SELECT count(*) AS count FROM file_metadata WHERE status = $1")
                .bind::<diesel::sql_types::Text, _>(status)
                .get_result(&mut connection)
                .await
                .unwrap();
        count.count
    }

    /// Moves every file record's creation `seconds` into the past: the janitor's age
    /// limits are tested by ageing the data, not by waiting.
    pub async fn age_rows(&self, seconds: i64) {
        let mut connection = AsyncPgConnection::establish(&self.files_database_url)
            .await
            .unwrap();
        diesel::sql_query(
            "UPDATE file_metadata SET created_at = created_at - make_interval(secs => $1)",
        )
        .bind::<diesel::sql_types::Double, _>(seconds as f64)
        .execute(&mut connection)
        .await
        .unwrap();
    }

    /// The object keys this test's file records name, whatever their state.
    pub async fn file_keys(&self) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Key {
            #[diesel(sql_type = diesel::sql_types::Text)]
            file_name: String,
        }
        let mut connection = AsyncPgConnection::establish(&self.files_database_url)
            .await
            .unwrap();
        let keys: Vec<Key> = diesel::sql_query("SELECT file_name FROM file_metadata")
            .load(&mut connection)
            .await
            .unwrap();
        keys.into_iter().map(|key| key.file_name).collect()
    }

    /// What this test left in storage. On local disk: every file in the storage
    /// directory, unfinished writes (`#`) included. On S3, whose bucket the tests share:
    /// the objects, and the multipart uploads in progress (listed on the S3 server), of
    /// the keys this test's records name.
    pub async fn leftovers(&self) -> Vec<String> {
        if self.storage.backend == Backend::Local {
            return std::fs::read_dir(self.objects.path())
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| !name.starts_with('.'))
                .collect();
        }
        let storage = s3_storage();
        let mut left = Vec::new();
        for key in self.file_keys().await {
            match storage.head(&ObjectStorage::path(&key).unwrap()).await {
                Ok(_) => left.push(key.clone()),
                Err(StorageError::NotFound) => {}
                Err(error) => panic!("asking S3 for {key}: {error}"),
            }
            for upload in storage.incomplete_uploads(&key).await.unwrap() {
                left.push(format!("{} (incomplete multipart upload)", upload.key));
            }
        }
        left
    }

    /// The ETag the S3 server gives the object of file `id` (`"…-N"` for N parts).
    pub async fn s3_etag(&self, id: &str) -> String {
        let keys = self.file_keys().await;
        let key = keys.iter().find(|key| key.starts_with(id)).unwrap();
        let meta = s3_storage()
            .head(&ObjectStorage::path(key).unwrap())
            .await
            .unwrap();
        meta.e_tag.unwrap()
    }

    /// The user metadata the S3 server keeps with the object of file `id`, by lower-case
    /// name (S3 keeps metadata names in lower case).
    pub async fn s3_metadata(&self, id: &str) -> HashMap<String, String> {
        let keys = self.file_keys().await;
        let key = keys.iter().find(|key| key.starts_with(id)).unwrap();
        s3_storage()
            .metadata(&ObjectStorage::path(key).unwrap())
            .await
            .unwrap()
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect()
    }

    /// What the janitor's stale-write pass does once the grace period is over, for this
    /// test's keys only (other tests share the bucket): unfinished writes are removed.
    pub async fn abort_stale_writes_of_own_keys(&self) {
        let mut storage = StorageServiceClient::new(
            grpc::channel(&format!("http://127.0.0.1:{}", self.storage.port)).unwrap(),
        );
        for key in self.file_keys().await {
            storage
                .abort_stale_writes(AbortStaleWritesRequest {
                    older_than_secs: 0,
                    key_prefix: key,
                })
                .await
                .unwrap();
        }
    }

    /// Completed objects in the storage directory (staging files excluded).
    pub fn stored_objects(&self) -> Vec<String> {
        std::fs::read_dir(self.objects.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            // `#`: object_store's unfinished writes; `.staging`: resumable uploads.
            .filter(|name| !name.contains('#') && !name.starts_with('.'))
            .collect()
    }

    /// Waits (bounded) for background clean-up that runs after a response was sent.
    pub async fn eventually<F, Fut>(&self, mut condition: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        for _ in 0..100 {
            if condition().await {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    }
}

pub async fn problem(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    response.json().await.unwrap()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A PNG signature followed by `length` pseudo-random bytes: passes content sniffing.
pub fn png_bytes(length: usize, seed: u64) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend(pseudo_random_bytes(length, seed));
    bytes
}

/// Deterministic, incompressible-looking test content.
pub fn pseudo_random_bytes(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The `fv_session` value in a cookie jar, as the browser would send it to `address`.
pub fn session_token(jar: &reqwest::cookie::Jar, address: &str) -> Option<String> {
    use reqwest::cookie::CookieStore;
    let url = reqwest::Url::parse(address).unwrap();
    let cookies = jar.cookies(&url)?;
    cookies
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|pair| pair.strip_prefix("fv_session="))
        .map(str::to_owned)
}
