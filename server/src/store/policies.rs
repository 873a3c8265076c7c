use super::{Store, StoreError};
use app::model::OrgId;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PolicyRow {
    #[sqlx(try_from = "String")]
    pub org_id: OrgId,
    pub id: String,
    pub mongo_id: String,
    pub name: String,
    /// The Policy JSON.
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "org_id, id, mongo_id, name, body, created_at, updated_at";

impl Store {
    pub async fn insert_policy(&self, p: &PolicyRow) -> Result<(), StoreError> {
        sqlx::query(&format!("INSERT INTO policies ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(p.org_id.as_str())
            .bind(&p.id)
            .bind(&p.mongo_id)
            .bind(&p.name)
            .bind(&p.body)
            .bind(p.created_at)
            .bind(p.updated_at)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        Ok(())
    }

    pub async fn update_policy(&self, p: &PolicyRow) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE policies SET name = $1, body = $2, updated_at = $3 WHERE org_id = $4 AND id = $5")
            .bind(&p.name)
            .bind(&p.body)
            .bind(p.updated_at)
            .bind(p.org_id.as_str())
            .bind(&p.id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A policy of an organisation by its `id` or its `_id`.
    pub async fn policy(&self, org_id: &OrgId, id: &str) -> Result<Option<PolicyRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM policies WHERE org_id = $1 AND (id = $2 OR mongo_id = $2)");
        Ok(sqlx::query_as(&sql).bind(org_id.as_str()).bind(id).fetch_optional(&self.pool).await?)
    }

    /// A policy by `id` or `_id` in any organisation (the `/tyk` gateway API), and every policy.
    pub async fn policy_any_org(&self, id: &str) -> Result<Option<PolicyRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM policies WHERE id = $1 OR mongo_id = $1 ORDER BY created_at LIMIT 1");
        Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn all_policies(&self) -> Result<Vec<PolicyRow>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM policies ORDER BY created_at, id")).fetch_all(&self.pool).await?)
    }

    /// Is there a policy with this `_id`, in any organisation?
    pub async fn policy_mongo_id_taken(&self, mongo_id: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policies WHERE mongo_id = $1")
            .bind(mongo_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    pub async fn policy_by_name(&self, org_id: &OrgId, name: &str) -> Result<Option<PolicyRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM policies WHERE org_id = $1 AND name = $2");
        Ok(sqlx::query_as(&sql).bind(org_id.as_str()).bind(name).fetch_optional(&self.pool).await?)
    }

    /// Policies whose name or id contains `q`, oldest first, and how many match.
    pub async fn policies(&self, org_id: &OrgId, q: &str, limit: i64, offset: i64) -> Result<(Vec<PolicyRow>, i64), StoreError> {
        let pattern = format!("%{}%", q.to_lowercase());
        let filter = "FROM policies WHERE org_id = $1 AND (LOWER(name) LIKE $2 OR LOWER(id) LIKE $2)";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {filter}"))
            .bind(org_id.as_str())
            .bind(&pattern)
            .fetch_one(&self.pool)
            .await?;
        let sql = format!("SELECT {COLUMNS} {filter} ORDER BY created_at, id LIMIT $3 OFFSET $4");
        let rows = sqlx::query_as(&sql).bind(org_id.as_str()).bind(&pattern).bind(limit).bind(offset).fetch_all(&self.pool).await?;
        Ok((rows, total))
    }

    pub async fn delete_policy(&self, org_id: &OrgId, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM policies WHERE org_id = $1 AND id = $2")
            .bind(org_id.as_str())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many keys name a policy.
    pub async fn count_keys_with_policy(&self, org_id: &OrgId, policy_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM key_policies kp JOIN keys k ON k.key_hash = kp.key_hash WHERE k.org_id = $1 AND kp.policy_id = $2",
        )
        .bind(org_id.as_str())
        .bind(policy_id)
        .fetch_one(&self.pool)
        .await?)
    }
}
