use super::{Store, StoreError};
use app::model::OrgId;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub org_id: OrgId,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub at: i64,
    /// JSON.
    pub changes: String,
}

impl Store {
    pub async fn insert_audit(&self, e: &AuditRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (org_id, actor, action, object_type, object_id, at, changes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.org_id.as_str())
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.object_type)
        .bind(&e.object_id)
        .bind(e.at)
        .bind(&e.changes)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Newest first.
    pub async fn audit(&self, org_id: &OrgId, limit: i64, offset: i64) -> Result<(Vec<AuditRow>, i64), StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE org_id = $1")
            .bind(org_id.as_str())
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query_as(
            "SELECT id, org_id, actor, action, object_type, object_id, at, changes FROM audit_log \
             WHERE org_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        )
        .bind(org_id.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((rows, total))
    }
}
