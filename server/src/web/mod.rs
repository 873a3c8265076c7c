//! The dashboard: Leptos pages rendered on the server, their server functions, the sign-in
//! and sign-out endpoints, and the rule that pages need a signed-in user.

mod backend;
pub mod headers;
pub mod same_origin;
pub(crate) mod signin;
pub mod usage;

use crate::state::AppState;
use app::backend::{session_cookie, session_cookie_name, SessionCookieName, SharedBackend};
use app::{shell, App};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;

pub fn router(state: &AppState) -> Router<AppState> {
    let backend: SharedBackend = Arc::new(backend::DashboardService::new(
        state.accounts.clone(),
        state.keys.clone(),
        state.policies.clone(),
        state.apis.clone(),
        // The gateway's recorded traffic, read as the REST activity API reads it.
        Arc::new(state.reports.clone()),
    ));
    let routes = generate_route_list(App);
    let leptos = state.leptos.clone();
    let cookie_name = SessionCookieName(session_cookie_name(state.config.secure_cookies));
    let context = move || {
        provide_context(backend.clone());
        provide_context(cookie_name);
        headers::provide_nonce();
    };
    Router::new()
        .leptos_routes_with_context(state, routes, context.clone(), move || shell(leptos.clone()))
        .merge(signin::router())
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(middleware::from_fn_with_state(state.clone(), require_session))
        // Outermost: a refused cross-site request never reaches the session check or a handler.
        .layer(middleware::from_fn_with_state(state.clone(), same_origin::guard))
        .layer(middleware::from_fn(headers::security_headers))
}

/// Paths anyone may load: the sign-in page, its assets, and the endpoints that check
/// credentials themselves.
fn is_public(path: &str) -> bool {
    const PREFIXES: [&str; 4] = ["/pkg/", "/auth/", "/rpc/", "/favicon"];
    path == "/login" || PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Sends a browser without a valid session to the sign-in page before any page renders.
async fn require_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let name = session_cookie_name(state.config.secure_cookies);
    let token = req
        .headers()
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session_cookie(h, name))
        .map(str::to_owned);
    let signed_in = match token {
        Some(t) => matches!(state.accounts.session_user(&t).await, Ok(Some(_))),
        None => false,
    };
    if signed_in {
        next.run(req).await
    } else {
        Redirect::to("/login").into_response()
    }
}
