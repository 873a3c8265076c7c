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

/// A string that is not the id it was read as: a bug, or a hand-edited database.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a valid {kind}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
}

impl KeyHash {
    /// Accepts exactly 64 hex characters (any case, stored lower-case).
    pub fn parse_hex(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(s.to_ascii_lowercase()))
    }
}

/// Ids of organisations and users: any non-empty id of printable ASCII without spaces, since
/// imports from Tyk may carry ids we did not generate.
fn printable_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic())
}

impl OrgId {
    pub fn parse(s: &str) -> Option<Self> {
        printable_id(s).then(|| Self(s.to_owned()))
    }
}

impl UserId {
    pub fn parse(s: &str) -> Option<Self> {
        printable_id(s).then(|| Self(s.to_owned()))
    }
}

macro_rules! string_id {
    ($name:ident, $kind:literal, $parse:expr) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// For ids made by our own code (a fresh id, a computed hash).
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        /// Lets maps keyed by the id be looked up with a `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        /// How storage reads the id back: the text must still have the id's shape.
        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                let parse: fn(&str) -> Option<$name> = $parse;
                parse(&s).ok_or(InvalidId { kind: $kind, value: s })
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}
string_id!(OrgId, "organisation id", OrgId::parse);
string_id!(UserId, "user id", UserId::parse);
string_id!(KeyHash, "key hash", KeyHash::parse_hex);

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn key_hashes_are_64_hex() {
        assert_eq!(KeyHash::try_from(HASH.to_owned()).unwrap().as_str(), HASH);
        assert_eq!(KeyHash::try_from(HASH.to_uppercase()).unwrap().as_str(), HASH);
        assert!(KeyHash::try_from(HASH[1..].to_owned()).is_err());
        assert!(KeyHash::try_from(format!("{}g", &HASH[1..])).is_err());
        let e = KeyHash::try_from("abc".to_owned()).unwrap_err();
        assert_eq!(e, InvalidId { kind: "key hash", value: "abc".into() });
        assert_eq!(e.to_string(), "'abc' is not a valid key hash");
    }

    #[test]
    fn org_and_user_ids_are_printable() {
        let org = OrgId::try_from("5e9d9544a1dcd60001d0ed20".to_owned()).unwrap();
        assert_eq!(org, "5e9d9544a1dcd60001d0ed20");
        assert_eq!(String::from(org.clone()), "5e9d9544a1dcd60001d0ed20");
        assert_eq!(org.to_string(), org.as_str());
        assert!(OrgId::try_from(String::new()).is_err());
        assert!(OrgId::try_from("has space".to_owned()).is_err());
        assert!(OrgId::try_from("x".repeat(129)).is_err());
        assert!(UserId::try_from("u1".to_owned()).is_ok());
        assert!(UserId::try_from("line\nbreak".to_owned()).is_err());
    }

    #[test]
    fn maps_keyed_by_ids_find_them_by_str() {
        let mut m = std::collections::HashMap::new();
        m.insert(KeyHash::parse_hex(HASH).unwrap(), 1);
        assert_eq!(m.get(HASH), Some(&1));
    }
}
