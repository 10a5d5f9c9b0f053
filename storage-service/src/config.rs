//! Typed settings: defaults, then environment, then command line.

use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// A directory on local disk.
    Local,
    /// An S3-compatible object store (AWS S3, Cloudflare R2, MinIO, SeaweedFS, ...).
    S3,
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

    /// Directory of the staged bytes of resumable uploads (on this service's disk, for
    /// either backend); created when missing. Unset: `staging` next to the local root.
    #[arg(long, env = "FLOWSVAULT_STORAGE_STAGING_DIR")]
    pub staging_dir: Option<PathBuf>,

    /// Size of every multipart part but the last, in bytes (S3). Memory per upload is
    /// bounded by this times (parts in flight + 1).
    #[arg(long, env = "FLOWSVAULT_STORAGE_PART_SIZE", default_value_t = 8 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(5 * 1024 * 1024..=512 * 1024 * 1024))]
    pub part_size: u64,

    /// Bucket of the S3 backend.
    #[arg(long, env = "FLOWSVAULT_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// Endpoint of the S3 backend; unset means AWS itself. R2:
    /// https://<account>.r2.cloudflarestorage.com.
    #[arg(long, env = "FLOWSVAULT_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// Endpoint that clients reach the S3 backend at, used in presigned download URLs
    /// when the service itself reaches it by another address (e.g. inside a cluster).
    /// Unset: FLOWSVAULT_S3_ENDPOINT.
    #[arg(long, env = "FLOWSVAULT_S3_PUBLIC_ENDPOINT")]
    pub s3_public_endpoint: Option<String>,

    /// Region of the S3 backend (`auto` for R2).
    #[arg(long, env = "FLOWSVAULT_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// Allow a plain-http S3 endpoint (local test servers only).
    #[arg(long, env = "FLOWSVAULT_S3_ALLOW_HTTP", default_value_t = false, action = clap::ArgAction::Set)]
    pub s3_allow_http: bool,

    /// Address buckets as `bucket.host` instead of `host/bucket`.
    #[arg(long, env = "FLOWSVAULT_S3_VIRTUAL_HOSTED", default_value_t = false, action = clap::ArgAction::Set)]
    pub s3_virtual_hosted: bool,

    /// Access key of the S3 backend; falls back to AWS_ACCESS_KEY_ID, then to the
    /// environment's other AWS credential sources.
    #[arg(long, env = "FLOWSVAULT_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,

    /// Parts of one upload written concurrently (S3).
    #[arg(long, env = "FLOWSVAULT_STORAGE_PARTS_IN_FLIGHT", default_value_t = 2,
          value_parser = clap::value_parser!(u64).range(1..=16))]
    pub parts_in_flight: u64,
}

impl Config {
    /// The staging directory after its default.
    pub fn staging_dir(&self) -> PathBuf {
        self.staging_dir.clone().unwrap_or_else(|| {
            self.root
                .parent()
                .map_or_else(|| PathBuf::from("staging"), |parent| parent.join("staging"))
        })
    }

    /// Local-disk storage under `root` on a free loopback port, every other setting at
    /// its default: what tests and tools start.
    pub fn local_on_any_port(root: PathBuf) -> Self {
        Self {
            listen_addr: "127.0.0.1:0".into(),
            backend: Backend::Local,
            staging_dir: Some(root.join(".staging")),
            root,
            part_size: 8 * 1024 * 1024,
            parts_in_flight: 2,
            s3_bucket: None,
            s3_endpoint: None,
            s3_public_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_allow_http: false,
            s3_virtual_hosted: false,
            s3_access_key_id: None,
        }
    }

    /// The S3 secret: FLOWSVAULT_S3_SECRET_ACCESS_KEY, or the file named by
    /// FLOWSVAULT_S3_SECRET_ACCESS_KEY_FILE; else the AWS environment decides.
    pub fn s3_secret_access_key(&self) -> anyhow::Result<Option<String>> {
        flowsvault_kit::config::secret_from_env("FLOWSVAULT_S3_SECRET_ACCESS_KEY")
    }
}
