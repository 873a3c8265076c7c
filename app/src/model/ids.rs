use serde::{Deserialize, Serialize};
use std::fmt;

/// An organisation's id: 24 lowercase hex characters, like the Mongo ObjectIDs Tyk uses. Keys
/// embed it as a prefix, so the shape matters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgId(String);

/// A dashboard user's id (24 hex characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

/// A key's SHA-256 (64 lowercase hex): how a key is stored, listed and addressed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyHash(String);

impl KeyHash {
    /// Accepts exactly 64 hex characters (any case, stored lower-case).
    pub fn parse_hex(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(s.to_ascii_lowercase()))
    }
}

impl OrgId {
    /// Accepts any non-empty id of printable ASCII without spaces: imports from Tyk may carry
    /// ids we did not generate.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(s.to_owned()))
    }
}

macro_rules! string_id {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// For ids that come from our own storage.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_id!(OrgId);
string_id!(UserId);
string_id!(KeyHash);
