//! gateway: the only public door. It authenticates each request, validates it, and
//! forwards it to the services over gRPC, streaming bytes both ways. It keeps no
//! durable state, so any number of replicas can run.

pub mod auth;
pub mod backends;
pub mod body_pace;
pub mod client_ip;
pub mod config;
pub mod connections;
pub mod content_disposition;
pub mod cors;
pub mod metrics;
pub mod problem;
pub mod rate_limit;
pub mod request_id;
pub mod routes;
pub mod startup;
pub mod validation;
