use super::{Backend, Store, StoreError};
use crate::analytics::Record;
use app::model::{KeyHash, OrgId};

/// One hour of one key's traffic on one API with one status.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct HourlyRow {
    pub hour: i64,
    pub status: i64,
    pub hits: i64,
    pub latency_ms: f64,
    pub upstream_ms: f64,
    pub min_latency_ms: f64,
    pub max_latency_ms: f64,
    pub min_upstream_ms: f64,
    pub max_upstream_ms: f64,
    pub last_hit_ms: i64,
}

impl Store {
    /// Stores a batch of records and adds them to the hourly aggregates, in one transaction:
    /// raw records in multi-row INSERTs, aggregates summed in memory first (at high rates
    /// most records of a batch share a key, an hour and a status: one upsert each).
    pub async fn insert_analytics(&self, records: &[Record]) -> Result<(), StoreError> {
        const COLUMNS: usize = 14;
        // 100 rows × 14 parameters stays far below SQLite's and PostgreSQL's limits.
        const ROWS_PER_INSERT: usize = 100;
        let mut tx = self.pool.begin().await?;
        for chunk in records.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO analytics (at_ms, org_id, api_id, api_version, key_hash, alias, tags, method, path, status, \
                 latency_ms, upstream_ms, raw_request, raw_response) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for c in 0..COLUMNS {
                    if c > 0 {
                        sql.push(',');
                    }
                    // SQLite gets anonymous `?`: for each numbered parameter it looks the
                    // number up in a list of all of them, which made a 1 400-parameter
                    // statement cost as much as the whole proxy path. PostgreSQL needs `$n`.
                    match self.backend {
                        Backend::Sqlite => sql.push('?'),
                        Backend::Postgres => sql.push_str(&format!("${}", i * COLUMNS + c + 1)),
                    }
                }
                sql.push(')');
            }
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.at_ms)
                    .bind(&*r.org_id)
                    .bind(&*r.api_id)
                    .bind(&r.api_version)
                    .bind(&*r.key_hash)
                    .bind(&*r.alias)
                    .bind(serde_json::to_string(&r.tags).unwrap_or_default())
                    .bind(r.method.as_str())
                    .bind(&r.path)
                    .bind(r.status as i64)
                    .bind(r.latency_ms)
                    .bind(r.upstream_ms)
                    .bind(&r.raw_request)
                    .bind(&r.raw_response);
            }
            q.execute(&mut *tx).await?;
        }
        for (k, a) in hourly(records) {
            sqlx::query(
                "INSERT INTO analytics_hourly (org_id, api_id, key_hash, hour, status, hits, latency_ms, upstream_ms, \
                 min_latency_ms, max_latency_ms, min_upstream_ms, max_upstream_ms, last_hit_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (org_id, api_id, key_hash, hour, status) DO UPDATE SET \
                 hits = analytics_hourly.hits + excluded.hits, \
                 latency_ms = analytics_hourly.latency_ms + excluded.latency_ms, \
                 upstream_ms = analytics_hourly.upstream_ms + excluded.upstream_ms, \
                 min_latency_ms = CASE WHEN excluded.min_latency_ms < analytics_hourly.min_latency_ms THEN excluded.min_latency_ms ELSE analytics_hourly.min_latency_ms END, \
                 max_latency_ms = CASE WHEN excluded.max_latency_ms > analytics_hourly.max_latency_ms THEN excluded.max_latency_ms ELSE analytics_hourly.max_latency_ms END, \
                 min_upstream_ms = CASE WHEN excluded.min_upstream_ms < analytics_hourly.min_upstream_ms THEN excluded.min_upstream_ms ELSE analytics_hourly.min_upstream_ms END, \
                 max_upstream_ms = CASE WHEN excluded.max_upstream_ms > analytics_hourly.max_upstream_ms THEN excluded.max_upstream_ms ELSE analytics_hourly.max_upstream_ms END, \
                 last_hit_ms = CASE WHEN excluded.last_hit_ms > analytics_hourly.last_hit_ms THEN excluded.last_hit_ms ELSE analytics_hourly.last_hit_ms END",
            )
            .bind(k.org_id)
            .bind(k.api_id)
            .bind(k.key_hash)
            .bind(k.hour)
            .bind(k.status)
            .bind(a.hits)
            .bind(a.latency_ms)
            .bind(a.upstream_ms)
            .bind(a.min_latency_ms)
            .bind(a.max_latency_ms)
            .bind(a.min_upstream_ms)
            .bind(a.max_upstream_ms)
            .bind(a.last_hit_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A key's hourly aggregates in [from, to) (unix seconds), oldest first.
    pub async fn key_activity(&self, org_id: &OrgId, key_hash: &KeyHash, from: i64, to: i64) -> Result<Vec<HourlyRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT hour, status, CAST(SUM(hits) AS BIGINT) AS hits, SUM(latency_ms) AS latency_ms, SUM(upstream_ms) AS upstream_ms, \
             MIN(min_latency_ms) AS min_latency_ms, MAX(max_latency_ms) AS max_latency_ms, \
             MIN(min_upstream_ms) AS min_upstream_ms, MAX(max_upstream_ms) AS max_upstream_ms, MAX(last_hit_ms) AS last_hit_ms \
             FROM analytics_hourly WHERE org_id = $1 AND key_hash = $2 AND hour >= $3 AND hour < $4 \
             GROUP BY hour, status ORDER BY hour, status",
        )
        .bind(org_id.as_str())
        .bind(key_hash.as_str())
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many raw records there are for an organisation (tests and retention).
    pub async fn count_analytics(&self, org_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM analytics WHERE org_id = $1").bind(org_id).fetch_one(&self.pool).await?)
    }

    /// Retention: removes raw records older than `cutoff_ms` (aggregates stay).
    pub async fn delete_analytics_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM analytics WHERE at_ms < $1").bind(cutoff_ms).execute(&self.pool).await?.rows_affected())
    }
}

#[derive(Hash, PartialEq, Eq)]
struct HourKey<'a> {
    org_id: &'a str,
    api_id: &'a str,
    key_hash: &'a str,
    hour: i64,
    status: i64,
}

struct HourSums {
    hits: i64,
    latency_ms: f64,
    upstream_ms: f64,
    min_latency_ms: f64,
    max_latency_ms: f64,
    min_upstream_ms: f64,
    max_upstream_ms: f64,
    last_hit_ms: i64,
}

/// A batch's records summed per key, API, hour and status.
fn hourly(records: &[Record]) -> std::collections::HashMap<HourKey<'_>, HourSums> {
    let mut sums = std::collections::HashMap::new();
    for r in records {
        let key = HourKey { org_id: &r.org_id, api_id: &r.api_id, key_hash: &r.key_hash, hour: r.at_ms / 3_600_000 * 3600, status: r.status as i64 };
        let s = sums.entry(key).or_insert(HourSums {
            hits: 0,
            latency_ms: 0.0,
            upstream_ms: 0.0,
            min_latency_ms: f64::INFINITY,
            max_latency_ms: f64::NEG_INFINITY,
            min_upstream_ms: f64::INFINITY,
            max_upstream_ms: f64::NEG_INFINITY,
            last_hit_ms: i64::MIN,
        });
        s.hits += 1;
        s.latency_ms += r.latency_ms;
        s.upstream_ms += r.upstream_ms;
        s.min_latency_ms = s.min_latency_ms.min(r.latency_ms);
        s.max_latency_ms = s.max_latency_ms.max(r.latency_ms);
        s.min_upstream_ms = s.min_upstream_ms.min(r.upstream_ms);
        s.max_upstream_ms = s.max_upstream_ms.max(r.upstream_ms);
        s.last_hit_ms = s.last_hit_ms.max(r.at_ms);
    }
    sums
}
