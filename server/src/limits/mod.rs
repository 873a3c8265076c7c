//! Request limits: the rate limiter (GCRA) and the quota counters.
//!
//! On one node both live in memory (`rate`, `quota`); quota usage is written back to storage
//! in batches. In a cluster (`PORTCULLIS_REDIS_URL`) both live in Redis (`redis`), checked by
//! one script in one round trip, so every node sees the same counts. `Limits` chooses between
//! them, and decides what happens while Redis is unreachable.
//!
//! Memory holds the state of keys in use only: a deleted key's goes at once (`forget`), an
//! idle key's at the next sweep, once its rate window has passed and its quota counts are
//! written back.

pub mod guesses;
pub mod quota;
pub mod rate;
pub mod redis;

use crate::metrics::Metrics;
use app::model::KeyHash;
use quota::{QuotaDecision, QuotaState, Quotas};
use rate::{Decision, Rate, RateLimiter};
use std::sync::Arc;
use std::time::Duration;

/// How often idle limiter state is looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Nanoseconds on a monotonic clock shared by the limiters.
pub fn mono_nanos() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Two counter scopes are the same. Most checks ask for the key's own scope, "": comparing two
/// empty strings with `==` hands glibc's AVX-512 `memcmp` their dangling pointers, and its
/// masked load from an unmapped address is suppressed by a slow microcode assist, which cost
/// a fifth of a cached key's check (`cargo bench --bench check`).
pub(crate) fn same_scope(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

/// A quota to count a request against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaAsk {
    pub max: i64,
    /// Seconds; 0 or less never renews.
    pub renewal_rate: i64,
    /// The key's stored `quota_renews`, used when no counter exists yet.
    pub renews_hint: i64,
}

/// One request to count: the key, the counter scope ("" = the key's own counters, else the
/// API's allowance scope), its rate limit and its quota.
pub struct Ask<'a> {
    pub key_hash: &'a str,
    pub scope: &'a str,
    pub rate: Option<Rate>,
    pub quota: Option<QuotaAsk>,
}

/// What the limiters decided. The quota is only counted when the rate limit let the request
/// through (Tyk checks the rate first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Outcome {
    pub rate: Option<Decision>,
    pub quota: Option<QuotaDecision>,
}

/// The counters could not be reached, and the configuration says to fail closed.
#[derive(Debug, thiserror::Error)]
#[error("Rate limit and quota counters are unavailable")]
pub struct Unavailable;

/// What the gateway does while Redis is unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisFallback {
    /// Refuse requests that need a counter (503): limits are never exceeded.
    Closed,
    /// Count on this node alone until Redis is back: requests flow, limits are approximate.
    Local,
}

pub struct Limits {
    rate: RateLimiter,
    quotas: Arc<Quotas>,
    redis: Option<Arc<redis::RedisCounters>>,
    fallback: RedisFallback,
    metrics: Arc<Metrics>,
}

impl Limits {
    pub fn new(quotas: Arc<Quotas>, redis: Option<Arc<redis::RedisCounters>>, fallback: RedisFallback, metrics: Arc<Metrics>) -> Self {
        Self { rate: RateLimiter::new(metrics.rate_entries.clone()), quotas, redis, fallback, metrics }
    }

    pub fn redis(&self) -> Option<&redis::RedisCounters> {
        self.redis.as_deref()
    }

    pub fn fallback(&self) -> RedisFallback {
        self.fallback
    }

    /// Counts one request: in Redis when clustered and reachable, else in memory (or not at
    /// all, failing closed).
    pub async fn check(&self, ask: &Ask<'_>) -> Result<Outcome, Unavailable> {
        if ask.rate.is_none() && ask.quota.is_none() {
            return Ok(Outcome::default());
        }
        if let Some(redis) = &self.redis {
            if redis.is_up() {
                match redis.check(ask).await {
                    Ok(outcome) => return Ok(outcome),
                    // Storage failed while seeding a counter: Redis itself is fine.
                    Err(redis::RedisError::Store(e)) => tracing::warn!("quota counter not seeded from storage: {e}"),
                    Err(e) => redis.mark_down(&e),
                }
            }
            if self.fallback == RedisFallback::Closed {
                self.metrics.limiter_unavailable.inc();
                return Err(Unavailable);
            }
        }
        Ok(self.check_locally(ask).await)
    }

    async fn check_locally(&self, ask: &Ask<'_>) -> Outcome {
        let mut outcome = Outcome::default();
        if let Some(rate) = ask.rate {
            let d = self.rate.check(ask.key_hash, ask.scope, rate, mono_nanos());
            outcome.rate = Some(d);
            if !d.allowed {
                return outcome;
            }
        }
        if let Some(q) = ask.quota {
            outcome.quota = Some(self.quotas.consume(ask.key_hash, ask.scope, q, crate::store::now()).await);
        }
        outcome
    }

    /// Starts a key's counters again (its quota was reset, or it was deleted).
    pub async fn reset(&self, key_hash: &KeyHash) {
        let key_hash = key_hash.as_str();
        self.quotas.reset(key_hash);
        self.rate.forget(key_hash);
        if let Some(redis) = &self.redis {
            if let Err(e) = redis.reset(key_hash).await {
                tracing::warn!(%key_hash, "quota not reset in Redis: {e}");
                redis.mark_down(&e);
            }
        }
    }

    /// Drops a deleted key's state: its rate cells, its quota counters (their stored rows went
    /// with the key) and, when clustered, its counters in Redis.
    pub async fn forget(&self, key_hash: &KeyHash) {
        let key_hash = key_hash.as_str();
        self.quotas.forget(key_hash).await;
        self.rate.forget(key_hash);
        if let Some(redis) = &self.redis {
            if let Err(e) = redis.reset(key_hash).await {
                tracing::warn!(%key_hash, "counters not dropped in Redis: {e}");
                redis.mark_down(&e);
            }
        }
    }

    /// Drops the state of idle keys (see `RateLimiter::sweep` and `Quotas::sweep`); returns
    /// how many cells and counters went.
    pub async fn sweep(&self) -> usize {
        self.rate.sweep(mono_nanos()) + self.quotas.sweep(crate::store::now()).await
    }

    /// A key's live quota usage.
    pub async fn usage(&self, key_hash: &KeyHash, scope: &str) -> Result<Option<QuotaState>, crate::store::StoreError> {
        let key_hash = key_hash.as_str();
        if let Some(redis) = self.redis.as_ref().filter(|r| r.is_up()) {
            match redis.usage(key_hash, scope).await {
                Ok(Some(state)) => return Ok(Some(state)),
                Ok(None) => {}
                Err(e) => redis.mark_down(&e),
            }
        }
        self.quotas.usage(key_hash, scope).await
    }

    /// Writes what was counted since the last write-back to storage.
    pub async fn flush(&self) -> Result<usize, crate::store::StoreError> {
        let mut n = self.quotas.flush().await?;
        if let Some(redis) = &self.redis {
            n += redis.flush().await?;
        }
        Ok(n)
    }

    /// Flushes every `interval`, and sweeps idle state every `SWEEP_EVERY`, until the process
    /// ends.
    pub fn spawn_flusher(self: &Arc<Self>, interval: Duration) {
        let limits = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut swept = std::time::Instant::now();
            loop {
                tick.tick().await;
                if swept.elapsed() >= SWEEP_EVERY {
                    swept = std::time::Instant::now();
                    limits.sweep().await;
                }
                let started = std::time::Instant::now();
                match limits.flush().await {
                    Ok(n) if n > 0 => limits.metrics.observe_database("quota_flush", started.elapsed()),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("quota counters not saved, will retry: {e}"),
                }
            }
        });
    }
}
