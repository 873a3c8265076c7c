//! The server's side of the dashboard port (`app::backend::DashboardBackend`): each method finds
//! the signed-in user, then calls the same services the REST APIs call (keys, policies, APIs,
//! accounts). The rules live in those services and in `app::model::forms`; nothing here
//! touches storage directly.

use super::usage::UsageSource;
use crate::accounts::{require, AccountError, Accounts, NewUserRequest, UserUpdate};
use crate::apis::{Api, ApiError, Apis};
use crate::keys::{KeyError, KeyRef, Keys, Lookup, NewKey, Scope};
use crate::policies::{Policies, PolicyError};
use crate::service_error::{Kind, ServiceError};
use crate::store::{now, KeyCursor, KeyFilter, KeyWindow, UserRow};
use app::backend::DashboardBackend;
use app::model::{
    validate_api_form, validate_key_form, validate_policy_form, ApiChoice, ApiDefinition, ApiDetail, ApiForm, ApiSummary,
    AppError, Area, CreatedKey, Level, UserForm, UserSummary, FieldError, FormOptions, Governed, KeyAuth, KeyDetail, KeyForm, KeyHash, KeyListQuery, KeyPage,
    KeyStatus, KeySummary, KeyUsage, Named, OrgId, Policy, PolicyChoice, PolicyDetail, PolicyForm, PolicySummary, Profile,
    SessionState, UsageWindow, KEYS_PER_PAGE,
};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct DashboardService {
    accounts: Accounts,
    keys: Keys,
    policies: Policies,
    apis: Apis,
    usage: Arc<dyn UsageSource>,
}

impl DashboardService {
    pub fn new(accounts: Accounts, keys: Keys, policies: Policies, apis: Apis, usage: Arc<dyn UsageSource>) -> Self {
        Self { accounts, keys, policies, apis, usage }
    }

    /// The signed-in user, or `Unauthenticated`.
    async fn user(&self, token: &str) -> Result<UserRow, AppError> {
        self.accounts.session_user(token).await.map_err(internal)?.ok_or(AppError::Unauthenticated)
    }

    /// The signed-in user if its permissions allow `level` on `area`: the one check every
    /// method makes before it does anything.
    async fn user_for(&self, token: &str, area: Area, level: Level) -> Result<UserRow, AppError> {
        let user = self.user(token).await?;
        require(&user, area, level).map_err(|_| forbidden(area, level))?;
        Ok(user)
    }

    /// Names of the organisation's policies and APIs, by id.
    async fn names(&self, org_id: &OrgId) -> Result<(BTreeMap<String, String>, BTreeMap<String, String>), AppError> {
        let (policies, _) = self.policies.list(org_id, "", i64::MAX, 0).await.map_err(policy_error)?;
        let (apis, _) = self.apis.list(org_id, "", i64::MAX, 0).await.map_err(api_error)?;
        Ok((
            policies.into_iter().map(|p| (p.id, p.name)).collect(),
            apis.into_iter().map(|a| (a.row.api_id, a.definition.name)).collect(),
        ))
    }

    /// The policies a key form names, as stored; an unknown one is an error at the field.
    async fn chosen_policies(&self, org_id: &OrgId, form: &KeyForm) -> Result<Vec<Policy>, AppError> {
        if !form.use_policies {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for id in &form.policies {
            match self.policies.get(org_id, id).await {
                Ok(p) => out.push(p),
                // As everywhere: a missing policy is skipped, unless it is the key's only one.
                Err(PolicyError::NotFound) if form.policies.len() > 1 => {}
                Err(PolicyError::NotFound) => {
                    return Err(AppError::invalid("apply_policies", format!("The policy '{id}' does not exist any more")))
                }
                Err(e) => return Err(policy_error(e)),
            }
        }
        Ok(out)
    }
}

fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!("dashboard backend: {e}");
    AppError::Internal("the request could not be completed".into())
}

fn forbidden(area: Area, level: Level) -> AppError {
    let what = area.label().to_lowercase();
    AppError::Forbidden(match level {
        Level::Read => format!("You do not have access to {what}. Ask an admin of your organisation for it."),
        Level::Write => format!("You may look at {what} but not change them. Ask an admin of your organisation for write access."),
    })
}

/// The one place a service's error becomes a server function's: by its kind. `not_found` names
/// what is missing, in the dashboard's words.
fn app_error(e: impl Into<ServiceError>, not_found: &str) -> AppError {
    let e = e.into();
    match e.kind {
        // A form shows the message beside the input it concerns.
        Kind::Invalid | Kind::Conflict => AppError::invalid(e.field_name(), sentence(&e.message)),
        Kind::NotFound => AppError::NotFound(not_found.to_owned()),
        Kind::Forbidden => AppError::Forbidden(sentence(&e.message)),
        Kind::Unavailable | Kind::Internal => internal(e.message),
    }
}

/// "must be greater than 0" → "Must be greater than 0": messages stand alone beside a field.
fn sentence(message: &str) -> String {
    let mut c = message.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn account_error(e: AccountError) -> AppError {
    app_error(e, "This user does not exist (it may have been deleted).")
}

fn key_error(e: KeyError) -> AppError {
    app_error(e, "This key does not exist (it may have been deleted).")
}

fn policy_error(e: PolicyError) -> AppError {
    app_error(e, "This policy does not exist (it may have been deleted).")
}

fn api_error(e: ApiError) -> AppError {
    app_error(e, "This API does not exist (it may have been deleted).")
}

fn first_error(errors: Vec<FieldError>) -> Result<(), AppError> {
    match errors.into_iter().next() {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// A key named by its hash, as a reference the keys service understands.
fn by_hash(key_hash: &str) -> Result<KeyRef, AppError> {
    let hash = KeyHash::parse_hex(key_hash).ok_or_else(|| AppError::NotFound("There is no key at this address.".into()))?;
    Ok(KeyRef::hash(&hash))
}

fn scope(user: &UserRow) -> Scope {
    Scope::Org(user.org_id.clone())
}

fn summary(key_hash: KeyHash, s: &SessionState, names: &(BTreeMap<String, String>, BTreeMap<String, String>), now: i64) -> KeySummary {
    let (policy_names, api_names) = names;
    KeySummary {
        key_hash,
        alias: s.alias.clone(),
        basic_username: (!s.basic_auth_data.user.is_empty()).then(|| s.basic_auth_data.user.clone()),
        hmac: s.hmac_enabled,
        policies: s
            .policy_ids()
            .into_iter()
            .map(|id| Named {
                id: id.to_owned(),
                name: policy_names.get(id).cloned().unwrap_or_else(|| format!("{id} (deleted)")),
            })
            .collect(),
        apis: s
            .access_rights
            .iter()
            .map(|(id, d)| Named {
                id: id.clone(),
                name: api_names.get(id).cloned().unwrap_or_else(|| if d.api_name.is_empty() { id.clone() } else { d.api_name.clone() }),
            })
            .collect(),
        tags: s.tags.clone(),
        expires: s.expires,
        quota_max: s.quota_max,
        quota_remaining: s.quota_remaining,
        status: KeyStatus::of(s.is_inactive, s.expires, now),
    }
}

fn api_choice(api: &Api) -> ApiChoice {
    let d = &api.definition;
    let mut versions: Vec<String> = d.version_data.versions.keys().cloned().collect();
    if versions.is_empty() {
        versions.push("Default".into());
    }
    ApiChoice {
        api_id: api.row.api_id.clone(),
        name: d.name.clone(),
        listen_path: d.proxy.listen_path.clone(),
        versions,
        auth_mode: d.auth_mode(),
    }
}

fn policy_choice(p: &Policy) -> PolicyChoice {
    PolicyChoice {
        id: p.id.clone(),
        name: if p.name.is_empty() { p.id.clone() } else { p.name.clone() },
        active: p.active && !p.is_inactive,
        partitions: p.partitions,
        rate: p.rate,
        per: p.per,
        throttle_retry_limit: p.throttle_retry_limit,
        throttle_interval: p.throttle_interval,
        quota_max: p.quota_max,
        quota_renewal_rate: p.quota_renewal_rate,
        apis: p
            .access_rights
            .iter()
            .map(|(id, d)| Named { id: id.clone(), name: if d.api_name.is_empty() { id.clone() } else { d.api_name.clone() } })
            .collect(),
        tags: p.tags.clone(),
    }
}

#[async_trait::async_trait]
impl DashboardBackend for DashboardService {
    async fn profile(&self, session_token: &str) -> Result<Option<Profile>, AppError> {
        let Some(user) = self.accounts.session_user(session_token).await.map_err(account_error)? else {
            return Ok(None);
        };
        let org = self.accounts.org(&user.org_id).await.map_err(account_error)?;
        Ok(Some(Profile {
            user_id: user.id,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            org_id: org.id,
            org_name: org.owner_name,
            credential_hint: user.credential_hint,
            created_at: user.created_at,
            permissions: user.permissions,
        }))
    }

    // ---- users (the rules are in `accounts`) ----

    async fn list_users(&self, session_token: &str) -> Result<Vec<UserSummary>, AppError> {
        let user = self.user_for(session_token, Area::Users, Level::Read).await?;
        let users = self.accounts.users(Some(&user.org_id)).await.map_err(account_error)?;
        Ok(users.into_iter().map(user_summary).collect())
    }

    async fn create_user(&self, session_token: &str, form: UserForm) -> Result<UserSummary, AppError> {
        let user = self.user(session_token).await?;
        let req = NewUserRequest {
            email_address: form.email,
            first_name: form.first_name,
            last_name: form.last_name,
            org_id: String::new(),
            password: Some(form.password).filter(|p| !p.is_empty()),
            active: Some(form.active),
            user_permissions: Some(form.permissions),
        };
        let (created, _credential) = self.accounts.create_member(&user, req).await.map_err(account_error)?;
        Ok(user_summary(created))
    }

    async fn update_user(&self, session_token: &str, user_id: &str, form: UserForm) -> Result<(), AppError> {
        let user = self.user(session_token).await?;
        let change = UserUpdate {
            email_address: Some(form.email),
            first_name: Some(form.first_name),
            last_name: Some(form.last_name),
            active: Some(form.active),
            user_permissions: Some(form.permissions),
            password: Some(form.password).filter(|p| !p.is_empty()),
        };
        self.accounts.update_member(&user, user_id, change).await.map_err(account_error)?;
        Ok(())
    }

    async fn reset_user_credential(&self, session_token: &str, user_id: &str) -> Result<String, AppError> {
        let user = self.user(session_token).await?;
        self.accounts.reset_member_credential(&user, user_id).await.map_err(account_error)
    }

    async fn regenerate_credential(&self, session_token: &str) -> Result<String, AppError> {
        let user = self.user(session_token).await?;
        self.accounts.regenerate_credential(&user.actor(), &user.id).await.map_err(account_error)
    }

    // ---- keys ----

    async fn list_keys(&self, session_token: &str, query: KeyListQuery) -> Result<KeyPage, AppError> {
        let user = self.user_for(session_token, Area::Keys, Level::Read).await?;
        let now = now();
        let filter = KeyFilter {
            org_id: Some(user.org_id.clone()),
            search: KeyFilter::text(query.q.trim()),
            status: query.status,
            now,
            order: query.sort,
            ..KeyFilter::default()
        };
        let per_page = i64::from(KEYS_PER_PAGE);
        let page = query.page.max(1);
        let window = if query.cursor.is_empty() {
            KeyWindow::Offset { limit: per_page, offset: i64::from(page - 1) * per_page }
        } else {
            let cursor = KeyCursor::decode(&query.cursor).map_err(|_| AppError::Invalid { field: "cursor".into(), message: "This page link is not valid: start from the first page.".into() })?;
            KeyWindow::Cursor { cursor, limit: per_page }
        };
        let listed = self.keys.detailed(&filter, &window).await.map_err(key_error)?;
        let total = listed.total;
        let any_keys = total > 0 || {
            let all = KeyFilter { org_id: Some(user.org_id.clone()), ..KeyFilter::default() };
            self.keys.list(&all, 0, 0).await.map_err(key_error)?.1 > 0
        };
        let names = self.names(&user.org_id).await?;
        Ok(KeyPage {
            keys: listed.items.iter().map(|k| summary(k.key_hash.clone(), &k.data, &names, now)).collect(),
            total,
            page,
            pages: ((total + per_page - 1) / per_page).max(1) as u32,
            now,
            any_keys,
            next: listed.next.as_ref().map(KeyCursor::encode),
            prev: listed.prev.as_ref().map(KeyCursor::encode),
        })
    }

    async fn key_detail(&self, session_token: &str, key_hash: &str) -> Result<KeyDetail, AppError> {
        let user = self.user_for(session_token, Area::Keys, Level::Read).await?;
        let def = self.keys.definition(&scope(&user), &by_hash(key_hash)?).await.map_err(key_error)?;
        let names = self.names(&user.org_id).await?;
        let now = now();
        let e = &def.effective;
        Ok(KeyDetail {
            summary: summary(def.key_hash.clone(), e, &names, now),
            form: KeyForm::from_session(&def.own),
            rate: e.rate,
            per: e.per,
            throttle_retry_limit: e.throttle_retry_limit,
            throttle_interval: e.throttle_interval,
            quota_renewal_rate: e.quota_renewal_rate,
            quota_renews: e.quota_renews,
            created_at: def.created_at,
            updated_at: def.updated_at,
            detailed_logging: e.enable_detailed_recording || e.enable_detail_recording,
            now,
            missing_policies: def.missing_policies.clone(),
        })
    }

    async fn lookup_key(&self, session_token: &str, key: &str) -> Result<KeyHash, AppError> {
        let user = self.user_for(session_token, Area::Keys, Level::Read).await?;
        let key = key.trim();
        if key.is_empty() {
            return Err(AppError::invalid("lookup", "Paste the key you are looking for"));
        }
        let refs = [
            KeyRef::new(key, Lookup::Guess),
            KeyRef::new(key, Lookup::Username),
        ];
        for r in refs {
            match self.keys.get(&scope(&user), &r).await {
                Ok(found) => return Ok(found.key_hash),
                Err(KeyError::NotFound) => continue,
                Err(e) => return Err(key_error(e)),
            }
        }
        Err(AppError::invalid("lookup", "No key of your organisation has this value"))
    }

    async fn create_key(&self, session_token: &str, mut form: KeyForm) -> Result<CreatedKey, AppError> {
        let user = self.user_for(session_token, Area::Keys, Level::Write).await?;
        let now = now();
        form.existing = false;
        let policies = self.chosen_policies(&user.org_id, &form).await?;
        let governed = Governed::by(policies.iter().map(|p| &p.partitions));
        first_error(validate_key_form(&form, governed, now))?;
        let mut session = SessionState::default();
        form.apply(&mut session, governed, now);
        let kind = match form.auth {
            KeyAuth::Basic => NewKey::Basic(Some(form.basic_username.trim().to_owned())),
            _ => NewKey::Generated,
        };
        let created = self.keys.create(&user.org_id, &user.actor(), kind, session).await.map_err(key_error)?;
        let basic = &created.data.basic_auth_data.user;
        Ok(CreatedKey {
            key: created.key_id,
            key_hash: created.key_hash,
            hmac_secret: (!created.data.hmac_string.is_empty()).then(|| created.data.hmac_string.clone()),
            basic_username: (!basic.is_empty()).then(|| basic.clone()),
        })
    }

    async fn update_key(&self, session_token: &str, key_hash: &str, mut form: KeyForm, suppress_reset: bool) -> Result<Option<String>, AppError> {
        let user = self.user_for(session_token, Area::Keys, Level::Write).await?;
        let r = by_hash(key_hash)?;
        let def = self.keys.definition(&scope(&user), &r).await.map_err(key_error)?;
        form.existing = true;
        // A key's kind is fixed when it is made: a basic-auth user stays one, with its username.
        match (&def.basic_username, form.auth) {
            (Some(username), _) => {
                form.auth = KeyAuth::Basic;
                form.basic_username = username.clone();
            }
            (None, KeyAuth::Basic) => {
                return Err(AppError::invalid(
                    "basic_auth_data.user",
                    "A key cannot become a basic-auth user; create a basic-auth user instead",
                ))
            }
            (None, _) => {}
        }
        let now = now();
        let policies = self.chosen_policies(&user.org_id, &form).await?;
        let governed = Governed::by(policies.iter().map(|p| &p.partitions));
        first_error(validate_key_form(&form, governed, now))?;
        let mut session = def.own;
        form.apply(&mut session, governed, now);
        let updated = self.keys.update(&scope(&user), &user.actor(), &r, session, suppress_reset).await.map_err(key_error)?;
        // Reads mask the secret; only the update that made one carries it.
        let secret = updated.data.hmac_string;
        Ok((!secret.is_empty() && secret != crate::keys::HMAC_SECRET_MASK).then_some(secret))
    }

    async fn set_key_active(&self, session_token: &str, key_hash: &str, active: bool) -> Result<(), AppError> {
        let user = self.user_for(session_token, Area::Keys, Level::Write).await?;
        let r = by_hash(key_hash)?;
        let mut own = self.keys.definition(&scope(&user), &r).await.map_err(key_error)?.own;
        own.is_inactive = !active;
        // An empty password keeps the stored one (the stored value is its hash).
        own.basic_auth_data.password.clear();
        self.keys.update(&scope(&user), &user.actor(), &r, own, true).await.map_err(key_error)?;
        Ok(())
    }

    async fn delete_key(&self, session_token: &str, key_hash: &str) -> Result<(), AppError> {
        let user = self.user_for(session_token, Area::Keys, Level::Write).await?;
        self.keys.delete(&scope(&user), &user.actor(), &by_hash(key_hash)?).await.map_err(key_error)?;
        Ok(())
    }

    async fn key_usage(&self, session_token: &str, key_hash: &str, window: UsageWindow) -> Result<KeyUsage, AppError> {
        let user = self.user_for(session_token, Area::Analytics, Level::Read).await?;
        let key = self.keys.get(&scope(&user), &by_hash(key_hash)?).await.map_err(key_error)?;
        self.usage.key_usage(&user.org_id, &key.key_hash, window, now()).await.map_err(internal)
    }

    async fn form_options(&self, session_token: &str) -> Result<FormOptions, AppError> {
        // The key form and the policy form offer them.
        let user = self.user(session_token).await?;
        if !(user.permissions.allows(Area::Keys, Level::Read) || user.permissions.allows(Area::Policies, Level::Read)) {
            return Err(forbidden(Area::Keys, Level::Read));
        }
        let (apis, _) = self.apis.list(&user.org_id, "", i64::MAX, 0).await.map_err(api_error)?;
        let (policies, _) = self.policies.list(&user.org_id, "", i64::MAX, 0).await.map_err(policy_error)?;
        Ok(FormOptions {
            apis: apis.iter().map(api_choice).collect(),
            policies: policies.iter().map(policy_choice).collect(),
            now: now(),
        })
    }

    // ---- policies ----

    async fn list_policies(&self, session_token: &str) -> Result<Vec<PolicySummary>, AppError> {
        let user = self.user_for(session_token, Area::Policies, Level::Read).await?;
        let (policies, _) = self.policies.list(&user.org_id, "", i64::MAX, 0).await.map_err(policy_error)?;
        let mut out = Vec::with_capacity(policies.len());
        for p in &policies {
            let key_count = self.policies.key_count(&user.org_id, &p.id).await.map_err(policy_error)?;
            out.push(PolicySummary { choice: policy_choice(p), key_count });
        }
        Ok(out)
    }

    async fn policy_detail(&self, session_token: &str, id: &str) -> Result<PolicyDetail, AppError> {
        let user = self.user_for(session_token, Area::Policies, Level::Read).await?;
        let p = self.policies.get(&user.org_id, id).await.map_err(policy_error)?;
        let key_count = self.policies.key_count(&user.org_id, &p.id).await.map_err(policy_error)?;
        Ok(PolicyDetail { id: p.id.clone(), form: PolicyForm::from_policy(&p), key_count })
    }

    async fn save_policy(&self, session_token: &str, id: Option<String>, form: PolicyForm) -> Result<String, AppError> {
        let user = self.user_for(session_token, Area::Policies, Level::Write).await?;
        first_error(validate_policy_form(&form))?;
        let saved = match id {
            Some(id) => {
                let mut p = self.policies.get(&user.org_id, &id).await.map_err(policy_error)?;
                form.apply(&mut p);
                self.policies.update(&user.org_id, &user.actor(), &id, p).await
            }
            None => {
                let mut p = Policy::default();
                form.apply(&mut p);
                self.policies.create(&user.org_id, &user.actor(), p).await
            }
        };
        Ok(saved.map_err(policy_error)?.id)
    }

    async fn delete_policy(&self, session_token: &str, id: &str) -> Result<i64, AppError> {
        let user = self.user_for(session_token, Area::Policies, Level::Write).await?;
        self.policies.delete(&user.org_id, &user.actor(), id).await.map_err(policy_error)
    }

    // ---- APIs ----

    async fn list_apis(&self, session_token: &str) -> Result<Vec<ApiSummary>, AppError> {
        let user = self.user_for(session_token, Area::Apis, Level::Read).await?;
        let (apis, _) = self.apis.list(&user.org_id, "", i64::MAX, 0).await.map_err(api_error)?;
        let mut out = Vec::with_capacity(apis.len());
        for api in &apis {
            out.push(ApiSummary {
                api: api_choice(api),
                target_url: api.definition.proxy.target_url.clone(),
                active: api.definition.active,
                key_count: self.api_key_count(&user.org_id, &api.row.api_id).await?,
            });
        }
        Ok(out)
    }

    async fn api_detail(&self, session_token: &str, api_id: &str) -> Result<ApiDetail, AppError> {
        let user = self.user_for(session_token, Area::Apis, Level::Read).await?;
        let api = self.apis.get(&user.org_id, api_id).await.map_err(api_error)?;
        Ok(ApiDetail {
            api_id: api.row.api_id.clone(),
            form: ApiForm::from_definition(&api.definition),
            key_count: self.api_key_count(&user.org_id, &api.row.api_id).await?,
        })
    }

    async fn save_api(&self, session_token: &str, api_id: Option<String>, form: ApiForm) -> Result<String, AppError> {
        let user = self.user_for(session_token, Area::Apis, Level::Write).await?;
        first_error(validate_api_form(&form))?;
        let saved = match api_id {
            Some(id) => {
                let mut def = self.apis.get(&user.org_id, &id).await.map_err(api_error)?.definition;
                form.apply(&mut def);
                self.apis.update(&user.org_id, &user.actor(), &id, def).await
            }
            None => {
                let mut def = ApiDefinition::default();
                form.apply(&mut def);
                self.apis.create(&user.org_id, &user.actor(), def).await
            }
        };
        Ok(saved.map_err(api_error)?.row.api_id)
    }

    async fn delete_api(&self, session_token: &str, api_id: &str) -> Result<(), AppError> {
        let user = self.user_for(session_token, Area::Apis, Level::Write).await?;
        self.apis.delete(&user.org_id, &user.actor(), api_id).await.map_err(api_error)
    }
}

fn user_summary(u: UserRow) -> UserSummary {
    UserSummary {
        user_id: u.id,
        email: u.email,
        first_name: u.first_name,
        last_name: u.last_name,
        permissions: u.permissions,
        active: u.active,
        last_login: u.last_login,
        created_at: u.created_at,
    }
}

impl DashboardService {
    /// How many keys of the organisation grant an API.
    async fn api_key_count(&self, org_id: &OrgId, api_id: &str) -> Result<i64, AppError> {
        let filter = KeyFilter { org_id: Some(org_id.clone()), api_id: Some(api_id.to_owned()), ..KeyFilter::default() };
        Ok(self.keys.list(&filter, 0, 0).await.map_err(key_error)?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_becomes_a_server_function_error() {
        let at = |e: ServiceError| app_error(e, "gone");
        assert_eq!(at(ServiceError::invalid("rate", "must be positive")), AppError::invalid("rate", "Must be positive"));
        let taken = ServiceError::new(Kind::Conflict, "This name is taken").beside("name");
        assert_eq!(at(taken), AppError::invalid("name", "This name is taken"));
        assert_eq!(at(ServiceError::not_found("Could not retrieve key detail.")), AppError::NotFound("gone".into()));
        assert_eq!(at(ServiceError::forbidden("only an admin can do this")), AppError::Forbidden("Only an admin can do this".into()));
        assert!(matches!(at(ServiceError::internal("disk on fire")), AppError::Internal(m) if !m.contains("fire")));
        assert!(matches!(at(ServiceError::new(Kind::Unavailable, "pool timed out")), AppError::Internal(_)));
    }
}
