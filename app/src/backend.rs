//! The port through which the dashboard reaches the server's services (server side only).
//! The server implements it and provides it as context; server functions call it and nothing else.

use crate::model::{AppError, Profile};
use std::sync::Arc;

#[async_trait::async_trait]
pub trait DashboardBackend: Send + Sync + 'static {
    /// The signed-in user behind a session cookie's value, if the session is valid.
    async fn profile(&self, session_token: &str) -> Result<Option<Profile>, AppError>;
    /// Replaces the user's REST credential and returns the new one, in clear, this once.
    async fn regenerate_credential(&self, session_token: &str) -> Result<String, AppError>;
}

pub type SharedBackend = Arc<dyn DashboardBackend>;

/// The name of the cookie that carries a dashboard session.
pub const SESSION_COOKIE: &str = "portcullis_session";

/// Finds the session cookie in a `Cookie` header value.
pub fn session_cookie(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie() {
        assert_eq!(session_cookie("a=1; portcullis_session=abc; b=2"), Some("abc"));
        assert_eq!(session_cookie("portcullis_session="), None);
        assert_eq!(session_cookie("xportcullis_session=abc"), None);
    }
}
