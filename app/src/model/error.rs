use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// The errors a server function can return to the dashboard.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("You are not signed in.")]
    Unauthenticated,
    /// What was sent breaks a rule. `field` names the input it concerns, with the names of Tyk's
    /// JSON (`rate`, `basic_auth_data.user`, `proxy.listen_path`, ...), so that a form can show
    /// the message beside that input; it is empty when the error concerns the whole form.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    /// The user's permissions do not allow this.
    #[error("{0}")]
    Forbidden(String),
    #[error("Something went wrong on the server: {0}")]
    Internal(String),
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid { field: field.into(), message: message.into() }
    }

    /// The field the error belongs to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } if !field.is_empty() => Some(field),
            _ => None,
        }
    }
}

impl From<super::forms::FieldError> for AppError {
    fn from(e: super::forms::FieldError) -> Self {
        AppError::Invalid { field: e.field, message: e.message }
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::codec::JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server only a call's arguments are decoded: arguments that are not the JSON
            // the function takes (or that have anything after it) are the caller's fault, 400.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Args(detail) | ServerFnErrorErr::Deserialization(detail) => {
                if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(http::StatusCode::BAD_REQUEST);
                }
                AppError::invalid("", format!("The request could not be read: {detail}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}
