//! `/metrics` describes every family it writes (`# HELP` and `# TYPE`), in both formats, so
//! that `promtool check metrics` (classic text) and Prometheus (OpenMetrics) read it cleanly.

use crate::helpers::*;
use reqwest::StatusCode;
use std::collections::{BTreeMap, BTreeSet};

const OPEN_METRICS: &str = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The sample names a family of `kind` writes, beyond its own name.
fn suffixes(kind: &str, open_metrics: bool) -> &'static [&'static str] {
    match (kind, open_metrics) {
        ("histogram", _) => &["_bucket", "_sum", "_count"],
        ("counter", true) => &["_total", "_created"],
        _ => &[],
    }
}

/// Every sample belongs to a family with a `# TYPE` and a `# HELP` line; returns the families
/// that have samples.
fn assert_described(text: &str, open_metrics: bool) -> BTreeSet<String> {
    let mut help = BTreeSet::new();
    let mut types = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, words) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(!words.trim().is_empty(), "{name} has an empty # HELP");
            help.insert(name.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_owned(), kind.to_owned());
        }
    }
    assert_eq!(help, types.keys().cloned().collect::<BTreeSet<_>>(), "every # TYPE has a # HELP and back\n{text}");
    let mut used = BTreeSet::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let sample = line.split(['{', ' ']).next().unwrap();
        let family = types.iter().find(|(family, kind)| {
            sample == family.as_str() || suffixes(kind, open_metrics).iter().any(|s| sample == format!("{family}{s}"))
        });
        let Some((family, kind)) = family else { panic!("`{sample}` belongs to no described family in\n{text}") };
        if !open_metrics && kind == "counter" {
            assert!(family.ends_with("_total"), "classic counters are named with _total: {family}");
        }
        used.insert(family.clone());
    }
    used
}

async fn every_family_has_help_and_type(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    // Traffic, so that the families with labels have samples too.
    let KeyedApi { key, .. } = app.keyed_api("/m/").await;
    let key = key.as_str();
    assert_eq!(app.client.get(app.gw("/m/")).header("Authorization", key).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.client.get(app.gw("/m/")).header("Authorization", "nonsense").send().await.unwrap().status(), StatusCode::FORBIDDEN);

    let get = |accept: Option<&'static str>| {
        let mut req = app.client.get(app.url("/metrics")).bearer_auth(METRICS_TOKEN);
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        req.send()
    };
    let plain = get(None).await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let plain = plain.text().await.unwrap();
    let used = assert_described(&plain, false);
    for family in ["portcullis_gateway_requests_total", "portcullis_gateway_refusals_total", "portcullis_key_cache_lookups_total",
                   "portcullis_limiter_unavailable_total", "portcullis_gateway_password_hashes_total", "portcullis_redis_up"] {
        assert!(used.contains(family), "{family} has samples in\n{plain}");
    }
    assert!(!plain.contains("# EOF"));

    let open = get(Some(OPEN_METRICS)).await.unwrap();
    assert!(open.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let open = open.text().await.unwrap();
    assert!(open.ends_with("# EOF\n"));
    assert_eq!(assert_described(&open, true).len(), used.len(), "the same families in both formats");
}

crate::on_both_databases!(every_family_has_help_and_type);
