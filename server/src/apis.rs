//! The APIs an organisation registers: the rules for creating, changing and deleting them.

use crate::audit::{Action, Actor, Audit, Object};
use crate::changes::{Change, Changes};
use crate::gateway::egress::Egress;
use crate::secrets::{object_id, random_hex};
use crate::service_error::{Kind, ServiceError};
use crate::store::{now, ApiRow, ClusterLock, Store, StoreError};
use app::model::api_definition::{canonical_domain, routes_overlap};
use app::model::{ApiDefinition, OrgId};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("Found API with the same ID")]
    DuplicateId,
    #[error("proxy.listen_path: '{0}' is already used by another API")]
    ListenPathTaken(String),
    /// The route meets another organisation's: that organisation's clients could reach this
    /// API (or the other way round). The other organisation is not named.
    #[error("proxy.listen_path: '{0}' overlaps an API of another organisation")]
    RouteOverlaps(String),
    #[error("API definition does not exist")]
    NotFound,
    #[error("The API cannot be deleted: {0} key(s) grant access to it. Remove it from their access rights (or delete them) first.")]
    InUse(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ApiError> for ServiceError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Invalid { field, message } => ServiceError::invalid(field, message),
            ApiError::ListenPathTaken(path) => ServiceError::conflict("proxy.listen_path", format!("'{path}' is already used by another API")),
            ApiError::RouteOverlaps(path) => {
                ServiceError::conflict("proxy.listen_path", format!("'{path}' overlaps an API of another organisation"))
            }
            ApiError::DuplicateId | ApiError::InUse(_) => ServiceError::new(Kind::Conflict, e.to_string()),
            ApiError::NotFound => ServiceError::not_found(e.to_string()),
            ApiError::Store(s) => s.into(),
        }
    }
}

/// An API as stored: the row, and its definition read back.
#[derive(Clone, Debug)]
pub struct Api {
    pub row: ApiRow,
    pub definition: ApiDefinition,
}

impl Api {
    fn from_row(row: ApiRow) -> Result<Self, StoreError> {
        let definition = serde_json::from_str(&row.definition).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Self { row, definition })
    }
}

#[derive(Clone)]
pub struct Apis {
    store: Store,
    audit: Audit,
    changes: Changes,
    /// Held from the overlap check to the write of a route, so two writes cannot both pass the
    /// check; across nodes the store's `ClusterLock::Routes` does the same.
    routes: Arc<tokio::sync::Mutex<()>>,
    /// Where a target may point (the gateway checks again when it connects).
    egress: Arc<Egress>,
}

impl Apis {
    pub fn new(store: Store, audit: Audit, changes: Changes, egress: Arc<Egress>) -> Self {
        Self { store, audit, changes, routes: Arc::default(), egress }
    }

    /// Refuses a route that another API already has (in this organisation) or that overlaps
    /// another organisation's. `except` is the API being changed.
    async fn check_route(&self, org_id: &OrgId, except: &str, def: &ApiDefinition) -> Result<(), ApiError> {
        let lp = &def.proxy.listen_path;
        for other in self.store.api_routes().await? {
            if other.api_id == except {
                continue;
            }
            if other.org_id == *org_id {
                // Nesting inside one's own organisation is allowed, as in Tyk: the longest wins.
                if other.domain == def.domain && other.listen_path == *lp {
                    return Err(ApiError::ListenPathTaken(lp.clone()));
                }
            } else if routes_overlap((&other.domain, &other.listen_path), (&def.domain, lp)) {
                return Err(ApiError::RouteOverlaps(lp.clone()));
            }
        }
        Ok(())
    }

    /// Runs a route's check and its write as one step, in this process and in the cluster.
    async fn routing<T>(&self, work: impl std::future::Future<Output = Result<T, ApiError>>) -> Result<T, ApiError> {
        let _routes = self.routes.lock().await;
        self.store.exclusively_as(ClusterLock::Routes, work).await?
    }

    pub async fn create(&self, org_id: &OrgId, actor: &Actor, mut def: ApiDefinition) -> Result<Api, ApiError> {
        def.org_id = org_id.to_string();
        if def.api_id.is_empty() {
            def.api_id = random_hex(16);
        }
        def.domain = canonical_domain(&def.domain);
        check(&def)?;
        check_target(&self.egress, &def).await?;
        let at = now();
        let row = ApiRow {
            api_id: def.api_id.clone(),
            mongo_id: object_id(),
            org_id: org_id.clone(),
            name: def.name.clone(),
            domain: def.domain.clone(),
            listen_path: def.proxy.listen_path.clone(),
            definition: serde_json::to_string(&def).expect("definitions serialise"),
            created_at: at,
            updated_at: at,
        };
        self.routing(async {
            if self.store.api_id_taken(&def.api_id).await? {
                return Err(ApiError::DuplicateId);
            }
            self.check_route(org_id, "", &def).await?;
            match self.store.insert_api(&row).await {
                // Only a concurrent create of the same api_id gets here: routes are checked under the lock.
                Err(StoreError::Conflict) => Err(ApiError::DuplicateId),
                other => Ok(other?),
            }
        })
        .await?;
        self.changes.publish(Change::Api { api_id: row.api_id.clone() });
        let after = serde_json::to_value(&def).ok();
        self.audit.record(org_id, actor, Action::Created, Object::Api, &row.api_id, None, after.as_ref()).await?;
        Ok(Api { row, definition: def })
    }

    /// An API of this organisation, by `api_id` or internal id. Another organisation's API is
    /// answered exactly like a missing one.
    pub async fn get(&self, org_id: &OrgId, id: &str) -> Result<Api, ApiError> {
        match self.store.api_any_org(id).await? {
            Some(row) if row.org_id == *org_id => Ok(Api::from_row(row)?),
            _ => Err(ApiError::NotFound),
        }
    }

    pub async fn list(&self, org_id: &OrgId, q: &str, limit: i64, offset: i64) -> Result<(Vec<Api>, i64), ApiError> {
        let (rows, total) = self.store.apis(org_id, q, limit, offset).await?;
        let apis = rows.into_iter().map(Api::from_row).collect::<Result<_, _>>()?;
        Ok((apis, total))
    }

    pub async fn update(&self, org_id: &OrgId, actor: &Actor, id: &str, mut def: ApiDefinition) -> Result<Api, ApiError> {
        let current = self.get(org_id, id).await?;
        if !def.api_id.is_empty() && def.api_id != current.row.api_id {
            return Err(ApiError::Invalid { field: "api_id", message: "cannot be changed".into() });
        }
        def.api_id = current.row.api_id.clone();
        def.org_id = org_id.to_string();
        def.domain = canonical_domain(&def.domain);
        check(&def)?;
        check_target(&self.egress, &def).await?;
        let row = ApiRow {
            name: def.name.clone(),
            domain: def.domain.clone(),
            listen_path: def.proxy.listen_path.clone(),
            definition: serde_json::to_string(&def).expect("definitions serialise"),
            updated_at: now(),
            ..current.row.clone()
        };
        // An unchanged route is not checked again: overlaps stored before the check existed
        // must not block every other change to the API.
        let moved = row.listen_path != current.row.listen_path || row.domain != current.row.domain;
        self.routing(async {
            if moved {
                self.check_route(org_id, &row.api_id, &def).await?;
            }
            match self.store.update_api(&row).await {
                Err(StoreError::Conflict) => Err(ApiError::ListenPathTaken(def.proxy.listen_path.clone())),
                Ok(false) => Err(ApiError::NotFound),
                other => other.map(|_| ()).map_err(ApiError::from),
            }
        })
        .await?;
        self.changes.publish(Change::Api { api_id: row.api_id.clone() });
        let before = serde_json::to_value(&current.definition).ok();
        let after = serde_json::to_value(&def).ok();
        self.audit
            .record(org_id, actor, Action::Updated, Object::Api, &row.api_id, before.as_ref(), after.as_ref())
            .await?;
        Ok(Api { row, definition: def })
    }

    /// Refused while keys grant the API: deleting it would silently change what they allow.
    pub async fn delete(&self, org_id: &OrgId, actor: &Actor, id: &str) -> Result<(), ApiError> {
        let api = self.get(org_id, id).await?;
        let in_use = self.store.count_keys_for_api(&api.row.api_id).await?;
        if in_use > 0 {
            return Err(ApiError::InUse(in_use));
        }
        if !self.store.delete_api(org_id, &api.row.api_id).await? {
            return Err(ApiError::NotFound);
        }
        self.changes.publish(Change::Api { api_id: api.row.api_id.clone() });
        let before = serde_json::to_value(&api.definition).ok();
        self.audit.record(org_id, actor, Action::Deleted, Object::Api, &api.row.api_id, before.as_ref(), None).await?;
        Ok(())
    }
}

fn check(def: &ApiDefinition) -> Result<(), ApiError> {
    def.validate().map_err(|(field, message)| ApiError::Invalid { field, message })
}

/// The target must not resolve to an address the gateway refuses to reach.
async fn check_target(egress: &Egress, def: &ApiDefinition) -> Result<(), ApiError> {
    crate::gateway::upstream::check_target(egress, &def.proxy.target_url)
        .await
        .map_err(|refused| ApiError::Invalid { field: "proxy.target_url", message: refused.to_string() })
}

impl Apis {
    /// Checks a key's or a policy's access rights against the organisation's APIs: each API
    /// must exist here, each version must be one the API has, each path pattern must be a valid
    /// regular expression. Fills in `api_id` and `api_name` as Tyk does.
    pub async fn check_access_rights(
        &self,
        org_id: &OrgId,
        rights: &mut std::collections::BTreeMap<String, app::model::AccessDefinition>,
    ) -> Result<(), ApiError> {
        for (api_id, right) in rights.iter_mut() {
            let api = match self.store.api_any_org(api_id).await? {
                Some(row) if row.org_id == *org_id && row.api_id == *api_id => Api::from_row(row)?,
                _ => {
                    return Err(ApiError::Invalid {
                        field: "access_rights",
                        message: format!("API '{api_id}' does not exist in your organisation"),
                    })
                }
            };
            if let Some(v) = right.versions.iter().find(|v| !api.definition.has_version(v)) {
                return Err(ApiError::Invalid {
                    field: "access_rights",
                    message: format!("API '{api_id}' has no version '{v}'"),
                });
            }
            if let Some(bad) = right.allowed_urls.iter().find(|u| regex::Regex::new(&u.url).is_err()) {
                return Err(ApiError::Invalid {
                    field: "access_rights",
                    message: format!("API '{api_id}': allowed_urls pattern '{}' is not a valid regular expression", bad.url),
                });
            }
            right.api_id = api_id.clone();
            if right.api_name.is_empty() {
                right.api_name = api.definition.name.clone();
            }
        }
        Ok(())
    }
}
