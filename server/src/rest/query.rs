//! Query-string extractors whose refusals answer in the envelope of their API, not in axum's
//! plain text.

use super::error::DashboardError;
use super::gateway_error::GatewayApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use serde::de::DeserializeOwned;

/// Reads the query string; the error names the parameter that did not parse.
fn parse<T: DeserializeOwned>(uri: &Uri) -> Result<T, String> {
    axum::extract::Query::try_from_uri(uri).map(|q| q.0).map_err(|rejection| rejection.body_text())
}

/// A query string of the Dashboard and Admin APIs.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse(&parts.uri).map(Query).map_err(DashboardError::BadRequest)
    }
}

/// A query string of the Gateway API.
pub struct GatewayQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for GatewayQuery<T> {
    type Rejection = GatewayApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse(&parts.uri).map(GatewayQuery).map_err(|message| GatewayApiError::new(StatusCode::BAD_REQUEST, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Page {
        p: Option<i64>,
    }

    #[test]
    fn names_the_parameter() {
        let err = parse::<Page>(&"/api/apis?p=abc".parse().unwrap()).unwrap_err();
        assert!(err.contains("p: "), "{err}");
        assert!(parse::<Page>(&"/api/apis?p=2".parse().unwrap()).is_ok());
    }
}
