//! Tests that need whole processes: the real binary killed with SIGKILL under load, stopped
//! with SIGTERM mid-request, or restarted on aged records, and a real nginx doing forward-auth
//! against the gateway.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
    gateway: String,
}

/// The binary with a test's environment: `serve` and `provision` read the same settings.
fn portcullis(command: &str, data_dir: &std::path::Path, port: u16, gw_port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.arg(command)
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env("PORTCULLIS_DATA_DIR", data_dir)
        .env("PORTCULLIS_LISTEN", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_GATEWAY_LISTEN", format!("127.0.0.1:{gw_port}"))
        .env("PORTCULLIS_ADMIN_SECRET", ADMIN_SECRET)
        .env("PORTCULLIS_BCRYPT_COST", "4")
        // The tests' upstreams listen on loopback, which the gateway refuses by default.
        .env("PORTCULLIS_UPSTREAM_ALLOW", "127.0.0.0/8")
        .env("PORTCULLIS_QUOTA_FLUSH_MS", "1000")
        .env("RUST_LOG", "warn");
    cmd
}

fn start_server(data_dir: &std::path::Path, port: u16, gw_port: u16) -> Server {
    let child = portcullis("serve", data_dir, port, gw_port).stdout(Stdio::null()).spawn().expect("the binary starts");
    Server { child, base: format!("http://127.0.0.1:{port}"), gateway: format!("http://127.0.0.1:{gw_port}") }
}

/// A data folder and two ports for one test's server, which may be started again on them, and an
/// upstream for its APIs. The folder is removed when the test ends.
struct Fixture {
    data: std::path::PathBuf,
    port: u16,
    gw_port: u16,
    client: reqwest::Client,
    up: String,
}

impl Fixture {
    async fn new(name: &str) -> Self {
        let data = std::env::temp_dir().join(format!("portcullis-{name}-{}", server::secrets::random_hex(4)));
        Self { data, port: free_port(), gw_port: free_port(), client: reqwest::Client::new(), up: spawn_upstream().await }
    }

    /// `portcullis provision`, as the benchmarks use it: an organisation, a user's credential,
    /// and a key (with its hash) for an API at `listen_path` in front of the fixture's upstream,
    /// with a quota of `quota_max` an hour. Before the server starts, on its storage.
    fn provision(&self, name: &str, listen_path: &str, quota_max: i64) -> Provisioned {
        let key = json!({ "quota_max": quota_max, "quota_renewal_rate": 3600 }).to_string();
        let out = portcullis("provision", &self.data, self.port, self.gw_port)
            .args(["--name", name, "--listen-path", listen_path, "--target-url", &self.up, "--key", &key])
            .output()
            .unwrap();
        assert!(out.status.success(), "provision failed: {}", String::from_utf8_lossy(&out.stderr));
        let p: serde_json::Value = serde_json::from_slice(&out.stdout).expect("provision prints one JSON object");
        let text = |field: &str| p[field].as_str().unwrap_or_else(|| panic!("no {field} in {p}")).to_owned();
        Provisioned { cred: text("credential"), key: text("key"), hash: text("key_hash") }
    }

    /// Starts the server on the fixture's folder and ports, and waits until it is ready.
    async fn start(&self) -> Server {
        let srv = start_server(&self.data, self.port, self.gw_port);
        wait_ready(&self.client, &srv.base).await;
        srv
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if client.get(format!("{base}/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {base} did not become ready");
}

/// What a test needs on a fresh server: a user's credential, and a key with its hash.
struct Provisioned {
    cred: String,
    key: String,
    hash: String,
}

/// `portcullis provision` answers in one JSON object, and refuses what the REST API refuses,
/// saying why.
#[test]
fn provision_prints_json_and_refuses_what_the_api_refuses() {
    let data = std::env::temp_dir().join(format!("portcullis-provision-{}", server::secrets::random_hex(4)));
    let run = |args: &[&str]| portcullis("provision", &data, 0, 0).args(args).output().unwrap();
    let ok = run(&["--name", "Acme", "--listen-path", "/a/", "--target-url", "http://127.0.0.1:9"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let p: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    for field in ["org_id", "credential", "api_id"] {
        assert!(p[field].as_str().is_some_and(|v| !v.is_empty()), "{field} in {p}");
    }
    assert!(p.get("key").is_none(), "no --key, no key: {p}");
    for (args, says) in [
        (vec!["--name", "Other", "--listen-path", "/a/", "--target-url", "http://127.0.0.1:9"], "listen_path"),
        (vec!["--name", "B", "--listen-path", "/b/", "--target-url", "http://127.0.0.1:9", "--key", "{\"rate\": -5}"], "rate"),
        (vec!["--name", "C", "--listen-path", "/c/", "--target-url", "http://127.0.0.1:9", "--key", "not json"], "--key"),
    ] {
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(says), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(data);
}

/// Kill -9 under load, restart on the same data: the quota counted before the crash is kept,
/// short by at most the counting of the last write-back interval (1 s) plus the time one
/// write-back waits for the database (SQLite has one writer, shared with analytics). The test
/// allows the requests of the last 2 s before the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_survives_a_crash_within_one_flush_interval() {
    let f = Fixture::new("crash").await;
    let client = &f.client;
    let Provisioned { cred, key, .. } = f.provision("crash", "/c/", 1_000_000);
    let mut srv = f.start().await;

    // Load from 8 clients for 5 s, then SIGKILL while requests are in flight.
    const CLIENTS: usize = 8;
    let started = Instant::now();
    let deadline = started + Duration::from_millis(5000);
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, url, key) = (client.clone(), format!("{}/c/", srv.gateway), key.clone());
            tokio::spawn(async move {
                let mut ok = Vec::new();
                while Instant::now() < deadline {
                    match client.get(&url).header("Authorization", &key).send().await {
                        Ok(r) if r.status() == StatusCode::OK => ok.push(Instant::now()),
                        _ => {}
                    }
                }
                ok
            })
        })
        .collect();
    tokio::time::sleep_until((deadline - Duration::from_millis(100)).into()).await;
    let killed_at = Instant::now();
    srv.child.kill().unwrap(); // SIGKILL: no shutdown, no final write-back
    srv.child.wait().unwrap();
    let mut passes = Vec::new();
    for w in workers {
        passes.extend(w.await.unwrap());
    }
    let passed = passes.len() as u64;
    let rate = passed as f64 / started.elapsed().as_secs_f64();
    let recent = passes.iter().filter(|t| **t + Duration::from_secs(2) >= killed_at).count() as i64;

    let srv2 = f.start().await;
    let read = client.get(format!("{}/api/keys/{key}", srv2.base)).header("Authorization", &cred).send().await.unwrap()
        .json::<serde_json::Value>().await.unwrap();
    let used = 1_000_000 - read["data"]["quota_remaining"].as_i64().unwrap();
    let bound = recent + CLIENTS as i64;
    eprintln!("passed before the crash: {passed} ({rate:.0}/s); counted after restart: {used}; allowed loss: {bound}");
    assert!(passed > 100, "the load ran");
    assert!(used <= passed as i64 + CLIENTS as i64, "never more than was counted (plus requests in flight)");
    assert!(passed as i64 - used <= bound, "lost {} > one flush interval ({bound})", passed as i64 - used);
    let mut srv2 = srv2;
    let _ = srv2.child.kill();
    let _ = srv2.child.wait();
}

/// SIGTERM while a proxied request waits on a slow upstream: that request still gets its answer,
/// new connections are refused, the process exits cleanly, and after a restart every request
/// made before the stop is counted, in the quota and in the analytics (a graceful stop writes
/// everything; only a crash may lose the last write-back interval).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_finishes_requests_in_flight_and_keeps_their_counts() {
    let f = Fixture::new("stop").await;
    let client = &f.client;
    let Provisioned { cred, key, hash } = f.provision("stop", "/s/", 1000);
    let mut srv = f.start().await;

    const QUICK: i64 = 20;
    for _ in 0..QUICK {
        let r = client.get(format!("{}/s/quick", srv.gateway)).header("Authorization", &key).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // The upstream answers /slow after 3 s: stop the server while it waits.
    let slow = tokio::spawn(client.get(format!("{}/s/slow", srv.gateway)).header("Authorization", &key).send());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let term = Command::new("kill").args(["-TERM", &srv.child.id().to_string()]).status().unwrap();
    assert!(term.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = reqwest::Client::new();
    assert!(
        fresh.get(format!("{}/s/late", srv.gateway)).header("Authorization", &key).send().await.is_err(),
        "a stopping gateway takes no new connections"
    );
    let answer = slow.await.unwrap().expect("the request in flight is answered");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.json::<serde_json::Value>().await.unwrap()["path"], "/slow");
    let exit = srv.child.wait().unwrap();
    assert!(exit.success(), "a graceful stop exits cleanly: {exit}");

    let mut srv2 = f.start().await;
    let read = client.get(format!("{}/api/keys/{key}", srv2.base)).header("Authorization", &cred).send().await.unwrap()
        .json::<serde_json::Value>().await.unwrap();
    assert_eq!(read["data"]["quota_remaining"], 1000 - QUICK - 1, "every request before the stop is counted");
    let activity = client.get(format!("{}{}", srv2.base, activity_from_today(&hash))).header("Authorization", &cred).send().await.unwrap()
        .json::<serde_json::Value>().await.unwrap();
    assert_eq!(activity["data"][0]["hits"], QUICK + 1, "every request before the stop is recorded: {activity}");
    let _ = srv2.child.kill();
    let _ = srv2.child.wait();
}

/// Retention: raw request records older than `PORTCULLIS_ANALYTICS_RETENTION_DAYS` (30 by
/// default) are removed, by a sweep at start and then hourly; newer ones stay, and so do the
/// hourly aggregates that the dashboard and the activity API read. Three of five records are
/// aged by rewriting their time while the server is stopped: a test cannot wait a month.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_old_raw_records_and_keeps_the_aggregates() {
    use sqlx::sqlite::SqlitePool;
    let f = Fixture::new("retention").await;
    let client = &f.client;
    let Provisioned { cred, key, hash } = f.provision("retention", "/r/", 1000);
    let mut srv = f.start().await;
    for _ in 0..5 {
        let r = client.get(format!("{}/r/x", srv.gateway)).header("Authorization", &key).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // A graceful stop writes the queued records.
    assert!(Command::new("kill").args(["-TERM", &srv.child.id().to_string()]).status().unwrap().success());
    assert!(srv.child.wait().unwrap().success());

    let db = SqlitePool::connect(&format!("sqlite://{}", f.data.join("portcullis.db").display())).await.unwrap();
    let count = || async { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM analytics").fetch_one(&db).await.unwrap() };
    assert_eq!(count().await, 5);
    let month_and_a_day_ms = 31 * 86_400_000_i64;
    sqlx::query("UPDATE analytics SET at_ms = at_ms - $1 WHERE id IN (SELECT id FROM analytics ORDER BY id LIMIT 3)")
        .bind(month_and_a_day_ms)
        .execute(&db)
        .await
        .unwrap();

    let mut srv2 = f.start().await;
    let mut left = count().await;
    for _ in 0..100 {
        if left < 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = count().await;
    }
    assert_eq!(left, 2, "the three records older than 30 days are removed, the two others kept");
    let activity = client.get(format!("{}{}", srv2.base, activity_from_today(&hash))).header("Authorization", &cred).send().await.unwrap()
        .json::<serde_json::Value>().await.unwrap();
    assert_eq!(activity["data"][0]["hits"], 5, "the hourly aggregates stay: {activity}");
    db.close().await;
    let _ = srv2.child.kill();
    let _ = srv2.child.wait();
}

/// nginx `auth_request` against the forward-auth endpoint, with Debian's nginx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_forward_auth() {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().find(|p| std::path::Path::new(p).exists());
    let Some(nginx) = nginx else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "nginx is required on CI (scripts/install-tools installs it)");
        eprintln!("nginx not installed; skipping");
        return;
    };
    let Some(app) = spawn_app(Db::Sqlite).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/shop/", "http://127.0.0.1:9", json!({})).await;
    let created = app.create_key(&c, json!({ "alias": "nginx-client", "access_rights": rights(&api, "Default") })).await;
    let key = created["key_id"].as_str().unwrap();

    let dir = std::env::temp_dir().join(format!("portcullis-nginx-{}", server::secrets::random_hex(4)));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let conf = include_str!("../../../docs/nginx-forward-auth.conf")
        .replace("__LISTEN__", &format!("127.0.0.1:{port}"))
        .replace("__GATEWAY__", app.gateway.trim_start_matches("http://"))
        .replace("__UPSTREAM__", up.trim_start_matches("http://"))
        .replace("__DIR__", dir.to_str().unwrap());
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let _nginx = Nginx(
        Command::new(nginx).arg("-p").arg(&dir).arg("-c").arg(&conf_path).arg("-g").arg("daemon off;")
            .stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap(),
    );
    let front = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if app.client.get(&front).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "nginx did not start");

    let ok = app.client.get(format!("{front}/shop/items?x=1")).header("Authorization", key).send().await.unwrap();
    let echo = json_of(ok, StatusCode::OK).await;
    assert_eq!(echo["path"], "/shop/items", "nginx proxied after Portcullis said yes");
    assert_eq!(echo["headers"]["x-portcullis-key-hash"], created["key_hash"]);
    assert_eq!(echo["headers"]["x-portcullis-alias"], "nginx-client");
    let none = app.client.get(format!("{front}/shop/items")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let wrong = app.client.get(format!("{front}/shop/items")).header("Authorization", "not-a-key").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let _ = std::fs::remove_dir_all(dir);
}

/// Stops nginx when the test ends, passed or failed. SIGTERM, not SIGKILL: a killed master
/// leaves its worker running, holding the test's port and output open.
struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}
