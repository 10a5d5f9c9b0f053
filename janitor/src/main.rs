use clap::Parser;
use flowsvault_janitor::{config::Config, startup::Application};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    flowsvault_kit::telemetry::init("janitor");
    let application = Application::build(config).await?;
    tracing::info!(port = application.port(), "janitor listening");
    application
        .run_until_stopped(flowsvault_kit::shutdown::signal())
        .await
}
