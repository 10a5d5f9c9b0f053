//! Typed settings: defaults, then environment, then command line.

use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// A directory on local disk.
    Local,
}

#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "storage-service",
    version,
    about = "Flowsvault storage service"
)]
pub struct Config {
    /// Address the gRPC server listens on (port 0 picks a free port).
    #[arg(
        long,
        env = "FLOWSVAULT_STORAGE_ADDR",
        default_value = "127.0.0.1:50053"
    )]
    pub listen_addr: String,

    /// Where objects are stored.
    #[arg(
        long,
        env = "FLOWSVAULT_STORAGE_BACKEND",
        value_enum,
        default_value = "local"
    )]
    pub backend: Backend,

    /// Directory of the local backend; created when missing.
    #[arg(
        long,
        env = "FLOWSVAULT_STORAGE_ROOT",
        default_value = "./data/objects"
    )]
    pub root: PathBuf,

    /// Size of every multipart part but the last, in bytes. Memory per upload is bounded by
    /// this times (parts in flight + 1).
    #[arg(long, env = "FLOWSVAULT_STORAGE_PART_SIZE", default_value_t = 8 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(5 * 1024 * 1024..=512 * 1024 * 1024))]
    pub part_size: u64,

    /// Parts of one upload written concurrently.
    #[arg(long, env = "FLOWSVAULT_STORAGE_PARTS_IN_FLIGHT", default_value_t = 2,
          value_parser = clap::value_parser!(u64).range(1..=16))]
    pub parts_in_flight: u64,
}
