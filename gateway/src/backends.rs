//! The gRPC clients of the services the gateway forwards to, with their deadlines.

use std::time::Duration;

use flowsvault_kit::grpc;
use flowsvault_proto::{
    auth::v1::auth_service_client::AuthServiceClient,
    files::v1::file_service_client::FileServiceClient,
    janitor::v1::janitor_service_client::JanitorServiceClient,
    storage::v1::storage_service_client::StorageServiceClient,
};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{config::Config, request_id::RequestId};

/// Cheap to clone: every client shares its service's HTTP/2 connection.
#[derive(Clone)]
pub struct Backends {
    pub auth: AuthServiceClient<Channel>,
    pub files: FileServiceClient<Channel>,
    pub storage: StorageServiceClient<Channel>,
    /// Absent when no janitor URL is configured.
    pub janitor: Option<JanitorServiceClient<Channel>>,
    health: Vec<(&'static str, HealthClient<Channel>)>,
    timeout: Duration,
}

impl Backends {
    pub fn connect(config: &Config) -> anyhow::Result<Self> {
        let auth = grpc::channel(&config.auth_url)?;
        let files = grpc::channel(&config.files_url)?;
        let storage = grpc::channel(&config.storage_url)?;
        let mut health = vec![
            ("auth", HealthClient::new(auth.clone())),
            ("files", HealthClient::new(files.clone())),
            ("storage", HealthClient::new(storage.clone())),
        ];
        let janitor = if config.janitor_url.is_empty() {
            None
        } else {
            let channel = grpc::channel(&config.janitor_url)?;
            health.push(("janitor", HealthClient::new(channel.clone())));
            Some(JanitorServiceClient::new(channel))
        };
        Ok(Self {
            auth: AuthServiceClient::new(auth),
            files: FileServiceClient::new(files),
            storage: StorageServiceClient::new(storage)
                .max_decoding_message_size(grpc::MAX_MESSAGE_BYTES)
                .max_encoding_message_size(grpc::MAX_MESSAGE_BYTES),
            janitor,
            health,
            timeout: config.upstream_timeout(),
        })
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
        let checks = self.health.iter().map(|(name, client)| {
            let mut client = client.clone();
            async move {
                let mut request = tonic::Request::new(HealthCheckRequest::default());
                request.set_timeout(Duration::from_secs(2));
                let serving =
                    match tokio::time::timeout(Duration::from_secs(3), client.check(request)).await
                    {
                        Ok(Ok(response)) => {
                            response.into_inner().status == ServingStatus::Serving as i32
                        }
                        Ok(Err(status)) => {
                            tracing::warn!(service = name, %status, "health check failed");
                            false
                        }
                        Err(_) => {
                            tracing::warn!(service = name, "health check timed out");
                            false
                        }
                    };
                (*name, serving)
            }
        });
        futures_util::future::join_all(checks).await
    }
}
