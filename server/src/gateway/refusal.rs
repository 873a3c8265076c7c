//! Why the gateway refuses a request: Tyk's status codes and messages, rendered in Tyk's error
//! template `{"error": "…"}`, in one place.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    NoApi,
    AuthFieldMissing,
    Disallowed,
    Inactive,
    Expired,
    ResourceDisallowed,
    VersionUnknown,
    RateLimited,
    QuotaExceeded,
    BasicAuthFailed,
    /// Too many wrong passwords from this client (or for this user from it): wait this long.
    TooManyFailures(std::time::Duration),
    HmacInvalid,
    /// The path's `..` segments climb above the root, or out of the listen path the path
    /// addressed before they were applied.
    PathClimbs,
    /// The cause (an address, an OS error) goes to the log, never to the client.
    UpstreamUnreachable,
    UpstreamTimeout,
    /// Redis (the cluster's counters) is unreachable and the gateway fails closed.
    LimiterUnavailable,
    /// The key is not cached and the database does not answer.
    KeyStoreUnavailable,
    Internal,
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NoApi => StatusCode::NOT_FOUND,
            Self::AuthFieldMissing | Self::Expired | Self::BasicAuthFailed => StatusCode::UNAUTHORIZED,
            Self::Disallowed | Self::Inactive | Self::ResourceDisallowed | Self::VersionUnknown | Self::QuotaExceeded => {
                StatusCode::FORBIDDEN
            }
            Self::RateLimited | Self::TooManyFailures(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::HmacInvalid | Self::PathClimbs => StatusCode::BAD_REQUEST,
            Self::UpstreamUnreachable => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::LimiterUnavailable | Self::KeyStoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::NoApi => "No API is registered at this path".into(),
            Self::AuthFieldMissing => "Authorization field missing".into(),
            Self::Disallowed => "Access to this API has been disallowed".into(),
            Self::Inactive => "Key is inactive, please renew".into(),
            Self::Expired => "Key has expired, please renew".into(),
            Self::ResourceDisallowed => "Access to this resource has been disallowed".into(),
            Self::VersionUnknown => "This API version does not seem to exist".into(),
            Self::RateLimited => "Rate Limit Exceeded".into(),
            Self::QuotaExceeded => "Quota exceeded".into(),
            Self::BasicAuthFailed => "User not authorised".into(),
            Self::TooManyFailures(wait) => format!("Too many failed attempts; try again in {} seconds", retry_secs(*wait)),
            Self::HmacInvalid => "Authorization field missing, malformed or invalid".into(),
            Self::PathClimbs => "The path's '..' segments climb above the root or out of the API's listen path".into(),
            Self::UpstreamUnreachable => "The upstream service could not be reached".into(),
            Self::UpstreamTimeout => "The upstream service did not answer in time".into(),
            Self::LimiterUnavailable => "Rate limit and quota counters are unavailable; try again shortly".into(),
            Self::KeyStoreUnavailable => "The key store is unavailable; try again shortly".into(),
            Self::Internal => "there was a problem proxying the request".into(),
        }
    }

    /// A short name for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoApi => "no_api",
            Self::AuthFieldMissing => "auth_field_missing",
            Self::Disallowed => "disallowed",
            Self::Inactive => "inactive",
            Self::Expired => "expired",
            Self::ResourceDisallowed => "resource_disallowed",
            Self::VersionUnknown => "version_unknown",
            Self::RateLimited => "rate_limited",
            Self::QuotaExceeded => "quota_exceeded",
            Self::BasicAuthFailed => "basic_auth_failed",
            Self::TooManyFailures(_) => "too_many_failures",
            Self::HmacInvalid => "hmac_invalid",
            Self::PathClimbs => "path_climbs",
            Self::UpstreamUnreachable => "upstream_unreachable",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::LimiterUnavailable => "limiter_unavailable",
            Self::KeyStoreUnavailable => "key_store_unavailable",
            Self::Internal => "internal",
        }
    }

    /// The refusal as a response, with extra headers (rate limit, quota).
    pub fn render(&self, extra: HeaderMap) -> Response {
        let mut resp = (self.status(), Json(serde_json::json!({ "error": self.message() }))).into_response();
        resp.headers_mut().extend(extra);
        match self {
            Self::BasicAuthFailed => {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"portcullis\""));
            }
            Self::TooManyFailures(wait) => {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_secs(*wait)));
            }
            _ => {}
        }
        resp
    }
}

/// Whole seconds to wait, rounded up, at least 1.
fn retry_secs(wait: std::time::Duration) -> u64 {
    (wait.as_nanos().div_ceil(1_000_000_000) as u64).max(1)
}
