//! Organisations, dashboard users, their REST credentials and their sign-in sessions: the rules.

pub mod throttle;

use crate::audit::{Action, Actor, Audit, Object};
use crate::secrets::{generated_password, object_id, random_hex, sha256_hex};
use crate::service_error::{Kind, ServiceError};
use crate::store::{now, NewUser, OrgRow, Store, StoreError, UserChange, UserRow};
use app::model::{validate_password, Area, Level, OrgId, Permissions, UserId};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use throttle::SignInThrottle;

/// The longest email address (RFC 5321's path limit), checked before anything else.
pub const MAX_EMAIL_LEN: usize = 254;

/// How long a dashboard session lasts.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("Organisation '{0}' does not exist")]
    UnknownOrg(String),
    #[error("User email already exists")]
    EmailTaken,
    #[error("not found")]
    NotFound,
    /// The caller's permissions do not allow this; the text says what.
    #[error("access denied: {0}")]
    Denied(&'static str),
    #[error("To create a user specify at least one permission, or make them an admin.")]
    NoPermissions,
    /// The change would leave the organisation without an active admin, and so without anyone
    /// who can manage its users.
    #[error("This is the organisation's last active admin: make another user an admin first")]
    LastAdmin,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("Wrong email or password")]
    Invalid,
    #[error("email must be at most {MAX_EMAIL_LEN} characters")]
    EmailTooLong,
    #[error("Too many failed sign-in attempts; try again in {} seconds", .0.as_secs().max(1))]
    Throttled(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AccountError> for ServiceError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid { field, message } => ServiceError::invalid(field, message),
            AccountError::UnknownOrg(_) => ServiceError::new(Kind::Invalid, e.to_string()).beside("org_id"),
            // Tyk answers a duplicate email, and a user with no permissions, with 403.
            AccountError::EmailTaken => ServiceError::new(Kind::Conflict, e.to_string()).beside("email_address").for_tyk(Kind::Forbidden),
            AccountError::NoPermissions => ServiceError::new(Kind::Invalid, e.to_string()).beside("user_permissions").for_tyk(Kind::Forbidden),
            AccountError::LastAdmin => ServiceError::new(Kind::Conflict, e.to_string()).beside("user_permissions"),
            AccountError::Denied(why) => ServiceError::forbidden(why),
            AccountError::NotFound => ServiceError::not_found("Not found"),
            AccountError::Store(s) => s.into(),
            AccountError::Hashing(_) => ServiceError::internal(e),
        }
    }
}

/// A new dashboard user, as the Admin API (Tyk's `User` object) or the CLI describes it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NewUserRequest {
    #[schema(required = true)]
    #[serde(default)]
    pub email_address: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    /// An existing organisation.
    #[schema(required = true)]
    #[serde(default)]
    pub org_id: String,
    /// At least 8 characters and at most 72 bytes. Without one, the user cannot sign in to the
    /// dashboard (the API credential still works).
    pub password: Option<String>,
    /// Defaults to `true`.
    pub active: Option<bool>,
    /// Tyk's `user_permissions`. Through the Admin API and the CLI, absent means an admin (Tyk's
    /// Admin API creates admins); through `/api/users` it is required.
    #[schema(value_type = Option<Object>)]
    pub user_permissions: Option<Permissions>,
}

/// A new organisation, from Tyk's OrganisationDocument: its owner's name (required), and the
/// rest of the document, kept as sent. The id is always generated, so a sent one is dropped.
#[derive(Clone, Debug)]
pub struct NewOrg {
    owner_name: String,
    document: Map<String, Value>,
}

impl NewOrg {
    /// An organisation with nothing but its owner's name (the command line, first start).
    pub fn named(owner_name: &str) -> Result<Self, AccountError> {
        Self::try_from(Value::Object(Map::from_iter([("owner_name".to_owned(), Value::String(owner_name.to_owned()))])))
    }
}

impl TryFrom<Value> for NewOrg {
    type Error = AccountError;

    fn try_from(document: Value) -> Result<Self, AccountError> {
        let Value::Object(mut document) = document else {
            return Err(invalid("body", "must be a JSON object (an OrganisationDocument)"));
        };
        document.remove("id");
        let owner_name = match document.get("owner_name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::String(_)) | None => return Err(invalid("owner_name", "is required")),
            Some(_) => return Err(invalid("owner_name", "must be a string")),
        };
        Ok(Self { owner_name, document })
    }
}

/// A change to a user (`PUT /api/users/{id}`): what is absent stays as it is.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct UserUpdate {
    pub email_address: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub active: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub user_permissions: Option<Permissions>,
    /// Only through the dashboard's Users page (Tyk's REST API changes passwords elsewhere).
    #[serde(skip)]
    pub password: Option<String>,
}

#[derive(Clone)]
pub struct Accounts {
    store: Store,
    audit: Audit,
    bcrypt_cost: u32,
    throttle: Arc<SignInThrottle>,
    /// A real bcrypt hash to verify against when the email is unknown, so that the answer takes
    /// as long as for a known email and does not reveal which emails exist.
    decoy_hash: Arc<String>,
}

impl Accounts {
    pub fn new(store: Store, bcrypt_cost: u32) -> Self {
        let decoy_hash = bcrypt::hash(random_hex(16), bcrypt_cost).unwrap_or_default();
        let audit = Audit::new(store.clone());
        Self { store, audit, bcrypt_cost, throttle: Arc::default(), decoy_hash: Arc::new(decoy_hash) }
    }

    // ---- organisations ----

    /// Creates an organisation under a new id.
    pub async fn create_org(&self, new: NewOrg) -> Result<OrgRow, AccountError> {
        let org = OrgRow {
            id: OrgId::from_trusted(object_id()),
            owner_name: new.owner_name,
            document: Value::Object(new.document).to_string(),
            created_at: now(),
        };
        self.store.insert_org(&org).await?;
        tracing::info!(org_id = %org.id, "organisation created");
        Ok(org)
    }

    pub async fn org(&self, id: &OrgId) -> Result<OrgRow, AccountError> {
        self.store.org(id).await?.ok_or(AccountError::NotFound)
    }

    /// Whether an organisation exists (the Gateway API names one in a policy's body).
    pub async fn org_exists(&self, id: &OrgId) -> Result<bool, StoreError> {
        Ok(self.store.org(id).await?.is_some())
    }

    pub async fn orgs(&self) -> Result<Vec<OrgRow>, AccountError> {
        Ok(self.store.orgs().await?)
    }

    // ---- users and credentials ----

    /// Creates a user and returns it with its REST credential, in clear this once.
    pub async fn create_user(&self, actor: &Actor, req: NewUserRequest) -> Result<(UserRow, String), AccountError> {
        let email = normalise_email(&req.email_address)?;
        if req.org_id.is_empty() {
            return Err(invalid("org_id", "is required"));
        }
        let org_id = match OrgId::parse(&req.org_id) {
            Some(id) if self.store.org(&id).await?.is_some() => id,
            _ => return Err(AccountError::UnknownOrg(req.org_id)),
        };
        let password_hash = match &req.password {
            Some(p) => {
                validate_password(p).map_err(|m| invalid("password", &m))?;
                Some(self.hash_password(p.clone()).await?)
            }
            None => None,
        };
        let permissions = req.user_permissions.unwrap_or_else(Permissions::admin);
        if permissions.is_empty() {
            return Err(AccountError::NoPermissions);
        }
        let credential = random_hex(16);
        let user = NewUser {
            id: UserId::from_trusted(object_id()),
            org_id,
            email,
            first_name: req.first_name.trim().to_owned(),
            last_name: req.last_name.trim().to_owned(),
            password_hash,
            credential_hash: sha256_hex(&credential),
            credential_hint: hint(&credential),
            active: req.active.unwrap_or(true),
            created_at: now(),
            permissions,
        };
        match self.store.insert_user(&user).await {
            Err(StoreError::Conflict) => return Err(AccountError::EmailTaken),
            other => other?,
        }
        tracing::info!(user_id = %user.id, org_id = %user.org_id, "user created");
        let row = self.store.user(&user.id).await?.ok_or(AccountError::NotFound)?;
        self.audit.record(&row.org_id, actor, Action::Created, Object::User, row.id.as_str(), None, Some(&audited(&row))).await?;
        Ok((row, credential))
    }

    // ---- users of an organisation, managed by one of its users ----

    /// A user of the caller's organisation; another organisation's user is unknown.
    pub async fn member(&self, caller: &UserRow, id: &str) -> Result<UserRow, AccountError> {
        let Some(id) = UserId::parse(id) else { return Err(AccountError::NotFound) };
        match self.store.user(&id).await? {
            Some(u) if u.org_id == caller.org_id => Ok(u),
            _ => Err(AccountError::NotFound),
        }
    }

    /// Creates a user in the caller's organisation (`POST /api/users`, the Users page).
    pub async fn create_member(&self, caller: &UserRow, mut req: NewUserRequest) -> Result<(UserRow, String), AccountError> {
        require(caller, Area::Users, Level::Write)?;
        let permissions = req.user_permissions.clone().unwrap_or_default();
        if permissions.is_empty() {
            return Err(AccountError::NoPermissions);
        }
        may_grant(caller, &permissions)?;
        req.org_id = caller.org_id.to_string();
        req.user_permissions = Some(permissions);
        self.create_user(&caller.actor(), req).await
    }

    /// Changes a user of the caller's organisation: names, active, permissions (and, from the
    /// Users page, the password). Nobody gives rights it does not have, a user cannot raise its
    /// own, and only an admin changes an admin.
    pub async fn update_member(&self, caller: &UserRow, id: &str, change: UserUpdate) -> Result<UserRow, AccountError> {
        let target = self.member(caller, id).await?;
        require(caller, Area::Users, Level::Write)?;
        may_manage(caller, &target)?;
        let permissions = change.user_permissions.unwrap_or_else(|| target.permissions.clone());
        if permissions != target.permissions {
            if permissions.is_empty() {
                return Err(AccountError::NoPermissions);
            }
            may_grant(caller, &permissions)?;
        }
        let email = match &change.email_address {
            Some(e) => normalise_email(e)?,
            None => target.email.clone(),
        };
        let new = UserChange {
            email,
            first_name: change.first_name.map(|s| s.trim().to_owned()).unwrap_or_else(|| target.first_name.clone()),
            last_name: change.last_name.map(|s| s.trim().to_owned()).unwrap_or_else(|| target.last_name.clone()),
            active: change.active.unwrap_or(target.active),
            permissions,
        };
        if let Some(p) = change.password.as_deref().filter(|p| !p.is_empty()) {
            validate_password(p).map_err(|m| invalid("password", &m))?;
        }
        if !(new.active && new.permissions.admin) {
            self.keep_an_admin(&target).await?;
        }
        match self.store.update_user(&target.id, &new).await {
            Err(StoreError::Conflict) => return Err(AccountError::EmailTaken),
            Ok(false) => return Err(AccountError::NotFound),
            other => other?,
        };
        if let Some(p) = change.password.filter(|p| !p.is_empty()) {
            let hash = self.hash_password(p).await?;
            self.store.set_password(&target.id, &hash, now()).await?;
        }
        if !new.active {
            // Tyk logs a deactivated user out of every dashboard session.
            self.store.delete_user_sessions(&target.id).await?;
        }
        let row = self.user(&target.id).await?;
        self.audit
            .record(&row.org_id, &caller.actor(), Action::Updated, Object::User, row.id.as_str(), Some(&audited(&target)), Some(&audited(&row)))
            .await?;
        tracing::info!(user_id = %row.id, "user updated");
        Ok(row)
    }

    /// Deletes a user of the caller's organisation.
    pub async fn delete_member(&self, caller: &UserRow, id: &str) -> Result<(), AccountError> {
        let target = self.member(caller, id).await?;
        require(caller, Area::Users, Level::Write)?;
        may_manage(caller, &target)?;
        self.keep_an_admin(&target).await?;
        if !self.store.delete_user(&target.id).await? {
            return Err(AccountError::NotFound);
        }
        self.audit.record(&target.org_id, &caller.actor(), Action::Deleted, Object::User, target.id.as_str(), Some(&audited(&target)), None).await?;
        tracing::info!(user_id = %target.id, "user deleted");
        Ok(())
    }

    /// Refuses to take the last active admin of an organisation away (demoted, deactivated or
    /// deleted): nobody would be left to manage its users.
    async fn keep_an_admin(&self, target: &UserRow) -> Result<(), AccountError> {
        if !(target.active && target.permissions.admin) {
            return Ok(());
        }
        let others = self.store.users(Some(&target.org_id)).await?;
        if others.iter().any(|u| u.id != target.id && u.active && u.permissions.admin) {
            Ok(())
        } else {
            Err(AccountError::LastAdmin)
        }
    }

    /// Replaces a user's REST credential: one's own, or (admins only) a colleague's.
    pub async fn reset_member_credential(&self, caller: &UserRow, id: &str) -> Result<String, AccountError> {
        let target = self.member(caller, id).await?;
        if target.id != caller.id && !caller.permissions.admin {
            return Err(AccountError::Denied("only an admin can reset another user's credential"));
        }
        self.regenerate_credential(&caller.actor(), &target.id).await
    }

    pub async fn user(&self, id: &UserId) -> Result<UserRow, AccountError> {
        self.store.user(id).await?.ok_or(AccountError::NotFound)
    }

    pub async fn users(&self, org_id: Option<&OrgId>) -> Result<Vec<UserRow>, AccountError> {
        Ok(self.store.users(org_id).await?)
    }

    /// The active user a REST credential belongs to.
    pub async fn user_by_credential(&self, credential: &str) -> Result<Option<UserRow>, AccountError> {
        if credential.is_empty() {
            return Ok(None);
        }
        let user = self.store.user_by_credential(&sha256_hex(credential)).await?;
        Ok(user.filter(|u| u.active))
    }

    /// Replaces a user's REST credential; the old one stops working at once.
    pub async fn regenerate_credential(&self, actor: &Actor, user_id: &UserId) -> Result<String, AccountError> {
        let user = self.user(user_id).await?;
        let credential = random_hex(16);
        if !self.store.set_credential(user_id, &sha256_hex(&credential), &hint(&credential)).await? {
            return Err(AccountError::NotFound);
        }
        let change = |hint: &str| serde_json::json!({ "access_key_hint": hint });
        self.audit
            .record(&user.org_id, actor, Action::Updated, Object::User, user_id.as_str(), Some(&change(&user.credential_hint)), Some(&change(&hint(&credential))))
            .await?;
        tracing::info!(%user_id, "REST credential regenerated");
        Ok(credential)
    }

    // ---- sign-in ----

    /// Checks an email and password; on success opens a session and returns its token. The
    /// attempt is counted before bcrypt runs, so parallel guesses cannot outrun the throttle.
    pub async fn sign_in(&self, email: &str, password: &str, client: IpAddr) -> Result<(String, UserRow), SignInError> {
        // Before anything else: an over-long email is neither hashed, counted nor looked up.
        if email.len() > MAX_EMAIL_LEN {
            return Err(SignInError::EmailTooLong);
        }
        let email = email.trim().to_lowercase();
        self.throttle.reserve(&email, client).map_err(SignInError::Throttled)?;
        let user = match self.store.user_by_email(&email).await {
            Ok(u) => u,
            Err(e) => {
                self.throttle.abandoned(&email, client);
                return Err(e.into());
            }
        };
        let hash = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.decoy_hash.as_ref().clone());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .unwrap_or(false);
        let user = match user {
            Some(u) if matches && u.active && u.password_hash.is_some() => u,
            _ => {
                // Already counted by the reservation.
                tracing::info!(%client, "failed sign-in");
                return Err(SignInError::Invalid);
            }
        };
        self.throttle.succeeded(&email, client);
        let token = random_hex(32);
        let at = now();
        self.store.insert_session(&sha256_hex(&token), &user.id, at, at + SESSION_TTL_SECS).await?;
        self.store.touch_login(&user.id, at).await?;
        Ok((token, user))
    }

    /// The user behind a session cookie, while the session lasts.
    pub async fn session_user(&self, token: &str) -> Result<Option<UserRow>, AccountError> {
        let user = self.store.session_user(&sha256_hex(token), now()).await?;
        Ok(user.filter(|u| u.active))
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AccountError> {
        Ok(self.store.delete_session(&sha256_hex(token)).await?)
    }

    // ---- first start ----

    /// On an empty database, creates a first organisation and an admin user. Returns the
    /// email and the password to print when it created them.
    pub async fn bootstrap(&self, email: &str, password: Option<&str>) -> Result<Option<(String, String)>, AccountError> {
        // Nodes of a cluster may start together on an empty database: one makes the admin.
        self.store.clone().exclusively(self.bootstrap_once(email, password)).await?
    }

    async fn bootstrap_once(&self, email: &str, password: Option<&str>) -> Result<Option<(String, String)>, AccountError> {
        if self.store.count_orgs().await? > 0 {
            return Ok(None);
        }
        let org = self.create_org(NewOrg::named("Default organisation")?).await?;
        let password = password.map(str::to_owned).unwrap_or_else(generated_password);
        let (user, _credential) = self
            .create_user(&Actor::System, NewUserRequest {
                email_address: email.to_owned(),
                first_name: "Admin".into(),
                org_id: org.id.to_string(),
                password: Some(password.clone()),
                ..Default::default()
            })
            .await?;
        Ok(Some((user.email, password)))
    }

    async fn hash_password(&self, password: String) -> Result<String, AccountError> {
        let cost = self.bcrypt_cost;
        tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
            .await
            .map_err(|e| AccountError::Hashing(e.to_string()))?
            .map_err(|e| AccountError::Hashing(e.to_string()))
    }
}

/// The one check of a user's rights in an area.
pub fn require(user: &UserRow, area: Area, level: Level) -> Result<(), AccountError> {
    if user.permissions.allows(area, level) {
        Ok(())
    } else {
        Err(AccountError::Denied(match level {
            Level::Read => "You do not have permission to see this",
            Level::Write => "You do not have permission to change this",
        }))
    }
}

/// Nobody grants what it does not have; only an admin makes an admin.
fn may_grant(caller: &UserRow, wanted: &Permissions) -> Result<(), AccountError> {
    if wanted.admin && !caller.permissions.admin {
        return Err(AccountError::Denied("only an admin can grant IsAdmin"));
    }
    if !caller.permissions.covers(wanted) {
        return Err(AccountError::Denied("you cannot grant permissions you do not have"));
    }
    Ok(())
}

/// A non-admin manages only users with no more rights than its own (never an admin).
fn may_manage(caller: &UserRow, target: &UserRow) -> Result<(), AccountError> {
    if target.permissions.admin && !caller.permissions.admin {
        return Err(AccountError::Denied("only an admin can change an admin"));
    }
    if !caller.permissions.covers(&target.permissions) {
        return Err(AccountError::Denied("you cannot change a user with permissions you do not have"));
    }
    Ok(())
}

/// A user as the audit log records it (no secrets).
fn audited(u: &UserRow) -> Value {
    serde_json::json!({ "email_address": u.email, "first_name": u.first_name, "last_name": u.last_name,
                        "active": u.active, "user_permissions": u.permissions })
}

fn invalid(field: &'static str, message: &str) -> AccountError {
    AccountError::Invalid { field, message: message.to_owned() }
}

/// The last characters of a credential, enough to recognise it and useless to an attacker.
fn hint(credential: &str) -> String {
    credential[credential.len().saturating_sub(4)..].to_owned()
}

fn normalise_email(email: &str) -> Result<String, AccountError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Err(invalid("email_address", "is required"));
    }
    let valid = email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(char::is_whitespace)
        && matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && (domain.contains('.') || domain == "localhost"));
    if !valid {
        return Err(invalid("email_address", "is not a valid email address"));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(normalise_email(" Ann@Example.org ").unwrap(), "ann@example.org");
        assert!(normalise_email("ann").is_err());
        assert!(normalise_email("@example.org").is_err());
        assert!(normalise_email("a b@example.org").is_err());
        assert!(normalise_email("").is_err());
        assert!(normalise_email("@localhost").is_err());
    }
}
