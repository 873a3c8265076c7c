use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// The errors a server function can return to the dashboard.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("You are not signed in.")]
    Unauthenticated,
    #[error("{0}")]
    Invalid(String),
    #[error("Something went wrong on the server: {0}")]
    Internal(String),
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
