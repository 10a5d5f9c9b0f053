use clap::Parser;
use flowsvault_storage_service::{config::Config, startup::Application};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    flowsvault_kit::telemetry::init("storage-service");
    let application = Application::build(config).await?;
    tracing::info!(port = application.port(), "storage-service listening");
    application
        .run_until_stopped(flowsvault_kit::shutdown::signal())
        .await
}
