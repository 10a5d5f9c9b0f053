//! What every Flowsvault service repeats: telemetry, graceful shutdown, gRPC transport
//! settings and database start-up. Nothing domain-specific lives here.

pub mod config;
#[cfg(feature = "postgres")]
pub mod database;
pub mod grpc;
pub mod shutdown;
pub mod telemetry;
