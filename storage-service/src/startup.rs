//! Start-up: what `main` runs and what tests start on port 0.

use flowsvault_kit::grpc;
use flowsvault_proto::storage::v1::storage_service_server::StorageServiceServer;
use tokio::net::TcpListener;

use crate::{config::Config, grpc::StorageApi, staging::Staging, store::ObjectStorage};

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
            .add_service(grpc::health_service().await)
            .add_service(service);
        grpc::serve(router, self.listener, shutdown).await
    }
}
