//! Policies: limits and access rights shared by many keys. The rules for storing them; the
//! merge itself is `app::model::apply_policies`.

use crate::apis::{ApiError, Apis};
use crate::audit::{Action, Actor, Audit, Object};
use crate::changes::{Change, Changes};
use crate::keys::Keys;
use crate::secrets::object_id;
use crate::service_error::{Kind, ServiceError};
use crate::store::{now, PolicyRow, Store, StoreError};
use app::model::{validate_policy_rules, OrgId, Policy};
use std::borrow::Cow;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{field}: {message}")]
    Invalid { field: Cow<'static, str>, message: String },
    #[error("This policy name has already been used. Enter a unique policy name.")]
    NameTaken,
    #[error("A policy with id '{0}' already exists")]
    DuplicateId(String),
    #[error("Could not retrieve portal object.")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ApiError> for PolicyError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Invalid { field, message } => invalid(field, message),
            ApiError::Store(s) => PolicyError::Store(s),
            other => invalid("access_rights", other.to_string()),
        }
    }
}

impl From<PolicyError> for ServiceError {
    fn from(e: PolicyError) -> Self {
        match e {
            PolicyError::Invalid { field, message } => ServiceError::invalid(field, message),
            // Tyk's wording, answered as a bad request; a form shows it at the name.
            PolicyError::NameTaken => ServiceError::new(Kind::Conflict, e.to_string()).beside("name").for_tyk(Kind::Invalid),
            PolicyError::DuplicateId(_) => ServiceError::new(Kind::Conflict, e.to_string()),
            PolicyError::NotFound => ServiceError::not_found(e.to_string()),
            PolicyError::Store(s) => s.into(),
        }
    }
}

fn invalid(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid { field: field.into(), message: message.into() }
}

#[derive(Clone)]
pub struct Policies {
    store: Store,
    apis: Apis,
    keys: Keys,
    audit: Audit,
    changes: Changes,
}

impl Policies {
    pub fn new(store: Store, apis: Apis, keys: Keys, audit: Audit, changes: Changes) -> Self {
        Self { store, apis, keys, audit, changes }
    }

    /// Creates a policy. A chosen `id` or `_id` is kept (an import from Tyk); otherwise a
    /// 24-hex id is generated, as Tyk does.
    pub async fn create(&self, org_id: &OrgId, actor: &Actor, mut p: Policy) -> Result<Policy, PolicyError> {
        p.org_id = org_id.to_string();
        if p.id.is_empty() {
            p.id = if p.mongo_id.is_empty() { object_id() } else { p.mongo_id.clone() };
        }
        if p.mongo_id.is_empty() || self.store.policy_mongo_id_taken(&p.mongo_id).await? {
            p.mongo_id = if self.store.policy_mongo_id_taken(&p.id).await? { object_id() } else { p.id.clone() };
        }
        self.check(org_id, &mut p).await?;
        if self.store.policy(org_id, &p.id).await?.is_some() {
            return Err(PolicyError::DuplicateId(p.id));
        }
        let at = now();
        p.last_updated = at.to_string();
        let row = PolicyRow {
            org_id: org_id.clone(),
            id: p.id.clone(),
            mongo_id: p.mongo_id.clone(),
            name: p.name.clone(),
            body: serde_json::to_string(&p).expect("policies serialise"),
            created_at: at,
            updated_at: at,
        };
        match self.store.insert_policy(&row).await {
            Err(StoreError::Conflict) => return Err(PolicyError::DuplicateId(p.id)),
            other => other?,
        }
        let after = serde_json::to_value(&p).ok();
        self.audit.record(org_id, actor, Action::Created, Object::Policy, &p.id, None, after.as_ref()).await?;
        Ok(p)
    }

    pub async fn get(&self, org_id: &OrgId, id: &str) -> Result<Policy, PolicyError> {
        let row = self.store.policy(org_id, id).await?.ok_or(PolicyError::NotFound)?;
        parse(&row)
    }

    pub async fn list(&self, org_id: &OrgId, q: &str, limit: i64, offset: i64) -> Result<(Vec<Policy>, i64), PolicyError> {
        let (rows, total) = self.store.policies(org_id, q, limit, offset).await?;
        Ok((rows.iter().map(parse).collect::<Result<_, _>>()?, total))
    }

    /// Replaces a policy. Every key that applies it sees the change at once (the merge runs
    /// when a key is read); the listing index of those keys is refreshed here.
    pub async fn update(&self, org_id: &OrgId, actor: &Actor, id: &str, mut p: Policy) -> Result<Policy, PolicyError> {
        let row = self.store.policy(org_id, id).await?.ok_or(PolicyError::NotFound)?;
        let before = parse(&row)?;
        if !p.id.is_empty() && p.id != row.id {
            return Err(invalid("id", "cannot be changed"));
        }
        p.id = row.id.clone();
        p.mongo_id = row.mongo_id.clone();
        p.org_id = org_id.to_string();
        self.check(org_id, &mut p).await?;
        p.last_updated = now().to_string();
        let updated = PolicyRow {
            name: p.name.clone(),
            body: serde_json::to_string(&p).expect("policies serialise"),
            updated_at: now(),
            ..row
        };
        if !self.store.update_policy(&updated).await? {
            return Err(PolicyError::NotFound);
        }
        let (b, a) = (serde_json::to_value(&before).ok(), serde_json::to_value(&p).ok());
        self.audit.record(org_id, actor, Action::Updated, Object::Policy, &p.id, b.as_ref(), a.as_ref()).await?;
        self.keys.reindex_policy(org_id, &p.id).await?;
        self.changes.publish(Change::Policy { org_id: org_id.clone(), policy_id: p.id.clone() });
        Ok(p)
    }

    /// Deletes a policy; returns how many keys named it. Those keys keep the reference: a key
    /// whose only policy is gone is refused by the gateway, as in Tyk.
    pub async fn delete(&self, org_id: &OrgId, actor: &Actor, id: &str) -> Result<i64, PolicyError> {
        let row = self.store.policy(org_id, id).await?.ok_or(PolicyError::NotFound)?;
        let users = self.store.count_keys_with_policy(org_id, &row.id).await?;
        if !self.store.delete_policy(org_id, &row.id).await? {
            return Err(PolicyError::NotFound);
        }
        let before = serde_json::from_str::<serde_json::Value>(&row.body).ok();
        self.audit.record(org_id, actor, Action::Deleted, Object::Policy, &row.id, before.as_ref(), None).await?;
        self.keys.reindex_policy(org_id, &row.id).await?;
        self.changes.publish(Change::Policy { org_id: org_id.clone(), policy_id: row.id.clone() });
        Ok(users)
    }

    /// A policy of any organisation (for the `/tyk` gateway API): its organisation and itself.
    pub async fn get_any(&self, id: &str) -> Result<(OrgId, Policy), PolicyError> {
        let row = self.store.policy_any_org(id).await?.ok_or(PolicyError::NotFound)?;
        Ok((row.org_id.clone(), parse(&row)?))
    }

    pub async fn all(&self) -> Result<Vec<Policy>, PolicyError> {
        self.store.all_policies().await?.iter().map(parse).collect()
    }

    /// How many keys of the organisation apply a policy.
    pub async fn key_count(&self, org_id: &OrgId, id: &str) -> Result<i64, PolicyError> {
        Ok(self.store.count_keys_with_policy(org_id, id).await?)
    }

    async fn check(&self, org_id: &OrgId, p: &mut Policy) -> Result<(), PolicyError> {
        if !p.id.chars().all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c)) || p.id.len() > 128 {
            return Err(invalid("id", "may only contain letters, digits and . _ ~ - (at most 128)"));
        }
        // The rules shared with the dashboard's form (app::model::forms), for every way in.
        validate_policy_rules(p).map_err(|e| invalid(e.field, e.message))?;
        if !p.name.is_empty() {
            if let Some(other) = self.store.policy_by_name(org_id, &p.name).await? {
                if other.id != p.id {
                    return Err(PolicyError::NameTaken);
                }
            }
        }
        self.apis.check_access_rights(org_id, &mut p.access_rights).await?;
        Ok(())
    }
}

fn parse(row: &PolicyRow) -> Result<Policy, PolicyError> {
    serde_json::from_str(&row.body).map_err(|e| PolicyError::Store(StoreError::Corrupt(e.to_string())))
}
