//! The gateway's memory stays bounded however many keys pass through it: the key cache keeps
//! to its budget (evicted keys are loaded again when used), deleted keys leave no limiter
//! state behind, and a flood of unknown keys does not push out the keys in use. Observed
//! through the sizes `/metrics` reports.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

/// One sample of `/metrics` (classic text), e.g. `portcullis_limiter_entries{limiter="rate"}`;
/// 0 when absent.
async fn metric(app: &TestApp, sample: &str) -> f64 {
    let text = app.client.get(app.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn call(app: &TestApp, path: &str, key: &str) -> StatusCode {
    app.client.get(app.gw(path)).header("Authorization", key).send().await.unwrap().status()
}

const KNOWN: &str = "portcullis_key_cache_entries{cache=\"known\"}";
const UNKNOWN: &str = "portcullis_key_cache_entries{cache=\"unknown\"}";
const BYTES: &str = "portcullis_key_cache_bytes";
const BUDGET: &str = "portcullis_key_cache_budget_bytes";
const EVICTIONS: &str = "portcullis_key_cache_evictions_total";
const HITS: &str = "portcullis_key_cache_lookups_total{result=\"hit\"}";
const MISSES: &str = "portcullis_key_cache_lookups_total{result=\"miss\"}";
const LOADS: &str = "portcullis_database_seconds_count{operation=\"key_load\"}";
const RATE_CELLS: &str = "portcullis_limiter_entries{limiter=\"rate\"}";
const QUOTA_COUNTERS: &str = "portcullis_limiter_entries{limiter=\"quota\"}";

async fn a_tiny_cache_keeps_its_budget_and_every_key_still_works(db: Db) {
    // About 10 KB: a handful of keys.
    let Some(app) = spawn_app_with(db, |c| c.security.key_cache_mb = 0.01).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/b/", &up, json!({})).await;
    let mut keys = Vec::new();
    for _ in 0..24 {
        let k = app.create_key(&c, json!({ "access_rights": rights(&api, "Default"), "rate": 1000, "per": 1 })).await;
        keys.push(k["key_id"].as_str().unwrap().to_owned());
    }
    let budget = metric(&app, BUDGET).await;
    assert_eq!(budget, (0.01 * 1048576.0f64).floor());
    for round in 0..2 {
        for key in &keys {
            assert_eq!(call(&app, "/b/", key).await, StatusCode::OK, "round {round}");
            assert!(metric(&app, BYTES).await <= budget, "round {round}: the cache is over its budget");
        }
    }
    let known = metric(&app, KNOWN).await;
    assert!((1.0..24.0).contains(&known), "{known} keys cached");
    assert!(metric(&app, EVICTIONS).await >= 24.0, "keys were evicted and loaded again");
    // Every key was loaded once per round: none is cached any more when its turn comes again.
    assert!(metric(&app, LOADS).await >= 48.0);

    // An evicted key wanted by many requests at once is loaded once.
    let loads = metric(&app, LOADS).await;
    let first = keys[0].clone();
    let calls = (0..8).map(|_| call(&app, "/b/", &first));
    for status in futures_util::future::join_all(calls).await {
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(metric(&app, LOADS).await, loads + 1.0);
}

async fn deleted_keys_leave_no_limiter_state(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/d/", &up, json!({})).await;
    // Limits long enough that no sweep finds them idle while the test runs.
    let (rate, quota, known) = (metric(&app, RATE_CELLS).await, metric(&app, QUOTA_COUNTERS).await, metric(&app, KNOWN).await);
    let mut keys = Vec::new();
    for _ in 0..20 {
        let k = app
            .create_key(&c, json!({ "access_rights": rights(&api, "Default"), "rate": 1, "per": 3600,
                                     "quota_max": 1000, "quota_renewal_rate": 3600 }))
            .await;
        let key = k["key_id"].as_str().unwrap().to_owned();
        assert_eq!(call(&app, "/d/", &key).await, StatusCode::OK);
        keys.push(key);
    }
    assert_eq!(metric(&app, RATE_CELLS).await, rate + 20.0);
    assert_eq!(metric(&app, QUOTA_COUNTERS).await, quota + 20.0);
    assert_eq!(metric(&app, KNOWN).await, known + 20.0);
    // Deleted while a write-back of their counters may be under way (every 200 ms here).
    for key in &keys {
        assert_eq!(app.delete(&c, &format!("/api/keys/{key}")).await.status(), StatusCode::OK);
    }
    assert_eq!(metric(&app, RATE_CELLS).await, rate);
    assert_eq!(metric(&app, QUOTA_COUNTERS).await, quota);
    assert_eq!(metric(&app, KNOWN).await, known);
    for key in &keys {
        assert_eq!(call(&app, "/d/", key).await, StatusCode::FORBIDDEN);
    }
    // Refused as unknown, they counted nothing.
    assert_eq!(metric(&app, RATE_CELLS).await, rate);
    assert_eq!(metric(&app, QUOTA_COUNTERS).await, quota);
}

async fn a_flood_of_unknown_keys_leaves_the_working_set_cached(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let KeyedApi { key, .. } = app.keyed_api("/f/").await;
    assert_eq!(call(&app, "/f/", &key).await, StatusCode::OK);
    let (hits, misses) = (metric(&app, HITS).await, metric(&app, MISSES).await);
    let flood = 600;
    let mut working = 0;
    for i in 0..flood {
        let random = format!("{:032x}", rand::random::<u128>());
        assert_eq!(call(&app, "/f/", &random).await, StatusCode::FORBIDDEN);
        if i % 20 == 0 {
            assert_eq!(call(&app, "/f/", &key).await, StatusCode::OK);
            working += 1;
        }
    }
    // Each random key missed (a token is looked up in more than one form); every request
    // with the working key was a hit.
    assert!(metric(&app, MISSES).await >= misses + flood as f64);
    assert_eq!(metric(&app, HITS).await, hits + working as f64);
    assert_eq!(metric(&app, KNOWN).await, 1.0);
    let unknown = metric(&app, UNKNOWN).await;
    assert!((1.0..=10_000.0).contains(&unknown), "{unknown}");
}

crate::on_both_databases!(
    a_tiny_cache_keeps_its_budget_and_every_key_still_works,
    deleted_keys_leave_no_limiter_state,
    a_flood_of_unknown_keys_leaves_the_working_set_cached,
);
