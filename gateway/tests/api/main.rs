//! End-to-end tests: the real gateway, auth-service, file-service and storage-service on
//! port 0, each test with its own databases and object directory, against the real
//! PostgreSQL named by FLOWSVAULT_TEST_DATABASE_URL.

mod abuse;
mod connections;
mod cors;
mod failures;
mod files;
mod github;
mod health;
mod helpers;
mod keys;
mod names;
mod profile;
mod quota;
mod rate_limits;
mod shares;
mod sign_in;
mod tus;
mod tus_clients;
mod upload;
mod web_ui;
