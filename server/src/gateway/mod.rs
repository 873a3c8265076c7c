//! The gateway: its own listener, serving every active API at its listen path. A request is
//! checked (`pipeline`), then proxied (`proxy`) and recorded (`analytics`); the forward-auth
//! endpoint runs the same checks for nginx, Traefik or Envoy and answers instead of proxying.

pub mod cache;
pub mod credentials;
pub mod egress;
pub mod listener;
pub mod path;
pub mod pipeline;
pub mod proxy;
pub mod refusal;
pub mod registry;
pub mod signature;
pub mod upstream;

use crate::analytics::{Analytics, Record};
use crate::changes::{Change, Changes};
use crate::keys::live::LiveKey;
use crate::keys::Keys;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::store::Store;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use cache::{Cached, KeyCache};
use pipeline::{Passed, Refused, RequestView};
use proxy::{Credential, Proxy};
use refusal::Refusal;
use registry::{ApiRegistry, LiveApi};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Where forward-auth requests arrive (Envoy appends the original path to it).
pub const FORWARD_AUTH_PATH: &str = "/_portcullis/auth";
/// The API a forward-auth answer is for (a header name made once, not parsed per request).
const X_PORTCULLIS_API: HeaderName = HeaderName::from_static("x-portcullis-api");
/// Largest body kept in analytics when a key asks for detailed recording.
const DETAILED_BODY_LIMIT: usize = 1024 * 1024;

pub struct Gateway {
    pub registry: ApiRegistry,
    pub cache: KeyCache,
    pub limits: Arc<Limits>,
    pub metrics: Arc<Metrics>,
    keys: Keys,
    store: Store,
    /// One upstream pool per gateway worker thread, so that a pooled connection is driven by
    /// the thread whose requests use it; the first serves callers outside the workers.
    proxies: Vec<Proxy>,
    analytics: Analytics,
    /// API changes seen, and the count the table was last read at: when they differ, the
    /// table is read again before the next request is matched.
    api_changes: AtomicU64,
    apis_loaded_at: AtomicU64,
    reloading: tokio::sync::Mutex<()>,
    /// SHA-256 of the basic-auth password last verified for a key: a later request with the
    /// same password skips bcrypt. Whole digests are compared, so a prefix or an extension of
    /// the password (or of the username, which is part of the key) never matches.
    basic_verified: RwLock<HashMap<String, [u8; 32]>>,
    /// Keys being loaded right now, one gate each.
    loading: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Gateway {
    pub fn new(
        store: Store,
        keys: Keys,
        limits: Arc<Limits>,
        analytics: Analytics,
        metrics: Arc<Metrics>,
        upstream_timeout: Duration,
        workers: usize,
        egress: Arc<egress::Egress>,
    ) -> Self {
        Self {
            registry: ApiRegistry::default(),
            cache: KeyCache::default(),
            limits,
            metrics,
            keys,
            store,
            proxies: (0..=workers).map(|_| Proxy::new(upstream_timeout, egress.clone())).collect(),
            analytics,
            api_changes: AtomicU64::new(1),
            apis_loaded_at: AtomicU64::new(0),
            reloading: tokio::sync::Mutex::new(()),
            basic_verified: RwLock::default(),
            loading: Default::default(),
        }
    }

    /// Drops what a change makes stale, before the change's response is sent.
    pub fn subscribe(self: &Arc<Self>, changes: &Changes) {
        let gw = Arc::clone(self);
        changes.subscribe(move |change| match change {
            Change::Key { key_hash } => {
                gw.cache.invalidate(key_hash);
                gw.basic_verified.write().unwrap_or_else(|e| e.into_inner()).remove(key_hash);
                if let Some(redis) = gw.limits.redis() {
                    redis.forget_seen(key_hash);
                }
            }
            Change::Policy { org_id, policy_id } => gw.cache.invalidate_policy(org_id, policy_id),
            Change::Api { .. } => {
                gw.api_changes.fetch_add(1, Ordering::AcqRel);
            }
        });
    }

    /// How many worker threads the gateway is served by.
    pub fn workers(&self) -> usize {
        self.proxies.len() - 1
    }

    /// The upstream pool of the worker thread this runs on.
    fn proxy(&self) -> &Proxy {
        let worker = listener::current_worker().map_or(0, |w| w + 1);
        self.proxies.get(worker).unwrap_or(&self.proxies[0])
    }

    pub fn analytics(&self) -> &Analytics {
        &self.analytics
    }

    /// The API serving a path on any host (public for the benchmark).
    pub async fn lookup_api(&self, path: &str) -> Option<Arc<LiveApi>> {
        self.api_for(None, path).await
    }

    /// The API serving a (normalised) path on a host, reading the API table again first if it
    /// changed.
    async fn api_for(&self, host: Option<&str>, path: &str) -> Option<Arc<LiveApi>> {
        if self.apis_loaded_at.load(Ordering::Acquire) != self.api_changes.load(Ordering::Acquire) {
            // Requests arriving meanwhile wait for the new table rather than use the old one.
            let _reloading = self.reloading.lock().await;
            let seen = self.api_changes.load(Ordering::Acquire);
            if self.apis_loaded_at.load(Ordering::Acquire) != seen {
                match self.registry.reload(&self.store).await {
                    Ok(_) => self.apis_loaded_at.store(seen, Ordering::Release),
                    Err(e) => tracing::error!("API table not reloaded: {e}"),
                }
            }
        }
        self.registry.find(host, path)
    }

    /// The request path, normalised once for every rule after it (see `path`). Refused when its
    /// `..` segments climb above the root, or move it out of the API its raw form addressed:
    /// `/pay/../admin` must not become a request to whatever serves `/admin`.
    async fn normalised_path(&self, host: Option<&str>, raw: &str) -> Result<String, Refusal> {
        let decoded = path::decode_unreserved(raw);
        let normal = path::remove_dot_segments(&decoded).map_err(|_| Refusal::PathClimbs)?;
        if normal != decoded {
            let addressed = self.api_for(host, &decoded).await.map(|a| a.api_id.clone());
            let served = self.api_for(host, &normal).await.map(|a| a.api_id.clone());
            if addressed != served {
                return Err(Refusal::PathClimbs);
            }
        }
        Ok(normal.into_owned())
    }

    /// A key by hash: from the cache, or loaded on first use. Concurrent first requests for
    /// one key wait for a single load instead of each reading the database. A key that is not
    /// cached while the database is down cannot be checked: 503.
    pub async fn key_for(&self, key_hash: &str) -> Result<Option<Arc<LiveKey>>, Refusal> {
        match self.cache.get(key_hash) {
            Cached::Found(k) => {
                self.metrics.cache_hit.inc();
                return Ok(Some(k));
            }
            Cached::Missing => {
                self.metrics.cache_hit.inc();
                return Ok(None);
            }
            Cached::Unknown => {
                self.metrics.cache_miss.inc();
            }
        }
        let gate = self.loading.lock().unwrap_or_else(|e| e.into_inner()).entry(key_hash.to_owned()).or_default().clone();
        let _loading = gate.lock().await;
        let result = self.load_key(key_hash).await;
        self.loading.lock().unwrap_or_else(|e| e.into_inner()).remove(key_hash);
        result
    }

    async fn load_key(&self, key_hash: &str) -> Result<Option<Arc<LiveKey>>, Refusal> {
        // Another request may have loaded it while this one waited.
        match self.cache.get(key_hash) {
            Cached::Found(k) => return Ok(Some(k)),
            Cached::Missing => return Ok(None),
            Cached::Unknown => {}
        }
        let started = Instant::now();
        let loaded = self.keys.load_live(key_hash).await;
        self.metrics.observe_database("key_load", started.elapsed());
        match loaded {
            Ok(key) => {
                let key = key.map(Arc::new);
                self.cache.put(key_hash, key.clone());
                Ok(key)
            }
            Err(e) => {
                tracing::error!("key not loaded: {e}");
                Err(Refusal::KeyStoreUnavailable)
            }
        }
    }

    pub async fn verify_basic_password(&self, key: &LiveKey, password: &str) -> bool {
        let Some(hash) = key.basic_password_hash.clone().filter(|h| !h.is_empty()) else { return false };
        // bcrypt reads only 72 bytes; a longer password would match on its first 72.
        if password.len() > 72 {
            return false;
        }
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        if self.basic_verified.read().unwrap_or_else(|e| e.into_inner()).get(&key.hash) == Some(&digest) {
            return true;
        }
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false)).await.unwrap_or(false);
        if ok {
            self.basic_verified.write().unwrap_or_else(|e| e.into_inner()).insert(key.hash.clone(), digest);
        }
        ok
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        api: &LiveApi,
        key: Option<&LiveKey>,
        version: &str,
        method: &Method,
        path: &str,
        status: StatusCode,
        started: Instant,
        upstream: Duration,
        raw: (Option<String>, Option<String>),
    ) {
        self.metrics.request(&api.api_id, status.as_u16());
        let labels = key.map(|k| k.labels.clone()).unwrap_or_default();
        self.analytics.record(Record {
            at_ms: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0),
            org_id: api.org_id.clone(),
            api_id: api.api_id.clone(),
            api_version: if version.is_empty() { "Non Versioned".into() } else { version.to_owned() },
            key_hash: labels.hash,
            alias: labels.alias,
            tags: labels.tags,
            method: method.clone(),
            path: path.to_owned(),
            status: status.as_u16(),
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            upstream_ms: upstream.as_secs_f64() * 1000.0,
            raw_request: raw.0,
            raw_response: raw.1,
        });
    }
}

/// One request to the gateway: forward-auth at its path (and below it, for Envoy), every
/// other path proxied. Two routes need no router.
pub async fn handle(gw: Arc<Gateway>, client: SocketAddr, req: hyper::Request<hyper::body::Incoming>) -> Response {
    let req = req.map(Body::new);
    let path = req.uri().path();
    let forward_auth_path = path.strip_prefix(FORWARD_AUTH_PATH).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if forward_auth_path {
        forward_auth(&gw, req).await
    } else {
        proxy_request(&gw, client, req).await
    }
}

/// Every request to the gateway that is not forward-auth: check, proxy, record.
async fn proxy_request(gw: &Gateway, client: SocketAddr, mut req: Request) -> Response {
    let started = Instant::now();
    let host = request_host(&req).map(str::to_owned);
    let path = match gw.normalised_path(host.as_deref(), req.uri().path()).await {
        Ok(p) => p,
        Err(refusal) => {
            gw.metrics.refusal(refusal.reason());
            return refusal.render(HeaderMap::new());
        }
    };
    // Every later step (access rights, version, analytics, the upstream's URI) reads this path.
    if path != req.uri().path() {
        match with_path(req.uri(), &path) {
            Some(uri) => *req.uri_mut() = uri,
            None => return Refusal::Internal.render(HeaderMap::new()),
        }
    }
    let Some(api) = gw.api_for(host.as_deref(), &path).await else {
        gw.metrics.refusal(Refusal::NoApi.reason());
        return Refusal::NoApi.render(HeaderMap::new());
    };
    let method = req.method().clone();
    let view = RequestView { method: &method, path: &path, query: req.uri().query(), headers: req.headers() };
    let passed = match pipeline::check(gw, &api, &view).await {
        Ok(p) => p,
        Err(Refused { refusal, key, headers }) => {
            gw.metrics.refusal(refusal.reason());
            gw.record(&api, key.as_deref(), "", &method, &path, refusal.status(), started, Duration::ZERO, (None, None));
            return refusal.render(headers);
        }
    };
    let Passed { key, version, headers, .. } = passed;
    let credential = Credential::of(&api);
    let detailed = key.as_ref().is_some_and(|k| k.session.enable_detailed_recording);
    let (req, raw_request) = if detailed { buffer_request(req).await } else { (req, None) };
    let upstream_started = Instant::now();
    let result = gw.proxy().forward(&api, req, client, credential).await;
    let upstream = upstream_started.elapsed();
    let mut response = match result {
        Ok(r) => r,
        Err(refusal) => {
            gw.metrics.refusal(refusal.reason());
            gw.record(&api, key.as_deref(), &version, &method, &path, refusal.status(), started, upstream, (raw_request, None));
            return refusal.render(headers);
        }
    };
    response.headers_mut().extend(headers);
    let status = response.status();
    let (response, raw_response) = if detailed { buffer_response(response).await } else { (response, None) };
    gw.record(&api, key.as_deref(), &version, &method, &path, status, started, upstream, (raw_request, raw_response));
    response
}

/// The host the client asked for: `Host`, or the authority of an absolute-form or HTTP/2
/// request.
fn request_host(req: &Request) -> Option<&str> {
    req.headers().get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).or_else(|| req.uri().authority().map(|a| a.as_str()))
}

/// The URI with another path and the same query, in origin form.
fn with_path(uri: &axum::http::Uri, path: &str) -> Option<axum::http::Uri> {
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(pq.parse().ok()?);
    axum::http::Uri::from_parts(parts).ok()
}

async fn buffer_request(req: Request) -> (Request, Option<String>) {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    match http_body_util::Limited::new(body, DETAILED_BODY_LIMIT).collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let raw = base64_of(&bytes);
            (Request::from_parts(parts, Body::from(bytes)), Some(raw))
        }
        Err(_) => (Request::from_parts(parts, Body::empty()), None),
    }
}

async fn buffer_response(resp: Response) -> (Response, Option<String>) {
    use http_body_util::BodyExt;
    let (parts, body) = resp.into_parts();
    match body.collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let raw = (bytes.len() <= DETAILED_BODY_LIMIT).then(|| base64_of(&bytes));
            (Response::from_parts(parts, Body::from(bytes)), raw)
        }
        Err(_) => (Response::from_parts(parts, Body::empty()), None),
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Forward-auth for nginx `auth_request`, Traefik ForwardAuth and Envoy ext_authz (HTTP): the
/// same checks on the forwarded method, URI and headers; 200 with identity headers, or the
/// refusal. Nothing is proxied.
async fn forward_auth(gw: &Gateway, req: Request) -> Response {
    let headers = req.headers();
    let header = |names: &[&str]| names.iter().find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()).map(str::to_owned));
    // nginx: X-Original-URI/-Method (set in its config); Traefik: X-Forwarded-Uri/-Method;
    // Envoy: the original path appended to ours.
    // The host is the one the proxy saw: Traefik passes it in X-Forwarded-Host beside
    // X-Forwarded-Uri; nginx's subrequest and Envoy keep the original Host.
    let (uri, host) = match (header(&["x-forwarded-uri"]), header(&["x-original-uri"])) {
        (Some(uri), _) => (uri, header(&["x-forwarded-host", "host"])),
        (None, Some(uri)) => (uri, header(&["host"])),
        (None, None) => {
            let full = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            (full.strip_prefix(FORWARD_AUTH_PATH).filter(|r| !r.is_empty()).unwrap_or("/").to_owned(), header(&["host"]))
        }
    };
    let method: Method = header(&["x-forwarded-method", "x-original-method"])
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| req.method().clone());
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (uri.clone(), None),
    };
    let path = match gw.normalised_path(host.as_deref(), &path).await {
        Ok(p) => p,
        Err(refusal) => {
            gw.metrics.refusal(refusal.reason());
            return refusal.render(HeaderMap::new());
        }
    };
    let Some(api) = gw.api_for(host.as_deref(), &path).await else {
        gw.metrics.refusal(Refusal::NoApi.reason());
        return Refusal::NoApi.render(HeaderMap::new());
    };
    let view = RequestView { method: &method, path: &path, query: query.as_deref(), headers };
    match pipeline::check(gw, &api, &view).await {
        Ok(Passed { key, headers: mut out, .. }) => {
            if let Some(k) = &key {
                out.extend(k.identity.iter().map(|(n, v)| (n.clone(), v.clone())));
            }
            out.insert(X_PORTCULLIS_API, api.id_header.clone());
            gw.metrics.request(&api.api_id, 200);
            (StatusCode::OK, out).into_response()
        }
        Err(Refused { refusal, headers, .. }) => {
            gw.metrics.refusal(refusal.reason());
            gw.metrics.request(&api.api_id, refusal.status().as_u16());
            refusal.render(headers)
        }
    }
}
