use crate::metrics::Format;
use crate::state::AppState;
use axum::extract::State;
use crate::limits::RedisFallback;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use super::responses::{ApiResponse, Health, Reachable, Readiness, Ready};

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/ready", get(ready)).route("/metrics", get(metrics))
}

/// The process is up
#[utoipa::path(get, path = "/health", operation_id = "getHealth", tag = "Service",
    responses((status = 200, description = "Always, while the process runs", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The process can do its work: the database answers, and Redis too when clustered
///
/// With `PORTCULLIS_REDIS_FALLBACK=local`, an unreachable Redis leaves the node ready but
/// `degraded` (limits are counted per node until Redis is back).
#[utoipa::path(get, path = "/ready", operation_id = "getReady", tag = "Service",
    responses(
        (status = 200, description = "Ready (or degraded: Redis unreachable, counting locally)", body = Ready),
        (status = 503, description = "The database does not answer, or Redis does not and the gateway fails closed", body = Ready),
    ))]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Ready>) {
    let database = match state.health.database().await {
        Ok(()) => Reachable::Ok,
        Err(e) => {
            tracing::warn!("readiness check: database unreachable: {e}");
            Reachable::Unreachable
        }
    };
    let mut body = Ready {
        status: if database == Reachable::Ok { Readiness::Ready } else { Readiness::Unavailable },
        database,
        redis: None,
        redis_fallback: None,
    };
    if let Some(redis) = state.limits.redis() {
        let reached = match redis.ping().await {
            Ok(()) => Reachable::Ok,
            Err(e) => {
                redis.mark_down(&e);
                Reachable::Unreachable
            }
        };
        if reached == Reachable::Unreachable && body.status == Readiness::Ready {
            body.status = match state.limits.fallback() {
                RedisFallback::Closed => Readiness::Unavailable,
                RedisFallback::Local => Readiness::Degraded,
            };
        }
        body.redis = Some(reached);
        body.redis_fallback = Some(state.limits.fallback());
    }
    let code = if body.status == Readiness::Unavailable { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (code, Json(body))
}

/// Prometheus metrics of this node
///
/// Gateway requests by API and status, refusals by reason, key cache hits and misses, Redis
/// and database latency, Redis reachability and change notices from other nodes. They name
/// every organisation's APIs, so they are not public: on this port only with
/// `PORTCULLIS_METRICS_TOKEN` (`Authorization: Bearer <token>`); with
/// `PORTCULLIS_METRICS_LISTEN` only on that address (no token there); else not served.
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "Service",
    security(("metrics_auth" = [])),
    responses(
        (status = 200, description = "The Prometheus text exposition format; OpenMetrics when `Accept` names `application/openmetrics-text`", content_type = "text/plain", body = String),
        (status = 401, description = "No `Authorization: Bearer` with the metrics token", body = ApiResponse),
        (status = 404, description = "Not served on this port (no metrics token, or a metrics listener of its own)", body = ApiResponse),
    ))]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let security = &state.config.security;
    let Some(token) = security.metrics_token.as_ref().filter(|_| security.metrics_listen.is_none()) else {
        return error(StatusCode::NOT_FOUND, "/metrics is not served on this port: set PORTCULLIS_METRICS_TOKEN, or PORTCULLIS_METRICS_LISTEN for a listener of its own");
    };
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("").trim();
    let bearer = given.get(..7).filter(|p| p.eq_ignore_ascii_case("bearer ")).map(|_| given[7..].trim());
    match bearer {
        Some(b) if crate::auth::constant_time_eq(b.as_bytes(), token.expose().as_bytes()) => exposition(&state, &headers).into_response(),
        _ => {
            let mut response = error(StatusCode::UNAUTHORIZED, "/metrics needs Authorization: Bearer <PORTCULLIS_METRICS_TOKEN>");
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            response
        }
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(ApiResponse::error(message))).into_response()
}

/// `/metrics` on the metrics listener (`PORTCULLIS_METRICS_LISTEN`): whoever reaches that
/// address may read them.
pub fn listener_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(|State(state): State<AppState>, headers: HeaderMap| async move { exposition(&state, &headers) }))
        .with_state(state)
}

/// OpenMetrics for a client that asks for it (Prometheus does), else the classic text format.
fn exposition(state: &AppState, headers: &HeaderMap) -> impl IntoResponse {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    ([(header::CONTENT_TYPE, format.content_type())], state.metrics.render(format))
}
