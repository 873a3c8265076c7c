//! Change notices: every write to a key, policy or API is announced here, synchronously, so
//! that the caches built from them (the gateway's sessions, its API table) drop their copy
//! before the write's response goes out. A change made through any way in is therefore
//! enforced on the very next request on this node.
//!
//! On PostgreSQL the database announces every such write too (a trigger, see migration 0004),
//! and `listen` applies the announcements of other nodes here: that is how a cluster's nodes
//! stay within a second of each other.

pub mod listen;

use app::model::{KeyHash, OrgId};
use std::sync::{Arc, RwLock};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A key was created, changed or deleted.
    Key { key_hash: KeyHash },
    /// A policy changed or was deleted: every key that applies it changes too.
    Policy { org_id: OrgId, policy_id: String },
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
