//! Request records: one per gateway request, handed to a background writer (never awaited on
//! the hot path), stored in batches with hourly aggregates per key, API and status.

pub mod activity;

use crate::store::Store;
use axum::http::Method;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One request. What comes from the API and the key is shared with them (`Arc`), not copied:
/// records are made at the gateway's full rate.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub org_id: Arc<str>,
    pub api_id: Arc<str>,
    pub api_version: String,
    /// Empty for keyless APIs and unidentified requests.
    pub key_hash: Arc<str>,
    pub alias: Arc<str>,
    /// The key's tags plus `pol-<id>` for each policy, as Tyk tags analytics.
    pub tags: Arc<[String]>,
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub latency_ms: f64,
    pub upstream_ms: f64,
    /// Only with `enable_detailed_recording`, base64 as in Tyk.
    pub raw_request: Option<String>,
    pub raw_response: Option<String>,
}

/// Records waiting beyond this are dropped (and counted) rather than slow the gateway down.
const QUEUE: usize = 100_000;
const BATCH: usize = 5_000;

#[derive(Clone)]
pub struct Analytics {
    tx: mpsc::Sender<Record>,
    dropped: Arc<AtomicU64>,
}

impl Analytics {
    /// Starts the writer (batches every `flush_every`) and the retention sweep (hourly).
    pub fn start(store: Store, flush_every: Duration, retention_days: i64) -> Self {
        let (tx, mut rx) = mpsc::channel::<Record>(QUEUE);
        let writer_store = store.clone();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                let deadline = tokio::time::sleep(flush_every);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        r = rx.recv() => match r {
                            Some(r) => { batch.push(r); if batch.len() >= BATCH { break; } }
                            None => { let _ = writer_store.insert_analytics(&batch).await; return; }
                        },
                        _ = &mut deadline => break,
                    }
                }
                if !batch.is_empty() {
                    if let Err(e) = writer_store.insert_analytics(&batch).await {
                        tracing::warn!("{} analytics records not stored: {e}", batch.len());
                    }
                    batch.clear();
                }
            }
        });
        if retention_days > 0 {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(3600));
                loop {
                    tick.tick().await;
                    let cutoff = (crate::store::now() - retention_days * 86_400) * 1000;
                    match store.delete_analytics_before(cutoff).await {
                        Ok(n) if n > 0 => tracing::info!("analytics retention removed {n} records"),
                        Err(e) => tracing::warn!("analytics retention failed: {e}"),
                        _ => {}
                    }
                }
            });
        }
        Self { tx, dropped: Arc::default() }
    }

    /// Queues a record; never waits. When the writer falls behind, records are dropped and
    /// the log says how many, once per thousand.
    pub fn record(&self, r: Record) {
        if self.tx.try_send(r).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 1000 == 1 {
                tracing::warn!("analytics writer behind: {n} records dropped so far");
            }
        }
    }
}
