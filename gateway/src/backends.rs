//! The gRPC clients of the services the gateway forwards to, with their deadlines.

use std::{
    cell::RefCell,
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use flowsvault_kit::grpc;
use flowsvault_proto::{
    auth::v1::auth_service_client::AuthServiceClient,
    files::v1::file_service_client::FileServiceClient,
    janitor::v1::janitor_service_client::JanitorServiceClient,
    storage::v1::storage_service_client::StorageServiceClient,
};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{config::Config, request_id::RequestId};

/// The services the gateway forwards to. Each thread that calls them opens its own
/// channels, on first use: a channel's HTTP/2 connection is driven on the runtime it was
/// opened from, so channels shared by every worker would move each call to the main
/// runtime's threads and its answer back, two thread switches per call, which under load
/// is where the slowest requests lose their time. Cheap to clone.
#[derive(Clone)]
pub struct Backends {
    endpoints: Arc<Endpoints>,
    timeout: Duration,
}

struct Endpoints {
    /// Tells this gateway's channels from another's in the same process (tests).
    id: u64,
    auth: Endpoint,
    files: Endpoint,
    storage: Endpoint,
    /// Absent when no janitor URL is configured.
    janitor: Option<Endpoint>,
}

/// One thread's channels to every service.
struct Clients {
    auth: AuthServiceClient<Channel>,
    files: FileServiceClient<Channel>,
    storage: StorageServiceClient<Channel>,
    janitor: Option<JanitorServiceClient<Channel>>,
    health: Vec<(&'static str, HealthClient<Channel>)>,
}

thread_local! {
    /// This thread's channels, by the id of the gateway they belong to.
    static CLIENTS: RefCell<HashMap<u64, Clients>> = RefCell::new(HashMap::new());
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl Endpoints {
    fn open(&self) -> Clients {
        let auth = self.auth.connect_lazy();
        let files = self.files.connect_lazy();
        let storage = self.storage.connect_lazy();
        let mut health = vec![
            ("auth", HealthClient::new(auth.clone())),
            ("files", HealthClient::new(files.clone())),
            ("storage", HealthClient::new(storage.clone())),
        ];
        let janitor = self.janitor.as_ref().map(|endpoint| {
            let channel = endpoint.connect_lazy();
            health.push(("janitor", HealthClient::new(channel.clone())));
            JanitorServiceClient::new(channel)
        });
        Clients {
            auth: AuthServiceClient::new(auth),
            files: FileServiceClient::new(files),
            storage: StorageServiceClient::new(storage)
                .max_decoding_message_size(grpc::MAX_MESSAGE_BYTES)
                .max_encoding_message_size(grpc::MAX_MESSAGE_BYTES),
            janitor,
            health,
        }
    }
}

impl Backends {
    pub fn connect(config: &Config) -> anyhow::Result<Self> {
        let janitor = if config.janitor_url.is_empty() {
            None
        } else {
            Some(grpc::endpoint(&config.janitor_url)?)
        };
        Ok(Self {
            endpoints: Arc::new(Endpoints {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                auth: grpc::endpoint(&config.auth_url)?,
                files: grpc::endpoint(&config.files_url)?,
                storage: grpc::endpoint(&config.storage_url)?,
                janitor,
            }),
            timeout: config.upstream_timeout(),
        })
    }

    /// Something of this thread's clients, opening them on first use.
    fn with_clients<T>(&self, pick: impl FnOnce(&Clients) -> T) -> T {
        CLIENTS.with(|clients| {
            let mut clients = clients.borrow_mut();
            let mine = clients
                .entry(self.endpoints.id)
                .or_insert_with(|| self.endpoints.open());
            pick(mine)
        })
    }

    pub fn auth(&self) -> AuthServiceClient<Channel> {
        self.with_clients(|clients| clients.auth.clone())
    }

    pub fn files(&self) -> FileServiceClient<Channel> {
        self.with_clients(|clients| clients.files.clone())
    }

    pub fn storage(&self) -> StorageServiceClient<Channel> {
        self.with_clients(|clients| clients.storage.clone())
    }

    /// Absent when no janitor URL is configured.
    pub fn janitor(&self) -> Option<JanitorServiceClient<Channel>> {
        self.with_clients(|clients| clients.janitor.clone())
    }

    /// A unary request carrying the request id and the upstream deadline.
    pub fn request<T>(&self, message: T, request_id: &RequestId) -> tonic::Request<T> {
        let mut request = grpc::request(message, request_id.as_str());
        request.set_timeout(self.timeout);
        request
    }

    /// A streaming request: no deadline, since its length depends on the client.
    pub fn stream_request<T>(&self, message: T, request_id: &RequestId) -> tonic::Request<T> {
        grpc::request(message, request_id.as_str())
    }

    /// Each service's name and whether it answered its health check as serving.
    pub async fn readiness(&self) -> Vec<(&'static str, bool)> {
        let health = self.with_clients(|clients| clients.health.clone());
        let checks = health.into_iter().map(|(name, mut client)| async move {
            let mut request = tonic::Request::new(HealthCheckRequest::default());
            request.set_timeout(Duration::from_secs(2));
            let serving = match tokio::time::timeout(Duration::from_secs(3), client.check(request))
                .await
            {
                Ok(Ok(response)) => response.into_inner().status == ServingStatus::Serving as i32,
                Ok(Err(status)) => {
                    tracing::warn!(service = name, %status, "health check failed");
                    false
                }
                Err(_) => {
                    tracing::warn!(service = name, "health check timed out");
                    false
                }
            };
            (name, serving)
        });
        futures_util::future::join_all(checks).await
    }
}
