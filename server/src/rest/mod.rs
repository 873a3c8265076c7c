//! The Tyk-compatible REST APIs: the Dashboard API (`/api`, a user's credential) and the
//! Dashboard Admin API (`/admin`, the `Admin-Auth` secret); plus health checks.

pub mod activity;
pub mod admin;
pub mod apis;
pub mod audit;
pub mod authorise;
pub mod callers;
pub mod error;
pub mod gateway_error;
pub mod health;
pub mod json;
pub mod keys;
pub mod keys_bulk;
pub mod openapi;
pub mod policies;
pub mod query;
pub mod responses;
pub mod tyk;
pub mod users;

use crate::state::AppState;
use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::any;
use axum::Router;

pub use app::model::format::rfc3339;

/// Bodies larger than this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every route; `/api` ones pass through the permission check (`authorise`).
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(admin::router())
        .merge(users::router())
        .merge(apis::router())
        .merge(keys::router())
        .merge(keys_bulk::router())
        .merge(policies::router())
        .merge(audit::router())
        .merge(activity::router())
        .merge(tyk::router())
        .merge(openapi::router())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), authorise::authorise))
        // After the permission check, which would otherwise ask for a credential first.
        .merge(unknown_paths())
        .method_not_allowed_fallback(|method: Method, uri: Uri| async move {
            let message = format!("Method not allowed: {} does not take {method}", uri.path());
            if uri.path().starts_with("/tyk/") {
                gateway_error::GatewayApiError::new(StatusCode::METHOD_NOT_ALLOWED, message).into_response()
            } else {
                error::DashboardError::MethodNotAllowed(message).into_response()
            }
        })
}

/// Each API's own 404 for a path it does not have, whatever the method or credential: without
/// these the dashboard's fallback would send the client to its sign-in page.
fn unknown_paths() -> Router<AppState> {
    let dashboard = any(|method: Method, uri: Uri| async move {
        error::DashboardError::NotFound(format!("Not found: {method} {} is not part of this API", uri.path()))
    });
    let gateway = any(|method: Method, uri: Uri| async move {
        gateway_error::GatewayApiError::new(StatusCode::NOT_FOUND, format!("Not found: {method} {} is not part of this API", uri.path()))
    });
    Router::new()
        .route("/api", dashboard.clone())
        .route("/api/{*rest}", dashboard.clone())
        .route("/admin", dashboard.clone())
        .route("/admin/{*rest}", dashboard)
        .route("/tyk", gateway.clone())
        .route("/tyk/{*rest}", gateway)
}

/// Items per page of Tyk's paginated lists.
pub const PAGE_SIZE: i64 = 10;

/// Tyk's `p` query parameter: pages count from 1; a negative page means everything.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page, from 1 (10 items a page); a negative page lists everything.
    pub p: Option<i64>,
    /// Only those whose name (an API's listen path, a policy's id) contains this,
    /// case-insensitively.
    #[serde(default)]
    pub q: String,
}

impl PageQuery {
    /// (limit, offset) for the store.
    pub fn window(&self) -> (i64, i64) {
        match self.p {
            Some(p) if p < 0 => (i64::MAX, 0),
            Some(p) => (PAGE_SIZE, (p.max(1) - 1) * PAGE_SIZE),
            None => (PAGE_SIZE, 0),
        }
    }
}

/// How many pages `total` items fill.
pub fn pages(total: i64) -> i64 {
    (total + PAGE_SIZE - 1) / PAGE_SIZE
}
