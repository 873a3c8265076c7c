//! How the REST APIs find their caller in a request (`auth::ApiUser`, `auth::Admin`), and refuse
//! one in the Dashboard API's envelope.

use super::authorise::Authorised;
use super::error::DashboardError;
use crate::auth::{constant_time_eq, strip_bearer, Admin, ApiUser};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Already found (and its permissions checked) by `rest::authorise`.
        if let Some(Authorised(user)) = parts.extensions.get::<Authorised>() {
            return Ok(ApiUser(user.clone()));
        }
        let credential = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(strip_bearer)
            .unwrap_or_default();
        match state.accounts.user_by_credential(credential).await? {
            Some(user) => Ok(ApiUser(user)),
            None => Err(DashboardError::NotAuthorised),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(secret) = &state.config.admin_secret else {
            return Err(DashboardError::AdminDisabled);
        };
        let given = parts.headers.get("admin-auth").map(|v| v.as_bytes()).unwrap_or_default();
        if constant_time_eq(given, secret.expose().as_bytes()) {
            Ok(Admin)
        } else {
            Err(DashboardError::NotAuthorised)
        }
    }
}
