use clap::Parser;
use flowsvault_file_service::{config::Config, startup::Application};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    flowsvault_kit::telemetry::init("file-service");
    let application = Application::build(config).await?;
    tracing::info!(port = application.port(), "file-service listening");
    application
        .run_until_stopped(flowsvault_kit::shutdown::signal())
        .await
}
