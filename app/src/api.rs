//! Server functions: thin wrappers that find the session and call the backend port.

use crate::model::{AppError, Profile};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod session {
    use crate::backend::{session_cookie, SharedBackend};
    use crate::model::AppError;

    pub fn backend() -> Result<SharedBackend, AppError> {
        leptos::prelude::use_context::<SharedBackend>()
            .ok_or_else(|| AppError::Internal("dashboard backend missing from context".into()))
    }

    /// The value of the session cookie of the request being served.
    pub async fn token() -> Result<String, AppError> {
        let parts: http::request::Parts = leptos_axum::extract()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        parts
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(session_cookie)
            .map(str::to_owned)
            .ok_or(AppError::Unauthenticated)
    }
}

/// The signed-in user, or `Unauthenticated`.
#[server]
pub async fn get_profile() -> Result<Profile, AppError> {
    let token = session::token().await?;
    session::backend()?.profile(&token).await?.ok_or(AppError::Unauthenticated)
}

/// Replaces the user's REST API credential; the new one is returned this once.
#[server]
pub async fn regenerate_credential() -> Result<String, AppError> {
    let token = session::token().await?;
    session::backend()?.regenerate_credential(&token).await
}
