//! Request records: one per gateway request, handed to a background writer (never awaited on
//! the hot path), stored in batches with hourly aggregates per key, API and status; and
//! [`Reports`], which reads them back for the REST API and the dashboard.

mod reports;

pub use reports::{Reports, Traffic};

use crate::store::Store;
use axum::http::Method;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

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
/// Records per write; a full batch is written at once rather than at the next tick. Small
/// enough that writing one (a burst of SQLite work on another thread) does not hold the cores
/// long enough to show in the gateway's tail latency.
const BATCH: usize = 1_000;

/// The record queue. A plain buffer under a lock, drained by the writer on a timer: a channel
/// would wake the writer task for every request, which cost the proxy a thread wake-up each.
#[derive(Clone)]
pub struct Analytics {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    pending: Mutex<Vec<Record>>,
    /// Told when `pending` reaches a batch.
    full: Notify,
    /// One write at a time (the writer and a flush at shutdown).
    writing: tokio::sync::Mutex<()>,
    dropped: AtomicU64,
}

impl Analytics {
    /// Starts the writer (every `flush_every`, or at once when a batch is full) and the
    /// retention sweep (hourly).
    pub fn start(store: Store, flush_every: Duration, retention_days: i64) -> Self {
        let analytics = Self {
            inner: Arc::new(Inner {
                store: store.clone(),
                pending: Mutex::new(Vec::with_capacity(BATCH)),
                full: Notify::new(),
                writing: tokio::sync::Mutex::new(()),
                dropped: AtomicU64::new(0),
            }),
        };
        let writer = analytics.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(flush_every) => {}
                    _ = writer.inner.full.notified() => {}
                }
                writer.flush().await;
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
        analytics
    }

    /// Writes every queued record now (the writer calls it; so does a graceful shutdown).
    pub async fn flush(&self) {
        let _writing = self.inner.writing.lock().await;
        let batch = std::mem::take(&mut *self.inner.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for chunk in batch.chunks(BATCH) {
            if let Err(e) = self.inner.store.insert_analytics(chunk).await {
                tracing::warn!("{} analytics records not stored: {e}", chunk.len());
            }
        }
    }

    /// Queues a record; never waits. When the writer falls behind, records are dropped and
    /// the log says how many, once per thousand.
    pub fn record(&self, r: Record) {
        let mut pending = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() >= QUEUE {
            drop(pending);
            let n = self.inner.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 1000 == 1 {
                tracing::warn!("analytics writer behind: {n} records dropped so far");
            }
            return;
        }
        pending.push(r);
        if pending.len() == BATCH {
            drop(pending);
            self.inner.full.notify_one();
        }
    }
}
