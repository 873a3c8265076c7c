//! The gateway's copy of the keys in use: effective sessions by key hash, loaded on first use
//! and dropped on every change (see `changes`). Unknown keys are remembered briefly too, so a
//! flood of bad keys does not become a flood of database reads.

use crate::keys::live::LiveKey;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Past this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 1_000_000;

enum Slot {
    Found(Arc<LiveKey>),
    Missing(Instant),
}

#[derive(Default)]
pub struct KeyCache {
    slots: RwLock<HashMap<String, Slot>>,
}

/// What the cache knows of a key hash.
pub enum Cached {
    Found(Arc<LiveKey>),
    Missing,
    Unknown,
}

impl KeyCache {
    pub fn get(&self, key_hash: &str) -> Cached {
        match self.slots.read().unwrap_or_else(|e| e.into_inner()).get(key_hash) {
            Some(Slot::Found(k)) => Cached::Found(k.clone()),
            Some(Slot::Missing(at)) if at.elapsed() < NEGATIVE_TTL => Cached::Missing,
            _ => Cached::Unknown,
        }
    }

    pub fn put(&self, key_hash: &str, key: Option<Arc<LiveKey>>) {
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        if slots.len() >= MAX_ENTRIES {
            slots.clear();
        }
        let slot = match key {
            Some(k) => Slot::Found(k),
            None => Slot::Missing(Instant::now()),
        };
        slots.insert(key_hash.to_owned(), slot);
    }

    pub fn invalidate(&self, key_hash: &str) {
        self.slots.write().unwrap_or_else(|e| e.into_inner()).remove(key_hash);
    }

    /// Drops every cached key of an organisation that applies a policy.
    pub fn invalidate_policy(&self, org_id: &str, policy_id: &str) {
        self.slots.write().unwrap_or_else(|e| e.into_inner()).retain(|_, slot| match slot {
            Slot::Found(k) => !(k.org_id == org_id && k.session.policy_ids().contains(&policy_id)),
            Slot::Missing(_) => true,
        });
    }

    pub fn clear(&self) {
        self.slots.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
