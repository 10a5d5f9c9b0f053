//! The gRPC contracts between Flowsvault services, generated from `proto/`, and the one
//! error-code table that both gRPC and HTTP speak.

pub mod error;
mod time;

pub use error::ErrorCode;
pub use time::{from_timestamp, to_timestamp};

pub mod auth {
    pub mod v1 {
        tonic::include_proto!("flowsvault.auth.v1");
    }
}

pub mod files {
    pub mod v1 {
        tonic::include_proto!("flowsvault.files.v1");
    }
}

pub mod storage {
    pub mod v1 {
        tonic::include_proto!("flowsvault.storage.v1");
    }
}
