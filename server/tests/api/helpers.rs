use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use server::config::{Config, Secret};
use server::startup::Application;
use std::path::PathBuf;

pub const ADMIN_SECRET: &str = "test-admin-secret";
pub const GATEWAY_SECRET: &str = "test-gateway-secret";
pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery";
pub const METRICS_TOKEN: &str = "test-metrics-token";

#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn name(db: Db)` as two tests, `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name($crate::helpers::Db::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name($crate::helpers::Db::Postgres).await }
        }
    )*};
}

/// A fresh database for one test, removed when the test ends.
pub enum TestDb {
    Sqlite(PathBuf),
    Postgres { name: String },
}

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

impl TestDb {
    pub async fn create(db: Db) -> Option<(Self, String)> {
        let name = format!("portcullis_test_{}", server::secrets::random_hex(6));
        match db {
            Db::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}", dir.join("portcullis.db").display());
                Some((TestDb::Sqlite(dir), url))
            }
            Db::Postgres => {
                use sqlx::Connection;
                let mut conn = match sqlx::PgConnection::connect(PG_ADMIN_URL).await {
                    Ok(c) => c,
                    Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                        eprintln!("PostgreSQL unreachable ({e}); skipping (set CI=true to make this an error)");
                        return None;
                    }
                    Err(e) => panic!("PostgreSQL is required on CI: {e}"),
                };
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
                Some((TestDb::Postgres { name }, url))
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Postgres { name } => {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                // Drop cannot await; a short-lived runtime on its own thread does the work.
                let _ = std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
                        use sqlx::Connection;
                        if let Ok(mut conn) = sqlx::PgConnection::connect(PG_ADMIN_URL).await {
                            let _ = sqlx::query(&sql).execute(&mut conn).await;
                        }
                    })
                })
                .join();
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub gateway: String,
    pub client: Client,
    pub state: TestState,
    /// The test's own database, for reading what no API returns (raw analytics records).
    pub database_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _db: TestDb,
}

/// What a test reaches inside the server: the handlers' state (its services, through `Deref`),
/// and the store, for what no service returns.
#[derive(Clone)]
pub struct TestState {
    services: server::state::AppState,
    pub store: server::store::Store,
}

impl std::ops::Deref for TestState {
    type Target = server::state::AppState;

    fn deref(&self) -> &Self::Target {
        &self.services
    }
}

pub use crate::support::free_port;

pub fn test_config(url: String) -> Config {
    let mut c = crate::support::node_config(Some(url), std::env::temp_dir());
    c.gateway_threads = 2;
    c.admin_secret = Some(ADMIN_SECRET.parse().unwrap());
    c.gateway_secret = Some(GATEWAY_SECRET.parse().unwrap());
    c.admin_email = ADMIN_EMAIL.into();
    c.admin_password = Some(ADMIN_PASSWORD.parse::<Secret>().unwrap());
    c.secret_key = Some("5e".repeat(32).parse().unwrap());
    c.quota_flush_ms = 200;
    c.analytics_retention_days = 30;
    c.security.metrics_token = Some(METRICS_TOKEN.parse().unwrap());
    c
}

/// Starts Portcullis on a fresh database; None when that database is not available here.
pub async fn spawn_app(db: Db) -> Option<TestApp> {
    spawn_app_with(db, |_| {}).await
}

pub async fn spawn_app_with(db: Db, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let (test_db, url) = TestDb::create(db).await?;
    let mut config = test_config(url.clone());
    adjust(&mut config);
    let app = Application::build(config).await.expect("application starts");
    let base = format!("http://{}", app.api_addr());
    let gateway = format!("http://{}", app.gateway_addr());
    let state = TestState { services: app.state.clone(), store: app.store().clone() };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run(async move {
        let _ = rx.await;
    }));
    let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Some(TestApp { base, gateway, client, state, database_url: url, stop: Some(tx), _db: test_db })
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).header("Admin-Auth", ADMIN_SECRET).json(body).send().await.unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).header("Admin-Auth", ADMIN_SECRET).send().await.unwrap()
    }

    /// Creates an organisation through the Admin API and returns its id.
    pub async fn create_org(&self, name: &str) -> String {
        let body = json_of(self.admin_post("/admin/organisations", &json!({ "owner_name": name })).await, StatusCode::OK).await;
        body["Meta"].as_str().unwrap().to_owned()
    }

    /// Creates a user through the Admin API; returns (user id, REST credential).
    pub async fn create_user(&self, org_id: &str, email: &str) -> (String, String) {
        let body = json!({ "email_address": email, "org_id": org_id, "first_name": "Test", "password": "a long password" });
        let body = json_of(self.admin_post("/admin/users", &body).await, StatusCode::OK).await;
        (body["Meta"]["id"].as_str().unwrap().to_owned(), body["Meta"]["access_key"].as_str().unwrap().to_owned())
    }

    /// A call to the `/tyk` gateway API with the node's secret.
    pub async fn tyk(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Response {
        let mut req = self.client.request(method, self.url(path)).header("X-Tyk-Authorization", GATEWAY_SECRET);
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap()
    }

    pub async fn api_get(&self, path: &str, credential: &str) -> Response {
        self.client.get(self.url(path)).header("Authorization", credential).send().await.unwrap()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }
}

/// Asserts the status and returns the JSON body (printing it when the status is wrong).
pub async fn json_of(resp: Response, status: StatusCode) -> Value {
    let got = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

/// Tyk's Dashboard error envelope.
pub fn tyk_error(message: &str) -> Value {
    json!({ "Status": "Error", "Message": message, "Meta": null })
}

/// A caller of the Dashboard API: an organisation and one of its users' credential.
pub struct Caller {
    pub org: String,
    pub cred: String,
}

impl TestApp {
    /// A fresh organisation with one user.
    pub async fn caller(&self, name: &str) -> Caller {
        let org = self.create_org(name).await;
        let (_, cred) = self.create_user(&org, &format!("{}@example.org", name.to_lowercase())).await;
        Caller { org, cred }
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, cred: &str, body: Option<&Value>) -> Response {
        let mut req = self.client.request(method, self.url(path)).header("Authorization", cred);
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap()
    }

    pub async fn post(&self, c: &Caller, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::POST, path, &c.cred, Some(body)).await
    }

    pub async fn put(&self, c: &Caller, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::PUT, path, &c.cred, Some(body)).await
    }

    pub async fn get(&self, c: &Caller, path: &str) -> Response {
        self.send(reqwest::Method::GET, path, &c.cred, None).await
    }

    pub async fn delete(&self, c: &Caller, path: &str) -> Response {
        self.send(reqwest::Method::DELETE, path, &c.cred, None).await
    }

    /// Registers an API with versions v1 and v2; returns its api_id.
    pub async fn create_api(&self, c: &Caller, name: &str, listen_path: &str) -> String {
        let body = json!({ "api_definition": {
            "name": name,
            "proxy": { "listen_path": listen_path, "target_url": "http://127.0.0.1:9", "strip_listen_path": true },
            "version_data": { "not_versioned": false, "default_version": "v1",
                              "versions": { "v1": { "name": "v1" }, "v2": { "name": "v2" } } },
            "definition": { "location": "header", "key": "x-api-version" }
        }});
        let reply = json_of(self.post(c, "/api/apis", &body).await, StatusCode::OK).await;
        reply["ID"].as_str().unwrap().to_owned()
    }

    /// Creates a key granting `api_id` (all versions given) and returns the KeyData JSON.
    pub async fn create_key(&self, c: &Caller, body: Value) -> Value {
        json_of(self.post(c, "/api/keys", &body).await, StatusCode::OK).await
    }
}

/// What [`TestApp::keyed_api`] made.
pub struct KeyedApi {
    /// The upstream's base URL.
    pub upstream: String,
    pub caller: Caller,
    pub key: String,
    pub hash: String,
}

/// Access rights for one API and version.
pub fn rights(api_id: &str, version: &str) -> Value {
    json!({ api_id: { "api_id": api_id, "versions": [version] } })
}

impl TestApp {
    pub fn gw(&self, path: &str) -> String {
        format!("{}{}", self.gateway, path)
    }

    /// Registers an API in front of `upstream` and returns its api_id. `extra` is merged into
    /// the definition (auth mode, versions, ...).
    /// The usual start of a gateway test: a fresh upstream, the organisation "Acme", an API at
    /// `listen_path` in front of the upstream, and a key for it.
    pub async fn keyed_api(&self, listen_path: &str) -> KeyedApi {
        let upstream = spawn_upstream().await;
        let caller = self.caller("Acme").await;
        let api = self.create_gateway_api(&caller, listen_path, &upstream, json!({})).await;
        let created = self.create_key(&caller, json!({ "access_rights": rights(&api, "Default") })).await;
        let (key, hash) = (created["key_id"].as_str().unwrap().to_owned(), created["key_hash"].as_str().unwrap().to_owned());
        KeyedApi { upstream, caller, key, hash }
    }

    pub async fn create_gateway_api(&self, c: &Caller, listen_path: &str, upstream: &str, extra: Value) -> String {
        let mut def = json!({ "name": listen_path, "proxy": { "listen_path": listen_path, "target_url": upstream, "strip_listen_path": true },
                              "version_data": { "not_versioned": true } });
        if let (Some(d), Some(e)) = (def.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                d.insert(k.clone(), v.clone());
            }
        }
        let reply = json_of(self.post(c, "/api/apis", &json!({ "api_definition": def })).await, StatusCode::OK).await;
        reply["ID"].as_str().unwrap().to_owned()
    }
}

/// The activity API's path for a key's hits from today to tomorrow (UTC).
pub fn activity_from_today(hash: &str) -> String {
    let today = time::OffsetDateTime::now_utc();
    let tomorrow = today + time::Duration::days(1);
    format!("/api/activity/keys/{hash}/{}/{}/{}/{}/{}/{}", today.day(), u8::from(today.month()), today.year(),
            tomorrow.day(), u8::from(tomorrow.month()), tomorrow.year())
}

/// A small upstream for the gateway tests: answers every request with what it received, as
/// JSON; `/slow` waits 3 s first; `/status/{code}` answers that status; `/bytes/{n}` streams
/// `n` bytes (`i % 251` for the i-th), chunked. `X-Upstream-Peer` names the connection the
/// request came on.
pub async fn spawn_upstream() -> String {
    use axum::body::Bytes;
    use axum::extract::{ConnectInfo, Request};
    use std::net::SocketAddr;
    async fn echo(req: Request) -> axum::response::Response {
        use axum::response::IntoResponse;
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.to_string()).unwrap_or_default();
        let (parts, body) = req.into_parts();
        if parts.uri.path().ends_with("/slow") {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        }
        if let Some(n) = parts.uri.path().rsplit_once("/bytes/").and_then(|(_, n)| n.parse::<usize>().ok()) {
            let chunks = (0..n).step_by(64 * 1024).map(move |start| {
                let chunk: Vec<u8> = (start..(start + 64 * 1024).min(n)).map(|i| (i % 251) as u8).collect();
                Ok::<_, std::io::Error>(Bytes::from(chunk))
            });
            let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
            return ([("x-upstream-peer", peer)], body).into_response();
        }
        let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        let headers: serde_json::Map<String, Value> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_str().unwrap_or("").to_owned())))
            .collect();
        let status = parts
            .uri
            .path()
            .rsplit_once("/status/")
            .and_then(|(_, c)| c.parse::<u16>().ok())
            .and_then(|c| axum::http::StatusCode::from_u16(c).ok())
            .unwrap_or(axum::http::StatusCode::OK);
        let reply = json!({ "method": parts.method.as_str(), "path": parts.uri.path(), "query": parts.uri.query(),
                            "headers": headers, "body": String::from_utf8_lossy(&body) });
        (status, [("x-upstream", "yes"), ("connection", "keep-alive"), ("x-upstream-peer", &peer)], axum::Json(reply)).into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let app = axum::Router::new().fallback(echo).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}
