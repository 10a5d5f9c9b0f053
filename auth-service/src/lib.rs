//! auth-service: users, sessions and API keys. It signs people in through OpenID Connect
//! providers and GitHub, opens and checks sessions, issues and verifies API keys and
//! deletes accounts; it alone reads and writes these tables.

pub mod accounts;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod repository;
pub mod schema;
pub mod sign_in;
pub mod startup;
pub mod testing;
