//! The one error type of the Dashboard and Admin APIs, rendered in Tyk's envelope
//! `{"Status":"Error","Message":"…","Meta":null}`.

use crate::accounts::AccountError;
use crate::apis::ApiError;
use crate::keys::KeyError;
use crate::policies::PolicyError;
use crate::service_error::{Kind, ServiceError};
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("Not authorised")]
    NotAuthorised,
    #[error("The Admin API is disabled: set PORTCULLIS_ADMIN_SECRET to enable it")]
    AdminDisabled,
    /// The body could not be read as the expected JSON; the text says where and why.
    #[error("Request body malformed: {0}")]
    Malformed(String),
    #[error("Request body too large: the limit is {} bytes", super::MAX_BODY_BYTES)]
    TooLarge,
    #[error("Request body too large: a bulk request takes at most {} bytes; split the file", super::keys_bulk::MAX_BULK_BYTES)]
    BulkTooLarge,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("Database unavailable; try again shortly")]
    Unavailable,
    #[error("Internal error")]
    Internal,
}

impl DashboardError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotAuthorised => StatusCode::UNAUTHORIZED,
            Self::AdminDisabled | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Malformed(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooLarge | Self::BulkTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        (self.status(), Json(super::responses::ApiResponse::error(self.to_string()))).into_response()
    }
}

/// The one place a service's error becomes a Dashboard API answer: by the kind Tyk answers with.
impl From<ServiceError> for DashboardError {
    fn from(e: ServiceError) -> Self {
        match e.tyk_kind() {
            Kind::Invalid => Self::BadRequest(e.to_string()),
            Kind::NotFound => Self::NotFound(e.to_string()),
            Kind::Conflict => Self::Conflict(e.to_string()),
            Kind::Forbidden => Self::Forbidden(e.to_string()),
            Kind::Unavailable => {
                tracing::warn!("database unavailable: {}", e.message);
                Self::Unavailable
            }
            Kind::Internal => {
                tracing::error!("internal error: {}", e.message);
                Self::Internal
            }
        }
    }
}

/// Each service's error, by way of its kind.
macro_rules! via_service_error {
    ($($error:ty),*) => {$(
        impl From<$error> for DashboardError {
            fn from(e: $error) -> Self {
                ServiceError::from(e).into()
            }
        }
    )*};
}

via_service_error!(StoreError, AccountError, ApiError, KeyError, PolicyError);
