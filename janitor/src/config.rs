//! Typed settings: defaults, then environment, then command line.

use std::time::Duration;

#[derive(Clone, Debug, clap::Parser)]
#[command(name = "janitor", version, about = "Flowsvault janitor")]
pub struct Config {
    /// Address the gRPC server (health) listens on (port 0 picks a free port).
    #[arg(
        long,
        env = "FLOWSVAULT_JANITOR_ADDR",
        default_value = "127.0.0.1:50054"
    )]
    pub listen_addr: String,

    /// gRPC URL of file-service.
    #[arg(
        long,
        env = "FLOWSVAULT_FILES_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub files_url: String,

    /// gRPC URL of storage-service.
    #[arg(
        long,
        env = "FLOWSVAULT_STORAGE_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub storage_url: String,

    /// Seconds between passes.
    #[arg(long, env = "FLOWSVAULT_JANITOR_INTERVAL_SECS", default_value_t = 300)]
    pub interval_secs: u64,

    /// An upload still pending after this many seconds is taken as abandoned.
    #[arg(long, env = "FLOWSVAULT_STALE_UPLOAD_SECS", default_value_t = 6 * 3600)]
    pub stale_upload_secs: u64,

    /// Rows claimed per batch.
    #[arg(long, env = "FLOWSVAULT_JANITOR_BATCH", default_value_t = 100)]
    pub batch: u32,

    /// Seconds a claimed row stays reserved for this replica.
    #[arg(long, env = "FLOWSVAULT_JANITOR_LEASE_SECS", default_value_t = 300)]
    pub lease_secs: u64,
}

impl Config {
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs.max(1))
    }
}
