//! The types shared by the server and the browser. Nothing here knows SQL, axum or Redis.

mod error;
mod ids;
mod user;

pub use error::AppError;
pub use ids::{OrgId, UserId};
pub use user::{validate_password, Profile, MIN_PASSWORD_LEN};
