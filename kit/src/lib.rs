//! What every Flowsvault service repeats: telemetry, graceful shutdown, gRPC transport
//! settings, database start-up, random secrets and the metrics endpoint. Nothing domain-specific lives here.

pub mod config;
#[cfg(feature = "postgres")]
pub mod database;
pub mod grpc;
pub mod metrics;
pub mod secret;
pub mod shutdown;
pub mod telemetry;
