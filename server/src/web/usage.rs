//! Where the dashboard's usage charts get their numbers. Request analytics are recorded by the
//! gateway (being built separately); until they are, [`NoAnalytics`] answers with no requests,
//! and the chart says so. Analytics plug in by implementing [`UsageSource`].

use app::model::{KeyUsage, UsageWindow};

#[async_trait::async_trait]
pub trait UsageSource: Send + Sync + 'static {
    /// The requests of one key (by hash) of an organisation over `window`, ending `now`, in
    /// buckets of `window.bucket_seconds()`, and when the key was last used.
    async fn key_usage(&self, org_id: &str, key_hash: &str, window: UsageWindow, now: i64) -> Result<KeyUsage, String>;
}

/// No analytics recorded: no requests, last use unknown.
pub struct NoAnalytics;

#[async_trait::async_trait]
impl UsageSource for NoAnalytics {
    async fn key_usage(&self, _org_id: &str, _key_hash: &str, window: UsageWindow, now: i64) -> Result<KeyUsage, String> {
        Ok(KeyUsage { window, buckets: Vec::new(), last_used: None, now })
    }
}
