use crate::state::AppState;
use axum::extract::State;
use crate::limits::RedisFallback;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use super::openapi::schemas::{Health, Ready};
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/ready", get(ready)).route("/metrics", get(metrics))
}

/// The process is up
#[utoipa::path(get, path = "/health", operation_id = "getHealth", tag = "Service",
    responses((status = 200, description = "Always, while the process runs", body = Health)))]
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
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
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let database = match state.store.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!("readiness check: database unreachable: {e}");
            "unreachable"
        }
    };
    let mut body = json!({ "database": database });
    let mut status = if database == "ok" { "ready" } else { "unavailable" };
    if let Some(redis) = state.limits.redis() {
        let answers = match redis.ping().await {
            Ok(()) => true,
            Err(e) => {
                redis.mark_down(&e);
                false
            }
        };
        body["redis"] = json!(if answers { "ok" } else { "unreachable" });
        if !answers && status == "ready" {
            status = match state.limits.fallback() {
                RedisFallback::Closed => "unavailable",
                RedisFallback::Local => "degraded",
            };
        }
        body["redis_fallback"] = json!(state.limits.fallback());
    }
    body["status"] = json!(status);
    let code = if status == "unavailable" { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (code, Json(body))
}

/// Prometheus metrics of this node
///
/// Gateway requests by API and status, refusals by reason, key cache hits and misses, Redis
/// and database latency, Redis reachability and change notices from other nodes.
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "Service",
    responses((status = 200, description = "The Prometheus text exposition format", content_type = "text/plain", body = String)))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render())
}
