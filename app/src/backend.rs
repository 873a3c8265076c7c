//! The port through which the dashboard reaches the server's services (server side only).
//! The server implements it and provides it as context; server functions call it and nothing else.
//! Every method takes the session cookie's value and acts for that user, in its organisation.

use crate::model::{
    ApiDetail, ApiForm, ApiSummary, AppError, CreatedKey, FormOptions, KeyDetail, KeyForm, KeyHash, KeyListQuery,
    KeyPage, KeyUsage, PolicyDetail, PolicyForm, PolicySummary, Profile, UsageWindow, UserForm, UserSummary,
};
use std::sync::Arc;

#[async_trait::async_trait]
pub trait DashboardBackend: Send + Sync + 'static {
    /// The signed-in user behind a session cookie's value, if the session is valid.
    async fn profile(&self, session_token: &str) -> Result<Option<Profile>, AppError>;
    /// Replaces the user's REST credential and returns the new one, in clear, this once.
    async fn regenerate_credential(&self, session_token: &str) -> Result<String, AppError>;

    // ---- users of the organisation (admins, or `users` permission) ----
    async fn list_users(&self, session_token: &str) -> Result<Vec<UserSummary>, AppError>;
    /// Creates a user in the caller's organisation.
    async fn create_user(&self, session_token: &str, form: UserForm) -> Result<UserSummary, AppError>;
    /// Changes a user's names, state, permissions, and password when one is given.
    async fn update_user(&self, session_token: &str, user_id: &str, form: UserForm) -> Result<(), AppError>;
    /// Replaces another user's REST credential (admins only) and returns it, in clear, this once.
    async fn reset_user_credential(&self, session_token: &str, user_id: &str) -> Result<String, AppError>;

    // ---- keys ----
    async fn list_keys(&self, session_token: &str, query: KeyListQuery) -> Result<KeyPage, AppError>;
    async fn key_detail(&self, session_token: &str, key_hash: &str) -> Result<KeyDetail, AppError>;
    /// The hash of a key given by its exact value (or a basic-auth username).
    async fn lookup_key(&self, session_token: &str, key: &str) -> Result<KeyHash, AppError>;
    /// Creates a key; what it returns is the only time the key (and HMAC secret) is shown.
    async fn create_key(&self, session_token: &str, form: KeyForm) -> Result<CreatedKey, AppError>;
    /// Replaces a key's settings; `suppress_reset` keeps its quota usage.
    /// Answers the HMAC secret this update made (HMAC turned on), the one time it is shown.
    async fn update_key(&self, session_token: &str, key_hash: &str, form: KeyForm, suppress_reset: bool) -> Result<Option<String>, AppError>;
    async fn set_key_active(&self, session_token: &str, key_hash: &str, active: bool) -> Result<(), AppError>;
    async fn delete_key(&self, session_token: &str, key_hash: &str) -> Result<(), AppError>;
    /// Requests and errors over a window (analytics; empty until requests are recorded).
    async fn key_usage(&self, session_token: &str, key_hash: &str, window: UsageWindow) -> Result<KeyUsage, AppError>;
    /// The APIs and policies the forms offer.
    async fn form_options(&self, session_token: &str) -> Result<FormOptions, AppError>;

    // ---- policies ----
    async fn list_policies(&self, session_token: &str) -> Result<Vec<PolicySummary>, AppError>;
    async fn policy_detail(&self, session_token: &str, id: &str) -> Result<PolicyDetail, AppError>;
    /// Creates (`id` None) or replaces a policy; returns its id.
    async fn save_policy(&self, session_token: &str, id: Option<String>, form: PolicyForm) -> Result<String, AppError>;
    /// Deletes a policy; returns how many keys named it.
    async fn delete_policy(&self, session_token: &str, id: &str) -> Result<i64, AppError>;

    // ---- APIs ----
    async fn list_apis(&self, session_token: &str) -> Result<Vec<ApiSummary>, AppError>;
    async fn api_detail(&self, session_token: &str, api_id: &str) -> Result<ApiDetail, AppError>;
    /// Creates (`api_id` None) or replaces an API; returns its api_id.
    async fn save_api(&self, session_token: &str, api_id: Option<String>, form: ApiForm) -> Result<String, AppError>;
    /// Refused while keys grant the API.
    async fn delete_api(&self, session_token: &str, api_id: &str) -> Result<(), AppError>;
}

pub type SharedBackend = Arc<dyn DashboardBackend>;

/// The name of the cookie that carries a dashboard session.
pub const SESSION_COOKIE: &str = "portcullis_session";
/// Its name when the dashboard is served over HTTPS: the `__Host-` prefix makes browsers refuse
/// it unless it is `Secure`, for `/`, and set by this very host (no sibling subdomain can plant it).
pub const SECURE_SESSION_COOKIE: &str = "__Host-portcullis_session";
/// Every name a dashboard session cookie can have: the gateway never forwards these to an
/// upstream, nor lets an upstream set them.
pub const SESSION_COOKIE_NAMES: [&str; 2] = [SESSION_COOKIE, SECURE_SESSION_COOKIE];

/// The session cookie's name: the `__Host-` one when the dashboard is served over HTTPS
/// (`PORTCULLIS_SECURE_COOKIES`); only that name is accepted then.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }
}

/// Which session cookie name this server uses, provided as context to server functions.
#[derive(Clone, Copy, Debug)]
pub struct SessionCookieName(pub &'static str);

/// Finds the cookie `name` in a `Cookie` header value (empty values count as absent).
pub fn find_cookie<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// Finds the session cookie (named `name`, see `session_cookie_name`) in a `Cookie` header value.
pub fn session_cookie<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    find_cookie(cookie_header, name)
}

/// The sign-in and sign-out forms' anti-forgery token: the server puts it in the request's
/// extensions (from its own cookie, or new), and the forms render it in a hidden field named
/// `CSRF_FIELD`; the server accepts a form only when field and cookie agree (double submit).
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// The hidden form field that carries the `CsrfToken`.
pub const CSRF_FIELD: &str = "csrf_token";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie() {
        assert_eq!(session_cookie("a=1; portcullis_session=abc; b=2", SESSION_COOKIE), Some("abc"));
        assert_eq!(session_cookie("portcullis_session=", SESSION_COOKIE), None);
        assert_eq!(session_cookie("xportcullis_session=abc", SESSION_COOKIE), None);
        // Over HTTPS only the __Host- name counts: a sibling subdomain can plant the plain one.
        let secure = session_cookie_name(true);
        assert_eq!(session_cookie("portcullis_session=abc", secure), None);
        assert_eq!(session_cookie("__Host-portcullis_session=abc", secure), Some("abc"));
    }
}
