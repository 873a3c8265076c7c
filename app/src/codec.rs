//! The JSON encoding of server-function answers, decoded from text.
//!
//! Leptos' own `JsonEncoding` decodes answers with `serde_json::from_slice`, while resources
//! hydrate their data with `serde_json::from_str`. serde_json compiles every `Deserialize` impl
//! once per reader, so the WASM bundle held two copies of each type's decoder. Decoding answers
//! from a `&str` as well leaves one copy. The bytes on the wire are the same JSON.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON, decoded from text (see the module).
pub struct JsonText;

/// For `#[server(output = Json)]` (and `input = Json`): JSON in the body of a `POST` and of its answer.
pub type Json = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = String;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|e| e.to_string())?;
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}
