//! Quota counters in memory: `quota_max` requests per `quota_renewal_rate` seconds, renewing
//! on the first request after the period ends (Tyk's behaviour: not tied to the calendar).
//!
//! Dirty counters are written back to storage every `PORTCULLIS_QUOTA_FLUSH_MS` (1 s by
//! default). A crash can therefore lose at most the requests counted since the last
//! write-back: one flush interval's worth (tested by killing the server under load). A
//! counter is loaded from storage on the key's first request after a start.
//!
//! Memory holds only the counters in use: a deleted key's go with it (`forget`), and one that
//! is written back and either past its period or not counted for `IDLE_SECS` goes at the next
//! `sweep`, to be loaded again from storage, unchanged, if its key comes back.

use super::QuotaAsk;
use crate::store::{Store, StoreError};
use prometheus_client::metrics::gauge::Gauge;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
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

/// Seconds without a request after which a written-back counter leaves memory.
pub const IDLE_SECS: i64 = 60;

struct Counter {
    state: Mutex<QuotaState>,
    dirty: AtomicBool,
    /// Unix seconds of the last request counted (or of the load).
    touched: AtomicI64,
    /// Dropped from memory by a sweep: a request that found it before counts again on the
    /// counter loaded in its place. Read and written under `state`'s lock.
    retired: AtomicBool,
}

impl Counter {
    /// Retires the counter if it is idle: storage holds all it counted, and it is past its
    /// period or unused for `IDLE_SECS`. Under its lock, so no request counts on it meanwhile.
    fn retire_if_idle(&self, now: i64) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let idle = !self.dirty.load(Ordering::Acquire)
            && ((state.renews_at != 0 && state.renews_at <= now) || now - self.touched.load(Ordering::Relaxed) >= IDLE_SECS);
        if idle {
            self.retired.store(true, Ordering::Relaxed);
        }
        idle
    }
}

/// Per key hash, one counter per scope; nested so a lookup borrows the request's strings.
type Counters = HashMap<Box<str>, Vec<(Box<str>, Arc<Counter>)>>;

pub struct Quotas {
    store: Store,
    counters: RwLock<Counters>,
    /// Serialises first loads from storage, so concurrent first requests read it once.
    loading: tokio::sync::Mutex<()>,
    /// One write-back at a time, and none while counters are dropped: a counter leaves memory
    /// only once what it held is in storage.
    flushing: tokio::sync::Mutex<()>,
    /// How many counters are in memory, for `/metrics`.
    entries: Gauge,
}

impl Quotas {
    pub fn new(store: Store) -> Self {
        Self::with_gauge(store, Gauge::default())
    }

    /// Counters reporting how many are in memory in `entries`.
    pub fn with_gauge(store: Store, entries: Gauge) -> Self {
        entries.set(0);
        Self { store, counters: RwLock::default(), loading: tokio::sync::Mutex::new(()), flushing: tokio::sync::Mutex::new(()), entries }
    }

    /// Counts one request against a quota. Refused requests count too, as in Tyk, so a client
    /// hammering an exhausted quota does not get through when it renews mid-burst.
    pub async fn consume(&self, key_hash: &str, scope: &str, ask: QuotaAsk, now: i64) -> QuotaDecision {
        loop {
            let counter = self.counter(key_hash, scope, ask.renews_hint).await;
            let mut s = counter.state.lock().unwrap_or_else(|e| e.into_inner());
            if counter.retired.load(Ordering::Relaxed) {
                continue;
            }
            *s = count(*s, ask.renewal_rate, now);
            counter.dirty.store(true, Ordering::Release);
            counter.touched.store(now, Ordering::Relaxed);
            return QuotaDecision::of(*s, ask.max);
        }
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

    /// Drops a deleted key's counters. Its stored rows went with the key (and a write-back
    /// skips keys that no longer exist), so nothing is written; waiting for a write-back under
    /// way means none can still be saving them as this returns.
    pub async fn forget(&self, key_hash: &str) {
        let _flushing = self.flushing.lock().await;
        if let Some(scopes) = self.counters.write().unwrap_or_else(|e| e.into_inner()).remove(key_hash) {
            self.entries.dec_by(scopes.len() as i64);
        }
    }

    /// Drops the counters that are written back and idle (see `Counter::retire_if_idle`);
    /// returns how many went. Holding the write-back lock, so that "written back" means saved.
    pub async fn sweep(&self, now: i64) -> usize {
        let _flushing = self.flushing.lock().await;
        let maybe_idle = |c: &Counter| {
            !c.dirty.load(Ordering::Acquire) && {
                let renews_at = c.state.lock().unwrap_or_else(|e| e.into_inner()).renews_at;
                (renews_at != 0 && renews_at <= now) || now - c.touched.load(Ordering::Relaxed) >= IDLE_SECS
            }
        };
        // Found under the read lock, so requests wait only while the idle ones are removed.
        let candidates: Vec<Box<str>> = {
            let counters = self.counters.read().unwrap_or_else(|e| e.into_inner());
            counters.iter().filter(|(_, scopes)| scopes.iter().any(|(_, c)| maybe_idle(c))).map(|(k, _)| k.clone()).collect()
        };
        if candidates.is_empty() {
            return 0;
        }
        let mut counters = self.counters.write().unwrap_or_else(|e| e.into_inner());
        let mut dropped = 0;
        for k in candidates {
            let Some(scopes) = counters.get_mut(&k) else { continue };
            let before = scopes.len();
            scopes.retain(|(_, c)| !c.retire_if_idle(now));
            dropped += before - scopes.len();
            if scopes.is_empty() {
                counters.remove(&k);
            }
        }
        self.entries.dec_by(dropped as i64);
        dropped
    }

    /// How many counters are in memory.
    pub fn count(&self) -> usize {
        self.counters.read().unwrap_or_else(|e| e.into_inner()).values().map(Vec::len).sum()
    }

    /// Writes every counter that changed since the last flush; returns how many.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let _flushing = self.flushing.lock().await;
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
        let touched = AtomicI64::new(crate::store::now());
        let fresh = Arc::new(Counter { state: Mutex::new(state), dirty: AtomicBool::new(false), touched, retired: AtomicBool::new(false) });
        let mut counters = self.counters.write().unwrap_or_else(|e| e.into_inner());
        counters.entry(key_hash.into()).or_default().push((scope.into(), fresh.clone()));
        self.entries.inc();
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

    /// A migrated SQLite store in a temporary file, holding one key ("k").
    async fn store_with_key() -> (Store, std::path::PathBuf) {
        use crate::store::{KeyIndex, KeyRow, OrgRow};
        let path = std::env::temp_dir().join(format!("portcullis-quota-{}.db", uuid::Uuid::new_v4().simple()));
        let store = Store::connect(&crate::config::DatabaseUrl::Sqlite(path.clone())).await.unwrap();
        store.migrate().await.unwrap();
        let org_id = app::model::OrgId::parse("org").unwrap();
        store.insert_org(&OrgRow { id: org_id.clone(), owner_name: "o".into(), document: "{}".into(), created_at: 0 }).await.unwrap();
        let row = KeyRow {
            key_hash: crate::keys::id::hash("k"),
            org_id,
            key_id: None,
            basic_username: None,
            alias: String::new(),
            is_inactive: false,
            expires: 0,
            session: "{}".into(),
            hmac_secret: None,
            created_at: 0,
            updated_at: 0,
        };
        store.insert_key(&row, &KeyIndex::default()).await.unwrap();
        (store, path)
    }

    #[tokio::test]
    async fn idle_counters_leave_memory_only_once_written_back_and_lose_nothing() {
        let (store, path) = store_with_key().await;
        let k = crate::keys::id::hash("k");
        let k = k.as_str();
        let entries = Gauge::default();
        let quotas = Quotas::with_gauge(store, entries.clone());
        let never = QuotaAsk { max: 100, renewal_rate: 0, renews_hint: 0 };
        let hourly = QuotaAsk { max: 100, renewal_rate: 3600, renews_hint: 0 };
        let t = 1_000_000;
        for _ in 0..3 {
            quotas.consume(k, "", never, t).await;
        }
        quotas.consume(k, "api", hourly, t).await;
        assert_eq!((quotas.count(), entries.get()), (2, 2));
        // Not written back yet: kept, however idle.
        assert_eq!(quotas.sweep(t + IDLE_SECS * 2).await, 0);
        assert_eq!(quotas.flush().await.unwrap(), 2);
        // Written back but used recently and within its period: kept.
        assert_eq!(quotas.sweep(t + 1).await, 0);
        // Idle long enough: the never-renewing one goes; the hourly one too (idle), since
        // storage holds its count.
        assert_eq!(quotas.sweep(t + IDLE_SECS).await, 2);
        assert_eq!((quotas.count(), entries.get()), (0, 0));
        // Reloaded from storage, counting on from where it was.
        assert_eq!(quotas.consume(k, "", never, t + IDLE_SECS).await.remaining, 100 - 4);
        assert_eq!(quotas.consume(k, "api", hourly, t + IDLE_SECS).await.remaining, 100 - 2);
        assert_eq!(entries.get(), 2);
        quotas.forget(k).await;
        assert_eq!((quotas.count(), entries.get()), (0, 0));
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_counter_past_its_period_goes_at_the_next_sweep() {
        let (store, path) = store_with_key().await;
        let k = crate::keys::id::hash("k");
        let quotas = Quotas::new(store);
        let minutely = QuotaAsk { max: 5, renewal_rate: 30, renews_hint: 0 };
        quotas.consume(k.as_str(), "", minutely, 1000).await;
        quotas.flush().await.unwrap();
        assert_eq!(quotas.sweep(1029).await, 0);
        assert_eq!(quotas.sweep(1030).await, 1);
        // A new period starts, as it would have in memory.
        let d = quotas.consume(k.as_str(), "", minutely, 1031).await;
        assert_eq!((d.remaining, d.renews_at), (4, 1061));
        let _ = std::fs::remove_file(path);
    }
}

