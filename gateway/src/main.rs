use clap::Parser;
use flowsvault_gateway::{config::Config, startup::Application};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    flowsvault_kit::telemetry::init("gateway");
    let application = Application::build(config).await?;
    tracing::info!(port = application.port(), "gateway listening");
    application
        .run_until_stopped(flowsvault_kit::shutdown::signal())
        .await
}
