//! Start-up: what `main` runs and what tests start on port 0.

use flowsvault_kit::grpc;
use flowsvault_proto::storage::v1::storage_service_server::StorageServiceServer;
use tokio::net::TcpListener;

use crate::{config::Config, grpc::StorageApi, staging::Staging, store::ObjectStorage};

/// How much of one upload this service takes in before its writer has room for it (the
/// writer's own queue holds 4 MiB more). Narrower than `kit::grpc`'s window: when the
/// disk falls behind, the bytes wait in the gateway's bounded queue and the client's
/// socket instead of growing this service's memory; on loopback 2 MiB does not slow a
/// stream down.
const UPLOAD_STREAM_WINDOW_BYTES: u32 = 2 * 1024 * 1024;

pub struct Application {
    listener: TcpListener,
    api: StorageApi,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let storage = ObjectStorage::from_config(&config)?;
        let staging = Staging::new(&config.staging_dir(), storage.clone())?;
        let listener = grpc::bind(&config.listen_addr).await?;
        Ok(Self {
            listener,
            api: StorageApi::new(storage, staging),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map_or(0, |address| address.port())
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let service = StorageServiceServer::new(self.api)
            .max_decoding_message_size(grpc::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(grpc::MAX_MESSAGE_BYTES);
        let router = grpc::server()
            .initial_stream_window_size(UPLOAD_STREAM_WINDOW_BYTES)
            .add_service(grpc::health_service().await)
            .add_service(service);
        grpc::serve(router, self.listener, shutdown).await
    }
}
