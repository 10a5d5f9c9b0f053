//! Newtypes that parse input once at the boundary; below it, values are valid.

pub mod api_key;
pub mod session;
pub mod user;

pub use api_key::{ApiKey, ApiKeyName, CheckedKeys, KeyExpiry, KeyHash};
pub use session::SessionToken;
pub use user::{Email, UserName};
