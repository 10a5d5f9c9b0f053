//! auth-service: users and API keys. It issues keys, verifies presented keys and makes
//! sure a user exists for an email address; it alone reads and writes these tables.

pub mod accounts;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod repository;
pub mod schema;
pub mod startup;
