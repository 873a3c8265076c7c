//! The gateway's listener: one single-threaded tokio runtime per worker thread, each serving
//! the connections handed to it, as nginx's worker processes do. A request, the upstream
//! connection it is forwarded on (each worker has its own pool, see `Gateway::proxy`) and
//! the answer stay on one thread: no cross-thread wake-ups and no work stealing on the hot
//! path. On the shared multi-threaded runtime, the hyper connection task of a pooled upstream
//! connection and the request waiting for it often ran on different threads (bench/gateway.sh).
//!
//! Connections are accepted on the caller's runtime and handed out in turn; a connection stays
//! on its worker for its whole life. The listener is bounded like the dashboard's
//! (`crate::listen`): header and idle deadlines, and a permit per open connection taken
//! before `accept`.

use super::Gateway;
use crate::listen::{stopped, ConnectionRules};
use hyper::body::Incoming;
use hyper::Request;
use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};
use tokio::task::JoinSet;

thread_local! {
    /// Which gateway worker this thread is (none outside the workers).
    static WORKER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The gateway worker running on this thread, if any.
pub fn current_worker() -> Option<usize> {
    WORKER.with(Cell::get)
}

/// A connection, its peer, and its place under the connection cap (given back when it closes).
type Handoff = (std::net::TcpStream, SocketAddr, OwnedSemaphorePermit);

/// Serves the gateway on `listener` with its worker threads until `shutdown` completes, then
/// lets the requests in flight finish. Dropping the returned future stops the workers too.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>, rules: ConnectionRules, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let workers = gateway.workers().max(1);
    let permits = rules.permits();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut queues = Vec::with_capacity(workers);
    let mut threads = Vec::with_capacity(workers);
    for index in 0..workers {
        let (tx, rx) = mpsc::unbounded_channel::<Handoff>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (gateway, stop, rules) = (gateway.clone(), stop_rx.clone(), rules.clone());
        threads.push(std::thread::Builder::new().name(format!("gateway-{index}")).spawn(move || {
            WORKER.with(|w| w.set(Some(index)));
            runtime.block_on(worker(rx, gateway, rules, stop));
        })?);
        queues.push(tx);
    }

    let mut shutdown = pin!(shutdown);
    let mut next = 0;
    while let Some((stream, addr, permit)) = crate::listen::accept(&listener, &permits, &mut shutdown).await {
        match stream.into_std() {
            Ok(stream) => {
                let _ = queues[next].send((stream, addr, permit));
                next = (next + 1) % queues.len();
            }
            Err(e) => tracing::warn!("gateway connection from {addr} dropped: {e}"),
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(queues);
    // Joining blocks: do it off the runtime.
    let _ = tokio::task::spawn_blocking(move || threads.into_iter().for_each(|t| drop(t.join()))).await;
    Ok(())
}

/// One worker: serves each connection it is handed until told to stop, then waits for them.
async fn worker(mut handoffs: mpsc::UnboundedReceiver<Handoff>, gateway: Arc<Gateway>, rules: ConnectionRules, mut stop: watch::Receiver<bool>) {
    let rules = Arc::new(rules);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            handoff = handoffs.recv() => match handoff {
                Some((stream, addr, permit)) => {
                    let (gateway, rules, stop) = (gateway.clone(), rules.clone(), stop.clone());
                    connections.spawn(async move {
                        connection(stream, addr, gateway, &rules, stop).await;
                        drop(permit);
                    });
                }
                None => break,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped(&mut stop) => break,
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn connection(stream: std::net::TcpStream, addr: SocketAddr, gateway: Arc<Gateway>, rules: &ConnectionRules, stop: watch::Receiver<bool>) {
    let stream = match TcpStream::from_std(stream) {
        Ok(s) => s,
        Err(e) => return tracing::warn!("gateway connection from {addr} dropped: {e}"),
    };
    // Answers go out as soon as they are written, as nginx's tcp_nodelay does.
    let _ = stream.set_nodelay(true);
    // Straight to the gateway: it has two routes, which `gateway::handle` tells apart itself.
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let gateway = gateway.clone();
        async move { Ok::<_, Infallible>(super::handle(gateway, addr, req).await) }
    });
    crate::listen::serve_http1(stream, service, rules, stop).await;
}
