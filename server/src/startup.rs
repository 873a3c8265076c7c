//! Builds the application from a `Config`: checks, storage, listeners, routers. Tests use the
//! same `Application::build` with port 0.

use crate::accounts::Accounts;
use crate::apis::Apis;
use crate::audit::Audit;
use crate::analytics::{Analytics, Reports};
use crate::changes::Changes;
use crate::gateway::egress::{Egress, Listener};
use crate::gateway::Gateway;
use crate::keys::{Keys, KeysDeps};
use crate::limits::quota::Quotas;
use crate::limits::redis::RedisCounters;
use crate::limits::{Limits, RedisFallback};
use crate::metrics::Metrics;
use crate::policies::Policies;
use crate::vault::Vault;
use crate::config::{Config, DatabaseUrl, StorageConfig};
use crate::state::{AppState, Health};
use crate::store::{Store, StoreError};
use crate::{rest, web};
use axum::extract::DefaultBodyLimit;
use axum::Router;
use crate::listen::ConnectionRules;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the data folder {path} is not writable ({source}); set PORTCULLIS_DATA_DIR to a folder Portcullis may write to")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("PORTCULLIS_DATABASE_URL: {0}")]
    DatabaseUrl(String),
    #[error("cannot open the database {url}: {source}; check PORTCULLIS_DATABASE_URL")]
    Database { url: DatabaseUrl, source: StoreError },
    #[error("cannot listen on {addr} ({var}): {source}; stop the other process or choose another address")]
    Listen { addr: SocketAddr, var: &'static str, source: std::io::Error },
    #[error("PORTCULLIS_REDIS_URL: {0}")]
    RedisUrl(String),
    #[error("cannot read the Leptos site configuration: {0}")]
    Site(String),
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    /// A command's request broke a rule (the message names it).
    #[error("{0}")]
    Refused(String),
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
}

/// Opens the database, creating the SQLite folder if needed, and applies the migrations.
pub async fn open_store(config: &StorageConfig) -> Result<Store, StartError> {
    let url = config.database().map_err(StartError::DatabaseUrl)?;
    if let DatabaseUrl::Sqlite(path) = &url {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        ensure_writable(dir)?;
    }
    let db_err = |source| StartError::Database { url: url.clone(), source };
    let store = Store::connect(&url).await.map_err(db_err)?;
    store.migrate().await.map_err(db_err)?;
    Ok(store)
}

fn ensure_writable(dir: &Path) -> Result<(), StartError> {
    let err = |source| StartError::DataDir { path: dir.to_owned(), source };
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(".portcullis-write-test");
    std::fs::write(&probe, b"ok").map_err(err)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

pub struct Application {
    api: TcpListener,
    gateway: TcpListener,
    /// `/metrics` on an address of its own (`PORTCULLIS_METRICS_LISTEN`).
    metrics: Option<TcpListener>,
    router: Router,
    pub state: AppState,
    /// Closed at shutdown, once everything that writes to it has finished.
    store: Store,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        // Cluster mode shares keys through PostgreSQL; an SQLite file is one node's alone.
        let database = config.storage.database().map_err(StartError::DatabaseUrl)?;
        if config.redis_url.is_some() && !matches!(database, DatabaseUrl::Postgres(_)) {
            return Err(StartError::RedisUrl(
                "cluster mode needs PostgreSQL: set PORTCULLIS_DATABASE_URL=postgres://… on every node".into(),
            ));
        }
        let store = open_store(&config.storage).await?;
        let api = bind(config.listen, "PORTCULLIS_LISTEN").await?;
        let gateway = bind(config.gateway_listen, "PORTCULLIS_GATEWAY_LISTEN").await?;
        let metrics_listener = match config.security.metrics_listen {
            Some(addr) => Some(bind(addr, "PORTCULLIS_METRICS_LISTEN").await?),
            None => None,
        };

        let accounts = Accounts::new(store.clone(), config.storage.bcrypt_cost);
        if let Some((email, password)) =
            accounts.bootstrap(&config.admin_email, config.admin_password.as_ref().map(|s| s.expose())).await?
        {
            let shown = if config.admin_password.is_some() { "(from PORTCULLIS_ADMIN_PASSWORD)".to_owned() } else { password };
            let at = api.local_addr()?;
            println!("Created the first organisation and its admin. Sign in at http://{at} as {email} with password {shown}");
        }

        let audit = Audit::new(store.clone());
        let changes = Changes::default();
        let egress = Arc::new(own_egress(&config, api.local_addr()?, gateway.local_addr()?));
        let apis = Apis::new(store.clone(), audit.clone(), changes.clone(), egress.clone());
        let vault = Vault::open(config.secret_key.as_ref().map(|s| s.expose()), &config.storage.data_dir)?;
        let metrics = Arc::new(Metrics::default());
        let redis = match &config.redis_url {
            Some(url) => Some(
                RedisCounters::connect(url, &config.redis_prefix, config.redis_fallback == RedisFallback::Closed, store.clone(), metrics.clone())
                    .map_err(|e| StartError::RedisUrl(format!("{e}; use redis://HOST:PORT[/DB]")))?,
            ),
            None => None,
        };
        let limits = Arc::new(Limits::new(Arc::new(Quotas::with_gauge(store.clone(), metrics.quota_entries.clone())), redis, config.redis_fallback, metrics.clone()));
        limits.spawn_flusher(Duration::from_millis(config.quota_flush_ms.max(10)));
        if let DatabaseUrl::Postgres(url) = &database {
            crate::changes::listen::spawn(url.clone(), store.clone(), changes.clone(), Duration::from_millis(config.resync_ms), metrics.clone());
        }
        let keys = Keys::new(KeysDeps {
            store: store.clone(),
            apis: apis.clone(),
            audit: audit.clone(),
            vault,
            bcrypt_cost: config.storage.bcrypt_cost,
            changes: changes.clone(),
            limits: limits.clone(),
        });
        let policies = Policies::new(store.clone(), apis.clone(), keys.clone(), audit.clone(), changes.clone());
        let analytics = Analytics::start(store.clone(), Duration::from_millis(500), config.analytics_retention_days);
        let upstream_timeout = Duration::from_secs_f64(config.upstream_timeout.max(0.001));
        let gateway_threads = match config.gateway_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let gw = Arc::new(
            Gateway::new(store.clone(), keys.clone(), limits.clone(), analytics, metrics.clone(), upstream_timeout, gateway_threads, egress)
                .with_detailed_body_limit(config.security.detailed_body_kb.saturating_mul(1024))
                .with_key_cache_budget((config.security.key_cache_mb.max(0.0) * (1 << 20) as f64) as usize),
        );
        gw.subscribe(&changes);

        let state = AppState {
            config: Arc::new(config),
            health: Health::new(store.clone()),
            accounts,
            apis,
            audit,
            reports: Reports::new(store.clone()),
            keys,
            policies,
            limits,
            metrics,
            gateway: gw.clone(),
            leptos: leptos_options()?,
        };
        let router = Router::new()
            .merge(rest::router(&state))
            .layer(DefaultBodyLimit::max(rest::MAX_BODY_BYTES))
            .merge(web::router(&state))
            .with_state(state.clone());
        Ok(Self { api, gateway, metrics: metrics_listener, router, state, store })
    }

    /// The database, for tests that check what no API returns. Handlers reach it only through
    /// the services in `state`.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api.local_addr().expect("bound listener has an address")
    }

    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway.local_addr().expect("bound listener has an address")
    }

    /// The metrics listener's address, when `PORTCULLIS_METRICS_LISTEN` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|l| l.local_addr().expect("bound listener has an address"))
    }

    /// Serves both listeners until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), StartError> {
        tracing::info!(dashboard = %self.api_addr(), gateway = %self.gateway_addr(), "Portcullis is listening");
        let security = &self.state.config.security;
        match (self.metrics_addr(), &security.metrics_token) {
            (Some(addr), _) => tracing::info!(%addr, "/metrics is served on its own listener (PORTCULLIS_METRICS_LISTEN)"),
            (None, Some(_)) => tracing::info!("/metrics is served on the dashboard port to `Authorization: Bearer <PORTCULLIS_METRICS_TOKEN>`"),
            (None, None) => tracing::info!(
                "/metrics is off: set PORTCULLIS_METRICS_TOKEN to serve it on the dashboard port with a bearer token, or PORTCULLIS_METRICS_LISTEN=ADDR:PORT for a listener of its own"
            ),
        }
        let rules = ConnectionRules::from_config(security);
        let (tx, rx) = tokio::sync::watch::channel(false);
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let api = crate::listen::serve_router(self.api, self.router, rules.clone(), wait(rx.clone()));
        let gateway = crate::gateway::listener::serve(self.gateway, self.state.gateway.clone(), rules.clone(), wait(rx.clone()));
        let metrics = async {
            match self.metrics {
                Some(listener) => {
                    let router = rest::health::listener_router(self.state.clone());
                    crate::listen::serve_router(listener, router, rules.clone(), wait(rx)).await
                }
                None => Ok(()),
            }
        };
        tokio::spawn(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        let (a, g, m) = tokio::join!(api, gateway, metrics);
        a?;
        g?;
        m?;
        // Keep what the gateway counted and recorded since the last write-back.
        self.state.gateway.analytics().flush().await;
        if let Err(e) = self.state.limits.flush().await {
            tracing::warn!("quota counters not saved at shutdown: {e}");
        }
        self.store.close().await;
        Ok(())
    }
}

/// The egress rules: the operator's allow-list, and the addresses Portcullis itself answers on.
fn own_egress(config: &Config, dashboard: SocketAddr, gateway: SocketAddr) -> Egress {
    let mut own = vec![(dashboard, Listener::Dashboard), (gateway, Listener::Gateway)];
    own.extend(config.security.metrics_listen.filter(|a| a.port() != 0).map(|a| (a, Listener::Metrics)));
    Egress::new(config.security.upstream_allow.clone(), own)
}

async fn bind(addr: SocketAddr, var: &'static str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, var, source })
}

/// Where the dashboard's built assets are: `LEPTOS_SITE_ROOT`, else `target/site` under the
/// working directory, else the `site` folder beside the binary's profile folder (so the
/// binary works from anywhere inside the repository's `target`).
fn leptos_options() -> Result<leptos::config::LeptosOptions, StartError> {
    let mut options = leptos::config::get_configuration(None)
        .map_err(|e| StartError::Site(e.to_string()))?
        .leptos_options;
    if std::env::var_os("LEPTOS_SITE_ROOT").is_none() && !Path::new(options.site_root.as_ref()).exists() {
        let beside_binary = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.parent()?.join("site")));
        if let Some(site) = beside_binary.filter(|p| p.exists()) {
            options.site_root = site.to_string_lossy().into_owned().into();
        }
    }
    Ok(options)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
