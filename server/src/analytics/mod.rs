//! Request records: one per gateway request, handed to a background writer (never awaited on
//! the hot path), stored in batches with hourly aggregates per key, API and status.

pub mod activity;

use crate::store::Store;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Clone, Debug, Default)]
pub struct Record {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub org_id: String,
    pub api_id: String,
    pub api_version: String,
    /// Empty for keyless APIs and unidentified requests.
    pub key_hash: String,
    pub alias: String,
    /// The key's tags plus `pol-<id>` for each policy, as Tyk tags analytics.
    pub tags: Vec<String>,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub latency_ms: f64,
    pub upstream_ms: f64,
    /// Only with `enable_detailed_recording`, base64 as in Tyk.
    pub raw_request: Option<String>,
    pub raw_response: Option<String>,
}

/// Records waiting beyond this are dropped (and counted) rather than slow the gateway down.
const QUEUE: usize = 50_000;
const BATCH: usize = 1_000;

#[derive(Clone)]
pub struct Analytics {
    tx: mpsc::Sender<Record>,
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
        Self { tx }
    }

    /// Queues a record; never waits.
    pub fn record(&self, r: Record) {
        if self.tx.try_send(r).is_err() {
            tracing::warn!("analytics queue full: a record was dropped");
        }
    }
}
