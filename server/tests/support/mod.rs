//! What the integration tests and the benches share: a free port, and the configuration of a
//! node started in-process. Both include this file with `#[path]` (a bench cannot reach a test
//! binary's modules), and each keeps only what differs in its own code.
#![allow(dead_code)]

use server::config::{Config, SecurityConfig, StorageConfig};

/// A loopback port free right now (the listener is closed again before it is returned).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A node on `database_url` (None: SQLite under `data_dir`) listening on ephemeral loopback
/// ports, with no admin or gateway secret, that may proxy to loopback upstreams.
pub fn node_config(database_url: Option<String>, data_dir: std::path::PathBuf) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        gateway_listen: "127.0.0.1:0".parse().unwrap(),
        gateway_threads: 1,
        storage: StorageConfig {
            database_url,
            data_dir,
            // The cheapest bcrypt cost: the code path is the same, and runs stay quick.
            bcrypt_cost: 4,
        },
        redis_url: None,
        redis_fallback: server::limits::RedisFallback::Closed,
        redis_prefix: "portcullis:".into(),
        resync_ms: 5000,
        admin_secret: None,
        gateway_secret: None,
        admin_email: "admin@example.org".into(),
        admin_password: None,
        secret_key: None,
        secure_cookies: false,
        upstream_timeout: 5.0,
        quota_flush_ms: 1000,
        analytics_retention_days: 0,
        security: SecurityConfig {
            // Test upstreams listen on loopback, which is refused by default.
            upstream_allow: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            ..Default::default()
        },
    }
}
