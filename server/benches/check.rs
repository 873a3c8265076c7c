//! The hot path: validating a cached key that has a rate limit and a quota, in ns per check.
//! `cargo bench -p server --bench check`. The baseline in the same run is a bare HashMap
//! lookup of the key hash, the least any cached validation must do.

use app::model::{ApiDefinition, SessionState};
use axum::http::{HeaderMap, HeaderValue, Method};
use criterion::{criterion_group, criterion_main, Criterion};
use server::audit::Actor;
use server::config::Config;
use server::gateway::pipeline::{check, RequestView};
use server::keys::NewKey;
use server::startup::Application;
use std::collections::HashMap;

// The allocator the `portcullis` binary runs with (src/main.rs), so the figure is the shipped one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/support/mod.rs"]
mod support;

fn config(dir: &std::path::Path) -> Config {
    Config {
        admin_email: "bench@example.org".into(),
        admin_password: Some("bench password".parse().unwrap()),
        ..support::node_config(None, dir.to_owned())
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("portcullis-bench-{}", std::process::id()));
    let (state, org) = rt.block_on(async {
        let app = Application::build(config(&dir)).await.unwrap();
        let state = app.state.clone();
        let org = state.accounts.orgs().await.unwrap()[0].id.clone();
        (state, org)
    });
    let (api, key) = rt.block_on(async {
        let def: ApiDefinition = serde_json::from_value(serde_json::json!({
            "name": "bench", "proxy": { "listen_path": "/bench/", "target_url": "http://127.0.0.1:9" },
            "version_data": { "not_versioned": true } })).unwrap();
        let api = state.apis.create(&org, &Actor::System, def).await.unwrap();
        let session: SessionState = serde_json::from_value(serde_json::json!({
            "rate": 1e12, "per": 1, "quota_max": i64::MAX / 2, "quota_renewal_rate": 3600,
            "access_rights": { api.row.api_id.clone(): { "versions": [] } } })).unwrap();
        let key = state.keys.create(&org, &Actor::System, NewKey::Generated, session).await.unwrap();
        (api.row.api_id, key.key_id)
    });
    let gw = state.gateway.clone();
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_str(&key).unwrap());
    let method = Method::GET;
    let live_api = rt.block_on(gw.lookup_api("/bench/items")).expect("the API is served");
    assert_eq!(&*live_api.api_id, api.as_str());
    let view = RequestView { method: &method, path: "/bench/items", query: None, headers: &headers, client: None };
    assert!(rt.block_on(check(&gw, &live_api, &view)).is_ok(), "the key passes");

    let mut group = c.benchmark_group("validation");
    let hash = server::keys::id::hash(&key).to_string();
    let map: HashMap<String, u64> = (0..1000).map(|i| (format!("{i:064x}"), i)).chain([(hash.clone(), 1)]).collect();
    group.bench_function("baseline: hash map lookup of the key hash", |b| b.iter(|| map.get(std::hint::black_box(&hash))));
    group.bench_function("cached key with rate limit and quota", |b| {
        b.to_async(&rt).iter(|| async { check(&gw, &live_api, std::hint::black_box(&view)).await.is_ok() })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
