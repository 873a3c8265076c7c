//! Makes guessing a secret (a dashboard password, a basic-auth password) cost the guesser:
//! failures are counted per subject (an account, a user at a client address) and per client
//! address, and past a free allowance each further attempt must wait, twice as long each time.
//!
//! An attempt is counted (reserved) before the secret is checked, in one step under one lock,
//! so parallel guesses cannot all slip in before the first failure is counted; a success takes
//! its reservation back. The maps are keyed by what clients send, so they are bounded: past a
//! cap, a batch of the entries that hold nobody back is dropped first, then those whose wait
//! ends soonest; a flood of new subjects never frees a locked-out one before them.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

#[derive(Clone, Copy, Debug)]
struct Failures {
    /// Failed attempts, and attempts being checked right now.
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt may be made.
    fn ready_at(&self, free: u32) -> Instant {
        if self.count < free {
            return self.last;
        }
        self.last + delay(self.count - free)
    }

    /// How long the next attempt must wait, if at all.
    fn wait(&self, free: u32, now: Instant) -> Option<Duration> {
        let ready = self.ready_at(free);
        (self.count >= free && ready > now).then(|| ready - now)
    }
}

fn delay(past_free: u32) -> Duration {
    Duration::from_secs(1u64 << past_free.min(10)).min(MAX_DELAY)
}

/// Failed attempts per key, bounded.
pub struct FailureCounter<K> {
    free: u32,
    cap: usize,
    entries: Mutex<HashMap<K, Failures>>,
}

impl<K: Hash + Eq + Clone> FailureCounter<K> {
    /// `free` failures are allowed before attempts wait; at most `cap` keys are remembered.
    pub fn new(free: u32, cap: usize) -> Self {
        Self { free, cap: cap.max(8), entries: Mutex::default() }
    }

    /// Counts an attempt as failed before it is checked; `Err(wait)` when it must wait (and
    /// then nothing is counted).
    pub fn reserve(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = entries.get_mut(key) {
            if now.duration_since(f.last) >= WINDOW {
                f.count = 0;
            }
            if let Some(wait) = f.wait(self.free, now) {
                return Err(wait);
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
            return Ok(());
        }
        if entries.len() >= self.cap {
            self.evict(&mut entries, now);
        }
        entries.insert(key.clone(), Failures { count: 1, last: now });
        Ok(())
    }

    /// Takes a reservation back: the attempt succeeded (or was never checked).
    pub fn release(&self, key: &K) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = entries.get_mut(key) {
            f.count = f.count.saturating_sub(1);
            if f.count == 0 {
                entries.remove(key);
            }
        }
    }

    /// Forgets a key's failures: its secret was given right.
    pub fn forget(&self, key: &K) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes room for an eighth of the cap: forgotten failures first, then the entries under
    /// the free allowance, oldest first, then those whose wait ends soonest.
    fn evict(&self, entries: &mut HashMap<K, Failures>, now: Instant) {
        entries.retain(|_, f| now.duration_since(f.last) < WINDOW);
        let target = self.cap - self.cap / 8;
        if entries.len() <= target {
            return;
        }
        let free = self.free;
        let mut ranked: Vec<(bool, Instant, K)> = entries.iter().map(|(k, f)| (f.count >= free, f.ready_at(free), k.clone())).collect();
        let drop = entries.len() - target;
        ranked.select_nth_unstable_by(drop - 1, |a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (_, _, k) in ranked.into_iter().take(drop) {
            entries.remove(&k);
        }
    }
}

/// The address a client is counted by: IPv6 clients by their /64, which one client usually
/// holds whole, so that walking through it does not buy fresh allowances.
pub fn client_block(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Guesses of one kind: per subject (which may include the address) and per client address.
pub struct Guesses<K> {
    subjects: FailureCounter<K>,
    addresses: FailureCounter<IpAddr>,
}

impl<K: Hash + Eq + Clone> Guesses<K> {
    pub fn new(subject_free: u32, address_free: u32, cap: usize) -> Self {
        Self { subjects: FailureCounter::new(subject_free, cap), addresses: FailureCounter::new(address_free, cap) }
    }

    /// Counts an attempt before its secret is checked; `Err(wait)` when the subject or the
    /// address must wait first. Without an address (it is not known), only the subject counts.
    pub fn reserve(&self, subject: &K, address: Option<IpAddr>) -> Result<(), Duration> {
        self.subjects.reserve(subject)?;
        if let Some(address) = address.map(client_block) {
            if let Err(wait) = self.addresses.reserve(&address) {
                self.subjects.release(subject);
                return Err(wait);
            }
        }
        Ok(())
    }

    /// The secret was right: the subject's record is cleared; the address only gets this
    /// attempt back (one valid account must not unlock guessing at others).
    pub fn succeeded(&self, subject: &K, address: Option<IpAddr>) {
        self.subjects.forget(subject);
        if let Some(address) = address.map(client_block) {
            self.addresses.release(&address);
        }
    }

    /// The attempt was not checked after all (the store did not answer): nothing is counted.
    pub fn abandoned(&self, subject: &K, address: Option<IpAddr>) {
        self.subjects.release(subject);
        if let Some(address) = address.map(client_block) {
            self.addresses.release(&address);
        }
    }

    /// Remembered subjects and addresses (for tests and metrics).
    pub fn sizes(&self) -> (usize, usize) {
        (self.subjects.len(), self.addresses.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn attempts_are_counted_before_they_are_checked() {
        let g = Guesses::<String>::new(5, 20, 100);
        let a = "a@x".to_owned();
        // Five reservations with no outcome yet: the sixth already waits.
        for _ in 0..5 {
            assert!(g.reserve(&a, Some(IP)).is_ok());
        }
        let wait = g.reserve(&a, Some(IP)).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        // Another account from the same address is not yet affected.
        assert!(g.reserve(&"b@x".to_owned(), Some(IP)).is_ok());
        g.succeeded(&a, Some(IP));
        assert!(g.reserve(&a, Some(IP)).is_ok());
    }

    #[test]
    fn address_is_delayed_across_subjects() {
        let g = Guesses::<String>::new(5, 20, 100);
        for i in 0..20 {
            g.reserve(&format!("user{i}@x"), Some(IP)).unwrap();
        }
        assert!(g.reserve(&"fresh@x".to_owned(), Some(IP)).is_err());
        // A refusal by address counts nothing against the subject.
        assert_eq!(g.sizes().0, 20);
        assert!(g.reserve(&"fresh@x".to_owned(), Some("10.0.0.1".parse().unwrap())).is_ok());
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let g = Guesses::<String>::new(100, 3, 100);
        for i in 1..=3 {
            g.reserve(&format!("u{i}"), Some(format!("2001:db8::{i}").parse().unwrap())).unwrap();
        }
        assert!(g.reserve(&"u4".to_owned(), Some("2001:db8::ffff".parse().unwrap())).is_err());
        assert!(g.reserve(&"u4".to_owned(), Some("2001:db8:0:1::1".parse().unwrap())).is_ok());
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

    #[test]
    fn a_flood_of_new_keys_does_not_free_a_locked_one() {
        let c = FailureCounter::<u32>::new(2, 64);
        for _ in 0..2 {
            c.reserve(&0).unwrap();
        }
        assert!(c.reserve(&0).is_err());
        for k in 1..10_000 {
            let _ = c.reserve(&k);
        }
        assert!(c.len() <= 64);
        assert!(c.reserve(&0).is_err(), "the locked-out key is still remembered");
    }
}
