//! file-service: owns file metadata (`file_metadata`) and the upload state machine
//! pending → active, or pending → failed, and active → deleted → purged.

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod repository;
pub mod schema;
pub mod startup;
