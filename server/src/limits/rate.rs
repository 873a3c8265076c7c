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
use std::sync::{Arc, RwLock};

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
    fn emission_nanos(&self) -> u64 {
        ((self.per / self.rate) * 1e9).max(1.0) as u64
    }

    fn window_nanos(&self) -> u64 {
        (self.per * 1e9) as u64
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
    let limit = rate.rate.floor().max(1.0) as u64;
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

/// Every key's cell, by limiter key (key hash plus scope).
#[derive(Default)]
pub struct RateLimiter {
    cells: RwLock<HashMap<String, Arc<AtomicU64>>>,
}

impl RateLimiter {
    /// Checks and, if allowed, counts one request. `dry_run` only looks (for throttling).
    pub fn check(&self, limiter_key: &str, rate: Rate, now: u64, dry_run: bool) -> Decision {
        let cell = self.cell(limiter_key);
        let mut current = cell.load(Ordering::Acquire);
        loop {
            let (decision, new_tat) = gcra(current, now, rate);
            let Some(new_tat) = new_tat.filter(|_| !dry_run) else { return decision };
            match cell.compare_exchange_weak(current, new_tat, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return decision,
                Err(actual) => current = actual,
            }
        }
    }

    /// Forgets a key's cells (it was changed or deleted).
    pub fn forget(&self, key_hash: &str) {
        self.cells.write().unwrap_or_else(|e| e.into_inner()).retain(|k, _| !k.starts_with(key_hash));
    }

    fn cell(&self, key: &str) -> Arc<AtomicU64> {
        if let Some(c) = self.cells.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            return c.clone();
        }
        self.cells.write().unwrap_or_else(|e| e.into_inner()).entry(key.to_owned()).or_default().clone()
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
            let d = rl.check("k", r, now, false);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
        }
        let d = rl.check("k", r, now, false);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_nanos, SEC / 10);
        // One emission interval later, exactly one more.
        assert!(rl.check("k", r, now + SEC / 10, false).allowed);
        assert!(!rl.check("k", r, now + SEC / 10, false).allowed);
        // A whole window later, a full burst again.
        for _ in 0..10 {
            assert!(rl.check("k", r, now + 2 * SEC, false).allowed);
        }
    }

    #[test]
    fn dry_run_does_not_count() {
        let rl = RateLimiter::default();
        let r = Rate { rate: 1.0, per: 60.0 };
        assert!(rl.check("k", r, SEC, true).allowed);
        assert!(rl.check("k", r, SEC, false).allowed);
        assert!(!rl.check("k", r, SEC, true).allowed);
    }

    #[test]
    fn keys_are_independent_and_forgettable() {
        let rl = RateLimiter::default();
        let r = Rate { rate: 1.0, per: 60.0 };
        assert!(rl.check("a", r, SEC, false).allowed);
        assert!(rl.check("b", r, SEC, false).allowed);
        assert!(!rl.check("a", r, SEC, false).allowed);
        rl.forget("a");
        assert!(rl.check("a", r, SEC, false).allowed);
    }
}
