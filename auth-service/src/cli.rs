//! The command line: with no subcommand the server runs; `api-key create` issues a key
//! straight into the database, for bootstrapping before any sign-in exists.

use std::{io::Write, process::ExitCode, sync::Arc};

use anyhow::Context;
use chrono::Utc;
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::{
    accounts::Accounts,
    config::Config,
    domain::{ApiKey, ApiKeyName, Email, KeyExpiry},
    repository::Repository,
    sign_in::Providers,
    startup::connect_database,
};

#[derive(Debug, clap::Parser)]
#[command(
    name = "auth-service",
    version,
    about = "Flowsvault auth service: users and API keys"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Manage API keys directly in the database.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key for the user with this email (created when missing) and print only
    /// the key on stdout. The key cannot be shown again.
    Create(CreateApiKeyArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateApiKeyArgs {
    /// Email address of the key's owner.
    #[arg(long)]
    pub email: String,

    /// What the key is for (1 to 100 characters).
    #[arg(long)]
    pub name: String,

    /// Days until the key stops working; without it the key does not expire.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub expires_in_days: Option<u32>,
}

/// Runs a subcommand. Logs go to stderr, so stdout carries nothing but the result; a
/// failure is one line on stderr and a non-zero exit code.
pub async fn run(command: Command, config: &Config) -> ExitCode {
    let _ = tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with(fmt::layer().with_writer(std::io::stderr).with_target(false))
        .try_init();
    match execute(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

#[allow(
    clippy::print_stderr,
    reason = "the operator who typed the command reads its failure here"
)]
fn report(error: &anyhow::Error) {
    eprintln!("error: {error:#}");
}

async fn execute(command: Command, config: &Config) -> anyhow::Result<()> {
    match command {
        Command::ApiKey(ApiKeyCommand::Create(arguments)) => {
            let key = create_api_key(config, &arguments).await?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{}", key.expose())
                .and_then(|()| stdout.flush())
                .context("writing the key to stdout")
        }
    }
}

/// Ensures the user and issues a key, migrating the database first when needed.
pub async fn create_api_key(
    config: &Config,
    arguments: &CreateApiKeyArgs,
) -> anyhow::Result<ApiKey> {
    let email = Email::parse(&arguments.email)?;
    let name = ApiKeyName::parse(&arguments.name)?;
    let expires_at = arguments
        .expires_in_days
        .map(|days| KeyExpiry::in_days(days, Utc::now()))
        .transpose()?;
    let pool = connect_database(config).await?;
    // The command line signs nobody in: no providers are needed.
    let accounts = Accounts::new(
        Repository::new(pool),
        Arc::new(Providers::new(Vec::new())?),
        config.session_lifetime(),
    );
    let user = accounts
        .ensure_user(&email, None)
        .await
        .context("ensuring the user")?;
    let issued = accounts
        .create_api_key(user.id, &name, expires_at)
        .await
        .context("creating the api key")?;
    Ok(issued.key)
}
