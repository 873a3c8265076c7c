//! The gateway's copy of the keys in use: effective sessions by key hash, loaded on first use
//! and dropped on every change (see `changes`). Unknown keys are remembered briefly too, so a
//! flood of bad keys does not become a flood of database reads.
//!
//! Known and unknown keys live in two maps with bounds of their own: the unknown ones are
//! chosen by clients, so a flood of random keys only ever evicts other unknown keys, never a
//! key in use. Neither map is ever cleared wholesale when full: a batch of its oldest entries
//! goes. (A proper LRU with a memory budget is planned.)

use crate::keys::live::LiveKey;
use app::model::{KeyHash, OrgId};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Known keys kept at most.
const MAX_FOUND: usize = 1_000_000;
/// Unknown keys remembered at most: enough to spare the database a repeated bad key, small
/// enough (about 1.5 MB) that a flood costs nothing.
pub const MAX_MISSING: usize = 10_000;

pub struct KeyCache {
    /// Known keys, with when each was loaded.
    found: RwLock<HashMap<KeyHash, (Arc<LiveKey>, Instant)>>,
    /// Unknown keys, with when each was found missing.
    missing: RwLock<HashMap<KeyHash, Instant>>,
    max_found: usize,
    max_missing: usize,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::with_bounds(MAX_FOUND, MAX_MISSING)
    }
}

/// What the cache knows of a key hash.
pub enum Cached {
    Found(Arc<LiveKey>),
    Missing,
    Unknown,
}

impl KeyCache {
    pub fn with_bounds(max_found: usize, max_missing: usize) -> Self {
        Self { found: RwLock::default(), missing: RwLock::default(), max_found: max_found.max(8), max_missing: max_missing.max(8) }
    }

    pub fn get(&self, key_hash: &KeyHash) -> Cached {
        if let Some((k, _)) = self.found.read().unwrap_or_else(|e| e.into_inner()).get(key_hash) {
            return Cached::Found(k.clone());
        }
        match self.missing.read().unwrap_or_else(|e| e.into_inner()).get(key_hash) {
            Some(at) if at.elapsed() < NEGATIVE_TTL => Cached::Missing,
            _ => Cached::Unknown,
        }
    }

    pub fn put(&self, key_hash: &KeyHash, key: Option<Arc<LiveKey>>) {
        let now = Instant::now();
        match key {
            Some(k) => {
                self.missing.write().unwrap_or_else(|e| e.into_inner()).remove(key_hash);
                let mut found = self.found.write().unwrap_or_else(|e| e.into_inner());
                if found.len() >= self.max_found && !found.contains_key(key_hash) {
                    evict_oldest(&mut found, self.max_found, |(_, at)| *at);
                }
                found.insert(key_hash.clone(), (k, now));
            }
            None => {
                let mut missing = self.missing.write().unwrap_or_else(|e| e.into_inner());
                if missing.len() >= self.max_missing && !missing.contains_key(key_hash) {
                    missing.retain(|_, at| now.duration_since(*at) < NEGATIVE_TTL);
                    evict_oldest(&mut missing, self.max_missing, |at| *at);
                }
                missing.insert(key_hash.clone(), now);
            }
        }
    }

    pub fn invalidate(&self, key_hash: &KeyHash) {
        self.found.write().unwrap_or_else(|e| e.into_inner()).remove(key_hash);
        self.missing.write().unwrap_or_else(|e| e.into_inner()).remove(key_hash);
    }

    /// Drops every cached key of an organisation that applies a policy.
    pub fn invalidate_policy(&self, org_id: &OrgId, policy_id: &str) {
        self.found
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (k, _)| !(k.org_id == *org_id && k.session.policy_ids().contains(&policy_id)));
    }

    pub fn clear(&self) {
        self.found.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.missing.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// How many known and unknown keys are cached.
    pub fn sizes(&self) -> (usize, usize) {
        (self.found.read().unwrap_or_else(|e| e.into_inner()).len(), self.missing.read().unwrap_or_else(|e| e.into_inner()).len())
    }
}

/// Brings a full map down to seven eighths of its bound by dropping its oldest entries: a
/// bounded batch, found in linear time, so that each insert costs O(1) amortised.
fn evict_oldest<V>(map: &mut HashMap<KeyHash, V>, bound: usize, at: impl Fn(&V) -> Instant) {
    let target = bound - bound / 8;
    if map.len() <= target {
        return;
    }
    let drop = map.len() - target;
    let mut times: Vec<Instant> = map.values().map(&at).collect();
    let (_, cutoff, _) = times.select_nth_unstable(drop - 1);
    let cutoff = *cutoff;
    let mut left = drop;
    map.retain(|_, v| {
        if left > 0 && at(v) <= cutoff {
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

    #[test]
    fn a_flood_of_unknown_keys_never_evicts_a_known_one() {
        let cache = KeyCache::with_bounds(100, 64);
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
    fn a_full_cache_drops_its_oldest_batch_not_everything() {
        let cache = KeyCache::with_bounds(64, 64);
        for i in 0..64 {
            cache.put(&h(&format!("k{i}")), Some(key(&format!("k{i}"))));
        }
        cache.put(&h("k64"), Some(key("k64")));
        let (found, _) = cache.sizes();
        assert!((56..64).contains(&found), "{found}");
        assert!(matches!(cache.get(&h("k64")), Cached::Found(_)));
        assert!(matches!(cache.get(&h("k63")), Cached::Found(_)));
    }
}
