//! Request limits: the rate limiter (GCRA) and the quota counters, both in memory on the hot
//! path; quota usage is written back to storage in batches.

pub mod quota;
pub mod rate;

/// Nanoseconds on a monotonic clock shared by the limiters.
pub fn mono_nanos() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}
