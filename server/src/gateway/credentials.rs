//! Finding the credential in a request: the key (header, query parameter or cookie), a
//! basic-auth username and password.

use super::registry::LiveApi;
use axum::http::{header, HeaderMap};

/// Where a key was found, so the proxy can remove it before forwarding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Header(String),
    Param(String),
    Cookie(String),
}

/// The key presented for a standard-auth API, as Tyk finds it (§4.2): the API's header
/// (`Bearer ` stripped), overridden by the query parameter, overridden by the cookie.
pub fn api_key(api: &LiveApi, headers: &HeaderMap, query: Option<&str>) -> Option<(String, Source)> {
    let mut found = headers
        .get(api.auth_header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(|v| crate::auth::strip_bearer(v).to_owned())
        .filter(|v| !v.is_empty())
        .map(|k| (k, Source::Header(api.auth_header.clone())));
    let auth = &api.def.auth;
    if auth.use_param {
        let name = if auth.param_name.is_empty() { api.auth_header.as_str() } else { auth.param_name.as_str() };
        if let Some(v) = query.and_then(|q| query_param(q, name)).filter(|v| !v.is_empty()) {
            found = Some((v, Source::Param(name.to_owned())));
        }
    }
    if auth.use_cookie {
        let name = if auth.cookie_name.is_empty() { api.auth_header.as_str() } else { auth.cookie_name.as_str() };
        if let Some(v) = cookie(headers, name).filter(|v| !v.is_empty()) {
            found = Some((v, Source::Cookie(name.to_owned())));
        }
    }
    found
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.into_owned())
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// `Authorization: Basic base64(user:password)`. Split at the first ':' (a password may
/// contain ':', a username may not).
pub fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    (!user.is_empty()).then(|| (user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_credentials() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic YW5uOnM6ZWNyZXQ=")); // ann:s:ecret
        assert_eq!(basic(&h), Some(("ann".into(), "s:ecret".into())));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic(&h), None);
    }

    #[test]
    fn params() {
        assert_eq!(query_param("a=1&authorization=k%20y", "Authorization").as_deref(), Some("k y"));
    }
}
