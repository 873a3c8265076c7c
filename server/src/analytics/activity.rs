//! Tyk's per-key activity (`GET /api/activity/keys/{keyHash}/{dates}`): hourly `ResultUnit`s
//! built from the hourly aggregates.

use crate::store::HourlyRow;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One `ResultUnit` per hour with traffic: hits, successes (status < 400), errors, latencies,
/// and (our addition, for the dashboard's chart) hits by status code.
pub fn result_units(rows: &[HourlyRow]) -> Vec<Value> {
    let mut hours: BTreeMap<i64, Vec<&HourlyRow>> = BTreeMap::new();
    for r in rows {
        hours.entry(r.hour).or_default().push(r);
    }
    hours
        .into_iter()
        .map(|(hour, rows)| {
            let hits: i64 = rows.iter().map(|r| r.hits).sum();
            let success: i64 = rows.iter().filter(|r| r.status < 400).map(|r| r.hits).sum();
            let latency: f64 = rows.iter().map(|r| r.latency_ms).sum();
            let upstream: f64 = rows.iter().map(|r| r.upstream_ms).sum();
            let min = rows.iter().map(|r| r.min_latency_ms).fold(f64::INFINITY, f64::min);
            let max = rows.iter().map(|r| r.max_latency_ms).fold(0.0, f64::max);
            let min_up = rows.iter().map(|r| r.min_upstream_ms).fold(f64::INFINITY, f64::min);
            let max_up = rows.iter().map(|r| r.max_upstream_ms).fold(0.0, f64::max);
            let last = rows.iter().map(|r| r.last_hit_ms).max().unwrap_or(0);
            let by_status: BTreeMap<String, i64> = rows.iter().map(|r| (r.status.to_string(), r.hits)).collect();
            let t = time::OffsetDateTime::from_unix_timestamp(hour).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let mean = |sum: f64| if hits > 0 { sum / hits as f64 } else { 0.0 };
            json!({
                "id": { "day": t.day(), "month": u8::from(t.month()), "year": t.year(), "hour": t.hour() },
                "hits": hits,
                "success": success,
                "error": hits - success,
                "last_hit": app::model::format::rfc3339(Some(last / 1000)),
                "request_time": mean(latency),
                "latency": mean(latency),
                "upstream_latency": mean(upstream),
                "min_latency": if min.is_finite() { min } else { 0.0 },
                "max_latency": max,
                "min_upstream_latency": if min_up.is_finite() { min_up } else { 0.0 },
                "max_upstream_latency": max_up,
                "status_codes": by_status,
            })
        })
        .collect()
}
