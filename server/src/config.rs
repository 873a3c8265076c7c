//! One configuration, read from flags and `PORTCULLIS_*` variables (clap does both), checked
//! before anything starts so that a mistake is reported with what to change.

use clap::Args;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Args, Clone, Debug)]
pub struct Config {
    #[command(flatten)]
    pub storage: StorageConfig,

    /// Address of the dashboard and the REST APIs.
    #[arg(long, env = "PORTCULLIS_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Address of the gateway that enforces keys and proxies to your APIs.
    #[arg(long, env = "PORTCULLIS_GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub gateway_listen: SocketAddr,

    /// Threads serving the gateway, each with its own connections and upstream pool; 0 means
    /// one per CPU core.
    #[arg(long, env = "PORTCULLIS_GATEWAY_THREADS", default_value_t = 0)]
    pub gateway_threads: usize,

    /// Redis for cluster-wide rate limits and quotas (`redis://…`); needs PostgreSQL.
    #[arg(long, env = "PORTCULLIS_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// What the gateway does while Redis is unreachable: `closed` refuses requests that need a
    /// counter (503); `local` counts on each node alone until Redis is back.
    #[arg(long, env = "PORTCULLIS_REDIS_FALLBACK", value_enum, default_value = "closed")]
    pub redis_fallback: crate::limits::RedisFallback,

    /// Prefix of every Redis key Portcullis writes (several clusters may share one Redis).
    #[arg(long, env = "PORTCULLIS_REDIS_PREFIX", default_value = "portcullis:")]
    pub redis_prefix: String,

    /// How often a node reads the change log to repair change notices it missed, in
    /// milliseconds (PostgreSQL only; notices themselves arrive at once).
    #[arg(long, env = "PORTCULLIS_RESYNC_MS", default_value_t = 5000)]
    pub resync_ms: u64,

    /// Enables `/admin` (Tyk's Dashboard Admin API) with this `Admin-Auth` secret.
    #[arg(long, env = "PORTCULLIS_ADMIN_SECRET", hide_env_values = true)]
    pub admin_secret: Option<Secret>,

    /// Enables `/tyk` (Tyk's Gateway API) with this `X-Tyk-Authorization` secret.
    #[arg(long, env = "PORTCULLIS_GATEWAY_SECRET", hide_env_values = true)]
    pub gateway_secret: Option<Secret>,

    /// Email of the first admin, created on an empty database.
    #[arg(long, env = "PORTCULLIS_ADMIN_EMAIL", default_value = "admin@portcullis.local")]
    pub admin_email: String,

    /// Password of the first admin; generated and printed when unset.
    #[arg(long, env = "PORTCULLIS_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,

    /// 64 hex characters that encrypt HMAC secrets at rest. Default: a key file created in the
    /// data folder. Every node of a cluster needs the same value.
    #[arg(long, env = "PORTCULLIS_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<Secret>,

    /// How long the gateway waits for an upstream's answer, in seconds (then 504).
    #[arg(long, env = "PORTCULLIS_UPSTREAM_TIMEOUT", default_value_t = 30.0)]
    pub upstream_timeout: f64,

    /// How often live quota counters are written back to storage, in milliseconds. A crash
    /// loses at most this much counting.
    #[arg(long, env = "PORTCULLIS_QUOTA_FLUSH_MS", default_value_t = 1000)]
    pub quota_flush_ms: u64,

    /// Days of raw analytics records kept (hourly aggregates are kept); 0 keeps everything.
    #[arg(long, env = "PORTCULLIS_ANALYTICS_RETENTION_DAYS", default_value_t = 30)]
    pub analytics_retention_days: i64,

    /// Mark the session cookie `Secure` (set this when the dashboard is served over HTTPS).
    #[arg(long, env = "PORTCULLIS_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    #[command(flatten)]
    pub security: SecurityConfig,
}

/// What keeps tenants and clients where they belong: where upstreams may be, who may read the
/// metrics, how long and how many connections a listener holds, and how much memory the
/// gateway's key cache may take.
#[derive(Args, Clone, Debug)]
pub struct SecurityConfig {
    /// Addresses upstreams and webhook targets may use although they are refused by default
    /// (loopback, link-local, cloud metadata, Portcullis's own listeners): CIDRs separated by
    /// commas, e.g. `127.0.0.0/8,::1/128`.
    #[arg(long, env = "PORTCULLIS_UPSTREAM_ALLOW", value_delimiter = ',')]
    pub upstream_allow: Vec<ipnet::IpNet>,

    /// Token `/metrics` requires (`Authorization: Bearer <token>`). Without it, and without
    /// PORTCULLIS_METRICS_LISTEN, `/metrics` is not served.
    #[arg(long, env = "PORTCULLIS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,

    /// Serve `/metrics` on this address of its own (no token needed there), e.g. an address
    /// only the monitoring network reaches.
    #[arg(long, env = "PORTCULLIS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Seconds a client has to send a request's headers, on both listeners (nginx's
    /// `client_header_timeout`).
    #[arg(long, env = "PORTCULLIS_HEADER_TIMEOUT", default_value_t = DEFAULT_HEADER_TIMEOUT)]
    pub header_timeout: f64,

    /// Seconds an idle keep-alive connection stays open, on both listeners.
    #[arg(long, env = "PORTCULLIS_IDLE_TIMEOUT", default_value_t = DEFAULT_IDLE_TIMEOUT)]
    pub idle_timeout: f64,

    /// Connections each listener serves at once; more wait in the kernel's queue.
    #[arg(long, env = "PORTCULLIS_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// KiB of each request and response body kept in analytics for a key with
    /// `enable_detailed_recording`; the rest is streamed, not kept.
    #[arg(long, env = "PORTCULLIS_DETAILED_BODY_KB", default_value_t = DEFAULT_DETAILED_BODY_KB)]
    pub detailed_body_kb: usize,

    /// MiB of memory the gateway's cache of keys in use may take (an estimate per key); past
    /// it the least recently used keys are dropped, to be loaded again when next used.
    #[arg(long, env = "PORTCULLIS_KEY_CACHE_MB", default_value_t = DEFAULT_KEY_CACHE_MB)]
    pub key_cache_mb: f64,
}

pub const DEFAULT_HEADER_TIMEOUT: f64 = 10.0;
pub const DEFAULT_IDLE_TIMEOUT: f64 = 75.0;
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
pub const DEFAULT_DETAILED_BODY_KB: usize = 64;
pub const DEFAULT_KEY_CACHE_MB: f64 = 256.0;

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            upstream_allow: Vec::new(),
            metrics_token: None,
            metrics_listen: None,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            detailed_body_kb: DEFAULT_DETAILED_BODY_KB,
            key_cache_mb: DEFAULT_KEY_CACHE_MB,
        }
    }
}

/// What every command that touches the data needs: where it is, and how to hash passwords.
#[derive(Args, Clone, Debug)]
pub struct StorageConfig {
    /// `sqlite://PATH` or `postgres://…`. Defaults to an SQLite file in the data folder.
    // A String, checked by `database()`: clap would echo a bad value, password included.
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Folder for the embedded database and other local state.
    #[arg(long, env = "PORTCULLIS_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// bcrypt cost for dashboard passwords (4–31; each step doubles the work).
    #[arg(long, env = "PORTCULLIS_BCRYPT_COST", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,
}

impl StorageConfig {
    /// The database to use: the configured URL, or the SQLite file in the data folder.
    pub fn database(&self) -> Result<DatabaseUrl, String> {
        match &self.database_url {
            Some(url) => url.parse(),
            None => Ok(DatabaseUrl::Sqlite(self.data_dir.join("portcullis.db"))),
        }
    }
}

/// Where the data lives. Parsing says exactly what is wrong with a bad URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:")) {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("sqlite URL needs a file path, e.g. sqlite://data/portcullis.db".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            let url = url::Url::parse(s).map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
            if url.host_str().is_none() {
                return Err("PostgreSQL URL needs a host, e.g. postgres://postgres@127.0.0.1:5432/portcullis".into());
            }
            return Ok(Self::Postgres(s.to_owned()));
        }
        Err(format!(
            "unsupported database URL '{}': use sqlite://PATH or postgres://USER@HOST:PORT/DB",
            redact_url(s)
        ))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            Self::Postgres(u) => write!(f, "{}", redact_url(u)),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A URL with any password replaced, for messages and logs.
fn redact_url(s: &str) -> String {
    match url::Url::parse(s) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => s.split('@').next_back().unwrap_or_default().to_owned(),
    }
}

/// A value that must never be printed: Debug shows only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_database_urls() {
        assert_eq!(
            "sqlite://data/x.db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        assert!(matches!(
            "postgres://postgres@127.0.0.1:5432/db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        let err = "mysql://root:hunter2@localhost/db".parse::<DatabaseUrl>().unwrap_err();
        assert!(err.contains("sqlite://PATH"), "{err}");
        assert!(!err.contains("hunter2"), "password leaked: {err}");
        assert!("sqlite://".parse::<DatabaseUrl>().is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let s: Secret = "hunter2".parse().unwrap();
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}
