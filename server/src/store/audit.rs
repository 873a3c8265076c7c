use super::{Store, StoreError};
use sqlx::Row;

#[derive(Clone, Debug)]
pub struct AuditRow {
    pub id: i64,
    pub org_id: String,
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
        .bind(&e.org_id)
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
    pub async fn audit(&self, org_id: &str, limit: i64, offset: i64) -> Result<(Vec<AuditRow>, i64), StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(
            "SELECT id, org_id, actor, action, object_type, object_id, at, changes FROM audit_log \
             WHERE org_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        )
        .bind(org_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .into_iter()
            .map(|r| {
                Ok(AuditRow {
                    id: r.try_get("id")?,
                    org_id: r.try_get("org_id")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    object_type: r.try_get("object_type")?,
                    object_id: r.try_get("object_id")?,
                    at: r.try_get("at")?,
                    changes: r.try_get("changes")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok((rows, total))
    }
}
