//! Quota counters: `quota_max` requests per `quota_renewal_rate` seconds, renewing on the first
//! request after the period ends (Tyk's behaviour: not tied to the calendar).
//!
//! Counting happens in memory; dirty counters are written back to storage every
//! `flush_interval` (1 s by default). A crash can therefore lose at most the requests counted
//! since the last write-back: one flush interval's worth (tested by killing the server under
//! load). On start, a counter is loaded from storage on the key's first request.

use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaState {
    pub used: i64,
    /// Unix seconds; 0 = never renews.
    pub renews_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaDecision {
    pub allowed: bool,
    pub limit: i64,
    pub remaining: i64,
    pub renews_at: i64,
}

struct Counter {
    state: Mutex<QuotaState>,
    dirty: AtomicBool,
}

type CounterKey = (String, String);

pub struct Quotas {
    store: Store,
    counters: RwLock<HashMap<CounterKey, Arc<Counter>>>,
    /// Serialises first loads from storage, so concurrent first requests read it once.
    loading: tokio::sync::Mutex<()>,
}

impl Quotas {
    pub fn new(store: Store) -> Self {
        Self { store, counters: RwLock::default(), loading: tokio::sync::Mutex::new(()) }
    }

    /// Counts one request against a quota. Refused requests count too, as in Tyk, so a client
    /// hammering an exhausted quota does not get through when it renews mid-burst.
    /// `renews_hint` is the key's stored `quota_renews`, used when no counter exists yet.
    pub async fn consume(&self, key_hash: &str, scope: &str, max: i64, renewal_rate: i64, renews_hint: i64, now: i64) -> QuotaDecision {
        let counter = self.counter(key_hash, scope, renews_hint).await;
        let mut s = counter.state.lock().unwrap_or_else(|e| e.into_inner());
        if renewal_rate > 0 && (s.renews_at == 0 || now >= s.renews_at) {
            *s = QuotaState { used: 0, renews_at: now + renewal_rate };
        }
        s.used += 1;
        counter.dirty.store(true, Ordering::Release);
        QuotaDecision { allowed: s.used <= max, limit: max, remaining: (max - s.used).max(0), renews_at: s.renews_at }
    }

    /// The live usage of a key's quota, if counted since start or stored.
    pub async fn usage(&self, key_hash: &str, scope: &str) -> Result<Option<QuotaState>, StoreError> {
        let key = (key_hash.to_owned(), scope.to_owned());
        if let Some(c) = self.counters.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(Some(*c.state.lock().unwrap_or_else(|e| e.into_inner())));
        }
        Ok(self.store.quota_counter(key_hash, scope).await?.map(|(used, renews_at)| QuotaState { used, renews_at }))
    }

    /// Starts a key's quotas again (its quota was reset, or it was deleted). The counters are
    /// zeroed in memory, not dropped: memory is what the gateway reads, so a write-back of the
    /// old value that was already under way cannot bring the old count back.
    pub fn reset(&self, key_hash: &str) {
        let counters = self.counters.read().unwrap_or_else(|e| e.into_inner());
        for ((k, _), c) in counters.iter() {
            if k == key_hash {
                *c.state.lock().unwrap_or_else(|e| e.into_inner()) = QuotaState { used: 0, renews_at: 0 };
                c.dirty.store(true, Ordering::Release);
            }
        }
    }

    /// Writes every counter that changed since the last flush; returns how many.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let dirty: Vec<(CounterKey, QuotaState)> = {
            let counters = self.counters.read().unwrap_or_else(|e| e.into_inner());
            counters
                .iter()
                .filter(|(_, c)| c.dirty.swap(false, Ordering::AcqRel))
                .map(|(k, c)| (k.clone(), *c.state.lock().unwrap_or_else(|e| e.into_inner())))
                .collect()
        };
        if dirty.is_empty() {
            return Ok(0);
        }
        let rows: Vec<(&str, &str, i64, i64)> =
            dirty.iter().map(|((k, s), q)| (k.as_str(), s.as_str(), q.used, q.renews_at)).collect();
        if let Err(e) = self.store.save_quota_counters(&rows).await {
            // Try again next time rather than lose the counts.
            for ((k, s), _) in &dirty {
                if let Some(c) = self.counters.read().unwrap_or_else(|e| e.into_inner()).get(&(k.clone(), s.clone())) {
                    c.dirty.store(true, Ordering::Release);
                }
            }
            return Err(e);
        }
        Ok(dirty.len())
    }

    /// Flushes every `interval` until the process ends.
    pub fn spawn_flusher(self: &Arc<Self>, interval: Duration) {
        let quotas = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = quotas.flush().await {
                    tracing::warn!("quota counters not saved, will retry: {e}");
                }
            }
        });
    }

    async fn counter(&self, key_hash: &str, scope: &str, renews_hint: i64) -> Arc<Counter> {
        let key = (key_hash.to_owned(), scope.to_owned());
        if let Some(c) = self.counters.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return c.clone();
        }
        let _loading = self.loading.lock().await;
        if let Some(c) = self.counters.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return c.clone();
        }
        // First use since start: continue from storage.
        let stored = match self.store.quota_counter(key_hash, scope).await {
            Ok(row) => row,
            Err(e) => {
                tracing::warn!("quota counter not loaded, starting from zero: {e}");
                None
            }
        };
        let state = match stored {
            Some((used, renews_at)) => QuotaState { used, renews_at },
            None => QuotaState { used: 0, renews_at: renews_hint.max(0) },
        };
        let fresh = Arc::new(Counter { state: Mutex::new(state), dirty: AtomicBool::new(false) });
        self.counters.write().unwrap_or_else(|e| e.into_inner()).entry(key).or_insert(fresh).clone()
    }
}
