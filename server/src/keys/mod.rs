//! Keys: creating, reading, changing and deleting them, with Tyk's rules (seed 000 and
//! tyk-key-semantics.md §1–§3). Keys are stored by SHA-256; the key itself is returned once.

pub mod bulk;
pub mod id;
pub mod live;

use crate::apis::{ApiError, Apis};
use crate::audit::{Action, Actor, Audit, Object};
use crate::changes::{Change, Changes};
use crate::limits::Limits;
use crate::service_error::{Kind, ServiceError};
use crate::store::{now, KeyCursor, KeyFilter, KeyIndex, KeyRow, KeyWindow, Store, StoreError};
use crate::vault::{Vault, VaultError};
use app::model::{apply_policies, trial_expiry, validate_session_rules, KeyHash, OrgId, Policy, SessionState};
pub use id::{KeyRef, Lookup};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{field}: {message}")]
    Invalid { field: Cow<'static, str>, message: String },
    #[error("Could not retrieve key detail.")]
    NotFound,
    #[error("Attempted access to non-owned key.")]
    NonOwned,
    #[error("Key already exists")]
    KeyExists,
    #[error("basic_auth_data.user: username '{0}' already exists in this organisation")]
    UsernameTaken(String),
    #[error("a basic-auth password could not be hashed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ApiError> for KeyError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Invalid { field, message } => invalid(field, message),
            ApiError::Store(s) => KeyError::Store(s),
            other => invalid("access_rights", other.to_string()),
        }
    }
}

impl From<KeyError> for ServiceError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Invalid { field, message } => ServiceError::invalid(field, message),
            KeyError::NotFound => ServiceError::not_found(e.to_string()),
            // Tyk's Dashboard refuses another organisation's key as a bad request.
            KeyError::NonOwned => ServiceError::new(Kind::NotFound, e.to_string()).for_tyk(Kind::Invalid),
            KeyError::KeyExists => ServiceError::new(Kind::Conflict, e.to_string()),
            KeyError::UsernameTaken(username) => {
                ServiceError::conflict("basic_auth_data.user", format!("username '{username}' already exists in this organisation"))
            }
            KeyError::Hashing(_) | KeyError::Vault(_) => ServiceError::internal(e),
            KeyError::Store(s) => s.into(),
        }
    }
}

fn invalid(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> KeyError {
    KeyError::Invalid { field: field.into(), message: message.into() }
}

fn unknown_org(org_id: &str) -> KeyError {
    invalid("org_id", format!("organisation '{org_id}' does not exist"))
}

/// The organisation a key's body names (the `/tyk` API, which may act for any). What is no
/// organisation id is refused as an unknown organisation.
pub fn org_of(session: &SessionState) -> Result<OrgId, KeyError> {
    OrgId::parse(&session.org_id).ok_or_else(|| unknown_org(&session.org_id))
}

/// Which keys a caller may touch: those of its organisation, or (the `/tyk` gateway API,
/// which holds the node's secret) any.
#[derive(Clone, Debug)]
pub enum Scope {
    Org(OrgId),
    Any,
}

impl Scope {
    fn org(&self) -> Option<&OrgId> {
        match self {
            Scope::Org(o) => Some(o),
            Scope::Any => None,
        }
    }
}

/// What every read shows for a key's HMAC secret: the secret is shown once, in the answer that
/// made it (key creation, or the update that turned HMAC on). Non-empty, so that a client that
/// tests `hmac_string` for a secret still finds one; no character of it, so a read leaks
/// nothing. Sent back in an update, it is ignored like any `hmac_string`: the stored secret stays.
pub const HMAC_SECRET_MASK: &str = "****";

/// How a new key gets its id.
#[derive(Clone, Debug)]
pub enum NewKey {
    Generated,
    Custom(String),
    /// A basic-auth user; the username, when not given here, comes from `basic_auth_data.user`.
    Basic(Option<String>),
}

/// Tyk's `KeyData`: the key id (in clear only right after creation, or for basic-auth users),
/// its hash, and its effective session.
#[derive(Clone, Debug)]
pub struct KeyData {
    pub key_id: String,
    pub key_hash: KeyHash,
    pub data: SessionState,
    /// Policies the key lists that do not exist: skipped, as Tyk skips them.
    pub missing_policies: Vec<String>,
}

/// A stored key as the dashboard edits it. The HMAC secret is left out.
#[derive(Clone, Debug)]
pub struct KeyDefinition {
    pub key_hash: KeyHash,
    pub basic_username: Option<String>,
    /// The key's own settings, as stored.
    pub own: SessionState,
    /// With its policies applied.
    pub effective: SessionState,
    /// Policies it lists that do not exist (skipped).
    pub missing_policies: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A key as the list shows it: its listed id (the hash, or the clear id of a basic-auth user).
/// A window of a list: its items, how many match in all, and the cursors beside it.
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub prev: Option<KeyCursor>,
    pub next: Option<KeyCursor>,
}

pub struct ListedKey {
    pub listed_id: String,
    pub row: KeyRow,
}

/// A new key, ready to store.
struct Draft {
    row: KeyRow,
    index: KeyIndex,
    /// Its own settings, as stored.
    own: SessionState,
    /// Its HMAC secret in clear, when it has one: shown once.
    hmac: Option<String>,
}

#[derive(Clone)]
pub struct Keys {
    store: Store,
    apis: Apis,
    audit: Audit,
    vault: Vault,
    bcrypt_cost: u32,
    changes: Changes,
    limits: Arc<Limits>,
}

/// What the keys service is built from.
pub struct KeysDeps {
    pub store: Store,
    pub apis: Apis,
    pub audit: Audit,
    pub vault: Vault,
    pub bcrypt_cost: u32,
    pub changes: Changes,
    pub limits: Arc<Limits>,
}

impl Keys {
    pub fn new(d: KeysDeps) -> Self {
        Self { store: d.store, apis: d.apis, audit: d.audit, vault: d.vault, bcrypt_cost: d.bcrypt_cost, changes: d.changes, limits: d.limits }
    }

    /// The bcrypt cost basic-auth passwords are stored with.
    pub fn bcrypt_cost(&self) -> u32 {
        self.bcrypt_cost
    }

    pub async fn create(&self, org_id: &OrgId, actor: &Actor, kind: NewKey, mut s: SessionState) -> Result<KeyData, KeyError> {
        if self.store.org(org_id).await?.is_none() {
            return Err(unknown_org(org_id.as_str()));
        }
        let (policies, missing_policies) = self.prepare(org_id, &mut s).await?;

        if !matches!(kind, NewKey::Basic(_)) {
            // Only a basic-auth user has a password: one sent with any other key is dropped,
            // never stored (in clear) in its session or the audit trail.
            s.basic_auth_data = Default::default();
        }
        let (key_id, basic_username) = match kind {
            NewKey::Generated => (id::generate(org_id), None),
            NewKey::Custom(requested) => {
                let key_id = id::custom(org_id, &requested)
                    .ok_or_else(|| invalid("keyId", "must be at least 3 characters, with no spaces or control characters"))?;
                (key_id, None)
            }
            NewKey::Basic(username) => {
                let username = username.unwrap_or_else(|| s.basic_auth_data.user.clone());
                self.prepare_basic_auth(&mut s, &username, None).await?;
                (id::basic(org_id.as_str(), &username), Some(username))
            }
        };
        let key_hash = id::hash(&key_id);
        let Draft { row, index, own: s, hmac } = self.draft(org_id, key_hash.clone(), basic_username.clone(), s, &policies)?;
        match self.store.insert_key(&row, &index).await {
            Err(StoreError::Conflict) => {
                return Err(match basic_username {
                    Some(u) => KeyError::UsernameTaken(u),
                    None => KeyError::KeyExists,
                })
            }
            other => other?,
        }
        // A custom key may reuse the id of one deleted earlier: its counters start afresh.
        self.limits.reset(&key_hash).await;
        self.changes.publish(Change::Key { key_hash: key_hash.clone() });
        let mut data = self.effective(&row, &s, Some(&policies)).await?;
        // The one answer that carries the HMAC secret in clear.
        if let Some(secret) = hmac {
            data.hmac_string = secret;
        }
        self.audit
            .record(org_id, actor, Action::Created, Object::Key, key_hash.as_str(), None, serde_json::to_value(&s).ok().as_ref())
            .await?;
        tracing::info!(%org_id, key_hash = %key_hash, "key created");
        Ok(KeyData { key_id, key_hash, data, missing_policies })
    }

    /// The row of a new key whose definition passed `prepare`: stamped, its quota started, its
    /// HMAC secret made (returned in clear, stored encrypted).
    fn draft(&self, org_id: &OrgId, key_hash: KeyHash, basic_username: Option<String>, mut s: SessionState, policies: &[Policy]) -> Result<Draft, KeyError> {
        let at = now();
        s.date_created = app::model::format::rfc3339(Some(at));
        s.last_updated = at.to_string();
        if let Some(expires) = trial_expiry(policies, at) {
            s.expires = expires;
        }
        let merged = merge(&s, policies)?;
        reset_quota(&mut s, &merged, at);
        let hmac = (s.hmac_enabled || merged.hmac_enabled).then(id::hmac_secret);
        s.hmac_string.clear();

        let row = KeyRow {
            key_hash: key_hash.clone(),
            org_id: org_id.clone(),
            key_id: basic_username.as_ref().map(|u| id::basic(org_id.as_str(), u)),
            basic_username,
            alias: s.alias.clone(),
            is_inactive: s.is_inactive,
            expires: s.expires,
            session: serde_json::to_string(&s).expect("sessions serialise"),
            hmac_secret: hmac.as_deref().map(|h| self.vault.encrypt(h)),
            created_at: at,
            updated_at: at,
        };
        Ok(Draft { row, index: index(&s, &merged), own: s, hmac })
    }

    /// Validates a key definition and returns it with its policies applied, storing nothing.
    pub async fn preview(&self, org_id: &OrgId, mut s: SessionState) -> Result<SessionState, KeyError> {
        let (policies, _) = self.prepare(org_id, &mut s).await?;
        merge(&s, &policies)
    }

    pub async fn get(&self, scope: &Scope, r: &KeyRef) -> Result<KeyData, KeyError> {
        let row = self.find(scope, r).await?;
        let own = parse_session(&row)?;
        let data = self.effective(&row, &own, None).await?;
        let missing_policies = self.lookup_policies(&row.org_id, &own).await?.1;
        Ok(KeyData { key_id: listed_id(&row, r), key_hash: row.key_hash, data, missing_policies })
    }

    /// Replaces a key's definition. Without `suppress_reset` its quota starts again, as in Tyk.
    pub async fn update(&self, scope: &Scope, actor: &Actor, r: &KeyRef, mut s: SessionState, suppress_reset: bool) -> Result<KeyData, KeyError> {
        let row = self.find(scope, r).await?;
        let old = parse_session(&row)?;
        let org_id = row.org_id.clone();
        let (policies, missing_policies) = self.prepare(&org_id, &mut s).await?;

        s.date_created = old.date_created.clone();
        if let Some(username) = &row.basic_username {
            self.prepare_basic_auth(&mut s, username, Some(&old)).await?;
        } else {
            s.basic_auth_data = Default::default();
        }
        let merged = merge(&s, &policies)?;
        let at = now();
        if suppress_reset {
            s.quota_remaining = old.quota_remaining;
            s.quota_renews = old.quota_renews;
            s.last_updated = old.last_updated.clone();
        } else {
            reset_quota(&mut s, &merged, at);
            s.last_updated = at.to_string();
        }
        // The HMAC secret survives updates; turning HMAC on for the first time makes one.
        let hmac_on = s.hmac_enabled || merged.hmac_enabled;
        let new_secret = (row.hmac_secret.is_none() && hmac_on).then(id::hmac_secret);
        let hmac_secret = match (&row.hmac_secret, &new_secret) {
            _ if !hmac_on => None,
            (Some(existing), _) => Some(existing.clone()),
            (None, new) => new.as_deref().map(|h| self.vault.encrypt(h)),
        };
        s.hmac_string.clear();

        let updated = KeyRow {
            alias: s.alias.clone(),
            is_inactive: s.is_inactive,
            expires: s.expires,
            session: serde_json::to_string(&s).expect("sessions serialise"),
            hmac_secret,
            updated_at: at,
            ..row.clone()
        };
        if !self.store.update_key(&updated, &index(&s, &merged), !suppress_reset).await? {
            return Err(KeyError::NotFound);
        }
        if !suppress_reset {
            self.limits.reset(&row.key_hash).await;
        }
        self.changes.publish(Change::Key { key_hash: row.key_hash.clone() });
        let (before, after) = (serde_json::to_value(&old).ok(), serde_json::to_value(&s).ok());
        self.audit
            .record(&org_id, actor, Action::Updated, Object::Key, row.key_hash.as_str(), before.as_ref(), after.as_ref())
            .await?;
        let mut data = self.effective(&updated, &s, Some(&policies)).await?;
        // A secret made by this update is shown in its answer, and masked ever after.
        if let Some(secret) = new_secret {
            data.hmac_string = secret;
        }
        Ok(KeyData { key_id: listed_id(&updated, r), key_hash: updated.key_hash, data, missing_policies })
    }

    /// Deletes a key; returns its hash.
    pub async fn delete(&self, scope: &Scope, actor: &Actor, r: &KeyRef) -> Result<KeyHash, KeyError> {
        let row = self.find(scope, r).await?;
        if !self.store.delete_key(&row.org_id, &row.key_hash).await? {
            return Err(KeyError::NotFound);
        }
        self.limits.forget(&row.key_hash).await;
        self.changes.publish(Change::Key { key_hash: row.key_hash.clone() });
        let before = serde_json::from_str::<Value>(&row.session).ok();
        self.audit.record(&row.org_id, actor, Action::Deleted, Object::Key, row.key_hash.as_str(), before.as_ref(), None).await?;
        tracing::info!(org_id = %row.org_id, key_hash = %row.key_hash, "key deleted");
        Ok(row.key_hash)
    }

    /// A page of keys matching the filter, and how many match in all.
    pub async fn list(&self, filter: &KeyFilter, limit: i64, offset: i64) -> Result<(Vec<ListedKey>, i64), KeyError> {
        let page = self.page(filter, &KeyWindow::Offset { limit, offset }).await?;
        Ok((page.items, page.total))
    }

    /// A window of keys matching the filter, with the cursors of the windows beside it.
    pub async fn page(&self, filter: &KeyFilter, window: &KeyWindow) -> Result<Paged<ListedKey>, KeyError> {
        if let KeyWindow::Cursor { cursor, .. } = window {
            if cursor.sort != filter.order {
                return Err(invalid("cursor", "this cursor belongs to another order of the list"));
            }
        }
        let rows = self.store.keys(filter, window).await?;
        let items = rows
            .rows
            .into_iter()
            .map(|row| ListedKey { listed_id: row.key_id.clone().unwrap_or_else(|| row.key_hash.to_string()), row })
            .collect();
        Ok(Paged { items, total: rows.total, prev: rows.prev, next: rows.next })
    }

    /// Like `page`, with every key's effective session.
    pub async fn detailed(&self, filter: &KeyFilter, window: &KeyWindow) -> Result<Paged<KeyData>, KeyError> {
        let page = self.page(filter, window).await?;
        let items = self.with_sessions(page.items).await?;
        Ok(Paged { items, total: page.total, prev: page.prev, next: page.next })
    }

    /// One window of a list read to its end, without counting: its keys and the cursor after.
    pub async fn window(&self, filter: &KeyFilter, window: &KeyWindow) -> Result<(Vec<ListedKey>, Option<KeyCursor>), KeyError> {
        let (rows, next) = self.store.keys_uncounted(filter, window).await?;
        let items = rows
            .into_iter()
            .map(|row| ListedKey { listed_id: row.key_id.clone().unwrap_or_else(|| row.key_hash.to_string()), row })
            .collect();
        Ok((items, next))
    }

    /// Like `window`, with every key's effective session.
    pub async fn detailed_window(&self, filter: &KeyFilter, window: &KeyWindow) -> Result<(Vec<KeyData>, Option<KeyCursor>), KeyError> {
        let (items, next) = self.window(filter, window).await?;
        Ok((self.with_sessions(items).await?, next))
    }

    async fn with_sessions(&self, keys: Vec<ListedKey>) -> Result<Vec<KeyData>, KeyError> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let own = parse_session(&k.row)?;
            let data = self.effective(&k.row, &own, None).await?;
            let missing_policies = self.lookup_policies(&k.row.org_id, &own).await?.1;
            out.push(KeyData { key_id: k.listed_id, key_hash: k.row.key_hash, data, missing_policies });
        }
        Ok(out)
    }

    /// Sets a key's policies (Tyk's `POST /tyk/keys/policy/{keyHash}`).
    pub async fn set_policies(&self, actor: &Actor, key_hash: &KeyHash, policy_ids: Vec<String>) -> Result<KeyData, KeyError> {
        let r = KeyRef::hash(key_hash);
        let row = self.find(&Scope::Any, &r).await?;
        let mut s = parse_session(&row)?;
        s.apply_policies = policy_ids;
        s.apply_policy_id.clear();
        self.update(&Scope::Org(row.org_id.clone()), actor, &r, s, true).await
    }

    /// Refreshes the listing index of the keys that apply a policy, after it changed.
    pub async fn reindex_policy(&self, org_id: &OrgId, policy_id: &str) -> Result<(), StoreError> {
        for row in self.store.keys_with_policy(org_id, policy_id).await? {
            let Ok(own) = parse_session(&row) else { continue };
            let policies = self.existing_policies(&row.org_id, &own).await?;
            let merged = apply_policies(&own, &policies).unwrap_or_else(|_| own.clone());
            self.store.reindex_key(&row.key_hash, &index(&own, &merged)).await?;
        }
        Ok(())
    }

    // ---- for the dashboard ----

    /// A key with its own stored settings (before policies) next to its effective session: what
    /// the dashboard's edit form starts from.
    pub async fn definition(&self, scope: &Scope, r: &KeyRef) -> Result<KeyDefinition, KeyError> {
        let row = self.find(scope, r).await?;
        let own = parse_session(&row)?;
        let mut effective = self.effective(&row, &own, None).await?;
        effective.hmac_string.clear();
        let missing_policies = self.lookup_policies(&row.org_id, &own).await?.1;
        Ok(KeyDefinition {
            key_hash: row.key_hash.clone(),
            basic_username: row.basic_username.clone(),
            own,
            effective,
            missing_policies,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    // ---- internals ----

    /// The key a reference names, if the scope may see it. Another organisation's key is
    /// refused as Tyk refuses it.
    async fn find(&self, scope: &Scope, r: &KeyRef) -> Result<KeyRow, KeyError> {
        for hash in r.candidates(scope.org()) {
            if let Some(row) = self.store.key(&hash).await? {
                return match scope {
                    Scope::Org(org) if *org != row.org_id => Err(KeyError::NonOwned),
                    _ => Ok(row),
                };
            }
        }
        Err(KeyError::NotFound)
    }

    /// The rules every key definition follows; returns the policies it applies and the ids of
    /// those it lists that do not exist.
    async fn prepare(&self, org_id: &OrgId, s: &mut SessionState) -> Result<(Vec<Policy>, Vec<String>), KeyError> {
        check_rules(org_id, s)?;
        self.resolve(org_id, s).await
    }

    /// What `prepare` checks against storage: the APIs granted and the policies applied.
    async fn resolve(&self, org_id: &OrgId, s: &mut SessionState) -> Result<(Vec<Policy>, Vec<String>), KeyError> {
        self.apis.check_access_rights(org_id, &mut s.access_rights).await?;
        let (policies, missing) = self.lookup_policies(org_id, s).await?;
        // Tyk skips a missing policy, unless it is the key's only one.
        if let (Some(pid), 1) = (missing.first(), s.policy_ids().len()) {
            return Err(invalid("apply_policies", format!("policy '{pid}' does not exist in your organisation")));
        }
        Ok((policies, missing))
    }

    /// A basic-auth user's password is stored as a bcrypt hash; on update an empty or unchanged
    /// password keeps the stored one.
    async fn prepare_basic_auth(&self, s: &mut SessionState, username: &str, old: Option<&SessionState>) -> Result<(), KeyError> {
        if username.is_empty() {
            return Err(invalid("basic_auth_data.user", "a basic-auth user needs a username"));
        }
        if username.contains(':') || username.chars().any(char::is_control) || username.len() > 256 {
            return Err(invalid("basic_auth_data.user", "must not contain ':' or control characters"));
        }
        if !s.basic_auth_data.user.is_empty() && s.basic_auth_data.user != username {
            return Err(invalid("basic_auth_data.user", "a basic-auth user's username cannot be changed"));
        }
        let password = std::mem::take(&mut s.basic_auth_data.password);
        let kept = old.map(|o| o.basic_auth_data.password.clone()).filter(|h| !h.is_empty());
        let hash = match (password.is_empty(), kept) {
            (true, Some(existing)) => existing,
            (true, None) => return Err(invalid("basic_auth_data.password", "a basic-auth user needs a password")),
            (false, Some(existing)) if bcrypt::verify(&password, &existing).unwrap_or(false) => existing,
            (false, _) => {
                if password.len() > 72 {
                    return Err(invalid("basic_auth_data.password", "must be at most 72 bytes long"));
                }
                let cost = self.bcrypt_cost;
                tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
                    .await
                    .map_err(|e| KeyError::Hashing(e.to_string()))?
                    .map_err(|e| KeyError::Hashing(e.to_string()))?
            }
        };
        s.basic_auth_data.user = username.to_owned();
        s.basic_auth_data.password = hash;
        s.basic_auth_data.hash_type = "bcrypt".into();
        Ok(())
    }

    /// The policies of a stored key that still exist (a deleted one is skipped, as Tyk does
    /// when a key has several).
    async fn existing_policies(&self, org_id: &OrgId, s: &SessionState) -> Result<Vec<Policy>, StoreError> {
        Ok(self.lookup_policies(org_id, s).await?.0)
    }

    /// The policies a key lists that exist, in its order, and the ids of those that do not.
    async fn lookup_policies(&self, org_id: &OrgId, s: &SessionState) -> Result<(Vec<Policy>, Vec<String>), StoreError> {
        let (mut found, mut missing) = (Vec::new(), Vec::new());
        for pid in s.policy_ids() {
            match self.store.policy(org_id, pid).await? {
                Some(row) => found.push(serde_json::from_str(&row.body).map_err(|e| StoreError::Corrupt(e.to_string()))?),
                None => missing.push(pid.to_owned()),
            }
        }
        Ok((found, missing))
    }

    /// What a read shows: the key with its policies applied, its HMAC secret masked, its
    /// basic-auth password blanked.
    async fn effective(&self, row: &KeyRow, own: &SessionState, policies: Option<&[Policy]>) -> Result<SessionState, KeyError> {
        let loaded;
        let policies = match policies {
            Some(p) => p,
            None => {
                loaded = self.existing_policies(&row.org_id, own).await?;
                &loaded
            }
        };
        let mut s = apply_policies(own, policies).unwrap_or_else(|_| own.clone());
        s.basic_auth_data.password.clear();
        // The live quota, as the gateway counts it (Tyk recomputes quota_remaining on read).
        if s.quota_max > 0 {
            if let Some(q) = self.limits.usage(&row.key_hash, "").await? {
                let renewed = s.quota_renewal_rate > 0 && q.renews_at > 0 && q.renews_at <= now();
                s.quota_remaining = if renewed { s.quota_max } else { (s.quota_max - q.used).max(0) };
                if !renewed && q.renews_at > 0 {
                    s.quota_renews = q.renews_at;
                }
            }
        }
        s.hmac_string = match &row.hmac_secret {
            Some(_) => HMAC_SECRET_MASK.to_owned(),
            None => String::new(),
        };
        Ok(s)
    }
}

/// What `prepare` checks without storage.
fn check_rules(org_id: &OrgId, s: &mut SessionState) -> Result<(), KeyError> {
    // The caller's organisation always wins over one in the body.
    s.org_id = org_id.to_string();
    // The rules shared with the dashboard's form (app::model::forms), for every way in.
    validate_session_rules(s).map_err(|e| invalid(e.field, e.message))
}

fn merge(s: &SessionState, policies: &[Policy]) -> Result<SessionState, KeyError> {
    apply_policies(s, policies).map_err(|e| invalid("apply_policies", e.to_string()))
}

/// A fresh quota window: all of `quota_max` remains, renewing one period from now.
fn reset_quota(s: &mut SessionState, merged: &SessionState, at: i64) {
    s.quota_remaining = merged.quota_max.max(0);
    s.quota_renews = if merged.quota_renewal_rate > 0 { at + merged.quota_renewal_rate } else { 0 };
}

fn index(own: &SessionState, merged: &SessionState) -> KeyIndex {
    KeyIndex {
        api_ids: merged.access_rights.keys().cloned().collect(),
        tags: merged.tags.clone(),
        policy_ids: own.policy_ids().into_iter().map(str::to_owned).collect(),
    }
}

fn parse_session(row: &KeyRow) -> Result<SessionState, KeyError> {
    serde_json::from_str(&row.session).map_err(|e| KeyError::Store(StoreError::Corrupt(e.to_string())))
}

/// The id a read answers with: the clear id of a basic-auth user, else what the caller used.
fn listed_id(row: &KeyRow, r: &KeyRef) -> String {
    row.key_id.clone().unwrap_or_else(|| if r.lookup == Lookup::Hash { row.key_hash.to_string() } else { r.id.clone() })
}
