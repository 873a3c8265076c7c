//! The one error type of the Dashboard and Admin APIs, rendered in Tyk's envelope
//! `{"Status":"Error","Message":"…","Meta":null}`.

use crate::accounts::AccountError;
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

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
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
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
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        let body = json!({ "Status": "Error", "Message": self.to_string(), "Meta": null });
        (self.status(), Json(body)).into_response()
    }
}

impl From<StoreError> for DashboardError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed) => {
                tracing::warn!("database unavailable: {e}");
                Self::Unavailable
            }
            other => {
                tracing::error!("storage error: {other}");
                Self::Internal
            }
        }
    }
}

impl From<AccountError> for DashboardError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid { .. } | AccountError::UnknownOrg(_) => Self::BadRequest(e.to_string()),
            // Tyk answers a duplicate email with 403.
            AccountError::EmailTaken | AccountError::Denied(_) | AccountError::NoPermissions => Self::Forbidden(e.to_string()),
            AccountError::NotFound => Self::NotFound("Not found".into()),
            AccountError::LastAdmin => Self::Conflict(e.to_string()),
            AccountError::Store(s) => s.into(),
            AccountError::Hashing => {
                tracing::error!("{e}");
                Self::Internal
            }
        }
    }
}

impl From<crate::apis::ApiError> for DashboardError {
    fn from(e: crate::apis::ApiError) -> Self {
        use crate::apis::ApiError as E;
        match e {
            E::Invalid { .. } => Self::BadRequest(e.to_string()),
            E::DuplicateId | E::ListenPathTaken(_) | E::RouteOverlaps(_) | E::InUse(_) => Self::Conflict(e.to_string()),
            E::NotFound => Self::NotFound(e.to_string()),
            E::Store(s) => s.into(),
        }
    }
}

impl From<crate::keys::KeyError> for DashboardError {
    fn from(e: crate::keys::KeyError) -> Self {
        use crate::keys::KeyError as E;
        match e {
            E::Invalid { .. } | E::NonOwned => Self::BadRequest(e.to_string()),
            E::NotFound => Self::NotFound(e.to_string()),
            E::Exists(m) => Self::Conflict(m),
            E::Store(s) => s.into(),
        }
    }
}

impl From<crate::policies::PolicyError> for DashboardError {
    fn from(e: crate::policies::PolicyError) -> Self {
        use crate::policies::PolicyError as E;
        match e {
            E::Invalid { .. } | E::NameTaken => Self::BadRequest(e.to_string()),
            E::DuplicateId(_) => Self::Conflict(e.to_string()),
            E::NotFound => Self::NotFound(e.to_string()),
            E::Store(s) => s.into(),
        }
    }
}
