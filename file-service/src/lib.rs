//! file-service: owns file metadata (`file_metadata`) and the upload state machine
//! pending → active, or pending → failed, and active → deleted → purged; and the share
//! links to files (`file_shares`, `file_share_grants`).

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod repository;
pub mod schema;
pub mod sharing;
pub mod startup;
