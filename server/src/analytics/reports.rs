//! Reading the gateway's traffic back: a key's hourly aggregates, summed into slots of any
//! length. The REST activity API (hours) and the dashboard's usage chart (hours, 6 hours or
//! days) both read here, so that they count the same requests the same way.

use crate::store::{HourlyRow, Store, StoreError};
use app::model::{KeyHash, KeyUsage, OrgId, UsageBucket, UsageWindow};
use std::collections::BTreeMap;

/// One slot of a key's traffic. Latencies are in milliseconds; a minimum or maximum is 0 when
/// nothing was measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Traffic {
    /// Unix seconds at which the slot starts.
    pub start: i64,
    pub hits: i64,
    /// HTTP status → hits.
    pub by_status: BTreeMap<u16, i64>,
    pub mean_latency_ms: f64,
    pub mean_upstream_ms: f64,
    pub min_latency_ms: f64,
    pub max_latency_ms: f64,
    pub min_upstream_ms: f64,
    pub max_upstream_ms: f64,
    /// Unix milliseconds of the slot's last request.
    pub last_hit_ms: i64,
}

impl Traffic {
    /// Requests answered below 400.
    pub fn successes(&self) -> i64 {
        self.by_status.iter().filter(|(status, _)| **status < 400).map(|(_, hits)| hits).sum()
    }

    pub fn errors(&self) -> i64 {
        self.hits - self.successes()
    }
}

/// The analytics read service: what has been recorded, for one organisation at a time.
#[derive(Clone)]
pub struct Reports {
    store: Store,
}

impl Reports {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// A key of the organisation's traffic in the hours that start in [from, to) (unix
    /// seconds), in slots of `slot` seconds, oldest first; slots without traffic are left out.
    /// Another organisation's key has no traffic here.
    pub async fn key_traffic(&self, org_id: &OrgId, key_hash: &KeyHash, from: i64, to: i64, slot: i64) -> Result<Vec<Traffic>, StoreError> {
        let rows = self.store.key_activity(org_id, key_hash, from, to).await?;
        Ok(slots(&rows, slot))
    }

    /// The dashboard's usage chart: the window ending `now`, in the window's buckets, and when
    /// the key was last used.
    pub async fn key_usage(&self, org_id: &OrgId, key_hash: &KeyHash, window: UsageWindow, now: i64) -> Result<KeyUsage, StoreError> {
        let from = now - window.seconds();
        // An hour that began before the window but ends inside it counts.
        let slots = self.key_traffic(org_id, key_hash, from - 3600 + 1, now + 1, window.bucket_seconds()).await?;
        let buckets = slots
            .iter()
            .map(|t| UsageBucket {
                start: t.start,
                requests: t.hits as u64,
                errors_by_status: t.by_status.iter().filter(|(status, _)| **status >= 400).map(|(s, n)| (*s, *n as u64)).collect(),
            })
            .collect();
        let last_used = slots.iter().map(|t| t.last_hit_ms / 1000).max();
        Ok(KeyUsage { window, buckets, last_used, now })
    }
}

/// Sums hourly rows (several per hour: one per status) into slots of `size` seconds.
fn slots(rows: &[HourlyRow], size: i64) -> Vec<Traffic> {
    let mut by_start: BTreeMap<i64, Vec<&HourlyRow>> = BTreeMap::new();
    for r in rows {
        by_start.entry(r.hour - r.hour.rem_euclid(size)).or_default().push(r);
    }
    by_start.into_iter().map(|(start, rows)| sum(start, &rows)).collect()
}

fn sum(start: i64, rows: &[&HourlyRow]) -> Traffic {
    let hits: i64 = rows.iter().map(|r| r.hits).sum();
    let mean = |total: f64| if hits > 0 { total / hits as f64 } else { 0.0 };
    let measured = |m: f64| if m.is_finite() { m } else { 0.0 };
    let mut by_status: BTreeMap<u16, i64> = BTreeMap::new();
    for r in rows {
        *by_status.entry(u16::try_from(r.status).unwrap_or_default()).or_default() += r.hits;
    }
    Traffic {
        start,
        hits,
        by_status,
        mean_latency_ms: mean(rows.iter().map(|r| r.latency_ms).sum()),
        mean_upstream_ms: mean(rows.iter().map(|r| r.upstream_ms).sum()),
        min_latency_ms: measured(rows.iter().map(|r| r.min_latency_ms).fold(f64::INFINITY, f64::min)),
        max_latency_ms: rows.iter().map(|r| r.max_latency_ms).fold(0.0, f64::max),
        min_upstream_ms: measured(rows.iter().map(|r| r.min_upstream_ms).fold(f64::INFINITY, f64::min)),
        max_upstream_ms: rows.iter().map(|r| r.max_upstream_ms).fold(0.0, f64::max),
        last_hit_ms: rows.iter().map(|r| r.last_hit_ms).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(hour: i64, status: i64, hits: i64, latency_ms: f64, last_hit_ms: i64) -> HourlyRow {
        HourlyRow {
            hour,
            status,
            hits,
            latency_ms: latency_ms * hits as f64,
            upstream_ms: 0.0,
            min_latency_ms: latency_ms,
            max_latency_ms: latency_ms,
            min_upstream_ms: 0.0,
            max_upstream_ms: 0.0,
            last_hit_ms,
        }
    }

    #[test]
    fn hours_sum_into_slots_by_status() {
        let rows = [row(0, 200, 3, 10.0, 1_000), row(0, 500, 1, 30.0, 2_000), row(3600, 404, 2, 5.0, 3_601_000), row(7 * 3600, 200, 1, 1.0, 7 * 3_600_000)];
        let hourly = slots(&rows, 3600);
        assert_eq!(hourly.len(), 3);
        assert_eq!((hourly[0].hits, hourly[0].successes(), hourly[0].errors()), (4, 3, 1));
        assert_eq!(hourly[0].mean_latency_ms, 15.0);
        assert_eq!((hourly[0].min_latency_ms, hourly[0].max_latency_ms, hourly[0].last_hit_ms), (10.0, 30.0, 2_000));
        let six_hours = slots(&rows, 6 * 3600);
        assert_eq!(six_hours.iter().map(|t| (t.start, t.hits)).collect::<Vec<_>>(), [(0, 6), (6 * 3600, 1)]);
        assert_eq!(six_hours[0].by_status, BTreeMap::from([(200, 3), (404, 2), (500, 1)]));
    }
}
