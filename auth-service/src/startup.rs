//! Start-up: what `main` runs and what tests start on port 0.

use std::sync::Arc;

use anyhow::Context;
use flowsvault_kit::{
    database::{self, Pool},
    grpc,
};
use flowsvault_proto::auth::v1::auth_service_server::AuthServiceServer;
use tokio::net::TcpListener;

use crate::{
    accounts::Accounts,
    config::Config,
    domain::api_key,
    grpc::AuthApi,
    repository::{MIGRATIONS, Repository},
    sign_in::Providers,
};

pub struct Application {
    listener: TcpListener,
    api: AuthApi,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = connect_database(&config).await?;
        // Made before the first request, so an unknown prefix is never the slow answer.
        tokio::task::spawn_blocking(api_key::prepare_dummy_hash)
            .await
            .context("preparing the dummy key hash")??;
        let providers = Providers::new(config.sign_in_providers()?)?;
        for provider in providers.configs() {
            tracing::info!(id = %provider.id, kind = provider.kind.as_str(), "sign-in provider configured");
        }
        let listener = grpc::bind(&config.listen_addr).await?;
        let accounts = Accounts::new(
            Repository::new(pool),
            Arc::new(providers),
            config.session_lifetime(),
        );
        Ok(Self {
            listener,
            api: AuthApi::new(accounts),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map_or(0, |address| address.port())
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let service = AuthServiceServer::new(self.api)
            .max_decoding_message_size(grpc::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(grpc::MAX_MESSAGE_BYTES);
        let router = grpc::server()
            .add_service(grpc::health_service().await)
            .add_service(service);
        grpc::serve(router, self.listener, shutdown).await
    }
}

/// Creates the database when missing, applies the migrations and opens the pool.
pub async fn connect_database(config: &Config) -> anyhow::Result<Pool> {
    let url = config.database_url()?;
    database::connect(&url, MIGRATIONS, usize::from(config.database_pool_size))
        .await
        .with_context(|| format!("preparing the auth database {}", database::redact(&url)))
}
