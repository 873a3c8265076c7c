//! Slows down password guessing: failed sign-ins are counted per account and per client
//! address, and past a threshold each further attempt must wait, twice as long each time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per account before attempts are delayed.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures allowed per client address (across accounts) before attempts are delayed.
pub const ADDRESS_FREE_FAILURES: u32 = 20;
/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// How long the next attempt must wait, if at all.
    fn wait(&self, free: u32, now: Instant) -> Option<Duration> {
        if self.count < free {
            return None;
        }
        let delay = Duration::from_secs(1u64 << (self.count - free).min(10)).min(MAX_DELAY);
        let ready = self.last + delay;
        (ready > now).then(|| ready - now)
    }
}

#[derive(Default)]
pub struct SignInThrottle {
    accounts: Mutex<HashMap<String, Failures>>,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
}

impl SignInThrottle {
    /// `Err(wait)` when this account or address must wait before trying again.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let by_account = lookup(&self.accounts, account, now).and_then(|f| f.wait(ACCOUNT_FREE_FAILURES, now));
        let by_address = lookup(&self.addresses, &address, now).and_then(|f| f.wait(ADDRESS_FREE_FAILURES, now));
        match by_account.max(by_address) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, account: &str, address: IpAddr) {
        let now = Instant::now();
        bump(&self.accounts, account.to_owned(), now);
        bump(&self.addresses, address, now);
    }

    /// A good password clears the account's record (not the address's: one valid account must
    /// not unlock guessing at others).
    pub fn record_success(&self, account: &str) {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner()).remove(account);
    }
}

fn lookup<K, Q>(map: &Mutex<HashMap<K, Failures>>, key: &Q, now: Instant) -> Option<Failures>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    let map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.get(key).copied().filter(|f| now.duration_since(f.last) < WINDOW)
}

fn bump<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, Failures>>, key: K, now: Instant) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    // Forget stale entries now and then so the map cannot grow without bound.
    if map.len() > 10_000 {
        map.retain(|_, f| now.duration_since(f.last) < WINDOW);
    }
    let entry = map.entry(key).or_insert(Failures { count: 0, last: now });
    if now.duration_since(entry.last) >= WINDOW {
        entry.count = 0;
    }
    entry.count += 1;
    entry.last = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn account_is_delayed_after_free_failures() {
        let t = SignInThrottle::default();
        for _ in 0..ACCOUNT_FREE_FAILURES {
            assert!(t.check("a@x", IP).is_ok());
            t.record_failure("a@x", IP);
        }
        let wait = t.check("a@x", IP).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        // Another account from the same address is not yet affected.
        assert!(t.check("b@x", IP).is_ok());
        t.record_success("a@x");
        assert!(t.check("a@x", IP).is_ok());
    }

    #[test]
    fn address_is_delayed_across_accounts() {
        let t = SignInThrottle::default();
        for i in 0..ADDRESS_FREE_FAILURES {
            t.record_failure(&format!("user{i}@x"), IP);
        }
        assert!(t.check("fresh@x", IP).is_err());
        assert!(t.check("fresh@x", "10.0.0.1".parse().unwrap()).is_ok());
    }

    #[test]
    fn delay_doubles() {
        let now = Instant::now();
        let f = |count| Failures { count, last: now }.wait(5, now).unwrap();
        assert_eq!(f(5), Duration::from_secs(1));
        assert_eq!(f(6), Duration::from_secs(2));
        assert_eq!(f(8), Duration::from_secs(8));
        assert_eq!(f(40), Duration::from_secs(1024).min(MAX_DELAY));
    }
}
