//! Where the dashboard's usage charts get their numbers: the analytics read service
//! ([`Reports`]), the same one the REST activity API reads.

use crate::analytics::Reports;
use app::model::{KeyHash, KeyUsage, OrgId, UsageWindow};

#[async_trait::async_trait]
pub trait UsageSource: Send + Sync + 'static {
    /// The requests of one key (by hash) of an organisation over `window`, ending `now`, in
    /// buckets of `window.bucket_seconds()`, and when the key was last used.
    async fn key_usage(&self, org_id: &OrgId, key_hash: &KeyHash, window: UsageWindow, now: i64) -> Result<KeyUsage, String>;
}

#[async_trait::async_trait]
impl UsageSource for Reports {
    async fn key_usage(&self, org_id: &OrgId, key_hash: &KeyHash, window: UsageWindow, now: i64) -> Result<KeyUsage, String> {
        Reports::key_usage(self, org_id, key_hash, window, now).await.map_err(|e| e.to_string())
    }
}
