//! storage-service: streams object bytes in and out of the configured backend. It knows
//! keys and bytes only; users, rows and expiry belong to file-service.

pub mod config;
pub mod error;
pub mod grpc;
pub mod staging;
pub mod stale;
pub mod startup;
pub mod store;
mod writer;
