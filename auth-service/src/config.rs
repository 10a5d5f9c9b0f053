//! Typed settings: defaults, then environment, then command line.

use anyhow::Context;

use crate::sign_in::{ProviderConfig, providers_from_env};

/// Used when neither `FLOWSVAULT_AUTH_DATABASE_URL` nor `DATABASE_URL` is set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/flowsvault";

#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// Address the gRPC server listens on (port 0 picks a free port).
    #[arg(long, env = "FLOWSVAULT_AUTH_ADDR", default_value = "127.0.0.1:50051")]
    pub listen_addr: String,

    /// PostgreSQL URL of the auth database, created when missing. When unset:
    /// the contents of the file named by FLOWSVAULT_AUTH_DATABASE_URL_FILE, else
    /// DATABASE_URL (or the file named by DATABASE_URL_FILE), else
    /// postgres://postgres@127.0.0.1:5432/flowsvault.
    #[arg(
        long,
        global = true,
        env = "FLOWSVAULT_AUTH_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Largest number of pooled database connections.
    #[arg(long, global = true, env = "FLOWSVAULT_AUTH_DATABASE_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub database_pool_size: u16,

    /// Sign-in providers, comma-separated ids; each is configured by
    /// FLOWSVAULT_AUTH_PROVIDER_<ID>_{KIND,NAME,ISSUER,CLIENT_ID,CLIENT_SECRET,SCOPES}.
    #[arg(
        long,
        env = "FLOWSVAULT_AUTH_PROVIDERS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub provider_ids: Vec<String>,

    /// Providers given directly (tests); when not empty, provider_ids is not read.
    #[arg(skip)]
    pub providers: Vec<ProviderConfig>,

    /// Lifetime of a session, in days.
    #[arg(long, env = "FLOWSVAULT_SESSION_TTL_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=365))]
    pub session_ttl_days: u32,
}

impl Config {
    /// The sign-in providers: those given directly, else those the environment names.
    pub fn sign_in_providers(&self) -> anyhow::Result<Vec<ProviderConfig>> {
        if self.providers.is_empty() {
            providers_from_env(&self.provider_ids)
        } else {
            Ok(self.providers.clone())
        }
    }

    pub fn session_lifetime(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.session_ttl_days))
    }

    /// The database URL after the documented fallbacks.
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        let own = flowsvault_kit::config::secret_from_env("FLOWSVAULT_AUTH_DATABASE_URL")
            .context("reading the auth database url")?;
        let shared = match own.as_deref() {
            Some(url) if !url.is_empty() => None,
            _ => flowsvault_kit::config::secret_from_env("DATABASE_URL")
                .context("reading the database url")?,
        };
        Ok(choose_database_url(own, shared))
    }
}

/// The service's own URL wins over the shared `DATABASE_URL`, which wins over the default.
/// An empty variable counts as unset.
fn choose_database_url(own: Option<String>, shared: Option<String>) -> String {
    own.filter(|url| !url.is_empty())
        .or(shared.filter(|url| !url.is_empty()))
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_url_wins_over_the_shared_one() {
        let chosen = choose_database_url(
            Some("postgres://db/auth".to_owned()),
            Some("postgres://db/shared".to_owned()),
        );
        assert_eq!(chosen, "postgres://db/auth");
    }

    #[test]
    fn the_shared_url_is_used_when_the_service_has_none() {
        let chosen = choose_database_url(None, Some("postgres://db/shared".to_owned()));
        assert_eq!(chosen, "postgres://db/shared");
    }

    #[test]
    fn an_empty_service_url_counts_as_unset() {
        let chosen =
            choose_database_url(Some(String::new()), Some("postgres://db/shared".to_owned()));
        assert_eq!(chosen, "postgres://db/shared");
    }

    #[test]
    fn the_default_is_used_when_nothing_is_set() {
        assert_eq!(choose_database_url(None, None), DEFAULT_DATABASE_URL);
    }

    #[test]
    fn an_explicit_url_is_used_as_given() {
        let config = Config {
            listen_addr: "127.0.0.1:0".to_owned(),
            database_url: Some("postgres://db/explicit".to_owned()),
            database_pool_size: 1,
            provider_ids: Vec::new(),
            providers: Vec::new(),
            session_ttl_days: 30,
        };
        assert_eq!(config.database_url().unwrap(), "postgres://db/explicit");
    }
}
