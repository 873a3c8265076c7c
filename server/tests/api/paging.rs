//! The key list at scale: cursor paging beside Tyk's page numbers, filters that agree with a
//! brute-force filter over the same keys, and query plans that seek indexes, not scan the keys.

use crate::helpers::*;
use app::model::{KeySort, OrgId, StatusFilter};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::store::{KeyCursor, KeyFilter, KeyWindow};
use std::collections::{BTreeSet, HashSet};

/// What a test knows of a key it made.
#[derive(Clone, Debug)]
struct Made {
    hash: String,
    alias: String,
    tags: Vec<String>,
    apis: Vec<String>,
    expires: i64,
    inactive: bool,
}

impl Made {
    fn status(&self, now: i64) -> StatusFilter {
        if self.inactive {
            StatusFilter::Inactive
        } else if self.expires > 0 && self.expires <= now {
            StatusFilter::Expired
        } else {
            StatusFilter::Active
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn make_key(app: &TestApp, c: &Caller, k: &Made) -> String {
    let mut access = serde_json::Map::new();
    for api in &k.apis {
        access.extend(rights(api, "v1").as_object().unwrap().clone());
    }
    let body = json!({ "alias": k.alias, "tags": k.tags, "access_rights": access, "expires": k.expires,
                       "is_inactive": k.inactive, "rate": 100, "per": 60 });
    app.create_key(c, body).await["key_hash"].as_str().unwrap().to_owned()
}

/// Random keys: aliases with and without case and some empty, tags, one or two APIs, every status.
async fn random_keys(app: &TestApp, c: &Caller, apis: &[String], n: usize, seed: u64) -> Vec<Made> {
    let mut rng = StdRng::seed_from_u64(seed);
    let now = now();
    let mut made = Vec::new();
    for i in 0..n {
        let alias = match rng.gen_range(0..4) {
            0 => String::new(),
            1 => format!("alpha-{i}"),
            2 => format!("Beta-{i}"),
            _ => "gamma".to_owned(),
        };
        let tags: Vec<String> = ["red", "green", "blue"].into_iter().filter(|_| rng.gen_bool(0.4)).map(str::to_owned).collect();
        let apis: Vec<String> = match rng.gen_range(0..3) {
            0 => vec![apis[0].clone()],
            1 => vec![apis[1].clone()],
            _ => apis.to_vec(),
        };
        let expires = match rng.gen_range(0..3) {
            0 => 0,
            1 => now - rng.gen_range(100..100_000),
            _ => now + rng.gen_range(10_000..100_000),
        };
        let mut k = Made { hash: String::new(), alias, tags, apis, expires, inactive: rng.gen_bool(0.2) };
        k.hash = make_key(app, c, &k).await;
        made.push(k);
    }
    made
}

/// Every key of a REST list, following `next` from the first page; checks `prev` on the way.
async fn walk_rest(app: &TestApp, c: &Caller, query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    let mut first = true;
    loop {
        let page = json_of(app.get(c, &format!("/api/apis/keys?{query}&cursor={cursor}")).await, StatusCode::OK).await;
        assert_eq!(page["prev"].is_string(), !first, "prev only after the first page: {page}");
        out.extend(page["data"]["keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()));
        first = false;
        match page["next"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return out,
        }
    }
}

async fn rest_all(app: &TestApp, c: &Caller, query: &str) -> Vec<String> {
    let page = json_of(app.get(c, &format!("/api/apis/keys?p=-1&{query}")).await, StatusCode::OK).await;
    assert!(page.get("next").is_none() && page.get("prev").is_none(), "no cursors unless asked: {page}");
    page["data"]["keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()).collect()
}

fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

/// Walks a list forwards with `next` cursors, then backwards with `prev` from the last page,
/// and checks both against Tyk-style offset pages. Returns the keys in order.
async fn walk_service(app: &TestApp, filter: &KeyFilter, limit: i64) -> Vec<String> {
    let hashes = |p: &server::keys::Paged<server::keys::ListedKey>| -> Vec<String> {
        p.items.iter().map(|k| k.row.key_hash.to_string()).collect()
    };
    let mut forward = Vec::new();
    let mut pages = Vec::new();
    let mut window = KeyWindow::Offset { limit, offset: 0 };
    loop {
        let page = app.state.keys.page(filter, &window).await.unwrap();
        pages.push(hashes(&page));
        forward.extend(hashes(&page));
        match page.next {
            Some(next) => window = KeyWindow::Cursor { cursor: next, limit },
            None => {
                // Backwards from here: the same pages, in reverse.
                let mut back = vec![hashes(&page)];
                let mut prev = page.prev;
                while let Some(cursor) = prev {
                    let p = app.state.keys.page(filter, &KeyWindow::Cursor { cursor, limit }).await.unwrap();
                    back.push(hashes(&p));
                    prev = p.prev;
                }
                back.reverse();
                assert_eq!(back, pages, "prev cursors give back the pages next cursors gave ({:?})", filter.order);
                break;
            }
        }
    }
    let mut offset_walk = Vec::new();
    for i in 0.. {
        let (keys, _) = app.state.keys.list(filter, limit, i * limit).await.unwrap();
        if keys.is_empty() {
            break;
        }
        offset_walk.extend(keys.into_iter().map(|k| k.row.key_hash.to_string()));
    }
    assert_eq!(forward, offset_walk, "cursor pages and offset pages agree ({:?}, {:?})", filter.order, filter.status);
    forward
}

async fn filters_agree_with_brute_force(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Brute").await;
    let apis = vec![app.create_api(&c, "One", "/one/").await, app.create_api(&c, "Two", "/two/").await];
    let keys = random_keys(&app, &c, &apis, 45, 15).await;
    let all: Vec<String> = keys.iter().map(|k| k.hash.clone()).collect();
    let now = now();

    // REST: the API, tag and alias filters, alone and together, by pages and all at once.
    let mut queries = vec![(String::new(), all.clone())];
    for api in &apis {
        for tag in ["", "red", "blue"] {
            for alias in ["", "ALP", "beta", "zz"] {
                let want = keys
                    .iter()
                    .filter(|k| k.apis.contains(api))
                    .filter(|k| tag.is_empty() || k.tags.iter().any(|t| t == tag))
                    .filter(|k| k.alias.to_lowercase().contains(&alias.to_lowercase()))
                    .map(|k| k.hash.clone())
                    .collect();
                queries.push((format!("api_id={api}&tag={tag}&alias={alias}"), want));
            }
        }
    }
    for (query, want) in &queries {
        let listed = rest_all(&app, &c, query).await;
        assert_eq!(set(&listed), set(want), "{query}");
        assert_eq!(listed.len(), want.len(), "{query}: each key once");
        let walked = walk_rest(&app, &c, query).await;
        assert_eq!(walked, listed, "{query}: cursor pages list the same keys in the same order");
    }

    // Every status in every order, walked both ways with cursors (as the dashboard does).
    let org = OrgId::parse(&c.org).unwrap();
    for status in StatusFilter::ALL {
        let want: BTreeSet<String> =
            keys.iter().filter(|k| status == StatusFilter::All || k.status(now) == status).map(|k| k.hash.clone()).collect();
        for order in KeySort::ALL {
            let filter = KeyFilter { org_id: Some(org.clone()), status, now, order, ..KeyFilter::default() };
            let walked = walk_service(&app, &filter, 4).await;
            assert_eq!(walked.len(), want.len(), "{status:?} {order:?}: each key once");
            assert_eq!(set(&walked), want, "{status:?} {order:?}");
            let by_hash = |h: &String| keys.iter().find(|k| &k.hash == h).unwrap();
            for pair in walked.windows(2) {
                let (a, b) = (by_hash(&pair[0]), by_hash(&pair[1]));
                let in_order = match order {
                    KeySort::Alias => {
                        let key = |k: &Made| (k.alias.is_empty(), k.alias.to_lowercase(), k.hash.clone());
                        key(a) < key(b)
                    }
                    KeySort::Expiry => {
                        let key = |k: &Made| (k.expires <= 0, k.expires, k.hash.clone());
                        key(a) < key(b)
                    }
                    // Creation times are whole seconds; their order is the offset walk's.
                    KeySort::Newest | KeySort::Oldest => true,
                };
                assert!(in_order, "{order:?}: {a:?} before {b:?}");
            }
        }
    }
}

async fn cursor_paging_sees_every_key_once_under_churn(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Churn").await;
    let mut stable = HashSet::new();
    for i in 0..35 {
        stable.insert(app.create_key(&c, json!({ "alias": format!("stable-{i}"), "rate": 1, "per": 1 })).await["key_hash"].as_str().unwrap().to_owned());
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (app_base, cred, client, stop) = (app.base.clone(), c.cred.clone(), app.client.clone(), stop.clone());
        tokio::spawn(async move {
            let mut made = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let created: Value = client
                    .post(format!("{app_base}/api/keys"))
                    .header("Authorization", &cred)
                    .json(&json!({ "alias": "churn", "rate": 1, "per": 1 }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let hash = created["key_hash"].as_str().unwrap().to_owned();
                made += 1;
                // Every other churned key goes again at once; the others stay.
                if made % 2 == 0 {
                    let url = format!("{app_base}/api/keys/{hash}?hashed=1");
                    let resp = client.delete(url).header("Authorization", &cred).send().await.unwrap();
                    assert_eq!(resp.status(), StatusCode::OK);
                }
            }
            made
        })
    };
    // Two walks while keys come and go: newest first over REST, oldest first as the dashboard
    // reads (new keys then land ahead of the cursor, and are seen once too).
    let walked = walk_rest(&app, &c, "").await;
    let org = OrgId::parse(&c.org).unwrap();
    let filter = KeyFilter { org_id: Some(org), order: KeySort::Oldest, ..KeyFilter::default() };
    let mut oldest = Vec::new();
    let mut window = KeyWindow::Offset { limit: 3, offset: 0 };
    loop {
        let page = app.state.keys.page(&filter, &window).await.unwrap();
        oldest.extend(page.items.iter().map(|k| k.row.key_hash.to_string()));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        match page.next {
            Some(cursor) => window = KeyWindow::Cursor { cursor, limit: 3 },
            None => break,
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let made = churn.await.unwrap();
    assert!(made > 2, "keys were created during the walks ({made})");
    for (name, walk) in [("newest", &walked), ("oldest", &oldest)] {
        let seen: HashSet<&String> = walk.iter().collect();
        assert_eq!(seen.len(), walk.len(), "{name}: no key twice");
        for k in &stable {
            assert!(seen.contains(k), "{name}: stable key {k} listed");
        }
    }
}

async fn bad_cursors_are_refused(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Cursors").await;
    for i in 0..12 {
        app.create_key(&c, json!({ "alias": format!("k{i}"), "rate": 1, "per": 1 })).await;
    }
    for bad in ["garbage", "YTpuOnh4", "%2F%2F"] {
        let body = json_of(app.get(&c, &format!("/api/apis/keys?cursor={bad}")).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["Status"], "Error", "{body}");
        assert!(body["Message"].as_str().unwrap().contains("cursor"), "{body}");
    }
    // A cursor asked with `p` continues from that page; `p` is ignored once a cursor is given.
    let second = json_of(app.get(&c, "/api/apis/keys?p=2&cursor=").await, StatusCode::OK).await;
    assert_eq!(second["data"]["keys"].as_array().unwrap().len(), 2);
    assert_eq!(second["pages"], 2);
    assert!(second.get("next").is_none(), "{second}");
    let prev = second["prev"].as_str().unwrap();
    let first = json_of(app.get(&c, &format!("/api/apis/keys?p=7&cursor={prev}")).await, StatusCode::OK).await;
    let tyk_first = json_of(app.get(&c, "/api/apis/keys?p=1").await, StatusCode::OK).await;
    assert_eq!(first["data"], tyk_first["data"]);
    assert_eq!(tyk_first, json!({ "data": tyk_first["data"], "pages": 2 }), "Tyk's shape without `cursor`");

    // The dashboard: a cursor from one order is refused in another, at the cursor.
    let resp = app.sign_in("cursors@example.org", "a long password").await;
    let cookie = resp.headers().get(SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    let list = |query: Value| {
        app.client.post(app.url("/rpc/list_keys")).header(COOKIE, &cookie).json(&json!({ "query": query })).send()
    };
    let page = json_of(list(json!({ "page": 1 })).await.unwrap(), StatusCode::OK).await;
    assert_eq!(page["keys"].as_array().unwrap().len(), 12);
    let page = json_of(list(json!({ "sort": "Alias", "page": 1 })).await.unwrap(), StatusCode::OK).await;
    assert_eq!(page["next"], Value::Null, "{page}");
    assert_eq!(page["prev"], Value::Null, "{page}");
    let newest = KeyCursor::decode(first["next"].as_str().unwrap()).unwrap();
    let body = json_of(
        list(json!({ "sort": "Alias", "page": 2, "cursor": newest.encode() })).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["Invalid"]["field"], "cursor", "{body}");
    let body = json_of(list(json!({ "page": 2, "cursor": "nope" })).await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Invalid"]["field"], "cursor", "{body}");
}

async fn dashboard_pages_follow_cursors(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Pager").await;
    let mut made = BTreeSet::new();
    for i in 0..25 {
        let k = app.create_key(&c, json!({ "alias": format!("key {i:02}"), "rate": 1, "per": 1 })).await;
        made.insert(k["key_hash"].as_str().unwrap().to_owned());
    }
    let resp = app.sign_in("pager@example.org", "a long password").await;
    let cookie = resp.headers().get(SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    let list = |query: Value| {
        let resp = app.client.post(app.url("/rpc/list_keys")).header(COOKIE, &cookie).json(&json!({ "query": query })).send();
        async { json_of(resp.await.unwrap(), StatusCode::OK).await }
    };
    let hashes = |page: &Value| -> Vec<String> {
        page["keys"].as_array().unwrap().iter().map(|k| k["key_hash"].as_str().unwrap().to_owned()).collect()
    };
    let one = list(json!({ "sort": "Alias", "page": 1 })).await;
    assert_eq!(one["prev"], Value::Null);
    assert_eq!((one["pages"].as_u64(), one["total"].as_u64()), (Some(2), Some(25)));
    let next = one["next"].as_str().unwrap();
    let two = list(json!({ "sort": "Alias", "page": 2, "cursor": next })).await;
    assert_eq!(two["next"], Value::Null);
    assert_eq!(two["page"], 2);
    let all: BTreeSet<String> = hashes(&one).into_iter().chain(hashes(&two)).collect();
    assert_eq!(all, made);
    assert_eq!(two["keys"][0]["alias"], "key 20", "alias order continues across pages");
    let back = list(json!({ "sort": "Alias", "page": 1, "cursor": two["prev"] })).await;
    assert_eq!(hashes(&back), hashes(&one));
    assert_eq!(back["prev"], Value::Null, "the first page again has nothing before it");

    // The page's links carry the cursors (and still work without JavaScript).
    let html = app.client.get(app.url("/keys?sort=alias")).header(COOKIE, &cookie).send().await.unwrap().text().await.unwrap();
    let link = format!("/keys?sort=alias&amp;page=2&amp;cursor={next}");
    assert!(html.contains(&link) || html.contains(&link.replace("&amp;", "&")), "{link} in {html}");
}

/// Each list query the REST API and the dashboard make: plans that seek indexes, never a scan
/// of every key (SQLite: `SCAN` without an index; PostgreSQL: `Seq Scan`).
async fn list_queries_use_indexes(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Plans").await;
    let apis = vec![app.create_api(&c, "One", "/one/").await, app.create_api(&c, "Two", "/two/").await];
    random_keys(&app, &c, &apis, 12, 7).await;
    let org = OrgId::parse(&c.org).unwrap();
    let base = KeyFilter { org_id: Some(org), now: now(), ..KeyFilter::default() };
    let mut filters = vec![("organisation", base.clone())];
    filters.push(("api", KeyFilter { api_id: Some(apis[0].clone()), ..base.clone() }));
    filters.push(("tag", KeyFilter { tag: Some("red".into()), ..base.clone() }));
    filters.push(("policy", KeyFilter { policy_id: Some("gold".into()), ..base.clone() }));
    filters.push(("api and tag", KeyFilter { api_id: Some(apis[1].clone()), tag: Some("blue".into()), ..base.clone() }));
    for status in [StatusFilter::Active, StatusFilter::Inactive, StatusFilter::Expired] {
        filters.push(("status", KeyFilter { status, ..base.clone() }));
    }
    let mut checked = 0;
    for (name, filter) in filters {
        for order in KeySort::ALL {
            let filter = KeyFilter { order, ..filter.clone() };
            let first = app.state.keys.page(&filter, &KeyWindow::Offset { limit: 2, offset: 0 }).await.unwrap();
            let mut windows = vec![KeyWindow::Offset { limit: 10, offset: 20 }];
            if let Some(next) = first.next {
                let mut before = next.clone();
                before.dir = server::store::Dir::Before;
                windows.push(KeyWindow::Cursor { cursor: next, limit: 10 });
                windows.push(KeyWindow::Cursor { cursor: before, limit: 10 });
            }
            for window in windows {
                let plan = app.state.store.explain_keys(&filter, &window).await.unwrap();
                let scans: Vec<&String> = plan
                    .iter()
                    .filter(|l| match db {
                        Db::Sqlite => l.trim_start().starts_with("SCAN") && !l.contains("USING"),
                        Db::Postgres => l.contains("Seq Scan"),
                    })
                    .collect();
                assert!(scans.is_empty(), "{name} {order:?} {window:?}: {scans:?}\n{}", plan.join("\n"));
                if std::env::var("SHOW_PLANS").is_ok() {
                    eprintln!("--- {db:?} {name} {order:?} {window:?}\n{}", plan.join("\n"));
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 8 * 4 * 2, "{checked} plans checked");
}

/// `p=-1` is written a window at a time (200 keys): more keys than a window, in Tyk's shape,
/// in the list's order, each once; and with a filter, only the matching ones.
async fn every_key_at_once_is_streamed(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Everything").await;
    let mut made = Vec::new();
    for chunk in 0..9 {
        let batch = (0..50).map(|i| {
            let tags = if i % 10 == 0 { vec!["rare"] } else { vec![] };
            app.create_key(&c, json!({ "alias": format!("k{chunk}-{i}"), "tags": tags, "rate": 1, "per": 1 }))
        });
        for k in futures_util::future::join_all(batch).await {
            made.push(k["key_hash"].as_str().unwrap().to_owned());
        }
    }
    let resp = app.get(&c, "/api/apis/keys?p=-1").await;
    assert_eq!(resp.headers()["content-type"], "application/json");
    let all = json_of(resp, StatusCode::OK).await;
    assert_eq!(all["pages"], 1);
    assert_eq!(all.as_object().unwrap().len(), 2, "Tyk's shape: {}", all.as_object().unwrap().keys().cloned().collect::<Vec<_>>().join(","));
    let listed: Vec<String> = all["data"]["keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()).collect();
    assert_eq!(listed.len(), 450, "each key once");
    assert_eq!(set(&listed), set(&made));
    assert_eq!(listed, walk_rest(&app, &c, "").await, "the order of the pages");

    let detailed = json_of(app.get(&c, "/api/keys/detailed?p=-1").await, StatusCode::OK).await;
    assert_eq!(detailed["pages"], 1);
    let hashes: Vec<String> = detailed["keys"].as_array().unwrap().iter().map(|k| k["key_hash"].as_str().unwrap().to_owned()).collect();
    assert_eq!(hashes, listed);
    assert_eq!(detailed["keys"][0]["data"]["rate"].as_f64(), Some(1.0));

    let rare = json_of(app.get(&c, "/api/apis/keys?p=-1&tag=rare").await, StatusCode::OK).await;
    assert_eq!(rare["data"]["keys"].as_array().unwrap().len(), 45);
    let none = json_of(app.get(&c, "/api/keys/detailed?p=-1&tag=nothing").await, StatusCode::OK).await;
    assert_eq!(none, json!({ "keys": [], "pages": 1 }));
}

crate::on_both_databases!(
    every_key_at_once_is_streamed,
    filters_agree_with_brute_force,
    cursor_paging_sees_every_key_once_under_churn,
    bad_cursors_are_refused,
    dashboard_pages_follow_cursors,
    list_queries_use_indexes,
);
