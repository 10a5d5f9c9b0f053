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

    /// PostgreSQL URL of this service's database (created when missing). Falls back to
    /// DATABASE_URL, then to postgres://postgres@127.0.0.1:5432/flowsvault.
    #[arg(long, env = "FLOWSVAULT_FILES_DATABASE_URL")]
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
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/flowsvault".to_owned())
    }
}
