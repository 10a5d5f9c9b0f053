use std::process::ExitCode;

use clap::Parser;
use flowsvault_auth_service::{cli, startup::Application};

fn main() -> anyhow::Result<ExitCode> {
    flowsvault_kit::shutdown::run(flowsvault_kit::shutdown::LEFTOVER_GRACE, async {
        let cli::Cli { config, command } = cli::Cli::parse();
        if let Some(command) = command {
            return Ok(cli::run(command, &config).await);
        }
        flowsvault_kit::telemetry::init("auth-service");
        let application = Application::build(config).await?;
        tracing::info!(port = application.port(), "auth-service listening");
        application
            .run_until_stopped(flowsvault_kit::shutdown::signal())
            .await?;
        Ok(ExitCode::SUCCESS)
    })
}
