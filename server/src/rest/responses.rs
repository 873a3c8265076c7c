//! The bodies the REST APIs answer with: one type per shape, which the handlers return and the
//! OpenAPI document (`rest::openapi`) describes, so that the two cannot drift. Type names are
//! Tyk's schema names, field names Tyk's JSON names.

use crate::keys::HMAC_SECRET_MASK;
use crate::limits::RedisFallback;
use crate::store::{OrgRow, UserRow};
use app::model::format::rfc3339;
use app::model::{ApiDefinition, Permissions, Policy, SessionState};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// What Tyk writes where it has an object this server has nothing to put in: `{}`.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Empty {}

// ---- the Dashboard and Admin APIs (`/api`, `/admin`) ----

/// Tyk's Dashboard envelope, for successes and errors alike.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiResponse {
    /// `OK` or `Error`.
    #[serde(rename = "Status")]
    #[schema(value_type = String, example = "OK")]
    pub status: &'static str,
    #[serde(rename = "Message")]
    pub message: String,
    /// What was made or changed (an id, a user), or `null`.
    #[serde(rename = "Meta")]
    #[schema(value_type = Value)]
    pub meta: Meta,
    /// The new API's `api_id` (only when an API is created).
    #[serde(rename = "ID", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub id: Option<String>,
}

impl ApiResponse {
    /// `{"Status":"OK","Message":…,"Meta":…}`.
    pub fn ok(message: impl Into<String>, meta: Meta) -> Self {
        Self { status: "OK", message: message.into(), meta, id: None }
    }

    /// `{"Status":"Error","Message":…,"Meta":null}`.
    pub fn error(message: impl Into<String>) -> Self {
        Self { status: "Error", message: message.into(), meta: Meta::None, id: None }
    }
}

/// The `Meta` of Tyk's envelope: what the operation made or changed.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Meta {
    /// `null`.
    None,
    /// A new object's id (an organisation, an API's internal id).
    Id(String),
    /// A user; with its credential when the operation made one.
    User(Box<User>),
    /// A new credential, and nothing else of the user.
    AccessKey { access_key: String },
}

/// A key: its id (shown in clear once, on creation), its hash, and its session with its
/// policies applied.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyData {
    #[schema(value_type = Object)]
    pub api_model: Empty,
    /// The key itself on creation; then the hash, or the id of a basic-auth user.
    pub key_id: String,
    pub data: SessionState,
    /// SHA-256 of the key, hex: how the key is stored, listed and addressed (`?hashed=true`).
    #[schema(value_type = String)]
    pub key_hash: String,
    /// Policies the key lists that do not exist; they are skipped. Only when there are some:
    /// beside the session, not in it, so a client that sends the session back does not store it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub missing_policies: Vec<String>,
}

impl From<crate::keys::KeyData> for KeyData {
    fn from(key: crate::keys::KeyData) -> Self {
        Self {
            api_model: Empty {},
            key_id: key.key_id,
            data: key.data,
            key_hash: key.key_hash.to_string(),
            missing_policies: key.missing_policies,
        }
    }
}

impl KeyData {
    /// A session checked and merged but not stored: no key, no hash.
    pub fn preview(data: SessionState) -> Self {
        Self { api_model: Empty {}, key_id: String::new(), data, key_hash: String::new(), missing_policies: Vec::new() }
    }
}

/// One line of a bulk creation's answer (JSON lines): the line's number, and the key made from
/// it (shown in clear this once) or why it was not stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkLine {
    /// The line of the request, from 1 (blank lines count).
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub key: Option<KeyData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub error: Option<BulkLineError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkLineError {
    /// The field at fault (`rate`, `access_rights`, `key_hash`), when there is one.
    pub field: Option<String>,
    pub message: String,
}

impl From<crate::keys::bulk::LineResult> for BulkLine {
    fn from(r: crate::keys::bulk::LineResult) -> Self {
        use crate::keys::bulk::Outcome;
        match r.outcome {
            Outcome::Created(key) => Self { line: r.line, key: Some(key.into()), error: None },
            Outcome::Failed(e) => Self { line: r.line, key: None, error: Some(BulkLineError { field: e.field, message: e.message }) },
        }
    }
}

/// The last line of a bulk creation's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkSummaryLine {
    pub summary: BulkSummary,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkSummary {
    /// Lines read that were not blank.
    pub lines: usize,
    /// Keys stored.
    pub created: usize,
    /// Lines refused (each has its own answer line).
    pub failed: usize,
    /// Whether the keys answered are stored: false when an all-or-nothing request had a bad
    /// line, or stopped early.
    pub committed: bool,
    /// Why the request stopped before its end (the body was too large, storage failed): lines
    /// after the last one answered were not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub error: Option<String>,
}

impl BulkSummaryLine {
    pub fn new(s: crate::keys::bulk::Summary, error: Option<String>) -> Self {
        Self { summary: BulkSummary { lines: s.lines, created: s.created, failed: s.failed, committed: s.committed, error } }
    }
}

/// One line of an export: a key's hash and its own settings (before policies), never an HMAC
/// secret or a password. Sent to the bulk endpoint, it stores the same key again.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedKey {
    #[schema(value_type = String)]
    pub key_hash: String,
    #[serde(flatten)]
    pub settings: SessionState,
}

impl From<crate::keys::bulk::ExportedKey> for ExportedKey {
    fn from(k: crate::keys::bulk::ExportedKey) -> Self {
        Self { key_hash: k.key_hash.to_string(), settings: k.settings }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AllKeys {
    /// Key hashes; basic-auth users by their id.
    pub keys: Vec<String>,
}

/// A page of keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct Keys {
    pub data: AllKeys,
    pub pages: i64,
    /// Pass as `cursor` for the keys after this page: only in answers to a list asked with
    /// `cursor` (Portcullis's own), absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub next: Option<String>,
    /// Pass as `cursor` for the keys before this page, likewise; absent on the first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub prev: Option<String>,
}

/// A page of keys with their sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeysDetailed {
    pub keys: Vec<KeyData>,
    pub pages: i64,
    /// Pass as `cursor` for the keys after this page: only in answers to a list asked with
    /// `cursor` (Portcullis's own), absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub next: Option<String>,
    /// Pass as `cursor` for the keys before this page, likewise; absent on the first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub prev: Option<String>,
}


/// An API definition as Tyk's Dashboard wraps it. A bare definition is accepted on input too.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiDefinitionWrapper {
    /// Always there in answers; the definition on input, unless it is sent bare.
    #[schema(value_type = ApiDefinition, required = false)]
    pub api_definition: StoredApiDefinition,
}

/// A definition as stored, with the internal id Tyk's Dashboard adds (`id`).
#[derive(Debug, Serialize)]
pub struct StoredApiDefinition {
    #[serde(flatten)]
    pub definition: ApiDefinition,
    pub id: String,
}

impl From<&crate::apis::Api> for ApiDefinitionWrapper {
    fn from(api: &crate::apis::Api) -> Self {
        let mut definition = api.definition.clone();
        // Kept fields may hold an `id` of the client's: the internal one is shown instead.
        definition.extra.remove("id");
        Self { api_definition: StoredApiDefinition { definition, id: api.row.mongo_id.to_string() } }
    }
}

/// A page of APIs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiDefinitionsResponse {
    pub apis: Vec<ApiDefinitionWrapper>,
    pub pages: i64,
}

/// A page of policies.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnDataStruct {
    #[serde(rename = "Data")]
    pub data: Vec<Policy>,
    #[serde(rename = "Pages")]
    pub pages: i64,
}

/// A dashboard user, as Tyk's Dashboard shows one.
#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub email_address: String,
    pub first_name: String,
    pub last_name: String,
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// `0001-01-01T00:00:00Z` when never.
    #[schema(format = DateTime)]
    pub last_login_date: String,
    #[schema(format = DateTime)]
    pub password_updated: String,
    pub password_max_days: i64,
    pub group_id: String,
    #[schema(value_type = Object)]
    pub api_model: Empty,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub user_permissions: Permissions,
    /// The last characters of the user's API credential (it is stored hashed).
    pub access_key_hint: String,
    /// The API credential: only right after it was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub access_key: Option<String>,
}

impl User {
    /// `access_key` is only known, and so only shown, right after it was made: it is stored
    /// hashed.
    pub fn new(user: &UserRow, access_key: Option<String>) -> Self {
        Self {
            id: user.id.to_string(),
            org_id: user.org_id.to_string(),
            email_address: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            active: user.active,
            created_at: rfc3339(Some(user.created_at)),
            last_login_date: rfc3339(user.last_login),
            password_updated: rfc3339(user.password_updated),
            password_max_days: 0,
            group_id: String::new(),
            api_model: Empty {},
            user_permissions: user.permissions.clone(),
            access_key_hint: user.credential_hint.clone(),
            access_key,
        }
    }
}

impl From<&UserRow> for User {
    fn from(user: &UserRow) -> Self {
        Self::new(user, None)
    }
}

/// The users (not paginated).
#[derive(Debug, Serialize, ToSchema)]
pub struct Users {
    pub users: Vec<User>,
    pub pages: i64,
}

/// An organisation. `owner_name` is required on creation; every other field is kept as sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationDocument {
    #[schema(required = false)]
    pub id: String,
    #[schema(value_type = String)]
    pub owner_name: Value,
    #[schema(value_type = Vec<Value>, required = false)]
    pub apis: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<&OrgRow> for OrganisationDocument {
    /// The stored document with its id; the owner and the APIs as stored when the document
    /// has them.
    fn from(org: &OrgRow) -> Self {
        let mut extra = serde_json::from_str::<Map<String, Value>>(&org.document).unwrap_or_default();
        extra.remove("id");
        let owner_name = extra.remove("owner_name").unwrap_or_else(|| Value::String(org.owner_name.to_string()));
        let apis = extra.remove("apis").unwrap_or_else(|| Value::Array(vec![]));
        Self { id: org.id.to_string(), owner_name, apis, extra }
    }
}

/// The organisations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiRegister {
    pub organisations: Vec<OrganisationDocument>,
    pub pages: i64,
}

// ---- the Gateway API (`/tyk`) ----

/// The Gateway API's error (and plain status) envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiStatusMessage {
    #[schema(value_type = String, example = "error")]
    pub status: &'static str,
    pub message: String,
}

impl ApiStatusMessage {
    /// `{"status":"error","message":…}`.
    pub fn error(message: impl Into<String>) -> Self {
        Self { status: "error", message: message.into() }
    }
}

/// What a change through the Gateway API did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Modification {
    Added,
    Modified,
    Deleted,
    Updated,
}

/// The Gateway API's answer to a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiModifyKeySuccess {
    /// The key (or policy id) changed.
    pub key: String,
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
    /// `added`, `modified`, `deleted` or `updated`.
    #[schema(value_type = String)]
    pub action: Modification,
    /// The key's hash (keys added or modified).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub key_hash: Option<String>,
    /// The key's new HMAC secret, in the one answer that made it (reads mask it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub hmac_string: Option<String>,
}

impl ApiModifyKeySuccess {
    /// A change to a key or a policy, named by the id the client used.
    pub fn new(key: impl Into<String>, action: Modification) -> Self {
        Self { key: key.into(), status: "ok", action, key_hash: None, hmac_string: None }
    }

    /// A key added or modified: with its hash, and with its HMAC secret when this change made
    /// one. Tyk answers a change with no session, but its clients read the secret back with a
    /// GET; here reads mask it, so the answer that made it carries it, this once.
    pub fn key(key: impl Into<String>, action: Modification, made: &crate::keys::KeyData) -> Self {
        let secret = &made.data.hmac_string;
        let shown = !secret.is_empty() && secret != HMAC_SECRET_MASK;
        Self {
            key_hash: Some(made.key_hash.to_string()),
            hmac_string: shown.then(|| secret.clone()),
            ..Self::new(key, action)
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAllKeys {
    pub keys: Vec<String>,
}

// ---- health ----

/// `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
}

/// `/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`, `degraded` (Redis unreachable, counting locally) or `unavailable`.
    #[schema(value_type = String)]
    pub status: Readiness,
    /// `ok` or `unreachable`.
    #[schema(value_type = String)]
    pub database: Reachable,
    /// Cluster mode only: `ok` or `unreachable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub redis: Option<Reachable>,
    /// Cluster mode only: `closed` or `local`, what the gateway does without Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub redis_fallback: Option<RedisFallback>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    Ready,
    Degraded,
    Unavailable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reachable {
    Ok,
    Unreachable,
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::KeyHash;
    use serde_json::json;

    #[test]
    fn envelopes_keep_tyk_names() {
        let ok = serde_json::to_value(ApiResponse::ok("done", Meta::None)).unwrap();
        assert_eq!(ok, json!({ "Status": "OK", "Message": "done", "Meta": null }));
        let id = serde_json::to_value(ApiResponse { id: Some("a1".into()), ..ApiResponse::ok("made", Meta::Id("m1".into())) }).unwrap();
        assert_eq!(id, json!({ "Status": "OK", "Message": "made", "Meta": "m1", "ID": "a1" }));
        let key = serde_json::to_value(ApiResponse::ok("renewed", Meta::AccessKey { access_key: "k".into() })).unwrap();
        assert_eq!(key["Meta"], json!({ "access_key": "k" }));
        let err = serde_json::to_value(ApiResponse::error("no")).unwrap();
        assert_eq!(err, json!({ "Status": "Error", "Message": "no", "Meta": null }));
        let gw = serde_json::to_value(ApiStatusMessage::error("no")).unwrap();
        assert_eq!(gw, json!({ "status": "error", "message": "no" }));
    }

    #[test]
    fn gateway_changes() {
        let deleted = serde_json::to_value(ApiModifyKeySuccess::new("k1", Modification::Deleted)).unwrap();
        assert_eq!(deleted, json!({ "key": "k1", "status": "ok", "action": "deleted" }));
        let mut made = crate::keys::KeyData {
            key_id: "k1".into(),
            key_hash: KeyHash::from_trusted("ab".repeat(32)),
            data: SessionState::default(),
            missing_policies: Vec::new(),
        };
        let added = serde_json::to_value(ApiModifyKeySuccess::key("k1", Modification::Added, &made)).unwrap();
        assert_eq!(added, json!({ "key": "k1", "status": "ok", "action": "added", "key_hash": "ab".repeat(32) }));
        made.data.hmac_string = HMAC_SECRET_MASK.into();
        let masked = serde_json::to_value(ApiModifyKeySuccess::key("k1", Modification::Modified, &made)).unwrap();
        assert!(masked.get("hmac_string").is_none(), "{masked}");
        made.data.hmac_string = "s3cret".into();
        let shown = serde_json::to_value(ApiModifyKeySuccess::key("k1", Modification::Modified, &made)).unwrap();
        assert_eq!(shown["hmac_string"], "s3cret");
    }

    #[test]
    fn key_data_has_an_empty_api_model() {
        let v = serde_json::to_value(KeyData::preview(SessionState::default())).unwrap();
        assert_eq!(v["api_model"], json!({}));
        assert_eq!((v["key_id"].as_str(), v["key_hash"].as_str()), (Some(""), Some("")));
        assert!(v["data"].is_object());
    }

    #[test]
    fn organisation_document_keeps_what_was_sent() {
        let org = OrgRow {
            id: app::model::OrgId::from_trusted("o1".into()),
            owner_name: "Acme".into(),
            document: r#"{"id":"forged","cname":"acme.example","apis":[{"api_id":"a"}]}"#.into(),
            created_at: 0,
        };
        let v = serde_json::to_value(OrganisationDocument::from(&org)).unwrap();
        assert_eq!(v, json!({ "id": "o1", "owner_name": "Acme", "apis": [{ "api_id": "a" }], "cname": "acme.example" }));
    }

    #[test]
    fn ready_leaves_out_redis_when_not_clustered() {
        let v = serde_json::to_value(Ready { status: Readiness::Ready, database: Reachable::Ok, redis: None, redis_fallback: None }).unwrap();
        assert_eq!(v, json!({ "status": "ready", "database": "ok" }));
        let v = serde_json::to_value(Ready {
            status: Readiness::Degraded,
            database: Reachable::Ok,
            redis: Some(Reachable::Unreachable),
            redis_fallback: Some(RedisFallback::Local),
        })
        .unwrap();
        assert_eq!(v, json!({ "status": "degraded", "database": "ok", "redis": "unreachable", "redis_fallback": "local" }));
    }

    /// The dashboard's formatter writes what the `time` crate writes, where it writes anything.
    #[test]
    fn rfc3339_agrees_with_the_time_crate() {
        let by_time = |s: i64| {
            time::OffsetDateTime::from_unix_timestamp(s)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
        };
        let mut s = -62_167_219_300_i64;
        while s < 253_402_400_000 {
            assert_eq!(rfc3339(Some(s)), by_time(s), "{s}");
            s += 7_777_777;
        }
        for s in [-62_167_219_201, -62_167_219_200, -1, 0, 1, 951_782_400, 253_402_300_799, 253_402_300_800] {
            assert_eq!(rfc3339(Some(s)), by_time(s), "{s}");
        }
    }
}
