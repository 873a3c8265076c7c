//! Cluster counters in Redis: every node counts in the same place, so a quota holds exactly
//! across nodes and a rate limit is the same GCRA as on one node, with Redis's clock.
//!
//! One request costs one round trip: a Lua script checks the rate limit and counts the quota
//! atomically (`CHECK`). Redis keeps nothing on disk here, so quota counters are also written
//! back to storage (what each node last saw, moving forward only), and a counter missing from
//! Redis (first use, or Redis restarted) is seeded from storage before it counts (`SEED`): a
//! Redis restart loses at most one write-back interval of counting.
//!
//! Redis unreachable: the first failed call marks it down and says so in the log; the hot path
//! then stops trying (see `Limits::check` for what it does instead) while a probe pings every
//! half second and marks it up again when it answers.

use super::quota::{QuotaDecision, QuotaState};
use super::rate::Decision;
use super::Ask;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};
use redis::aio::ConnectionManager;
use redis::Script;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Rate check and quota count, atomically. Returns {-1} when the quota has not been seeded
/// from storage yet (nothing counted), else {rate_ok, remaining, retry_us, used, renews_at}.
const CHECK: &str = r#"
local scope, emission, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local with_quota = ARGV[4] == '1'
if with_quota and redis.call('HEXISTS', KEYS[2], 'seeded') == 0 then return {-1} end
local t = redis.call('TIME')
local now_s = tonumber(t[1])
local now_us = now_s * 1000000 + tonumber(t[2])
local rate_ok, remaining, retry = 1, 0, 0
if emission > 0 then
  local tat = tonumber(redis.call('HGET', KEYS[1], scope) or '0')
  local new_tat = math.max(tat, now_us) + emission
  if new_tat <= now_us + window then
    remaining = math.floor((now_us + window - new_tat) / emission)
    redis.call('HSET', KEYS[1], scope, string.format('%.0f', new_tat))
    local keep = math.ceil(window / 1000) + 1000
    if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
  else
    rate_ok = 0
    retry = new_tat - (now_us + window)
  end
end
if rate_ok == 0 or not with_quota then return {rate_ok, remaining, retry, 0, 0} end
local renewal = tonumber(ARGV[5])
local used = tonumber(redis.call('HGET', KEYS[2], 'u:' .. scope) or '0')
local renews = tonumber(redis.call('HGET', KEYS[2], 'e:' .. scope) or ARGV[6])
if renewal > 0 and (renews == 0 or now_s >= renews) then
  used = 0
  renews = now_s + renewal
end
used = used + 1
redis.call('HSET', KEYS[2], 'u:' .. scope, string.format('%.0f', used), 'e:' .. scope, string.format('%.0f', renews))
redis.call('EXPIRE', KEYS[2], 604800)
return {rate_ok, remaining, retry, used, renews}
"#;

/// Seeds a key's quota counters from storage, unless another node did first.
const SEED: &str = r#"
if redis.call('HSETNX', KEYS[1], 'seeded', '1') == 0 then return 0 end
for i = 1, #ARGV, 3 do
  redis.call('HSET', KEYS[1], 'u:' .. ARGV[i], ARGV[i + 1], 'e:' .. ARGV[i], ARGV[i + 2])
end
redis.call('EXPIRE', KEYS[1], 604800)
return 1
"#;

/// Starts a key's counters again; storage was cleared first, so there is nothing to seed.
const RESET: &str = r#"
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'seeded', '1')
redis.call('EXPIRE', KEYS[2], 604800)
return 1
"#;

/// How long a Redis call may take before the gateway treats Redis as unreachable.
const TIMEOUT: Duration = Duration::from_millis(1000);

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
    #[error("no answer within {} ms", TIMEOUT.as_millis())]
    Timeout,
    #[error("unexpected reply from the counter script")]
    Reply,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a node last saw of each shared quota counter, to write back to storage.
type Seen = HashMap<Box<str>, Vec<(Box<str>, QuotaState)>>;

pub struct RedisCounters {
    conn: ConnectionManager,
    prefix: String,
    check: Script,
    seed: Script,
    reset: Script,
    up: AtomicBool,
    fails_closed: bool,
    seen: Mutex<Seen>,
    store: Store,
    metrics: Arc<Metrics>,
}

impl RedisCounters {
    /// Connects lazily: a node starts even while Redis is down, and says so.
    pub fn connect(url: &str, prefix: &str, fails_closed: bool, store: Store, metrics: Arc<Metrics>) -> Result<Arc<Self>, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        let counters = Arc::new(Self {
            conn,
            prefix: prefix.to_owned(),
            check: Script::new(CHECK),
            seed: Script::new(SEED),
            reset: Script::new(RESET),
            up: AtomicBool::new(true),
            fails_closed,
            seen: Mutex::default(),
            store,
            metrics,
        });
        counters.metrics.redis_up.set(1);
        counters.spawn_probe();
        Ok(counters)
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Says once that Redis is gone; the probe brings it back.
    pub fn mark_down(&self, e: &RedisError) {
        if self.up.swap(false, Ordering::AcqRel) {
            self.metrics.redis_up.set(0);
            let then = if self.fails_closed { "refusing requests that need a counter (503)" } else { "counting on this node alone" };
            tracing::error!("Redis unreachable ({e}): {then} until it answers again");
        }
    }

    /// Pings until Redis answers whenever it is marked down.
    fn spawn_probe(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { return };
                if this.is_up() {
                    continue;
                }
                if this.ping().await.is_ok() && !this.up.swap(true, Ordering::AcqRel) {
                    this.metrics.redis_up.set(1);
                    tracing::info!("Redis answers again: cluster counters are back");
                }
            }
        });
    }

    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        let pong: String = timed(&self.metrics, redis::cmd("PING").query_async(&mut conn)).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(RedisError::Reply)
        }
    }

    fn rate_key(&self, key_hash: &str) -> String {
        format!("{}rate:{key_hash}", self.prefix)
    }

    fn quota_key(&self, key_hash: &str) -> String {
        format!("{}quota:{key_hash}", self.prefix)
    }

    /// One round trip in the usual case; two more the first time a key's quota is counted
    /// since Redis started (reading storage and seeding).
    pub async fn check(&self, ask: &Ask<'_>) -> Result<super::Outcome, RedisError> {
        let reply = self.invoke_check(ask).await?;
        let reply = if reply.first() == Some(&-1) {
            self.seed_from_storage(ask.key_hash).await?;
            self.invoke_check(ask).await?
        } else {
            reply
        };
        let [rate_ok, remaining, retry_us, used, renews_at] = reply[..] else { return Err(RedisError::Reply) };
        let mut outcome = super::Outcome::default();
        if let Some(rate) = ask.rate {
            let allowed = rate_ok == 1;
            outcome.rate = Some(Decision {
                allowed,
                limit: rate.limit(),
                remaining: (remaining.max(0) as u64).min(rate.limit()),
                retry_after_nanos: retry_us.max(0) as u64 * 1000,
            });
            if !allowed {
                return Ok(outcome);
            }
        }
        if let Some(q) = ask.quota {
            let state = QuotaState { used, renews_at };
            outcome.quota = Some(QuotaDecision::of(state, q.max));
            self.saw(ask.key_hash, ask.scope, state);
        }
        Ok(outcome)
    }

    async fn invoke_check(&self, ask: &Ask<'_>) -> Result<Vec<i64>, RedisError> {
        let (emission_us, window_us) = match ask.rate {
            Some(r) => ((r.emission_nanos() / 1000).max(1), r.window_nanos() / 1000),
            None => (0, 0),
        };
        let (with_quota, renewal, hint) = match ask.quota {
            Some(q) => ("1", q.renewal_rate, q.renews_hint.max(0)),
            None => ("0", 0, 0),
        };
        let mut invocation = self.check.key(self.rate_key(ask.key_hash));
        invocation.key(self.quota_key(ask.key_hash));
        invocation.arg(ask.scope).arg(emission_us).arg(window_us).arg(with_quota).arg(renewal).arg(hint);
        let mut conn = self.conn.clone();
        timed(&self.metrics, invocation.invoke_async(&mut conn)).await
    }

    async fn seed_from_storage(&self, key_hash: &str) -> Result<(), RedisError> {
        let started = Instant::now();
        let stored = self.store.quota_counters_of(key_hash).await?;
        self.metrics.observe_database("quota_load", started.elapsed());
        let mut invocation = self.seed.key(self.quota_key(key_hash));
        for (scope, used, renews_at) in stored {
            invocation.arg(scope).arg(used).arg(renews_at);
        }
        let mut conn = self.conn.clone();
        let _: i64 = timed(&self.metrics, invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }

    /// Starts a key's counters again, on every node at once.
    pub async fn reset(&self, key_hash: &str) -> Result<(), RedisError> {
        self.forget_seen(key_hash);
        let mut invocation = self.reset.key(self.rate_key(key_hash));
        invocation.key(self.quota_key(key_hash));
        let mut conn = self.conn.clone();
        let _: i64 = timed(&self.metrics, invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }

    /// A key's live quota usage, if Redis has it.
    pub async fn usage(&self, key_hash: &str, scope: &str) -> Result<Option<QuotaState>, RedisError> {
        let mut conn = self.conn.clone();
        let mut hmget = redis::cmd("HMGET");
        hmget.arg(self.quota_key(key_hash)).arg(format!("u:{scope}")).arg(format!("e:{scope}"));
        let (used, renews): (Option<i64>, Option<i64>) = timed(&self.metrics, hmget.query_async(&mut conn)).await?;
        Ok(used.map(|used| QuotaState { used, renews_at: renews.unwrap_or(0) }))
    }

    /// The key changed elsewhere (maybe reset): what this node saw of it is stale.
    pub fn forget_seen(&self, key_hash: &str) {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).remove(key_hash);
    }

    fn saw(&self, key_hash: &str, scope: &str, state: QuotaState) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(scopes) = seen.get_mut(key_hash) {
            match scopes.iter_mut().find(|(s, _)| super::same_scope(s, scope)) {
                Some((_, last)) => *last = later(*last, state),
                None => scopes.push((scope.into(), state)),
            }
        } else {
            seen.insert(key_hash.into(), vec![(scope.into(), state)]);
        }
    }

    /// Writes back what this node saw since the last write-back; returns how many counters.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let seen = std::mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()));
        let rows: Vec<(&str, &str, i64, i64)> = seen
            .iter()
            .flat_map(|(k, scopes)| scopes.iter().map(move |(s, q)| (&**k, &**s, q.used, q.renews_at)))
            .collect();
        if rows.is_empty() {
            return Ok(0);
        }
        if let Err(e) = self.store.save_quota_counters(&rows, true).await {
            // Keep them for the next try, merged with what was seen meanwhile.
            for (k, s, used, renews_at) in rows {
                self.saw(k, s, QuotaState { used, renews_at });
            }
            return Err(e);
        }
        Ok(rows.len())
    }
}

/// The later of two sightings of one counter.
fn later(a: QuotaState, b: QuotaState) -> QuotaState {
    if (b.renews_at, b.used) > (a.renews_at, a.used) {
        b
    } else {
        a
    }
}

/// A Redis call with a deadline, its latency recorded.
async fn timed<T>(metrics: &Metrics, call: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T, RedisError> {
    let started = Instant::now();
    let result = tokio::time::timeout(TIMEOUT, call).await;
    metrics.redis_seconds.observe(started.elapsed().as_secs_f64());
    match result {
        Ok(r) => Ok(r?),
        Err(_) => Err(RedisError::Timeout),
    }
}
