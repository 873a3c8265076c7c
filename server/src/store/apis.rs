use super::{Store, StoreError};
use app::model::OrgId;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiRow {
    pub api_id: String,
    pub mongo_id: String,
    #[sqlx(try_from = "String")]
    pub org_id: OrgId,
    pub name: String,
    /// Tyk's `domain`, in lower case; '' for every host.
    pub domain: String,
    pub listen_path: String,
    /// The ApiDefinition JSON.
    pub definition: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "api_id, mongo_id, org_id, name, domain, listen_path, definition, created_at, updated_at";

/// Where an API is served: its host (Tyk's `domain`, '' for any) and listen path.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiRoute {
    pub api_id: String,
    #[sqlx(try_from = "String")]
    pub org_id: OrgId,
    pub domain: String,
    pub listen_path: String,
}

impl Store {
    pub async fn insert_api(&self, api: &ApiRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO apis (api_id, mongo_id, org_id, name, listen_path, definition, created_at, updated_at, domain) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&api.api_id)
        .bind(&api.mongo_id)
        .bind(api.org_id.as_str())
        .bind(&api.name)
        .bind(&api.listen_path)
        .bind(&api.definition)
        .bind(api.created_at)
        .bind(api.updated_at)
        .bind(&api.domain)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_write)?;
        Ok(())
    }

    pub async fn update_api(&self, api: &ApiRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE apis SET name = $1, listen_path = $2, definition = $3, updated_at = $4, domain = $7 WHERE api_id = $5 AND org_id = $6",
        )
        .bind(&api.name)
        .bind(&api.listen_path)
        .bind(&api.definition)
        .bind(api.updated_at)
        .bind(&api.api_id)
        .bind(api.org_id.as_str())
        .bind(&api.domain)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_write)?;
        Ok(done.rows_affected() == 1)
    }

    /// Is this `api_id` (or internal id) taken, in any organisation?
    pub async fn api_id_taken(&self, api_id: &str) -> Result<bool, StoreError> {
        Ok(self.api_any_org(api_id).await?.is_some())
    }

    /// Every API's route, whatever its organisation: what a new route must not overlap.
    pub async fn api_routes(&self) -> Result<Vec<ApiRoute>, StoreError> {
        Ok(sqlx::query_as("SELECT api_id, org_id, domain, listen_path FROM apis").fetch_all(&self.pool).await?)
    }

    /// An API by its `api_id` or its internal id, whatever its organisation.
    pub async fn api_any_org(&self, id: &str) -> Result<Option<ApiRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM apis WHERE api_id = $1 OR mongo_id = $1");
        Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// The APIs of an organisation whose name or listen path contains `q`, a page at a time.
    pub async fn apis(&self, org_id: &OrgId, q: &str, limit: i64, offset: i64) -> Result<(Vec<ApiRow>, i64), StoreError> {
        let pattern = format!("%{}%", q.to_lowercase());
        let filter = "FROM apis WHERE org_id = $1 AND (LOWER(name) LIKE $2 OR LOWER(listen_path) LIKE $2)";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {filter}"))
            .bind(org_id.as_str())
            .bind(&pattern)
            .fetch_one(&self.pool)
            .await?;
        let sql = format!("SELECT {COLUMNS} {filter} ORDER BY created_at, api_id LIMIT $3 OFFSET $4");
        let rows = sqlx::query_as(&sql).bind(org_id.as_str()).bind(&pattern).bind(limit).bind(offset).fetch_all(&self.pool).await?;
        Ok((rows, total))
    }

    /// Every API of every organisation: what the gateway serves.
    pub async fn all_apis(&self) -> Result<Vec<ApiRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM apis");
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    pub async fn delete_api(&self, org_id: &OrgId, api_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM apis WHERE org_id = $1 AND api_id = $2")
            .bind(org_id.as_str())
            .bind(api_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many keys grant access to this API.
    pub async fn count_keys_for_api(&self, api_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM key_apis WHERE api_id = $1")
            .bind(api_id)
            .fetch_one(&self.pool)
            .await?)
    }
}
