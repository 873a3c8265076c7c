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
pub mod recording;
pub mod refusal;
pub mod registry;
pub mod signature;
pub mod upstream;

use crate::analytics::{Analytics, Record};
use crate::changes::{Change, Changes};
use crate::keys::live::LiveKey;
use crate::config::DEFAULT_DETAILED_BODY_KB;
use crate::keys::Keys;
use crate::limits::guesses::{client_block, Guesses};
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::store::Store;
use app::model::KeyHash;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use cache::{Cached, KeyCache};
use pipeline::{Passed, Refused, RequestView};
use proxy::{Credential, Proxy};
use recording::BodyCopy;
use refusal::Refusal;
use registry::{ApiRegistry, LiveApi};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Where forward-auth requests arrive (Envoy appends the original path to it).
pub const FORWARD_AUTH_PATH: &str = "/_portcullis/auth";
/// The API a forward-auth answer is for (a header name made once, not parsed per request).
const X_PORTCULLIS_API: HeaderName = HeaderName::from_static("x-portcullis-api");
/// Failed basic-auth passwords allowed per user and client address before attempts wait.
const BASIC_USER_FREE_FAILURES: u32 = 5;
/// Failed basic-auth passwords allowed per client address (across users) before attempts wait.
const BASIC_ADDRESS_FREE_FAILURES: u32 = 50;
/// Users at addresses (and addresses) whose failures are remembered at most.
const BASIC_GUESSES_CAP: usize = 100_000;

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
    basic_verified: RwLock<HashMap<KeyHash, [u8; 32]>>,
    /// Keys being loaded right now, one gate each.
    loading: std::sync::Mutex<HashMap<KeyHash, Arc<tokio::sync::Mutex<()>>>>,
    /// Failed basic-auth passwords per (user, client address) and per client address.
    basic_guesses: Guesses<(KeyHash, Option<IpAddr>)>,
    /// bcrypt verifications running at once: one per core; the rest wait for a turn rather
    /// than queue on the blocking thread pool.
    bcrypt_turns: tokio::sync::Semaphore,
    /// A bcrypt hash at the keys' cost, verified against for an unknown user, so that an
    /// unknown user costs (and takes) what a wrong password does.
    decoy_hash: String,
    /// How much of each body detailed recording keeps.
    detailed_body_limit: usize,
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
            cache: KeyCache::new((crate::config::DEFAULT_KEY_CACHE_MB * (1 << 20) as f64) as usize, cache::MAX_MISSING, &metrics),
            limits,
            metrics,
            store,
            proxies: (0..=workers).map(|_| Proxy::new(upstream_timeout, egress.clone())).collect(),
            analytics,
            api_changes: AtomicU64::new(1),
            apis_loaded_at: AtomicU64::new(0),
            reloading: tokio::sync::Mutex::new(()),
            basic_verified: RwLock::default(),
            loading: Default::default(),
            basic_guesses: Guesses::new(BASIC_USER_FREE_FAILURES, BASIC_ADDRESS_FREE_FAILURES, BASIC_GUESSES_CAP),
            bcrypt_turns: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            decoy_hash: bcrypt::hash(crate::secrets::random_hex(16), keys.bcrypt_cost()).unwrap_or_default(),
            keys,
            detailed_body_limit: DEFAULT_DETAILED_BODY_KB * 1024,
        }
    }

    /// How much memory (estimated) the cache of known keys may take.
    pub fn with_key_cache_budget(mut self, bytes: usize) -> Self {
        self.cache = KeyCache::new(bytes, cache::MAX_MISSING, &self.metrics);
        self
    }

    /// How much of each request and response body detailed recording keeps.
    pub fn with_detailed_body_limit(mut self, bytes: usize) -> Self {
        self.detailed_body_limit = bytes;
        self
    }

    /// Drops what a change makes stale, before the change's response is sent.
    pub fn subscribe(self: &Arc<Self>, changes: &Changes) {
        let gw = Arc::clone(self);
        changes.subscribe(move |change| match change {
            Change::Key { key_hash } => {
                gw.cache.invalidate(key_hash);
                gw.basic_verified.write().unwrap_or_else(|e| e.into_inner()).remove(key_hash);
                if let Some(redis) = gw.limits.redis() {
                    redis.forget_seen(key_hash.as_str());
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
    pub async fn key_for(&self, key_hash: &KeyHash) -> Result<Option<Arc<LiveKey>>, Refusal> {
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

    async fn load_key(&self, key_hash: &KeyHash) -> Result<Option<Arc<LiveKey>>, Refusal> {
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

    /// A basic-auth user and password: the attempt is counted before anything is checked (past
    /// the free allowance it waits, 429), and an unknown user runs bcrypt against a decoy, so
    /// that it answers as, and costs what, a wrong password does.
    pub async fn basic_user(&self, key_hash: &KeyHash, password: &str, client: Option<IpAddr>) -> Result<Arc<LiveKey>, Refusal> {
        let client = client.map(client_block);
        let subject = (key_hash.to_owned(), client);
        self.basic_guesses.reserve(&subject, client).map_err(Refusal::TooManyFailures)?;
        let key = match self.key_for(key_hash).await {
            Ok(k) => k,
            Err(refusal) => {
                self.basic_guesses.abandoned(&subject, client);
                return Err(refusal);
            }
        };
        if self.verify_basic_password(key.as_deref(), password).await {
            self.basic_guesses.succeeded(&subject, client);
            return key.ok_or(Refusal::BasicAuthFailed);
        }
        Err(Refusal::BasicAuthFailed)
    }

    async fn verify_basic_password(&self, key: Option<&LiveKey>, password: &str) -> bool {
        let stored = key.and_then(|k| k.basic_password_hash.as_deref()).filter(|h| !h.is_empty());
        // bcrypt reads only 72 bytes; a longer password would match on its first 72.
        if password.len() > 72 {
            return false;
        }
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        if let (Some(key), Some(_)) = (key, stored) {
            if self.basic_verified.read().unwrap_or_else(|e| e.into_inner()).get(&key.hash) == Some(&digest) {
                return true;
            }
        }
        let hash = stored.unwrap_or(&self.decoy_hash).to_owned();
        let password = password.to_owned();
        let ok = {
            let Ok(_turn) = self.bcrypt_turns.acquire().await else { return false };
            self.metrics.password_hashes.inc();
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false)).await.unwrap_or(false)
        };
        match (key, stored) {
            (Some(key), Some(_)) if ok => {
                self.basic_verified.write().unwrap_or_else(|e| e.into_inner()).insert(key.hash.clone(), digest);
                true
            }
            _ => false,
        }
    }

    /// The analytics record of a request (counted in the metrics now), to store now or, for a
    /// streamed body with detailed recording, once the body has been sent.
    #[allow(clippy::too_many_arguments)]
    fn record_of(
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
    ) -> Record {
        self.metrics.request(&api.api_id, status.as_u16());
        let labels = key.map(|k| k.labels.clone()).unwrap_or_default();
        Record {
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
        }
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
    let view = RequestView { method: &method, path: &path, query: req.uri().query(), headers: req.headers(), client: Some(client.ip()) };
    let passed = match pipeline::check(gw, &api, &view).await {
        Ok(p) => p,
        Err(Refused { refusal, key, headers }) => {
            gw.metrics.refusal(refusal.reason());
            gw.analytics.record(gw.record_of(&api, key.as_deref(), "", &method, &path, refusal.status(), started, Duration::ZERO, (None, None)));
            return refusal.render(headers);
        }
    };
    let Passed { key, version, headers, .. } = passed;
    let credential = Credential::of(&api);
    let detailed = key.as_ref().is_some_and(|k| k.session.enable_detailed_recording);
    // Detailed recording copies the first bytes of each body as it streams; nothing is held back.
    let request_copy = detailed.then(|| BodyCopy::new(gw.detailed_body_limit));
    let req = match &request_copy {
        Some(copy) => req.map(|body| copy.tee(body, None)),
        None => req,
    };
    let upstream_started = Instant::now();
    let result = gw.proxy().forward(&api, req, client, credential).await;
    let upstream = upstream_started.elapsed();
    let mut response = match result {
        Ok(r) => r,
        Err(refusal) => {
            gw.metrics.refusal(refusal.reason());
            let raw_request = request_copy.as_ref().map(BodyCopy::base64);
            gw.analytics.record(gw.record_of(&api, key.as_deref(), &version, &method, &path, refusal.status(), started, upstream, (raw_request, None)));
            return refusal.render(headers);
        }
    };
    response.headers_mut().extend(headers);
    let status = response.status();
    let Some(request_copy) = request_copy else {
        gw.analytics.record(gw.record_of(&api, key.as_deref(), &version, &method, &path, status, started, upstream, (None, None)));
        return response;
    };
    // The record is stored once the response body has streamed (or the client went away),
    // with the first bytes of both bodies.
    let mut record = gw.record_of(&api, key.as_deref(), &version, &method, &path, status, started, upstream, (None, None));
    let response_copy = BodyCopy::new(gw.detailed_body_limit);
    let (copy, analytics) = (response_copy.clone(), gw.analytics.clone());
    let store_record = move || {
        record.raw_request = Some(request_copy.base64());
        record.raw_response = Some(copy.base64());
        analytics.record(record);
    };
    response.map(|body| response_copy.tee(body, Some(Box::new(store_record))))
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
    // The connection is the proxy's, not the client's: basic-auth failures count per user.
    let view = RequestView { method: &method, path: &path, query: query.as_deref(), headers, client: None };
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
