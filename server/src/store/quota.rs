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

    /// Every stored counter of a key: (scope, used, renews_at).
    pub async fn quota_counters_of(&self, key_hash: &str) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let rows = sqlx::query("SELECT scope, used, renews_at FROM quota_counters WHERE key_hash = $1")
            .bind(key_hash)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("scope")?, r.try_get("used")?, r.try_get("renews_at")?)))
            .collect::<Result<_, _>>()?)
    }

    /// Writes a batch of counters (key hash, scope, used, renews_at) in one transaction.
    /// Counters of keys deleted meanwhile are skipped.
    ///
    /// `forward_only`: several nodes write back what they saw of one shared (Redis) counter, so
    /// a row only moves forward: to a later period, or to a higher count in the same period.
    pub async fn save_quota_counters(&self, rows: &[(&str, &str, i64, i64)], forward_only: bool) -> Result<(), StoreError> {
        let condition = if forward_only {
            " WHERE excluded.renews_at > quota_counters.renews_at \
               OR (excluded.renews_at = quota_counters.renews_at AND excluded.used > quota_counters.used)"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO quota_counters (key_hash, scope, used, renews_at) \
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM keys WHERE key_hash = $1) \
             ON CONFLICT (key_hash, scope) DO UPDATE SET used = excluded.used, renews_at = excluded.renews_at{condition}"
        );
        let mut tx = self.pool.begin().await?;
        for (key_hash, scope, used, renews_at) in rows {
            sqlx::query(&sql).bind(*key_hash).bind(*scope).bind(*used).bind(*renews_at).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a key's stored counters (its quota starts again).
    pub async fn clear_quota_counters(&self, key_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM quota_counters WHERE key_hash = $1").bind(key_hash).execute(&self.pool).await?;
        Ok(())
    }
}
