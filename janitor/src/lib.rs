//! janitor: on a schedule, removes the objects of expired files, failed uploads and
//! deleted files, resolves uploads left pending by a crash, removes dead share links and,
//! less often, objects that no record names (orphans). It talks to file-service and
//! storage-service over gRPC only, and is safe to run as several replicas and to kill
//! at any point: rows are claimed with a lease and purged only after their object is gone.

pub mod config;
pub mod metrics;
pub mod pass;
pub mod startup;
