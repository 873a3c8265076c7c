//! A JSON body extractor whose errors name the field that was wrong, in our error envelope.

use super::error::DashboardError;
use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use serde::de::DeserializeOwned;

pub struct JsonBody<T>(pub T);

/// A body that is not the JSON expected; the detail says where and why. Each API words the
/// answer its own way.
#[derive(Debug, thiserror::Error)]
#[error("Request body malformed: {0}")]
pub struct Malformed(pub String);

impl From<Malformed> for DashboardError {
    fn from(Malformed(detail): Malformed) -> Self {
        DashboardError::Malformed(detail)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = DashboardError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                DashboardError::TooLarge
            } else {
                DashboardError::Malformed(format!("could not read the body: {}", e.body_text()))
            }
        })?;
        Ok(JsonBody(parse(&bytes)?))
    }
}

/// Parses one JSON value, reporting the path of the offending field (`access_rights.x.versions[0]`).
/// Anything but whitespace after the value (a second value, JSON lines) is refused, not ignored.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Malformed> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Malformed("the body is empty; send a JSON object".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || inner.is_syntax() || inner.is_eof() {
            Malformed(inner.to_string())
        } else {
            Malformed(format!("field `{path}`: {inner}"))
        }
    })?;
    de.end().map_err(|e| Malformed(format!("{e}: send one JSON value and nothing after it")))?;
    Ok(value)
}

/// Reads a typed value out of already-parsed JSON; `prefix` is where it sits in the body.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value, prefix: &str) -> Result<T, DashboardError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = match (prefix.is_empty(), path == ".") {
            (true, true) => String::new(),
            (true, false) => format!("field `{path}`: "),
            (false, true) => format!("field `{prefix}`: "),
            (false, false) => format!("field `{prefix}.{path}`: "),
        };
        Malformed(format!("{at}{}", e.into_inner())).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct T {
        rate: f64,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[test]
    fn names_the_field() {
        let err = parse::<T>(br#"{"rate": "fast"}"#).unwrap_err().to_string();
        assert!(err.contains("field `rate`"), "{err}");
        let err = parse::<T>(br#"{"rate": 1, "tags": [1]}"#).unwrap_err().to_string();
        assert!(err.contains("tags[0]"), "{err}");
        let err = parse::<T>(b"{not json").unwrap_err().to_string();
        assert!(err.starts_with("Request body malformed"), "{err}");
        assert!(parse::<T>(b"").is_err());
    }

    #[test]
    fn one_value_and_nothing_after_it() {
        assert!(parse::<T>(b" {\"rate\": 1}\n ").is_ok());
        let err = parse::<T>(br#"{"rate": 1} trailing garbage"#).unwrap_err().to_string();
        assert!(err.contains("trailing characters"), "{err}");
        assert!(parse::<T>(b"{\"rate\": 1}\n{\"rate\": 2}\n").is_err());
    }
}
