//! The audit trail: who created, changed or deleted a key, policy, API or user, when, and what
//! changed, with secrets masked. [`Audit`] writes it and reads it back.

use crate::store::{now, AuditRow, Store, StoreError};
use app::model::OrgId;
use serde_json::{Map, Value};
use std::fmt;

/// Who made a change.
#[derive(Clone, Debug)]
pub enum Actor {
    User { email: String },
    AdminApi,
    GatewayApi,
    /// The `portcullis` command line, and first-start setup.
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User { email } => f.write_str(email),
            Actor::AdminApi => f.write_str("admin-api"),
            Actor::GatewayApi => f.write_str("gateway-api"),
            Actor::System => f.write_str("system"),
        }
    }
}

impl crate::store::UserRow {
    /// The user as the author of a change.
    pub fn actor(&self) -> Actor {
        Actor::User { email: self.email.clone() }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Action {
    Created,
    Updated,
    Deleted,
}

#[derive(Clone, Copy, Debug)]
pub enum Object {
    Key,
    Policy,
    Api,
    User,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Deleted => "deleted",
        }
    }
}

impl Object {
    fn as_str(self) -> &'static str {
        match self {
            Object::Key => "key",
            Object::Policy => "policy",
            Object::Api => "api",
            Object::User => "user",
        }
    }
}

/// Field names whose values never enter the log.
const SECRET_FIELDS: [&str; 4] = ["hmac_string", "password", "secret", "access_key"];

/// One change, as read back.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// Unix seconds.
    pub at: i64,
    /// `{"field": {"from": …, "to": …}}`; null if what was stored is not JSON.
    pub changes: Value,
}

impl From<AuditRow> for Entry {
    fn from(r: AuditRow) -> Self {
        Self {
            id: r.id,
            actor: r.actor,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            at: r.at,
            changes: serde_json::from_str(&r.changes).unwrap_or(Value::Null),
        }
    }
}

/// A page of an organisation's trail, newest first, and how many entries there are in all.
#[derive(Clone, Debug)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub total: i64,
}

#[derive(Clone)]
pub struct Audit {
    store: Store,
}

impl Audit {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Records a change. `before`/`after` are the object's JSON (None for create/delete): only
    /// the top-level fields that differ are kept.
    pub async fn record(
        &self,
        org_id: &OrgId,
        actor: &Actor,
        action: Action,
        object: Object,
        object_id: &str,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> Result<(), StoreError> {
        self.store.insert_audit(&entry(org_id, actor, action, object, object_id, before, after)).await
    }

    /// The organisation's trail, newest first: `limit` entries after skipping `offset`.
    pub async fn page(&self, org_id: &OrgId, limit: i64, offset: i64) -> Result<Page, StoreError> {
        let (rows, total) = self.store.audit(org_id, limit, offset).await?;
        Ok(Page { entries: rows.into_iter().map(Entry::from).collect(), total })
    }
}

/// The row `Audit::record` writes, for a writer that stores it with its own batch of changes.
pub fn entry(org_id: &OrgId, actor: &Actor, action: Action, object: Object, object_id: &str, before: Option<&Value>, after: Option<&Value>) -> AuditRow {
    AuditRow {
        id: 0,
        org_id: org_id.clone(),
        actor: actor.to_string(),
        action: action.as_str().to_owned(),
        object_type: object.as_str().to_owned(),
        object_id: object_id.to_owned(),
        at: now(),
        changes: changes(before, after).to_string(),
    }
}

/// `{"field": {"from": …, "to": …}}` for each top-level field that differs, secrets masked.
fn changes(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let as_map = |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_else(|| empty.clone());
    let (before, after) = (as_map(before), as_map(after));
    let mut out = Map::new();
    let fields: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for field in fields {
        let (from, to) = (before.get(field), after.get(field));
        if from == to {
            continue;
        }
        let mut change = Map::new();
        if let Some(v) = from {
            change.insert("from".into(), masked(field, v));
        }
        if let Some(v) = to {
            change.insert("to".into(), masked(field, v));
        }
        out.insert(field.clone(), Value::Object(change));
    }
    Value::Object(out)
}

fn masked(field: &str, v: &Value) -> Value {
    match v {
        Value::String(s) if SECRET_FIELDS.contains(&field) && !s.is_empty() => Value::String("***".into()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), masked(k, v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(|v| masked(field, v)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_only_what_changed_and_masks_secrets() {
        let before = json!({ "rate": 10, "alias": "a", "hmac_string": "s1" });
        let after = json!({ "rate": 20, "alias": "a", "hmac_string": "s2", "basic_auth_data": { "password": "p" } });
        let c = changes(Some(&before), Some(&after));
        assert_eq!(c["rate"], json!({ "from": 10, "to": 20 }));
        assert!(c.get("alias").is_none());
        assert_eq!(c["hmac_string"], json!({ "from": "***", "to": "***" }));
        assert_eq!(c["basic_auth_data"]["to"]["password"], "***");
    }
}
