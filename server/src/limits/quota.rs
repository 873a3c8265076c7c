//! Quota counters in memory: `quota_max` requests per `quota_renewal_rate` seconds, renewing
//! on the first request after the period ends (Tyk's behaviour: not tied to the calendar).
//!
//! Dirty counters are written back to storage every `PORTCULLIS_QUOTA_FLUSH_MS` (1 s by
//! default). A crash can therefore lose at most the requests counted since the last
//! write-back: one flush interval's worth (tested by killing the server under load). A
//! counter is loaded from storage on the key's first request after a start.

use super::QuotaAsk;
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

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

impl QuotaDecision {
    /// The decision for a counter that has just counted a request.
    pub fn of(state: QuotaState, max: i64) -> Self {
        Self { allowed: state.used <= max, limit: max, remaining: (max - state.used).max(0), renews_at: state.renews_at }
    }
}

/// Counts one request on a counter: renews it first if its period is over.
pub fn count(state: QuotaState, renewal_rate: i64, now: i64) -> QuotaState {
    let state = if renewal_rate > 0 && (state.renews_at == 0 || now >= state.renews_at) {
        QuotaState { used: 0, renews_at: now + renewal_rate }
    } else {
        state
    };
    QuotaState { used: state.used + 1, ..state }
}

struct Counter {
    state: Mutex<QuotaState>,
    dirty: AtomicBool,
}

/// Per key hash, one counter per scope; nested so a lookup borrows the request's strings.
type Counters = HashMap<Box<str>, Vec<(Box<str>, Arc<Counter>)>>;

pub struct Quotas {
    store: Store,
    counters: RwLock<Counters>,
    /// Serialises first loads from storage, so concurrent first requests read it once.
    loading: tokio::sync::Mutex<()>,
}

impl Quotas {
    pub fn new(store: Store) -> Self {
        Self { store, counters: RwLock::default(), loading: tokio::sync::Mutex::new(()) }
    }

    /// Counts one request against a quota. Refused requests count too, as in Tyk, so a client
    /// hammering an exhausted quota does not get through when it renews mid-burst.
    pub async fn consume(&self, key_hash: &str, scope: &str, ask: QuotaAsk, now: i64) -> QuotaDecision {
        let counter = self.counter(key_hash, scope, ask.renews_hint).await;
        let mut s = counter.state.lock().unwrap_or_else(|e| e.into_inner());
        *s = count(*s, ask.renewal_rate, now);
        counter.dirty.store(true, Ordering::Release);
        QuotaDecision::of(*s, ask.max)
    }

    /// The live usage of a key's quota, if counted since start or stored.
    pub async fn usage(&self, key_hash: &str, scope: &str) -> Result<Option<QuotaState>, StoreError> {
        if let Some(c) = self.find(key_hash, scope) {
            return Ok(Some(*c.state.lock().unwrap_or_else(|e| e.into_inner())));
        }
        Ok(self.store.quota_counter(key_hash, scope).await?.map(|(used, renews_at)| QuotaState { used, renews_at }))
    }

    /// Starts a key's quotas again (its quota was reset, or it was deleted). The counters are
    /// zeroed in memory, not dropped: memory is what the gateway reads, so a write-back of the
    /// old value that was already under way cannot bring the old count back.
    pub fn reset(&self, key_hash: &str) {
        let counters = self.counters.read().unwrap_or_else(|e| e.into_inner());
        for (_, c) in counters.get(key_hash).into_iter().flatten() {
            *c.state.lock().unwrap_or_else(|e| e.into_inner()) = QuotaState { used: 0, renews_at: 0 };
            c.dirty.store(true, Ordering::Release);
        }
    }

    /// Writes every counter that changed since the last flush; returns how many.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let dirty: Vec<(String, String, QuotaState)> = {
            let counters = self.counters.read().unwrap_or_else(|e| e.into_inner());
            counters
                .iter()
                .flat_map(|(k, scopes)| scopes.iter().map(move |(s, c)| (k, s, c)))
                .filter(|(_, _, c)| c.dirty.swap(false, Ordering::AcqRel))
                .map(|(k, s, c)| (k.to_string(), s.to_string(), *c.state.lock().unwrap_or_else(|e| e.into_inner())))
                .collect()
        };
        if dirty.is_empty() {
            return Ok(0);
        }
        let rows: Vec<(&str, &str, i64, i64)> = dirty.iter().map(|(k, s, q)| (k.as_str(), s.as_str(), q.used, q.renews_at)).collect();
        if let Err(e) = self.store.save_quota_counters(&rows, false).await {
            // Try again next time rather than lose the counts.
            for (k, s, _) in &dirty {
                if let Some(c) = self.find(k, s) {
                    c.dirty.store(true, Ordering::Release);
                }
            }
            return Err(e);
        }
        Ok(dirty.len())
    }

    fn find(&self, key_hash: &str, scope: &str) -> Option<Arc<Counter>> {
        let counters = self.counters.read().unwrap_or_else(|e| e.into_inner());
        counters.get(key_hash)?.iter().find(|(s, _)| super::same_scope(s, scope)).map(|(_, c)| c.clone())
    }

    async fn counter(&self, key_hash: &str, scope: &str, renews_hint: i64) -> Arc<Counter> {
        if let Some(c) = self.find(key_hash, scope) {
            return c;
        }
        let _loading = self.loading.lock().await;
        if let Some(c) = self.find(key_hash, scope) {
            return c;
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
        let mut counters = self.counters.write().unwrap_or_else(|e| e.into_inner());
        counters.entry(key_hash.into()).or_default().push((scope.into(), fresh.clone()));
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renews_when_the_period_is_over() {
        let s = count(QuotaState { used: 0, renews_at: 0 }, 60, 1000);
        assert_eq!(s, QuotaState { used: 1, renews_at: 1060 });
        let s = count(s, 60, 1059);
        assert_eq!(s, QuotaState { used: 2, renews_at: 1060 });
        assert_eq!(count(s, 60, 1060), QuotaState { used: 1, renews_at: 1120 });
        // Never renews.
        assert_eq!(count(QuotaState { used: 5, renews_at: 0 }, 0, 1000), QuotaState { used: 6, renews_at: 0 });
        assert!(!QuotaDecision::of(QuotaState { used: 3, renews_at: 0 }, 2).allowed);
        assert_eq!(QuotaDecision::of(QuotaState { used: 2, renews_at: 0 }, 2).remaining, 0);
    }
}
