//! The rate limiter: GCRA (the generic cell rate algorithm), one 8-byte "theoretical arrival
//! time" per key and scope.
//!
//! Why GCRA: it is exact (`rate` requests in any window of `per` seconds, never more, with a
//! burst of up to `rate`), needs no timer and no list of timestamps, and a check is one
//! compare-and-swap. Tyk's default (the DRL) is a fixed window per node that lets up to twice
//! the rate through at a window's edge; its Redis sliding log is exact but costs a sorted set
//! per key. The same arithmetic runs in a Redis script in cluster mode.

use prometheus_client::metrics::gauge::Gauge;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

/// A rate: `rate` requests per `per` seconds. `rate <= 0` means unlimited.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub rate: f64,
    pub per: f64,
}

impl Rate {
    pub fn is_limited(&self) -> bool {
        self.rate > 0.0 && self.per > 0.0
    }

    /// Nanoseconds between two requests at the steady rate.
    pub fn emission_nanos(&self) -> u64 {
        ((self.per / self.rate) * 1e9).max(1.0) as u64
    }

    pub fn window_nanos(&self) -> u64 {
        (self.per * 1e9) as u64
    }

    /// The burst the `X-RateLimit-Limit` header reports.
    pub fn limit(&self) -> u64 {
        self.rate.floor().max(1.0) as u64
    }
}

/// The outcome of a check, with what the `X-RateLimit-*` headers report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Nanoseconds until one more request would be allowed.
    pub retry_after_nanos: u64,
}

/// GCRA on one cell. `tat` is the theoretical arrival time in `mono_nanos` units.
/// Returns the decision and, when allowed, the new TAT to store.
pub fn gcra(tat: u64, now: u64, rate: Rate) -> (Decision, Option<u64>) {
    let t = rate.emission_nanos();
    let window = rate.window_nanos();
    let limit = rate.limit();
    let new_tat = tat.max(now) + t;
    // Allowed while the new TAT stays within one window of now.
    if new_tat <= now + window {
        let remaining = (now + window - new_tat) / t;
        (Decision { allowed: true, limit, remaining: remaining.min(limit), retry_after_nanos: 0 }, Some(new_tat))
    } else {
        let retry = new_tat - (now + window);
        (Decision { allowed: false, limit, remaining: 0, retry_after_nanos: retry }, None)
    }
}

type Cells = HashMap<Box<str>, Vec<(Box<str>, AtomicU64)>>;

/// Every key's cells: per key hash, one per counter scope (a key rarely has more than one).
/// Nested by key so that a lookup borrows the request's strings instead of building a key.
///
/// A cell whose TAT has passed decides exactly as a new one would (GCRA starts from
/// `max(tat, now)`), so `sweep` drops those: only keys used within their last window stay.
#[derive(Default)]
pub struct RateLimiter {
    cells: RwLock<Cells>,
    /// How many cells there are, for `/metrics`.
    entries: Gauge,
}

impl RateLimiter {
    /// A limiter reporting its number of cells in `entries`.
    pub fn new(entries: Gauge) -> Self {
        entries.set(0);
        Self { cells: RwLock::default(), entries }
    }

    /// Checks and, if allowed, counts one request. A refused request does not move the TAT,
    /// so checking again later (throttling) needs no separate "peek".
    pub fn check(&self, key_hash: &str, scope: &str, rate: Rate, now: u64) -> Decision {
        {
            let cells = self.cells.read().unwrap_or_else(|e| e.into_inner());
            if let Some(cell) = find(&cells, key_hash, scope) {
                return take(cell, rate, now);
            }
        }
        let mut cells = self.cells.write().unwrap_or_else(|e| e.into_inner());
        let scopes = cells.entry(key_hash.into()).or_default();
        if !scopes.iter().any(|(s, _)| super::same_scope(s, scope)) {
            scopes.push((scope.into(), AtomicU64::new(0)));
            self.entries.inc();
        }
        let cell = find(&cells, key_hash, scope).expect("just inserted");
        take(cell, rate, now)
    }

    /// Forgets a key's cells (it was changed or deleted).
    pub fn forget(&self, key_hash: &str) {
        if let Some(scopes) = self.cells.write().unwrap_or_else(|e| e.into_inner()).remove(key_hash) {
            self.entries.dec_by(scopes.len() as i64);
        }
    }

    /// Drops the cells whose TAT is not after `now`: they hold nothing a new cell would not.
    /// Found under the read lock, so requests are held up only while the idle ones are removed.
    /// Returns how many went.
    pub fn sweep(&self, now: u64) -> usize {
        let idle = |scopes: &[(Box<str>, AtomicU64)]| scopes.iter().all(|(_, c)| c.load(Ordering::Acquire) <= now);
        let candidates: Vec<Box<str>> = {
            let cells = self.cells.read().unwrap_or_else(|e| e.into_inner());
            cells.iter().filter(|(_, scopes)| idle(scopes)).map(|(k, _)| k.clone()).collect()
        };
        if candidates.is_empty() {
            return 0;
        }
        let mut cells = self.cells.write().unwrap_or_else(|e| e.into_inner());
        let mut dropped = 0;
        for k in candidates {
            // Checked again: a request may have used it meanwhile.
            if cells.get(&k).is_some_and(|scopes| idle(scopes)) {
                dropped += cells.remove(&k).map_or(0, |scopes| scopes.len());
            }
        }
        self.entries.dec_by(dropped as i64);
        dropped
    }

    /// How many cells there are.
    pub fn count(&self) -> usize {
        self.cells.read().unwrap_or_else(|e| e.into_inner()).values().map(Vec::len).sum()
    }
}

fn find<'a>(cells: &'a Cells, key_hash: &str, scope: &str) -> Option<&'a AtomicU64> {
    cells.get(key_hash)?.iter().find(|(s, _)| super::same_scope(s, scope)).map(|(_, c)| c)
}

/// GCRA on a shared cell: one compare-and-swap when uncontended.
fn take(cell: &AtomicU64, rate: Rate, now: u64) -> Decision {
    let mut current = cell.load(Ordering::Acquire);
    loop {
        let (decision, new_tat) = gcra(current, now, rate);
        let Some(new_tat) = new_tat else { return decision };
        match cell.compare_exchange_weak(current, new_tat, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return decision,
            Err(actual) => current = actual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn burst_then_refuse_then_recover() {
        let rl = RateLimiter::default();
        let r = Rate { rate: 10.0, per: 1.0 };
        let now = 100 * SEC;
        for i in 0..10 {
            let d = rl.check("k", "", r, now);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
        }
        let d = rl.check("k", "", r, now);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_nanos, SEC / 10);
        // One emission interval later, exactly one more.
        assert!(rl.check("k", "", r, now + SEC / 10).allowed);
        assert!(!rl.check("k", "", r, now + SEC / 10).allowed);
        // A whole window later, a full burst again.
        for _ in 0..10 {
            assert!(rl.check("k", "", r, now + 2 * SEC).allowed);
        }
    }

    #[test]
    fn scopes_are_independent() {
        let rl = RateLimiter::default();
        let r = Rate { rate: 1.0, per: 60.0 };
        assert!(rl.check("k", "", r, SEC).allowed);
        assert!(rl.check("k", "api-1", r, SEC).allowed);
        assert!(!rl.check("k", "", r, SEC).allowed);
        assert!(!rl.check("k", "api-1", r, SEC).allowed);
    }

    #[test]
    fn keys_are_independent_and_forgettable() {
        let rl = RateLimiter::default();
        let r = Rate { rate: 1.0, per: 60.0 };
        assert!(rl.check("a", "", r, SEC).allowed);
        assert!(rl.check("b", "", r, SEC).allowed);
        assert!(!rl.check("a", "", r, SEC).allowed);
        rl.forget("a");
        assert!(rl.check("a", "", r, SEC).allowed);
    }

    #[test]
    fn idle_cells_are_swept_and_decide_as_before() {
        let entries = Gauge::default();
        let rl = RateLimiter::new(entries.clone());
        let r = Rate { rate: 2.0, per: 10.0 };
        assert!(rl.check("busy", "", r, SEC).allowed);
        assert!(rl.check("busy", "api-1", r, SEC).allowed);
        assert!(rl.check("idle", "", r, SEC).allowed);
        assert_eq!((rl.count(), entries.get()), (3, 3));
        // Within the window nothing is idle: a sweep would forget a request.
        assert_eq!(rl.sweep(5 * SEC), 0);
        assert!(rl.check("busy", "", r, 6 * SEC + 1).allowed);
        assert_eq!(rl.sweep(6 * SEC), 1);
        assert_eq!((rl.count(), entries.get()), (2, 2));
        assert!(rl.check("busy", "", r, 6 * SEC + 1).allowed);
        assert!(!rl.check("busy", "", r, 6 * SEC + 1).allowed, "the busy key kept its count");
        rl.forget("busy");
        assert_eq!((rl.count(), entries.get()), (0, 0));
    }
}
