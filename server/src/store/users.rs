use super::{IntBool, Store, StoreError};
use app::model::{OrgId, Permissions, UserId};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    #[sqlx(try_from = "String")]
    pub id: UserId,
    #[sqlx(try_from = "String")]
    pub org_id: OrgId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: Option<String>,
    pub credential_hint: String,
    #[sqlx(try_from = "IntBool")]
    pub active: bool,
    pub created_at: i64,
    pub password_updated: Option<i64>,
    pub last_login: Option<i64>,
    #[sqlx(try_from = "StoredPermissions")]
    pub permissions: Permissions,
}

/// The permissions column, JSON. Unreadable permissions grant nothing rather than everything.
pub struct StoredPermissions(Permissions);

impl sqlx::Type<sqlx::Any> for StoredPermissions {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<sqlx::Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <String as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for StoredPermissions {
    fn decode(value: <sqlx::Any as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let json = <String as sqlx::Decode<sqlx::Any>>::decode(value)?;
        Ok(StoredPermissions(serde_json::from_str(&json).unwrap_or_default()))
    }
}

impl From<StoredPermissions> for Permissions {
    fn from(p: StoredPermissions) -> Permissions {
        p.0
    }
}

pub struct NewUser {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: Option<String>,
    pub credential_hash: String,
    pub credential_hint: String,
    pub active: bool,
    pub created_at: i64,
    pub permissions: Permissions,
}

/// What `PUT /api/users/{id}` (and the Users page) may change.
pub struct UserChange {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub active: bool,
    pub permissions: Permissions,
}

const COLUMNS: &str = "id, org_id, email, first_name, last_name, password_hash, credential_hint, \
                       active, created_at, password_updated, last_login, permissions";

impl Store {
    pub async fn insert_user(&self, u: &NewUser) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, org_id, email, first_name, last_name, password_hash, credential_hash, \
             credential_hint, active, created_at, password_updated, permissions) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(u.id.as_str())
        .bind(u.org_id.as_str())
        .bind(&u.email)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.password_hash)
        .bind(&u.credential_hash)
        .bind(&u.credential_hint)
        .bind(u.active as i64)
        .bind(u.created_at)
        .bind(u.password_hash.as_ref().map(|_| u.created_at))
        .bind(permissions_json(&u.permissions))
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    async fn user_where(&self, clause: &str, value: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE {clause} = $1");
        Ok(sqlx::query_as(&sql).bind(value).fetch_optional(&self.pool).await?)
    }

    pub async fn user(&self, id: &UserId) -> Result<Option<UserRow>, StoreError> {
        self.user_where("id", id.as_str()).await
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        self.user_where("email", email).await
    }

    pub async fn user_by_credential(&self, credential_hash: &str) -> Result<Option<UserRow>, StoreError> {
        self.user_where("credential_hash", credential_hash).await
    }

    /// Users of one organisation, or of all when `org_id` is None.
    pub async fn users(&self, org_id: Option<&OrgId>) -> Result<Vec<UserRow>, StoreError> {
        Ok(match org_id {
            Some(org) => {
                let sql = format!("SELECT {COLUMNS} FROM users WHERE org_id = $1 ORDER BY created_at, id");
                sqlx::query_as(&sql).bind(org.as_str()).fetch_all(&self.pool).await?
            }
            None => {
                let sql = format!("SELECT {COLUMNS} FROM users ORDER BY created_at, id");
                sqlx::query_as(&sql).fetch_all(&self.pool).await?
            }
        })
    }

    /// Replaces the REST credential; false when there is no such user.
    pub async fn set_credential(&self, user_id: &UserId, hash: &str, hint: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET credential_hash = $1, credential_hint = $2 WHERE id = $3")
            .bind(hash)
            .bind(hint)
            .bind(user_id.as_str())
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        Ok(done.rows_affected() == 1)
    }

    /// Changes a user's names, state and permissions; false when there is no such user.
    pub async fn update_user(&self, user_id: &UserId, c: &UserChange) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET email = $1, first_name = $2, last_name = $3, active = $4, permissions = $5 WHERE id = $6",
        )
        .bind(&c.email)
        .bind(&c.first_name)
        .bind(&c.last_name)
        .bind(c.active as i64)
        .bind(permissions_json(&c.permissions))
        .bind(user_id.as_str())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_write)?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets a new password hash.
    pub async fn set_password(&self, user_id: &UserId, hash: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1, password_updated = $2 WHERE id = $3")
            .bind(hash)
            .bind(at)
            .bind(user_id.as_str())
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Ends every dashboard session of a user (deactivated, or its rights changed).
    pub async fn delete_user_sessions(&self, user_id: &UserId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_sessions WHERE user_id = $1").bind(user_id.as_str()).execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes a user (its sessions go with it); false when there was none.
    pub async fn delete_user(&self, user_id: &UserId) -> Result<bool, StoreError> {
        // Sessions first: SQLite enforces the foreign key only when told to.
        self.delete_user_sessions(user_id).await?;
        let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id.as_str()).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn touch_login(&self, user_id: &UserId, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
            .bind(at)
            .bind(user_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn permissions_json(p: &Permissions) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "{}".into())
}
