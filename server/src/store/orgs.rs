use super::{Store, StoreError};
use app::model::OrgId;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrgRow {
    #[sqlx(try_from = "String")]
    pub id: OrgId,
    pub owner_name: String,
    /// The stored OrganisationDocument JSON (without `id`).
    pub document: String,
    pub created_at: i64,
}

impl Store {
    pub async fn insert_org(&self, org: &OrgRow) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO organisations (id, owner_name, document, created_at) VALUES ($1, $2, $3, $4)")
            .bind(org.id.as_str())
            .bind(&org.owner_name)
            .bind(&org.document)
            .bind(org.created_at)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        Ok(())
    }

    pub async fn org(&self, id: &OrgId) -> Result<Option<OrgRow>, StoreError> {
        Ok(sqlx::query_as("SELECT id, owner_name, document, created_at FROM organisations WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn orgs(&self) -> Result<Vec<OrgRow>, StoreError> {
        Ok(sqlx::query_as("SELECT id, owner_name, document, created_at FROM organisations ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn count_orgs(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organisations").fetch_one(&self.pool).await?)
    }
}
