//! `/metrics` in Prometheus's text format: requests by API and status, refusals by reason,
//! key cache hits, how much the key cache and the limiters hold, and how long Redis and the
//! database take. One registry per node.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub api: Arc<str>,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub cache: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimiterLabels {
    pub limiter: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: &'static str,
}

fn latency_histogram() -> Histogram {
    // 50 µs to ~1.6 s.
    Histogram::new(exponential_buckets(0.00005, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub refusals: Family<ReasonLabels, Counter>,
    /// `key_cache_lookups{result="hit"}` and `{result="miss"}`, looked up once.
    pub cache_hit: Counter,
    pub cache_miss: Counter,
    /// `key_cache_entries{cache="known"}` and `{cache="unknown"}`.
    pub key_cache_found: Gauge,
    pub key_cache_missing: Gauge,
    pub key_cache_bytes: Gauge,
    pub key_cache_budget_bytes: Gauge,
    pub key_cache_evictions: Counter,
    /// `limiter_entries{limiter="rate"}` and `{limiter="quota"}`: cells and counters in memory.
    pub rate_entries: Gauge,
    pub quota_entries: Gauge,
    pub limiter_unavailable: Counter,
    /// bcrypt verifications of basic-auth passwords (decoys for unknown users included).
    pub password_hashes: Counter,
    pub redis_seconds: Histogram,
    pub redis_up: Gauge,
    pub database_seconds: Family<OperationLabels, Histogram, fn() -> Histogram>,
    pub change_notices: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("portcullis");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("gateway_requests", "Gateway requests by API and answered status", requests.clone());
        let refusals = Family::<ReasonLabels, Counter>::default();
        registry.register("gateway_refusals", "Gateway requests refused, by reason", refusals.clone());
        let key_cache = Family::<ResultLabels, Counter>::default();
        registry.register("key_cache_lookups", "Key lookups by the gateway: hit (cached) or miss (loaded)", key_cache.clone());
        let key_cache_entries = Family::<CacheLabels, Gauge>::default();
        registry.register("key_cache_entries", "Keys in the gateway's cache: known (sessions) or unknown (remembered as missing)", key_cache_entries.clone());
        let key_cache_bytes = Gauge::default();
        registry.register("key_cache_bytes", "Estimated memory held by the known keys in the gateway's cache", key_cache_bytes.clone());
        let key_cache_budget_bytes = Gauge::default();
        registry.register("key_cache_budget_bytes", "The memory budget of the gateway's key cache (PORTCULLIS_KEY_CACHE_MB)", key_cache_budget_bytes.clone());
        let key_cache_evictions = Counter::default();
        registry.register("key_cache_evictions", "Known keys dropped from the cache to stay within its budget", key_cache_evictions.clone());
        let limiter_entries = Family::<LimiterLabels, Gauge>::default();
        registry.register("limiter_entries", "Per-key limiter state in memory: rate cells and quota counters", limiter_entries.clone());
        let limiter_unavailable = Counter::default();
        registry.register(
            "limiter_unavailable",
            "Requests refused because Redis was unreachable and the gateway fails closed",
            limiter_unavailable.clone(),
        );
        let password_hashes = Counter::default();
        registry.register(
            "gateway_password_hashes",
            "bcrypt verifications of basic-auth passwords by the gateway, decoys for unknown users included",
            password_hashes.clone(),
        );
        let redis_seconds = latency_histogram();
        registry.register("redis_seconds", "Latency of Redis calls", redis_seconds.clone());
        let redis_up = Gauge::default();
        registry.register("redis_up", "1 when Redis answers (or is not used), 0 while it is unreachable", redis_up.clone());
        redis_up.set(1);
        let database_seconds = Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("database_seconds", "Latency of the gateway's database work, by operation", database_seconds.clone());
        let change_notices = Family::<ResultLabels, Counter>::default();
        registry.register(
            "change_notices",
            "Change notices from other nodes: received (LISTEN) or repaired (found by the periodic resync)",
            change_notices.clone(),
        );
        let cache_hit = key_cache.get_or_create(&ResultLabels { result: "hit" }).clone();
        let cache_miss = key_cache.get_or_create(&ResultLabels { result: "miss" }).clone();
        let key_cache_found = key_cache_entries.get_or_create(&CacheLabels { cache: "known" }).clone();
        let key_cache_missing = key_cache_entries.get_or_create(&CacheLabels { cache: "unknown" }).clone();
        let rate_entries = limiter_entries.get_or_create(&LimiterLabels { limiter: "rate" }).clone();
        let quota_entries = limiter_entries.get_or_create(&LimiterLabels { limiter: "quota" }).clone();
        Self {
            registry,
            requests,
            refusals,
            cache_hit,
            cache_miss,
            key_cache_found,
            key_cache_missing,
            key_cache_bytes,
            key_cache_budget_bytes,
            key_cache_evictions,
            rate_entries,
            quota_entries,
            limiter_unavailable,
            password_hashes,
            redis_seconds,
            redis_up,
            database_seconds,
            change_notices,
        }
    }
}

impl Metrics {
    pub fn observe_database(&self, operation: &'static str, took: Duration) {
        self.database_seconds.get_or_create(&OperationLabels { operation }).observe(took.as_secs_f64());
    }

    pub fn request(&self, api: &Arc<str>, status: u16) {
        self.requests.get_or_create(&RequestLabels { api: api.clone(), status }).inc();
    }

    pub fn refusal(&self, reason: &'static str) {
        self.refusals.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// The exposition in `format`.
    pub fn render(&self, format: Format) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        match format {
            Format::OpenMetrics => out,
            Format::Text => classic_text(&out),
        }
    }
}

/// The two exposition formats. Prometheus asks for OpenMetrics in its `Accept`; other readers
/// (`promtool check metrics`, curl, most exporters' tooling) read Prometheus's classic text
/// format, where a counter's HELP and TYPE carry its sample name, `_total` included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    Text,
}

impl Format {
    /// OpenMetrics only for a client that names it.
    pub fn negotiate(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// OpenMetrics, as this registry writes it, in the classic text format: a counter family
/// `x` (samples `x_total`) is described as `x_total`, and the `# EOF` and `# UNIT` lines go.
/// Gauges and histograms are written alike in both.
fn classic_text(open_metrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len() + 16 * counters.len());
    for line in open_metrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "].into_iter().find_map(|p| Some((p, line.strip_prefix(p)?)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let suffix = if counters.contains(name) { "_total" } else { "" };
                out.push_str(&format!("{prefix}{name}{suffix} {tail}\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_format_names_counters_by_their_samples() {
        let m = Metrics::default();
        m.request(&Arc::from("api-1"), 200);
        let open = m.render(Format::OpenMetrics);
        assert!(open.contains("# TYPE portcullis_gateway_requests counter\n"));
        assert!(open.ends_with("# EOF\n"));
        let text = m.render(Format::Text);
        assert!(text.contains("# HELP portcullis_gateway_requests_total Gateway requests by API and answered status"));
        assert!(text.contains("# TYPE portcullis_gateway_requests_total counter\n"));
        assert!(text.contains("portcullis_gateway_requests_total{api=\"api-1\",status=\"200\"} 1\n"));
        assert!(text.contains("# TYPE portcullis_redis_up gauge\n") && text.contains("# TYPE portcullis_redis_seconds histogram\n"));
        assert!(!text.contains("# EOF"));
        assert_eq!(Format::negotiate(Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")), Format::OpenMetrics);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(Format::negotiate(None), Format::Text);
    }
}
