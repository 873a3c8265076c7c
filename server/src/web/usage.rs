//! Where the dashboard's usage charts get their numbers: the gateway's hourly analytics
//! ([`StoredAnalytics`]); [`NoAnalytics`] stands in where there are none (tests of the UI).

use app::model::{KeyHash, KeyUsage, OrgId, UsageWindow};

#[async_trait::async_trait]
pub trait UsageSource: Send + Sync + 'static {
    /// The requests of one key (by hash) of an organisation over `window`, ending `now`, in
    /// buckets of `window.bucket_seconds()`, and when the key was last used.
    async fn key_usage(&self, org_id: &OrgId, key_hash: &KeyHash, window: UsageWindow, now: i64) -> Result<KeyUsage, String>;
}

/// No analytics recorded: no requests, last use unknown.
pub struct NoAnalytics;

#[async_trait::async_trait]
impl UsageSource for NoAnalytics {
    async fn key_usage(&self, _org_id: &OrgId, _key_hash: &KeyHash, window: UsageWindow, now: i64) -> Result<KeyUsage, String> {
        Ok(KeyUsage { window, buckets: Vec::new(), last_used: None, now })
    }
}

/// The gateway's hourly aggregates, summed into the window's buckets.
pub struct StoredAnalytics(pub crate::store::Store);

#[async_trait::async_trait]
impl UsageSource for StoredAnalytics {
    async fn key_usage(&self, org_id: &OrgId, key_hash: &KeyHash, window: UsageWindow, now: i64) -> Result<KeyUsage, String> {
        let from = now - window.seconds();
        let rows = self.0.key_activity(org_id, key_hash, from - 3600, now + 1).await.map_err(|e| e.to_string())?;
        let size = window.bucket_seconds();
        let mut buckets: std::collections::BTreeMap<i64, app::model::UsageBucket> = Default::default();
        let mut last_used = None;
        for r in rows.iter().filter(|r| r.hour + 3600 > from) {
            let start = r.hour - r.hour.rem_euclid(size);
            let b = buckets.entry(start).or_insert_with(|| app::model::UsageBucket { start, ..Default::default() });
            b.requests += r.hits as u64;
            if r.status >= 400 {
                *b.errors_by_status.entry(r.status as u16).or_default() += r.hits as u64;
            }
            last_used = last_used.max(Some(r.last_hit_ms / 1000));
        }
        Ok(KeyUsage { window, buckets: buckets.into_values().collect(), last_used, now })
    }
}
