//! The rate limiter: GCRA (the generic cell rate algorithm), one 8-byte "theoretical arrival
//! time" per key and scope.
//!
//! Why GCRA: it is exact (`rate` requests in any window of `per` seconds, never more, with a
//! burst of up to `rate`), needs no timer and no list of timestamps, and a check is one
//! compare-and-swap. Tyk's default (the DRL) is a fixed window per node that lets up to twice
//! the rate through at a window's edge; its Redis sliding log is exact but costs a sorted set
//! per key. The same arithmetic runs in a Redis script in cluster mode.

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

/// Every key's cells: per key hash, one per counter scope (a key rarely has more than one).
/// Nested by key so that a lookup borrows the request's strings instead of building a key.
#[derive(Default)]
pub struct RateLimiter {
    cells: RwLock<HashMap<Box<str>, Vec<(Box<str>, AtomicU64)>>>,
}

impl RateLimiter {
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
        }
        let cell = find(&cells, key_hash, scope).expect("just inserted");
        take(cell, rate, now)
    }

    /// Forgets a key's cells (it was changed or deleted).
    pub fn forget(&self, key_hash: &str) {
        self.cells.write().unwrap_or_else(|e| e.into_inner()).remove(key_hash);
    }
}

fn find<'a>(cells: &'a HashMap<Box<str>, Vec<(Box<str>, AtomicU64)>>, key_hash: &str, scope: &str) -> Option<&'a AtomicU64> {
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
}
