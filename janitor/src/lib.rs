//! janitor: on a schedule, removes the objects of failed uploads and deleted files and
//! resolves uploads left pending by a crash. It talks to file-service and
//! storage-service over gRPC only, and is safe to run as several replicas and to kill
//! at any point: rows are claimed with a lease and purged only after their object is gone.

pub mod config;
pub mod pass;
pub mod startup;
