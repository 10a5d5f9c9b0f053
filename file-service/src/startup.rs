//! Start-up: what `main` runs and what tests start on port 0.

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use flowsvault_kit::{database, grpc};
use flowsvault_proto::files::v1::file_service_server::FileServiceServer;
use tokio::net::TcpListener;

use crate::{config::Config, grpc::FileApi, repository::FileRepository};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub struct Application {
    listener: TcpListener,
    api: FileApi,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let url = config.database_url()?;
        let pool = database::connect(&url, MIGRATIONS, config.database_pool_size).await?;
        let listener = grpc::bind(&config.listen_addr).await?;
        Ok(Self {
            listener,
            api: FileApi::new(FileRepository::new(pool)),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map_or(0, |address| address.port())
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let router = grpc::server()
            .add_service(grpc::health_service().await)
            .add_service(FileServiceServer::new(self.api));
        grpc::serve(router, self.listener, shutdown).await
    }
}
