//! The contracts between Flowsvault services: the gRPC API generated from `proto/`, the
//! one error-code table that both gRPC and HTTP speak, and the vocabulary every service
//! must agree on (file names, durations).

mod callback;
mod duration;
pub mod error;
mod file_name;
mod time;

pub use callback::safe_callback_path;
pub use duration::{FileDuration, InvalidDuration};
pub use error::ErrorCode;
pub use file_name::{EmptyFileName, FileName, MAX_NAME_BYTES};
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

pub mod janitor {
    pub mod v1 {
        tonic::include_proto!("flowsvault.janitor.v1");
    }
}

pub mod storage {
    pub mod v1 {
        tonic::include_proto!("flowsvault.storage.v1");
    }
}
