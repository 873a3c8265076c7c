//! Cluster mode: two `portcullis` processes on one PostgreSQL database and one Redis, spoken to
//! over HTTP. Each test gets a fresh database and its own `redis-server` on a free port, so
//! Redis can be stopped and started again.

use crate::helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET_KEY: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

/// A Redis of the test's own, killed with the test.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Option<Self> {
        let mut r = Redis { port: free_port(), child: None };
        if !r.up() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "redis-server is required on CI");
            eprintln!("redis-server not available; skipping");
            return None;
        }
        Some(r)
    }

    /// Starts it (again) on its port; false when there is no redis-server here.
    fn up(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start");
    }

    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn eval_calls(&self) -> u64 {
        let out = Command::new("redis-cli").args(["-p", &self.port.to_string(), "INFO", "commandstats"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
            .filter_map(|l| l.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok())
            .sum()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.down();
    }
}

/// One node: the real binary, on its own two ports.
struct Node {
    child: Child,
    base: String,
    gateway: String,
}

impl Node {
    fn start(database_url: &str, redis_url: &str, extra: &[(&str, &str)]) -> Node {
        let (port, gw_port) = (free_port(), free_port());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.arg("serve")
            .env("PORTCULLIS_DATABASE_URL", database_url)
            .env("PORTCULLIS_REDIS_URL", redis_url)
            .env("PORTCULLIS_DATA_DIR", std::env::temp_dir())
            .env("PORTCULLIS_SECRET_KEY", SECRET_KEY)
            .env("PORTCULLIS_LISTEN", format!("127.0.0.1:{port}"))
            .env("PORTCULLIS_GATEWAY_LISTEN", format!("127.0.0.1:{gw_port}"))
            .env("PORTCULLIS_ADMIN_SECRET", ADMIN_SECRET)
            .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PORTCULLIS_BCRYPT_COST", "4")
            // The tests' upstreams listen on loopback, which the gateway refuses by default.
            .env("PORTCULLIS_UPSTREAM_ALLOW", "127.0.0.0/8")
            .env("PORTCULLIS_QUOTA_FLUSH_MS", "200")
            .env("PORTCULLIS_METRICS_TOKEN", METRICS_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("the binary starts");
        Node { child, base: format!("http://127.0.0.1:{port}"), gateway: format!("http://127.0.0.1:{gw_port}") }
    }

    async fn ready(&self, client: &Client) {
        for _ in 0..300 {
            if client.get(format!("{}/health", self.base)).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("node at {} did not start", self.base);
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Two nodes started at the same moment on a fresh database (so both race to migrate and to
/// create the first admin), an organisation, a user and an API served by both.
struct Cluster {
    a: Node,
    b: Node,
    client: Client,
    cred: String,
    api: String,
    redis: Redis,
    _db: TestDb,
    url: String,
}

async fn cluster(extra_b: &[(&str, &str)]) -> Option<Cluster> {
    let redis = Redis::start()?;
    let (db, url) = TestDb::create(Db::Postgres).await?;
    let client = Client::new();
    let a = Node::start(&url, &redis.url(), &[]);
    let b = Node::start(&url, &redis.url(), extra_b);
    a.ready(&client).await;
    b.ready(&client).await;
    let upstream = spawn_upstream().await;

    let org = client.post(format!("{}/admin/organisations", a.base)).header("Admin-Auth", ADMIN_SECRET)
        .json(&json!({ "owner_name": "Cluster" })).send().await.unwrap();
    let org = json_of(org, StatusCode::OK).await["Meta"].as_str().unwrap().to_owned();
    let user = client.post(format!("{}/admin/users", a.base)).header("Admin-Auth", ADMIN_SECRET)
        .json(&json!({ "email_address": "ops@example.org", "org_id": org })).send().await.unwrap();
    let cred = json_of(user, StatusCode::OK).await["Message"].as_str().unwrap().to_owned();
    let body = json!({ "name": "Shared", "proxy": { "listen_path": "/shared/", "target_url": upstream, "strip_listen_path": true },
                       "version_data": { "not_versioned": true } });
    let api = client.post(format!("{}/api/apis", a.base)).header("Authorization", &cred).json(&body).send().await.unwrap();
    let api = json_of(api, StatusCode::OK).await["ID"].as_str().unwrap().to_owned();
    let c = Cluster { a, b, client, cred, api, redis, _db: db, url };
    // The API reaches B by change notice; wait for it rather than race it.
    c.wait_until(Duration::from_secs(2), || async {
        c.client.get(format!("{}/shared/", c.b.gateway)).send().await.unwrap().status() != StatusCode::NOT_FOUND
    })
    .await
    .expect("node B serves the API created on node A");
    Some(c)
}

impl Cluster {
    async fn create_key(&self, node: &Node, extra: Value) -> Value {
        let mut body = json!({ "access_rights": { self.api.clone(): { "api_id": self.api, "versions": [] } } });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let resp = self.client.post(format!("{}/api/keys", node.base)).header("Authorization", &self.cred).json(&body).send().await.unwrap();
        json_of(resp, StatusCode::OK).await
    }

    async fn call(&self, node: &Node, key: &str) -> reqwest::Response {
        self.client.get(format!("{}/shared/thing", node.gateway)).header("Authorization", key).send().await.unwrap()
    }

    /// Polls `check` until it holds; Some(how long it took), or None past `limit`.
    async fn wait_until<F, Fut>(&self, limit: Duration, check: F) -> Option<Duration>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = Instant::now();
        while started.elapsed() < limit {
            if check().await {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    async fn ready_body(&self, node: &Node) -> (StatusCode, Value) {
        let r = self.client.get(format!("{}/ready", node.base)).send().await.unwrap();
        (r.status(), r.json().await.unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_created_on_one_node_works_on_the_other_at_once() {
    let Some(c) = cluster(&[]).await else { return };
    let created = c.create_key(&c.a, json!({ "alias": "made-on-a" })).await;
    let key = created["key_id"].as_str().unwrap();
    assert_eq!(c.call(&c.b, key).await.status(), StatusCode::OK, "the very next request, on the other node");
    // Both nodes started at once on an empty database: migrated once, one first admin.
    let users = c.client.get(format!("{}/admin/users", c.b.base)).header("Admin-Auth", ADMIN_SECRET).send().await.unwrap();
    let users = json_of(users, StatusCode::OK).await;
    let admins = users["users"].as_array().unwrap().iter().filter(|u| u["email_address"] == ADMIN_EMAIL_DEFAULT).count();
    assert_eq!(admins, 1, "exactly one first admin: {users}");
}

/// The email `portcullis serve` gives the first admin when none is configured.
const ADMIN_EMAIL_DEFAULT: &str = "admin@portcullis.local";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_holds_exactly_across_both_nodes() {
    let Some(c) = cluster(&[]).await else { return };
    let created = c.create_key(&c.a, json!({ "quota_max": 100, "quota_renewal_rate": 3600 })).await;
    let key = created["key_id"].as_str().unwrap().to_owned();
    let c = Arc::new(c);
    let passed = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let (c, key, passed, refused) = (c.clone(), key.clone(), passed.clone(), refused.clone());
            tokio::spawn(async move {
                let node = if i % 2 == 0 { &c.a } else { &c.b };
                match c.call(node, &key).await.status() {
                    StatusCode::OK => passed.fetch_add(1, Ordering::Relaxed),
                    StatusCode::FORBIDDEN => refused.fetch_add(1, Ordering::Relaxed),
                    other => panic!("unexpected {other}"),
                };
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(passed.load(Ordering::Relaxed), 100, "exactly quota_max passes across the two nodes");
    assert_eq!(refused.load(Ordering::Relaxed), 200);
    let last = c.call(&c.b, &key).await;
    assert_eq!(last.status(), StatusCode::FORBIDDEN);
    assert_eq!(last.json::<Value>().await.unwrap()["error"], "Quota exceeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_across_both_nodes() {
    let Some(c) = cluster(&[]).await else { return };
    let created = c.create_key(&c.a, json!({ "rate": 10, "per": 60 })).await;
    let key = created["key_id"].as_str().unwrap();
    let mut passed = 0;
    for i in 0..20 {
        let node = if i % 2 == 0 { &c.a } else { &c.b };
        let r = c.call(node, key).await;
        if r.status() == StatusCode::OK {
            passed += 1;
        } else {
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
        }
    }
    assert_eq!(passed, 10, "one GCRA in Redis: a burst of 10, whichever node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_one_node_is_refused_on_the_other_within_a_second() {
    let Some(c) = cluster(&[]).await else { return };
    for how in ["deactivate", "delete"] {
        let created = c.create_key(&c.a, json!({ "alias": how })).await;
        let (key, hash) = (created["key_id"].as_str().unwrap(), created["key_hash"].as_str().unwrap());
        // B has it cached now.
        assert_eq!(c.call(&c.b, key).await.status(), StatusCode::OK);
        assert_eq!(c.call(&c.b, key).await.status(), StatusCode::OK);
        let url = format!("{}/api/keys/{hash}?hashed=true", c.a.base);
        let done = if how == "delete" {
            c.client.delete(&url).header("Authorization", &c.cred).send().await.unwrap()
        } else {
            let mut session = created["data"].clone();
            session["is_inactive"] = json!(true);
            c.client.put(&url).header("Authorization", &c.cred).json(&session).send().await.unwrap()
        };
        assert_eq!(done.status(), StatusCode::OK, "{how} on A");
        let took = c
            .wait_until(Duration::from_secs(1), || async { c.call(&c.b, key).await.status() != StatusCode::OK })
            .await;
        let took = took.unwrap_or_else(|| panic!("a key {how}d on A still works on B after 1 s"));
        eprintln!("{how}: refused on B after {took:?}");
        let expected = if how == "delete" { StatusCode::FORBIDDEN } else { StatusCode::FORBIDDEN };
        assert_eq!(c.call(&c.b, key).await.status(), expected);
    }
}

/// Node A is killed with SIGKILL while both nodes serve one key; B keeps serving, the keys
/// created on A are all there, and the shared quota counted every answered request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_load_loses_no_key_and_no_count() {
    let Some(mut c) = cluster(&[]).await else { return };
    const MAX: i64 = 1_000_000;
    let created = c.create_key(&c.a, json!({ "quota_max": MAX, "quota_renewal_rate": 3600 })).await;
    let key = created["key_id"].as_str().unwrap().to_owned();
    let answered = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(3);
    let load = |gateway: String| {
        let (client, key, answered, sent) = (c.client.clone(), key.clone(), answered.clone(), sent.clone());
        tokio::spawn(async move {
            while Instant::now() < deadline {
                sent.fetch_add(1, Ordering::SeqCst);
                match client.get(format!("{gateway}/shared/x")).header("Authorization", &key).send().await {
                    Ok(r) => {
                        assert_eq!(r.status(), StatusCode::OK, "every request passes while the nodes run");
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    // Node A is gone: its clients stop.
                    Err(_) => return,
                }
            }
        })
    };
    let workers: Vec<_> = (0..3).map(|_| load(c.a.gateway.clone())).chain((0..3).map(|_| load(c.b.gateway.clone()))).collect();
    // Keys created on A during the load, each answered before the kill.
    let mut made_on_a = Vec::new();
    for i in 0..10 {
        made_on_a.push(c.create_key(&c.a, json!({ "alias": format!("before-kill-{i}") })).await["key_id"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    c.a.kill();
    for w in workers {
        w.await.unwrap();
    }
    let (answered, sent) = (answered.load(Ordering::SeqCst) as i64, sent.load(Ordering::SeqCst) as i64);
    // Every answered request was counted in Redis; requests cut off by the kill may or may not
    // have been.
    let read = c.client.get(format!("{}/api/keys/{key}", c.b.base)).header("Authorization", &c.cred).send().await.unwrap();
    let used = MAX - json_of(read, StatusCode::OK).await["data"]["quota_remaining"].as_i64().unwrap();
    eprintln!("answered {answered}, sent {sent}, counted {used}");
    assert!(answered > 100, "the load ran");
    assert!(used >= answered, "no count lost: {used} counted < {answered} answered");
    assert!(used <= sent, "nothing counted twice: {used} > {sent} sent");
    for k in &made_on_a {
        assert_eq!(c.call(&c.b, k).await.status(), StatusCode::OK, "a key created on A before the kill works on B");
    }
    let _ = &mut c;
}

/// Redis stops mid-run: a node that fails closed answers 503 and says so in /ready, a node set
/// to fall back counts locally and says it is degraded; Redis starts again (empty) and both
/// recover by themselves, the quota continuing from what was written back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_ride_out_a_redis_restart() {
    let Some(mut c) = cluster(&[("PORTCULLIS_REDIS_FALLBACK", "local")]).await else { return };
    let created = c.create_key(&c.a, json!({ "quota_max": 1000, "quota_renewal_rate": 3600 })).await;
    let key = created["key_id"].as_str().unwrap().to_owned();
    for i in 0..50 {
        let node = if i % 2 == 0 { &c.a } else { &c.b };
        assert_eq!(c.call(node, &key).await.status(), StatusCode::OK);
    }
    let calls_before = c.redis.eval_calls();
    assert_eq!(c.call(&c.a, &key).await.headers()["x-quota-remaining"], "949");
    assert_eq!(c.redis.eval_calls() - calls_before, 1, "one Redis round trip per request");
    tokio::time::sleep(Duration::from_millis(600)).await; // the write-back interval is 200 ms

    c.redis.down();
    let r = c.call(&c.a, &key).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "A fails closed");
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "Rate limit and quota counters are unavailable; try again shortly");
    let (status, body) = c.ready_body(&c.a).await;
    assert_eq!((status, body["status"].as_str(), body["redis"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"), Some("unreachable")));
    assert_eq!(c.call(&c.b, &key).await.status(), StatusCode::OK, "B falls back to local counting");
    let (status, body) = c.ready_body(&c.b).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("degraded")));

    assert!(c.redis.up(), "redis-server starts again");
    let back = c.wait_until(Duration::from_secs(10), || async { c.call(&c.a, &key).await.status() == StatusCode::OK }).await;
    assert!(back.is_some(), "A recovers by itself once Redis is back");
    let (status, body) = c.ready_body(&c.a).await;
    assert_eq!((status, body["redis"].as_str()), (StatusCode::OK, Some("ok")));
    // Redis came back empty: the counter was seeded from the write-back, not from zero.
    let remaining: i64 = c.call(&c.b, &key).await.headers()["x-quota-remaining"].to_str().unwrap().parse().unwrap();
    assert!(remaining <= 1000 - 52, "the quota continued from storage, remaining {remaining}");
    let metrics = c.client.get(format!("{}/metrics", c.a.base)).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("portcullis_limiter_unavailable_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no limiter_unavailable counter in\n{metrics}"));
    assert!(refused >= 1, "the refusals while Redis was down are counted");
    let _ = &mut c;
}

/// PostgreSQL goes away (the node reaches it through a proxy the test cuts): cached keys keep
/// validating, writes answer 503 saying why, and it all recovers by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_rides_out_a_database_outage() {
    let Some(redis) = Redis::start() else { return };
    let Some((_db, url)) = TestDb::create(Db::Postgres).await else { return };
    let proxy = TcpProxy::start("127.0.0.1:5432").await;
    let via_proxy = url.replace("127.0.0.1:5432", &proxy.addr);
    let client = Client::new();
    let node = Node::start(&via_proxy, &redis.url(), &[]);
    node.ready(&client).await;
    let upstream = spawn_upstream().await;
    let org = client.post(format!("{}/admin/organisations", node.base)).header("Admin-Auth", ADMIN_SECRET)
        .json(&json!({ "owner_name": "Outage" })).send().await.unwrap();
    let org = json_of(org, StatusCode::OK).await["Meta"].as_str().unwrap().to_owned();
    let user = client.post(format!("{}/admin/users", node.base)).header("Admin-Auth", ADMIN_SECRET)
        .json(&json!({ "email_address": "ops@example.org", "org_id": org })).send().await.unwrap();
    let cred = json_of(user, StatusCode::OK).await["Message"].as_str().unwrap().to_owned();
    let body = json!({ "name": "Db", "proxy": { "listen_path": "/db/", "target_url": upstream }, "version_data": { "not_versioned": true } });
    let resp = client.post(format!("{}/api/apis", node.base)).header("Authorization", &cred).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client.post(format!("{}/api/keys", node.base)).header("Authorization", &cred).json(&json!({ "quota_max": 100 })).send().await.unwrap();
    let key = json_of(resp, StatusCode::OK).await["key_id"].as_str().unwrap().to_owned();
    let call = || client.get(format!("{}/db/x", node.gateway)).header("Authorization", &key).send();
    assert_eq!(call().await.unwrap().status(), StatusCode::OK, "cached now");

    proxy.cut();
    for _ in 0..5 {
        assert_eq!(call().await.unwrap().status(), StatusCode::OK, "a cached key keeps validating without the database");
    }
    let write = client.post(format!("{}/api/keys", node.base)).header("Authorization", &cred).json(&json!({})).send().await.unwrap();
    assert_eq!(write.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(write.json::<Value>().await.unwrap()["Message"], "Database unavailable; try again shortly");
    let unknown = client.get(format!("{}/db/x", node.gateway)).header("Authorization", "never-cached-key").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::SERVICE_UNAVAILABLE, "an uncached key cannot be checked");
    assert_eq!(client.get(format!("{}/ready", node.base)).send().await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);

    proxy.restore();
    let mut recovered = false;
    for _ in 0..100 {
        let write = client.post(format!("{}/api/keys", node.base)).header("Authorization", &cred).json(&json!({})).send().await.unwrap();
        if write.status() == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "writes work again once the database is back");
    assert_eq!(client.get(format!("{}/ready", node.base)).send().await.unwrap().status(), StatusCode::OK);
    drop(node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_refusals_and_latency() {
    let Some(c) = cluster(&[]).await else { return };
    let created = c.create_key(&c.a, json!({ "rate": 1, "per": 60 })).await;
    let key = created["key_id"].as_str().unwrap();
    assert_eq!(c.call(&c.a, key).await.status(), StatusCode::OK);
    assert_eq!(c.call(&c.a, key).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(c.call(&c.a, "nonsense-key").await.status(), StatusCode::FORBIDDEN);
    // Prometheus's own Accept header: OpenMetrics first.
    let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let resp = c.client.get(format!("{}/metrics", c.a.base)).bearer_auth(METRICS_TOKEN).header("accept", accept).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = resp.text().await.unwrap();
    let api = &c.api;
    for line in [
        format!("portcullis_gateway_requests_total{{api=\"{api}\",status=\"200\"}} 1"),
        format!("portcullis_gateway_requests_total{{api=\"{api}\",status=\"429\"}} 1"),
        format!("portcullis_gateway_requests_total{{api=\"{api}\",status=\"403\"}} 1"),
        "portcullis_gateway_refusals_total{reason=\"rate_limited\"} 1".to_owned(),
        "portcullis_gateway_refusals_total{reason=\"disallowed\"} 1".to_owned(),
        "portcullis_redis_up 1".to_owned(),
    ] {
        assert!(text.contains(&line), "missing `{line}` in:\n{text}");
    }
    for name in ["portcullis_key_cache_lookups_total{result=\"hit\"}", "portcullis_redis_seconds_count", "portcullis_database_seconds_count{operation=\"key_load\"}"] {
        assert!(text.contains(name), "missing {name}");
    }
    let _ = &c.url;
}

/// A TCP forwarder the test can cut: closes every open connection and refuses new ones.
struct TcpProxy {
    addr: String,
    open: Arc<std::sync::atomic::AtomicBool>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl TcpProxy {
    async fn start(target: &'static str) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (o, cs) = (open.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                if !o.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                cs.lock().unwrap().push(task.abort_handle());
            }
        });
        TcpProxy { addr, open, conns }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}
