//! Same-origin only for anything that changes the dashboard's state: server functions, sign-in
//! and sign-out. A signed-in admin's browser carries the session cookie wherever a page sends
//! it, so a page on another site must not be able to post in the admin's name.
//!
//! For every request that is not GET, HEAD or OPTIONS:
//! - `Sec-Fetch-Site`, when present, must be `same-origin` or `none` (typed by the user);
//! - `Origin`, when present, must be this dashboard's own origin (the scheme it is served over,
//!   `https` with `PORTCULLIS_SECURE_COOKIES`, and the request's `Host`);
//! - a request with neither (an older browser, or a script) must still not be a "simple"
//!   request that any page can send: server functions take only `Content-Type:
//!   application/json` (a browser sends that cross-site only after a CORS preflight, which is
//!   never granted), and anything else posted without JSON, i.e. the sign-in and sign-out forms,
//!   carries the anti-forgery token of its own cookie in the form field `csrf_token` (double
//!   submit; the cookie is `__Host-` prefixed over HTTPS so no sibling subdomain can plant it).
//!
//! Every page gets its token here (request extension `CsrfToken`, read by `CsrfField`).

use crate::state::AppState;
use app::backend::{find_cookie, CsrfToken, CSRF_FIELD};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The anti-forgery cookie over plain HTTP.
pub const CSRF_COOKIE: &str = "portcullis_csrf";
/// Its name over HTTPS: browsers accept it only `Secure`, for `/`, from this very host.
pub const SECURE_CSRF_COOKIE: &str = "__Host-portcullis_csrf";
/// A sign-in or sign-out form is a few hundred bytes.
const MAX_FORM_BYTES: usize = 16 * 1024;
/// Tokens are 32 hex digits; anything else in the cookie is replaced.
const TOKEN_HEX: usize = 32;

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("Cross-site request refused: Sec-Fetch-Site is `{0}`; the dashboard accepts changes only from its own pages")]
    CrossSite(String),
    #[error("Cross-origin request refused: Origin `{0}` is not this dashboard's origin ({1})")]
    ForeignOrigin(String, String),
    #[error("Server functions take only Content-Type: application/json")]
    NotJson,
    #[error("The form's anti-forgery token is missing or does not match its cookie: reload the page and try again")]
    Csrf,
    #[error("The form is larger than 16 KiB")]
    TooLarge,
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

pub fn csrf_cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_CSRF_COOKIE } else { CSRF_COOKIE }
}

/// The middleware (see the module).
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let secure = state.config.secure_cookies;
    let name = csrf_cookie_name(secure);
    let token = cookie_values(req.headers())
        .find_map(|h| find_cookie(h, name))
        .filter(|t| t.len() == TOKEN_HEX && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    if !is_safe(req.method()) {
        let wants_json = wants_json(&req);
        match check(req, secure, token.as_deref()).await {
            Ok(checked) => req = checked,
            Err(refusal) => return refuse(&refusal, wants_json),
        }
    }
    let fresh = token.is_none();
    let token = token.unwrap_or_else(|| crate::secrets::random_hex(TOKEN_HEX / 2));
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(req).await;
    // Only pages carry forms; assets and JSON need no token.
    if fresh && is_html(response.headers()) {
        response.headers_mut().append(header::SET_COOKIE, csrf_cookie_header(&token, secure));
    }
    response
}

/// Lets the request through, or says why not; a form's body is read to find its token.
async fn check(req: Request, secure: bool, cookie_token: Option<&str>) -> Result<Request, Refusal> {
    check_origin(req.headers(), secure)?;
    let json = is_json(req.headers());
    if req.uri().path().starts_with("/rpc/") {
        return if json { Ok(req) } else { Err(Refusal::NotJson) };
    }
    if json {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| Refusal::TooLarge)?;
    let field = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned());
    match (cookie_token, field) {
        (Some(cookie), Some(field)) if crate::auth::constant_time_eq(cookie.as_bytes(), field.as_bytes()) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(Refusal::Csrf),
    }
}

/// What the browser says about where the request comes from, when it says anything.
pub fn check_origin(headers: &HeaderMap, secure: bool) -> Result<(), Refusal> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = String::from_utf8_lossy(site.as_bytes()).into_owned();
        if !matches!(site.as_str(), "same-origin" | "none") {
            return Err(Refusal::CrossSite(site));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        let scheme = if secure { "https" } else { "http" };
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let own = format!("{scheme}://{host}");
        if host.is_empty() || !origin.eq_ignore_ascii_case(&own) {
            return Err(Refusal::ForeignOrigin(origin, own));
        }
    }
    Ok(())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn media_type(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name)?.to_str().ok()?.split(';').next().map(str::trim)
}

fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers, header::CONTENT_TYPE).is_some_and(|t| t.eq_ignore_ascii_case("application/json"))
}

fn is_html(headers: &HeaderMap) -> bool {
    media_type(headers, header::CONTENT_TYPE).is_some_and(|t| t.eq_ignore_ascii_case("text/html"))
}

fn wants_json(req: &Request) -> bool {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    req.uri().path().starts_with("/rpc/") || is_json(req.headers()) || accept.contains("application/json")
}

fn cookie_values(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok())
}

fn refuse(refusal: &Refusal, wants_json: bool) -> Response {
    let message = refusal.to_string();
    tracing::info!("dashboard request refused: {message}");
    if wants_json {
        (refusal.status(), axum::Json(json!({ "Status": "Error", "Message": message, "Meta": null }))).into_response()
    } else {
        (refusal.status(), message).into_response()
    }
}

/// HttpOnly (only the server renders it into forms), SameSite=Strict (never sent cross-site).
fn csrf_cookie_header(token: &str, secure: bool) -> HeaderValue {
    let name = csrf_cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    let value = format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&value).expect("cookie is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(*v));
        }
        h
    }

    #[test]
    fn origin_rules() {
        assert_eq!(check_origin(&headers(&[]), false), Ok(()));
        assert_eq!(check_origin(&headers(&[("sec-fetch-site", "same-origin")]), false), Ok(()));
        assert_eq!(check_origin(&headers(&[("sec-fetch-site", "none")]), false), Ok(()));
        assert!(matches!(check_origin(&headers(&[("sec-fetch-site", "same-site")]), false), Err(Refusal::CrossSite(_))));
        assert!(matches!(check_origin(&headers(&[("sec-fetch-site", "cross-site")]), false), Err(Refusal::CrossSite(_))));
        let own = headers(&[("host", "dash.example:3000"), ("origin", "http://dash.example:3000")]);
        assert_eq!(check_origin(&own, false), Ok(()));
        // Served over HTTPS, the plain-HTTP origin is another origin.
        assert!(matches!(check_origin(&own, true), Err(Refusal::ForeignOrigin(..))));
        let evil = headers(&[("host", "dash.example:3000"), ("origin", "http://evil.example")]);
        assert!(matches!(check_origin(&evil, false), Err(Refusal::ForeignOrigin(..))));
        let null = headers(&[("host", "dash.example"), ("origin", "null")]);
        assert!(matches!(check_origin(&null, false), Err(Refusal::ForeignOrigin(..))));
        let no_host = headers(&[("origin", "http://dash.example")]);
        assert!(matches!(check_origin(&no_host, false), Err(Refusal::ForeignOrigin(..))));
    }
}
