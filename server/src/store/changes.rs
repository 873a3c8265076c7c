//! The change log that PostgreSQL's triggers write (migration 0004); not used on SQLite.

use super::{Store, StoreError};
use sqlx::Row;
use std::time::Duration;

impl Store {
    /// (id, change JSON) of the changes other nodes logged within `window` of the database's
    /// clock. This node's own writes are left out: it applied them as it made them.
    pub async fn recent_changes(&self, window: Duration) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, change FROM change_log \
             WHERE at_ms > (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT - $1 AND origin <> $2 ORDER BY id",
        )
        .bind(window.as_millis() as i64)
        .bind(self.node_id().to_owned())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| Ok::<_, sqlx::Error>((r.try_get("id")?, r.try_get("change")?))).collect::<Result<_, _>>()?)
    }

    pub async fn trim_change_log(&self, keep: Duration) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM change_log WHERE at_ms < (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT - $1")
            .bind(keep.as_millis() as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
