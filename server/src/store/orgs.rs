use super::{Store, StoreError};
use sqlx::Row;

#[derive(Clone, Debug)]
pub struct OrgRow {
    pub id: String,
    pub owner_name: String,
    /// The stored OrganisationDocument JSON (without `id`).
    pub document: String,
    pub created_at: i64,
}

fn from_row(row: sqlx::any::AnyRow) -> Result<OrgRow, sqlx::Error> {
    Ok(OrgRow {
        id: row.try_get("id")?,
        owner_name: row.try_get("owner_name")?,
        document: row.try_get("document")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    pub async fn insert_org(&self, org: &OrgRow) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO organisations (id, owner_name, document, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&org.id)
            .bind(&org.owner_name)
            .bind(&org.document)
            .bind(org.created_at)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_write)?;
        Ok(())
    }

    pub async fn org(&self, id: &str) -> Result<Option<OrgRow>, StoreError> {
        let row = sqlx::query("SELECT id, owner_name, document, created_at FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(from_row).transpose()?)
    }

    pub async fn orgs(&self) -> Result<Vec<OrgRow>, StoreError> {
        let rows = sqlx::query("SELECT id, owner_name, document, created_at FROM organisations ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(from_row).collect::<Result<_, _>>()?)
    }

    pub async fn count_orgs(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM organisations")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }
}
