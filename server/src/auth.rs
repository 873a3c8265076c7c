//! Who is calling: the extractors for the three kinds of caller of the REST APIs.

use crate::rest::error::DashboardError;
use crate::state::AppState;
use crate::store::UserRow;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// A dashboard user authenticated by the REST credential in `Authorization` (raw, as Tyk's
/// docs send it, or as `Bearer <credential>`).
pub struct ApiUser(pub UserRow);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Already found (and its permissions checked) by `rest::authorise`.
        if let Some(crate::rest::authorise::Authorised(user)) = parts.extensions.get::<crate::rest::authorise::Authorised>() {
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

/// A caller of `/admin` holding the `Admin-Auth` secret.
pub struct Admin;

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

/// `Bearer xyz` → `xyz` (case-insensitive, as Tyk does); anything else unchanged.
pub fn strip_bearer(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ => value,
    }
}

/// Compares secrets without revealing, through timing, how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer() {
        assert_eq!(strip_bearer("Bearer abc"), "abc");
        assert_eq!(strip_bearer("bearer abc"), "abc");
        assert_eq!(strip_bearer("abc"), "abc");
        assert_eq!(strip_bearer("Bearer"), "Bearer");
    }

    #[test]
    fn ct_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
