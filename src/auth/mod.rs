//! Who is calling: API keys (hashed, shown once), dashboard users and their sessions.

pub mod api_keys;
pub mod error;
pub mod invitations;
pub mod members;
pub mod passwords;
pub mod sessions;
pub mod throttle;
pub mod tokens;

pub use error::{AuthError, AuthResult};
