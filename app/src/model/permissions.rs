//! Tyk's dashboard `user_permissions`: `{"IsAdmin": "admin"}` gives everything; otherwise a
//! `read` or `write` level per area (write implies read; an absent area is no access). Areas
//! Portcullis does not have yet (`certs`, `hooks`, `portal`, ...) are kept as sent, so that a read
//! returns what was written, but grant nothing.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A part of the dashboard a permission covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Area {
    Keys,
    Apis,
    Policies,
    Users,
    Analytics,
    /// Tyk's `audit_logs` (Dashboard 5.4 on): who changed what.
    AuditLogs,
}

impl Area {
    pub const ALL: [Area; 6] = [Area::Keys, Area::Apis, Area::Policies, Area::Users, Area::Analytics, Area::AuditLogs];

    /// Its name in Tyk's `user_permissions`.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Keys => "keys",
            Area::Apis => "apis",
            Area::Policies => "policies",
            Area::Users => "users",
            Area::Analytics => "analytics",
            Area::AuditLogs => "audit_logs",
        }
    }

    pub fn parse(name: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// How the dashboard names it.
    pub fn label(self) -> &'static str {
        match self {
            Area::Keys => "Keys",
            Area::Apis => "APIs",
            Area::Policies => "Policies",
            Area::Users => "Users",
            Area::Analytics => "Analytics",
            Area::AuditLogs => "Audit log",
        }
    }
}

/// What a user may do in an area. `Write` implies `Read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    Read,
    Write,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Read => "read",
            Level::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "read" => Some(Level::Read),
            "write" => Some(Level::Write),
            _ => None,
        }
    }
}

/// A user's rights inside its organisation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permissions {
    pub admin: bool,
    pub areas: BTreeMap<Area, Level>,
    /// Every other entry as sent (Tyk areas Portcullis does not have, `ResetPassword`, ...).
    pub other: BTreeMap<String, String>,
}

impl Permissions {
    pub fn admin() -> Self {
        Self { admin: true, ..Self::default() }
    }

    /// The one answer to "may this user do `level` on `area`".
    pub fn allows(&self, area: Area, level: Level) -> bool {
        self.admin || self.areas.get(&area).is_some_and(|l| *l >= level)
    }

    /// True when `other` grants nothing these do not: what a non-admin may give away.
    pub fn covers(&self, other: &Permissions) -> bool {
        if self.admin {
            return true;
        }
        if other.admin {
            return false;
        }
        let level_of = |v: &str| Level::parse(v);
        other.areas.iter().all(|(area, level)| self.allows(*area, *level))
            && other.other.iter().all(|(name, value)| match level_of(value) {
                // Tyk areas Portcullis does not enforce yet: still no more than one has.
                Some(wanted) => self.other.get(name).and_then(|v| level_of(v)).is_some_and(|have| have >= wanted),
                None => self.other.get(name) == Some(value),
            })
    }

    /// True when nothing is granted at all (Tyk refuses to create such a user).
    pub fn is_empty(&self) -> bool {
        !self.admin && self.areas.is_empty() && self.other.is_empty()
    }

    /// Reads Tyk's map; an area Portcullis enforces must say `read` or `write`.
    pub fn from_map(map: BTreeMap<String, String>) -> Result<Self, String> {
        let mut p = Permissions::default();
        for (name, value) in map {
            if name == "IsAdmin" {
                p.admin = value == "admin";
                if !p.admin {
                    p.other.insert(name, value);
                }
                continue;
            }
            match Area::parse(&name) {
                Some(area) => match Level::parse(&value) {
                    Some(level) => {
                        p.areas.insert(area, level);
                    }
                    // Tyk's dashboard sends "deny" for an area switched off.
                    None if value == "deny" || value.is_empty() => {}
                    None => return Err(format!("user_permissions.{name}: must be \"read\" or \"write\", not \"{value}\"")),
                },
                None => {
                    p.other.insert(name, value);
                }
            }
        }
        Ok(p)
    }

    /// Tyk's map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut map = self.other.clone();
        if self.admin {
            map.insert("IsAdmin".into(), "admin".into());
        }
        for (area, level) in &self.areas {
            map.insert(area.as_str().into(), level.as_str().into());
        }
        map
    }

    /// A short description for lists: "Admin", "Keys: write, APIs: read", "No access".
    pub fn summary(&self) -> String {
        if self.admin {
            return "Admin".into();
        }
        if self.areas.is_empty() {
            return "No access".into();
        }
        self.areas.iter().map(|(a, l)| format!("{}: {}", a.label(), l.as_str())).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

impl Serialize for Permissions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        Permissions::from_map(map).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> Permissions {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn write_implies_read_and_absent_is_nothing() {
        let r = p(r#"{"keys":"write","apis":"read"}"#);
        assert!(r.allows(Area::Keys, Level::Read) && r.allows(Area::Keys, Level::Write));
        assert!(r.allows(Area::Apis, Level::Read) && !r.allows(Area::Apis, Level::Write));
        assert!(!r.allows(Area::Users, Level::Read));
        assert!(Permissions::admin().allows(Area::Users, Level::Write));
    }

    #[test]
    fn round_trips_other_areas() {
        let r = p(r#"{"keys":"read","certs":"write","ResetPassword":"admin"}"#);
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back, serde_json::json!({"keys":"read","certs":"write","ResetPassword":"admin"}));
        assert!(serde_json::from_str::<Permissions>(r#"{"keys":"all"}"#).is_err());
        assert_eq!(p(r#"{"keys":"deny"}"#).areas.len(), 0);
    }

    #[test]
    fn covers() {
        let users = p(r#"{"users":"write","keys":"read"}"#);
        assert!(users.covers(&p(r#"{"keys":"read"}"#)));
        assert!(!users.covers(&p(r#"{"keys":"write"}"#)));
        assert!(!users.covers(&p(r#"{"IsAdmin":"admin"}"#)));
        assert!(!users.covers(&p(r#"{"certs":"read"}"#)));
        assert!(Permissions::admin().covers(&p(r#"{"IsAdmin":"admin"}"#)));
    }
}
