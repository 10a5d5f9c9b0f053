use clap::Parser;
use flowsvault_storage_service::{config::Config, startup::Application};

fn main() -> anyhow::Result<()> {
    flowsvault_kit::shutdown::run(flowsvault_kit::shutdown::LEFTOVER_GRACE, async {
        let config = Config::parse();
        flowsvault_kit::telemetry::init("storage-service");
        let application = Application::build(config).await?;
        tracing::info!(port = application.port(), "storage-service listening");
        application
            .run_until_stopped(flowsvault_kit::shutdown::signal())
            .await
    })
}
