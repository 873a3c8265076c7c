//! The gateway's copy of the keys in use: effective sessions by key hash, loaded on first use
//! and dropped on every change (see `changes`). Unknown keys are remembered briefly too, so a
//! flood of bad keys does not become a flood of database reads.
//!
//! Known keys are bounded by a memory budget (`PORTCULLIS_KEY_CACHE_MB`), each counted at an
//! estimate of what it holds; past the budget the least recently used go, in a batch, so that
//! an insert costs O(log n) amortised and a hit never takes a write lock: a hit only stamps its
//! entry with the current "load clock", which ticks once per load. An evicted key used again
//! is simply loaded again (once, however many requests want it: see `Gateway::key_for`).
//!
//! Unknown keys live in a second map with a bound of its own: they are chosen by clients, so a
//! flood of random keys only ever evicts other unknown keys, never a key in use.

use crate::keys::live::LiveKey;
use crate::metrics::Metrics;
use app::model::{KeyHash, OrgId};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Unknown keys remembered at most: enough to spare the database a repeated bad key, small
/// enough (about 1.5 MB) that a flood costs nothing.
pub const MAX_MISSING: usize = 10_000;
/// What one cached key costs beyond what its session holds: its map slot, the `LiveKey` and
/// its `Arc` counts, the hash's 64 characters, and an allowance for the allocator's rounding
/// and the map's spare capacity.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<(KeyHash, Entry)>() + std::mem::size_of::<LiveKey>() + 16 + 64 + 128;

struct Entry {
    key: Arc<LiveKey>,
    /// The load clock when the key was last used.
    used: AtomicU64,
    bytes: usize,
}

struct Found {
    map: HashMap<KeyHash, Entry>,
    bytes: usize,
}

/// The sizes the cache reports in `/metrics`.
struct Gauges {
    found: Gauge,
    missing: Gauge,
    bytes: Gauge,
    evictions: Counter,
}

pub struct KeyCache {
    found: RwLock<Found>,
    /// Unknown keys, with when each was found missing.
    missing: RwLock<HashMap<KeyHash, Instant>>,
    /// Ticks once per key loaded: the age of an entry is how many loads ago it was last used.
    clock: AtomicU64,
    budget: usize,
    max_missing: usize,
    gauges: Gauges,
}

/// What the cache knows of a key hash.
pub enum Cached {
    Found(Arc<LiveKey>),
    Missing,
    Unknown,
}

impl KeyCache {
    /// A cache of known keys within `budget` bytes (estimated) and at most `max_missing`
    /// unknown ones, reporting its sizes in `metrics`.
    pub fn new(budget: usize, max_missing: usize, metrics: &Metrics) -> Self {
        let gauges = Gauges {
            found: metrics.key_cache_found.clone(),
            missing: metrics.key_cache_missing.clone(),
            bytes: metrics.key_cache_bytes.clone(),
            evictions: metrics.key_cache_evictions.clone(),
        };
        metrics.key_cache_budget_bytes.set(budget as i64);
        gauges.found.set(0);
        gauges.missing.set(0);
        gauges.bytes.set(0);
        Self {
            found: RwLock::new(Found { map: HashMap::new(), bytes: 0 }),
            missing: RwLock::default(),
            clock: AtomicU64::new(0),
            budget,
            max_missing: max_missing.max(8),
            gauges,
        }
    }

    pub fn get(&self, key_hash: &KeyHash) -> Cached {
        if let Some(e) = self.found.read().unwrap_or_else(|e| e.into_inner()).map.get(key_hash) {
            // Written only when it changes, so that a hot key's hits share its cache line.
            let now = self.clock.load(Ordering::Relaxed);
            if e.used.load(Ordering::Relaxed) != now {
                e.used.store(now, Ordering::Relaxed);
            }
            return Cached::Found(e.key.clone());
        }
        match self.missing.read().unwrap_or_else(|e| e.into_inner()).get(key_hash) {
            Some(at) if at.elapsed() < NEGATIVE_TTL => Cached::Missing,
            _ => Cached::Unknown,
        }
    }

    pub fn put(&self, key_hash: &KeyHash, key: Option<Arc<LiveKey>>) {
        match key {
            Some(k) => {
                let mut missing = self.missing.write().unwrap_or_else(|e| e.into_inner());
                if missing.remove(key_hash).is_some() {
                    self.gauges.missing.set(missing.len() as i64);
                }
                drop(missing);
                let bytes = footprint(&k);
                let used = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
                let mut found = self.found.write().unwrap_or_else(|e| e.into_inner());
                if let Some(old) = found.map.insert(key_hash.clone(), Entry { key: k, used: AtomicU64::new(used), bytes }) {
                    found.bytes -= old.bytes;
                }
                found.bytes += bytes;
                if found.bytes > self.budget {
                    let evicted = evict_least_recent(&mut found, self.budget - self.budget / 8, key_hash);
                    self.gauges.evictions.inc_by(evicted as u64);
                }
                self.report(&found);
            }
            None => {
                let now = Instant::now();
                let mut missing = self.missing.write().unwrap_or_else(|e| e.into_inner());
                if missing.len() >= self.max_missing && !missing.contains_key(key_hash) {
                    missing.retain(|_, at| now.duration_since(*at) < NEGATIVE_TTL);
                    evict_oldest(&mut missing, self.max_missing);
                }
                missing.insert(key_hash.clone(), now);
                self.gauges.missing.set(missing.len() as i64);
            }
        }
    }

    pub fn invalidate(&self, key_hash: &KeyHash) {
        let mut found = self.found.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = found.map.remove(key_hash) {
            found.bytes -= old.bytes;
            self.report(&found);
        }
        drop(found);
        let mut missing = self.missing.write().unwrap_or_else(|e| e.into_inner());
        if missing.remove(key_hash).is_some() {
            self.gauges.missing.set(missing.len() as i64);
        }
    }

    /// Drops every cached key of an organisation that applies a policy.
    pub fn invalidate_policy(&self, org_id: &OrgId, policy_id: &str) {
        let mut found = self.found.write().unwrap_or_else(|e| e.into_inner());
        let mut freed = 0;
        found.map.retain(|_, e| {
            let stale = e.key.org_id == *org_id && e.key.session.policy_ids().contains(&policy_id);
            if stale {
                freed += e.bytes;
            }
            !stale
        });
        found.bytes -= freed;
        self.report(&found);
    }

    pub fn clear(&self) {
        let mut found = self.found.write().unwrap_or_else(|e| e.into_inner());
        found.map.clear();
        found.bytes = 0;
        self.report(&found);
        drop(found);
        self.missing.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.gauges.missing.set(0);
    }

    /// How many known and unknown keys are cached.
    pub fn sizes(&self) -> (usize, usize) {
        (self.found.read().unwrap_or_else(|e| e.into_inner()).map.len(), self.missing.read().unwrap_or_else(|e| e.into_inner()).len())
    }

    /// The estimated bytes the known keys take.
    pub fn bytes(&self) -> usize {
        self.found.read().unwrap_or_else(|e| e.into_inner()).bytes
    }

    fn report(&self, found: &Found) {
        self.gauges.found.set(found.map.len() as i64);
        self.gauges.bytes.set(found.bytes as i64);
    }
}

/// An estimate of the memory a cached key holds: its session's size as JSON (the parsed form
/// takes about as much again), its secrets and compiled path rules, and a fixed overhead.
/// Computed once per load, off the hot path.
fn footprint(k: &LiveKey) -> usize {
    let session = serde_json::to_vec(&k.session).map_or(0, |v| v.len());
    let secrets = k.hmac_secret.as_ref().map_or(0, String::len) + k.basic_password_hash.as_ref().map_or(0, String::len);
    // A compiled regex holds a few KB of automata.
    let rules: usize = k.url_rules.values().map(|r| r.len() * 4096).sum();
    let identity: usize = k.identity.iter().map(|(_, v)| v.len() + 64).sum();
    ENTRY_OVERHEAD + 2 * session + secrets + rules + identity
}

/// Brings the known keys down to `target` bytes, least recently used first, sparing the key
/// just loaded. Returns how many went.
fn evict_least_recent(found: &mut Found, target: usize, keep: &KeyHash) -> usize {
    let mut ages: Vec<(u64, usize, &KeyHash)> = found
        .map
        .iter()
        .filter(|(h, _)| *h != keep)
        .map(|(h, e)| (e.used.load(Ordering::Relaxed), e.bytes, h))
        .collect();
    ages.sort_unstable_by_key(|(used, _, _)| *used);
    let mut bytes = found.bytes;
    let mut doomed = Vec::new();
    for (_, size, h) in ages {
        if bytes <= target {
            break;
        }
        bytes -= size;
        doomed.push(h.clone());
    }
    for h in &doomed {
        found.map.remove(h);
    }
    found.bytes = bytes;
    doomed.len()
}

/// Brings a full map of unknown keys down to seven eighths of its bound by dropping its oldest
/// entries: a bounded batch, found in linear time, so that each insert costs O(1) amortised.
fn evict_oldest(map: &mut HashMap<KeyHash, Instant>, bound: usize) {
    let target = bound - bound / 8;
    if map.len() <= target {
        return;
    }
    let drop = map.len() - target;
    let mut times: Vec<Instant> = map.values().copied().collect();
    let (_, cutoff, _) = times.select_nth_unstable(drop - 1);
    let cutoff = *cutoff;
    let mut left = drop;
    map.retain(|_, at| {
        if left > 0 && *at <= cutoff {
            left -= 1;
            false
        } else {
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys are named in the tests; the cache holds their hashes.
    fn h(name: &str) -> KeyHash {
        crate::keys::id::hash(name)
    }

    fn key(name: &str) -> Arc<LiveKey> {
        Arc::new(LiveKey {
            hash: h(name),
            org_id: OrgId::parse("org").unwrap(),
            session: Default::default(),
            hmac_secret: None,
            kind: crate::keys::live::KeyKind::AuthToken,
            basic_password_hash: None,
            url_rules: Default::default(),
            refused: false,
            labels: Default::default(),
            identity: Vec::new(),
        })
    }

    /// A cache holding about `n` keys like `key(..)`.
    fn cache_of(n: usize, max_missing: usize) -> KeyCache {
        KeyCache::new(n * footprint(&key("k")), max_missing, &Metrics::default())
    }

    #[test]
    fn a_flood_of_unknown_keys_never_evicts_a_known_one() {
        let cache = cache_of(100, 64);
        cache.put(&h("valid"), Some(key("valid")));
        for i in 0..20_000 {
            cache.put(&h(&format!("random{i}")), None);
        }
        assert!(matches!(cache.get(&h("valid")), Cached::Found(_)));
        let (found, missing) = cache.sizes();
        assert_eq!(found, 1);
        assert!(missing <= 64, "{missing}");
        // The newest unknown keys are the ones remembered.
        assert!(matches!(cache.get(&h("random19999")), Cached::Missing));
        assert!(matches!(cache.get(&h("random0")), Cached::Unknown));
    }

    #[test]
    fn a_full_cache_drops_its_least_recently_used_batch_not_everything() {
        let cache = cache_of(64, 64);
        for i in 0..64 {
            cache.put(&h(&format!("k{i}")), Some(key(&format!("k{i}"))));
        }
        // k0 was loaded first but is in use.
        assert!(matches!(cache.get(&h("k0")), Cached::Found(_)));
        cache.put(&h("k64"), Some(key("k64")));
        let (found, _) = cache.sizes();
        assert!((56..64).contains(&found), "{found}");
        assert!(cache.bytes() <= cache.budget);
        assert!(matches!(cache.get(&h("k64")), Cached::Found(_)));
        assert!(matches!(cache.get(&h("k0")), Cached::Found(_)));
        assert!(matches!(cache.get(&h("k63")), Cached::Found(_)));
        assert!(matches!(cache.get(&h("k1")), Cached::Unknown));
    }

    #[test]
    fn the_budget_holds_under_churn_and_the_gauges_follow() {
        let metrics = Metrics::default();
        let cache = KeyCache::new(10 * footprint(&key("k")), 64, &metrics);
        for i in 0..10_000 {
            cache.put(&h(&format!("k{i}")), Some(key(&format!("k{i}"))));
            assert!(cache.bytes() <= cache.budget);
            // A working-set key used between loads stays.
            assert!(matches!(cache.get(&h("k0")), Cached::Found(_)), "at {i}");
        }
        assert_eq!(metrics.key_cache_found.get(), cache.sizes().0 as i64);
        assert_eq!(metrics.key_cache_bytes.get(), cache.bytes() as i64);
        assert!(metrics.key_cache_evictions.get() >= 9_990);
        cache.invalidate(&h("k0"));
        cache.clear();
        assert_eq!((metrics.key_cache_found.get(), metrics.key_cache_bytes.get()), (0, 0));
    }

    #[test]
    fn one_key_larger_than_the_budget_is_still_cached() {
        let cache = KeyCache::new(1, 8, &Metrics::default());
        cache.put(&h("a"), Some(key("a")));
        cache.put(&h("b"), Some(key("b")));
        assert!(matches!(cache.get(&h("b")), Cached::Found(_)));
        assert_eq!(cache.sizes().0, 1);
    }

    #[test]
    fn a_typical_key_is_counted_at_a_few_kilobytes() {
        let session = serde_json::from_value(serde_json::json!({
            "alias": "mobile-app-1234", "rate": 100, "per": 60, "quota_max": 10000, "quota_renewal_rate": 86400,
            "access_rights": { "a1b2c3d4e5f6": { "api_id": "a1b2c3d4e5f6", "api_name": "payments", "versions": ["Default"] } },
            "tags": ["mobile", "eu"], "meta_data": { "customer": "c-981234" }, "apply_policies": ["gold"]
        }))
        .unwrap();
        let k = LiveKey { session, ..Arc::try_unwrap(key("k")).ok().unwrap() };
        let bytes = footprint(&k);
        assert!((1_000..8_000).contains(&bytes), "{bytes}");
    }
}

