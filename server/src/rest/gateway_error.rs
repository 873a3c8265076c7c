//! The one error type of Tyk's Gateway API (`/tyk`), rendered in the gateway's envelope
//! `{"status":"error","message":"…"}`.

use super::json::Malformed;
use crate::keys::KeyError;
use crate::policies::PolicyError;
use crate::service_error::{Kind, ServiceError};
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug)]
pub struct GatewayApiError(StatusCode, String);

impl GatewayApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self(status, message.into())
    }

    /// The one place a service's error becomes a Gateway API answer: by the kind Tyk answers
    /// with. `not_found` is the operation's own message: Tyk's differ per verb.
    pub fn from_service(e: impl Into<ServiceError>, not_found: &str) -> Self {
        let e = e.into();
        let status = match e.tyk_kind() {
            Kind::Invalid => StatusCode::BAD_REQUEST,
            Kind::NotFound => return Self::new(StatusCode::NOT_FOUND, not_found),
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::Unavailable => {
                tracing::warn!("gateway API: database unavailable: {}", e.message);
                return Self::new(StatusCode::SERVICE_UNAVAILABLE, "Storage unavailable; try again shortly");
            }
            Kind::Internal => {
                tracing::error!("gateway API: internal error: {}", e.message);
                return Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error");
            }
        };
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for GatewayApiError {
    fn into_response(self) -> Response {
        (self.0, Json(super::responses::ApiStatusMessage::error(self.1))).into_response()
    }
}

/// Maps a key error, with the "not found" message of the operation.
pub fn key_error(e: KeyError, not_found: &str) -> GatewayApiError {
    GatewayApiError::from_service(e, not_found)
}

impl From<PolicyError> for GatewayApiError {
    fn from(e: PolicyError) -> Self {
        Self::from_service(e, "Policy not found")
    }
}

impl From<StoreError> for GatewayApiError {
    fn from(e: StoreError) -> Self {
        Self::from_service(e, "Not found")
    }
}

/// Tyk's gateway answers a body it cannot read with 400 "Request malformed".
impl From<Malformed> for GatewayApiError {
    fn from(Malformed(detail): Malformed) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format!("Request malformed: {detail}"))
    }
}
