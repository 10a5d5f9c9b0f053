//! Typed settings: defaults, then environment, then command line.

#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "file-service",
    version,
    about = "Flowsvault file metadata service"
)]
pub struct Config {
    /// Address the gRPC server listens on (port 0 picks a free port).
    #[arg(long, env = "FLOWSVAULT_FILES_ADDR", default_value = "127.0.0.1:50052")]
    pub listen_addr: String,

    /// PostgreSQL URL of this service's database (created when missing). When unset: the
    /// file named by FLOWSVAULT_FILES_DATABASE_URL_FILE, else DATABASE_URL (or the file
    /// named by DATABASE_URL_FILE), else postgres://postgres@127.0.0.1:5432/flowsvault.
    #[arg(long, env = "FLOWSVAULT_FILES_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Most connections the pool opens.
    #[arg(
        long,
        env = "FLOWSVAULT_FILES_DATABASE_POOL_SIZE",
        default_value_t = 16
    )]
    pub database_pool_size: usize,
}

impl Config {
    /// The database URL after the documented fallbacks; an empty value counts as unset.
    pub fn database_url(&self) -> anyhow::Result<String> {
        let from_files = |name: &str| -> anyhow::Result<Option<String>> {
            Ok(flowsvault_kit::config::secret_from_env(name)?.filter(|url| !url.is_empty()))
        };
        if let Some(url) = self.database_url.clone().filter(|url| !url.is_empty()) {
            return Ok(url);
        }
        Ok(from_files("FLOWSVAULT_FILES_DATABASE_URL")?
            .or(from_files("DATABASE_URL")?)
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/flowsvault".to_owned()))
    }
}
