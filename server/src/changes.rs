//! Change notices: every write to a key, policy or API is announced here, synchronously, so
//! that the caches built from them (the gateway's sessions, its API table, its quota counters)
//! drop their copy before the write's response goes out. A change made through any way in is
//! therefore enforced on the very next request. In a cluster the notices also travel between
//! nodes (see `cluster`).

use std::sync::{Arc, RwLock};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A key was created, changed or deleted. `quota_reset`: its quota starts again.
    Key { key_hash: String, quota_reset: bool },
    /// A policy changed or was deleted: every key that applies it changes too.
    Policy { org_id: String, policy_id: String },
    /// An API was created, changed or deleted.
    Api { api_id: String },
}

type Listener = Arc<dyn Fn(&Change) + Send + Sync>;

#[derive(Clone, Default)]
pub struct Changes {
    listeners: Arc<RwLock<Vec<Listener>>>,
}

impl Changes {
    pub fn subscribe(&self, listener: impl Fn(&Change) + Send + Sync + 'static) {
        self.listeners.write().unwrap_or_else(|e| e.into_inner()).push(Arc::new(listener));
    }

    /// Tells every listener, before returning.
    pub fn publish(&self, change: Change) {
        let listeners = self.listeners.read().unwrap_or_else(|e| e.into_inner()).clone();
        for l in listeners {
            l(&change);
        }
    }
}
