//! `POST /auth/login` and `POST /auth/logout`. Browsers post the sign-in form and are
//! redirected; scripts and tests post JSON and get JSON with a status code.

use crate::accounts::{SignInError, SESSION_TTL_SECS};
use crate::rest::responses::{ApiResponse, Meta, User};
use crate::state::AppState;
use app::backend::{session_cookie, session_cookie_name};
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/login", post(login)).route("/auth/logout", post(logout))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct Credentials {
    #[schema(required = true)]
    #[serde(default)]
    email: String,
    #[schema(required = true)]
    #[serde(default)]
    password: String,
}

/// Which door the request came through decides how to answer it.
#[derive(Clone, Copy)]
enum Client {
    Browser,
    Json,
}

/// Sign in to the dashboard
///
/// Sets the session cookie. A JSON body gets a JSON answer; the sign-in form (a form body) is
/// redirected to `/`, or back to `/login` with the reason. Same-origin only: a form needs the
/// `csrf_token` field of its page (matching its cookie); a JSON body needs no token, but a
/// browser's `Origin` or `Sec-Fetch-Site` must say it comes from the dashboard itself.
#[utoipa::path(post, path = "/auth/login", operation_id = "login", tag = "Service",
    request_body(content((Credentials = "application/json"), (Credentials = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "`Signed in`; the user in `Meta`, the session in a `Set-Cookie`", body = ApiResponse),
        (status = 303, description = "A form was posted: to `/` when signed in, else back to `/login`"),
        (status = 400, description = "The email or password is missing or the email is over 254 characters, or the body is not JSON", body = ApiResponse),
        (status = 401, description = "Wrong email or password", body = ApiResponse),
        (status = 403, description = "Cross-site request, or a form without its anti-forgery token", body = ApiResponse),
        (status = 429, description = "Too many failed attempts; `Retry-After` says how long to wait", body = ApiResponse),
        (status = 503, description = "The database did not answer", body = ApiResponse),
    ))]
async fn login(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let (client, creds) = if is_json {
        match Json::<Credentials>::from_request(req, &state).await {
            Ok(Json(c)) => (Client::Json, c),
            Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("Request body malformed: {}", e.body_text())),
        }
    } else {
        match Form::<Credentials>::from_request(req, &state).await {
            Ok(Form(c)) => (Client::Browser, c),
            Err(_) => (Client::Browser, Credentials::default()),
        }
    };

    if creds.email.trim().is_empty() || creds.password.is_empty() {
        return match client {
            Client::Json => json_error(StatusCode::BAD_REQUEST, "email and password are required"),
            Client::Browser => back_to_login(&[("error", "missing"), ("email", creds.email.trim())]),
        };
    }

    match state.accounts.sign_in(&creds.email, &creds.password, peer.ip()).await {
        Ok((token, user)) => {
            let cookie = session_cookie_header(&token, SESSION_TTL_SECS, state.config.secure_cookies);
            let mut response = match client {
                Client::Json => Json(ApiResponse::ok("Signed in", Meta::User(Box::new(User::from(&user))))).into_response(),
                Client::Browser => Redirect::to("/").into_response(),
            };
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(SignInError::Invalid) => match client {
            Client::Json => json_error(StatusCode::UNAUTHORIZED, "Wrong email or password"),
            Client::Browser => back_to_login(&[("error", "invalid"), ("email", creds.email.trim())]),
        },
        Err(e @ SignInError::EmailTooLong) => match client {
            Client::Json => json_error(StatusCode::BAD_REQUEST, &e.to_string()),
            // Not echoed back: it would make an over-long URL.
            Client::Browser => back_to_login(&[("error", "invalid")]),
        },
        Err(e @ SignInError::Throttled(wait)) => {
            let secs = wait.as_secs().max(1).to_string();
            let mut response = match client {
                Client::Json => json_error(StatusCode::TOO_MANY_REQUESTS, &e.to_string()),
                Client::Browser => back_to_login(&[("error", "throttled"), ("retry", &secs), ("email", creds.email.trim())]),
            };
            if let Ok(v) = HeaderValue::from_str(&secs) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Err(SignInError::Store(e)) => {
            tracing::error!("sign-in: {e}");
            json_error(StatusCode::SERVICE_UNAVAILABLE, "Sign-in is unavailable: the database did not answer")
        }
    }
}

/// Sign out
///
/// Ends the session of the cookie sent, if any. Same-origin only, like sign-in: a form needs its
/// `csrf_token`; a script sends `Content-Type: application/json`.
#[utoipa::path(post, path = "/auth/logout", operation_id = "logout", tag = "Service",
    responses(
        (status = 200, description = "`Signed out` (when `Accept` includes `application/json`)", body = ApiResponse),
        (status = 303, description = "Otherwise: to `/login`"),
        (status = 403, description = "Cross-site request, or a form without its anti-forgery token", body = ApiResponse),
    ))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let name = session_cookie_name(state.config.secure_cookies);
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session_cookie(h, name));
    if let Some(token) = token {
        if let Err(e) = state.accounts.sign_out(token).await {
            tracing::error!("sign-out: {e}");
        }
    }
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    let mut response = if wants_json {
        Json(ApiResponse::ok("Signed out", Meta::None)).into_response()
    } else {
        Redirect::to("/login").into_response()
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie_header("", 0, state.config.secure_cookies));
    response
}

/// HttpOnly (no script can read it), SameSite=Lax (no other site can post with it; Strict
/// would also drop it from links followed from other sites, e.g. a key's page linked from a
/// ticket, which are GETs that change nothing). Over HTTPS: `__Host-` name, `Secure`, `Path=/`
/// and no `Domain`, so only this host can set or overwrite it.
fn session_cookie_header(token: &str, max_age: i64, secure: bool) -> HeaderValue {
    let name = session_cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    let value = format!("{name}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&value).expect("cookie is ASCII")
}

fn back_to_login(params: &[(&str, &str)]) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    Redirect::to(&format!("/login?{query}")).into_response()
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(ApiResponse::error(message))).into_response()
}
