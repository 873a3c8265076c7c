use super::{Store, StoreError};
use sqlx::Row;

impl Store {
    /// (used, renews_at) of a stored quota counter.
    pub async fn quota_counter(&self, key_hash: &str, scope: &str) -> Result<Option<(i64, i64)>, StoreError> {
        let row = sqlx::query("SELECT used, renews_at FROM quota_counters WHERE key_hash = $1 AND scope = $2")
            .bind(key_hash)
            .bind(scope)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Ok::<_, sqlx::Error>((r.try_get("used")?, r.try_get("renews_at")?))).transpose()?)
    }

    /// Writes a batch of counters (key hash, scope, used, renews_at) in one transaction.
    /// Counters of keys deleted meanwhile are skipped.
    pub async fn save_quota_counters(&self, rows: &[(&str, &str, i64, i64)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (key_hash, scope, used, renews_at) in rows {
            sqlx::query(
                "INSERT INTO quota_counters (key_hash, scope, used, renews_at) \
                 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM keys WHERE key_hash = $1) \
                 ON CONFLICT (key_hash, scope) DO UPDATE SET used = excluded.used, renews_at = excluded.renews_at",
            )
            .bind(*key_hash)
            .bind(*scope)
            .bind(*used)
            .bind(*renews_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
