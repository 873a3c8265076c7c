//! Storage through sqlx: SQLite (the embedded default) or PostgreSQL, behind one `Store`.
//!
//! Queries are written once, in the SQL both databases understand, and run through sqlx's `Any`
//! driver; `$1`-style parameters work on both. Only the migrations differ per backend.

mod analytics;
mod apis;
mod audit;
mod changes;
mod keys;
mod orgs;
mod policies;
mod quota;
mod sessions;
mod users;

pub use analytics::HourlyRow;
pub use apis::{ApiRoute, ApiRow};
pub use audit::AuditRow;
pub use keys::{BadCursor, Dir, KeyCursor, KeyFilter, KeyIndex, KeyRow, KeyRows, KeyWindow, KeyWriter};
pub use policies::PolicyRow;
pub use orgs::OrgRow;
pub use users::{NewUser, UserChange, UserRow};

use crate::config::DatabaseUrl;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique constraint refused the write; the service turns this into a field error.
    #[error("already exists")]
    Conflict,
    /// A stored document no longer parses: a bug or a hand-edited database.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    fn from_write(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(e),
        }
    }
}

/// The cluster-wide locks (PostgreSQL advisory lock keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterLock {
    /// One-time work at start-up.
    Startup = 7415937,
    /// Checking a route against every other API and writing it, as one step.
    Routes = 7415938,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// This process's name in PostgreSQL (`application_name`): the change log records which
    /// node made each write, so a node can skip the announcements of its own writes.
    node_id: std::sync::Arc<str>,
}

impl Store {
    /// Connects (creating the SQLite file if needed) without running migrations.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (conn_str, backend, max) = match url {
            // mode=rwc creates the file. SQLite serialises writers, so a small pool is plenty.
            DatabaseUrl::Sqlite(path) => (format!("sqlite://{}?mode=rwc", path.display()), Backend::Sqlite, 8),
            DatabaseUrl::Postgres(u) => (u.clone(), Backend::Postgres, 16),
        };
        let options = AnyConnectOptions::from_str(&conn_str)?;
        let node_id: std::sync::Arc<str> = format!("portcullis-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]).into();
        let name = node_id.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                let name = name.clone();
                Box::pin(async move {
                    if backend == Backend::Postgres {
                        conn.execute(format!("SET application_name = '{name}'").as_str()).await?;
                    }
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed during a write; busy_timeout waits for the
                        // writer instead of failing with SQLITE_BUSY.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self { pool, backend, node_id })
    }

    /// Applies the migrations in `migrations/<backend>`. On PostgreSQL sqlx holds an advisory
    /// lock meanwhile, so nodes starting together migrate once and the others wait.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(&self.pool).await?,
        }
        Ok(())
    }

    /// Runs `work` while holding a cluster-wide lock (a PostgreSQL advisory lock), so that
    /// nodes starting together do one-time work once. SQLite belongs to one node: no lock.
    pub async fn exclusively<T, F: std::future::Future<Output = T>>(&self, work: F) -> Result<T, StoreError> {
        self.exclusively_as(ClusterLock::Startup, work).await
    }

    /// [`Store::exclusively`] under one of several locks, so unrelated work does not queue.
    /// On SQLite the caller serialises its own tasks: there is one node.
    pub async fn exclusively_as<T, F: std::future::Future<Output = T>>(&self, lock: ClusterLock, work: F) -> Result<T, StoreError> {
        if self.backend == Backend::Sqlite {
            return Ok(work.await);
        }
        let mut conn = self.pool.acquire().await?.detach();
        sqlx::query("SELECT pg_advisory_lock($1)").bind(lock as i64).execute(&mut conn).await?;
        let result = work.await;
        // Closing the session releases the lock.
        let _ = sqlx::Connection::close(conn).await;
        Ok(result)
    }

    /// Is the database answering?
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A boolean column: stored as an integer (0 or 1), the same type on both databases, which
/// sqlx's `Any` driver does not read as `bool`. Row structs read it with
/// `#[sqlx(try_from = "IntBool")]`.
#[derive(Clone, Copy, Debug)]
pub struct IntBool(bool);

impl sqlx::Type<sqlx::Any> for IntBool {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<sqlx::Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for IntBool {
    fn decode(value: <sqlx::Any as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(IntBool(<i64 as sqlx::Decode<sqlx::Any>>::decode(value)? != 0))
    }
}

impl From<IntBool> for bool {
    fn from(b: IntBool) -> bool {
        b.0
    }
}

/// Now, in unix seconds: every timestamp is stored this way, the same on both databases.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
