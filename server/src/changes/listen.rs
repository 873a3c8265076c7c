//! Applies the changes other nodes made, on PostgreSQL: LISTEN for the announcements that the
//! database makes on every write (delivered within milliseconds), and read the recent change
//! log every `resync` interval to repair any announcement missed while the connection was
//! down. Applying a change twice is harmless (it only drops a cached copy).

use super::{Change, Changes};
use crate::metrics::{Metrics, ResultLabels};
use crate::store::Store;
use sqlx::postgres::PgListener;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHANNEL: &str = "portcullis_changes";
/// Log entries older than this are deleted (a node away longer starts with an empty cache).
const KEEP_LOG: Duration = Duration::from_secs(3600);

#[derive(serde::Deserialize)]
struct Notice {
    id: i64,
    /// The node that made the write (its `application_name`, see `Store::node_id`).
    origin: String,
    change: Change,
}

struct Applied {
    changes: Changes,
    metrics: Arc<Metrics>,
    /// Log ids already applied, with when, so the resync skips them.
    seen: HashMap<i64, Instant>,
}

impl Applied {
    fn apply(&mut self, id: i64, change: Change, how: &'static str) {
        if self.seen.insert(id, Instant::now()).is_none() {
            self.metrics.change_notices.get_or_create(&ResultLabels { result: how }).inc();
            self.changes.publish(change);
        }
    }
}

/// Runs until the process ends, reconnecting by itself.
pub fn spawn(database_url: String, store: Store, changes: Changes, resync: Duration, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        let mut applied = Applied { changes, metrics, seen: HashMap::new() };
        let mut last_resync: Option<Instant> = None;
        let mut connected_once = false;
        loop {
            let mut listener = match connect(&database_url).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!("change notices: cannot LISTEN ({e}); trying again in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if connected_once {
                tracing::info!("change notices: listening again");
            }
            connected_once = true;
            // Whatever happened while not listening.
            resync_now(&store, &mut applied, &mut last_resync).await;
            let mut tick = tokio::time::interval(resync.max(Duration::from_millis(100)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    notice = listener.try_recv() => match notice {
                        Ok(Some(n)) => match serde_json::from_str::<Notice>(n.payload()) {
                            // This node applied its own writes as it made them; applying
                            // them again later would drop cache entries loaded since.
                            Ok(Notice { origin, .. }) if origin == store.node_id() => {}
                            Ok(Notice { id, change, .. }) => applied.apply(id, change, "received"),
                            Err(e) => tracing::error!("change notice not understood ({e}): {}", n.payload()),
                        },
                        // The connection dropped: connect again, then resync.
                        Ok(None) | Err(_) => {
                            tracing::warn!("change notices: connection to PostgreSQL lost; reconnecting");
                            break;
                        }
                    },
                    _ = tick.tick() => resync_now(&store, &mut applied, &mut last_resync).await,
                }
            }
        }
    });
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Applies the logged changes not seen yet, from a window that reaches back past the last
/// successful resync, and trims the log and the memory of what was seen.
async fn resync_now(store: &Store, applied: &mut Applied, last: &mut Option<Instant>) {
    let window = match last {
        Some(at) => at.elapsed() + Duration::from_secs(10),
        None => Duration::from_secs(60),
    }
    .max(Duration::from_secs(60));
    match store.recent_changes(window).await {
        Ok(rows) => {
            for (id, json) in rows {
                match serde_json::from_str::<Change>(&json) {
                    Ok(change) => applied.apply(id, change, "repaired"),
                    Err(e) => tracing::error!("logged change not understood ({e}): {json}"),
                }
            }
            *last = Some(Instant::now());
        }
        Err(e) => {
            tracing::warn!("change log not read: {e}");
            return;
        }
    }
    applied.seen.retain(|_, at| at.elapsed() < KEEP_LOG);
    if let Err(e) = store.trim_change_log(KEEP_LOG).await {
        tracing::warn!("change log not trimmed: {e}");
    }
}
