//! What bounds every listener (dashboard, metrics, gateway), so that no client can hold the
//! server's connections: a deadline for a request's headers, a deadline for a silent
//! connection, and a cap on open connections (a permit is taken before `accept`, so the
//! excess waits in the kernel's queue, not in our memory).
//!
//! hyper arms its header-read timer also while a keep-alive connection waits for its next
//! request, so an idle keep-alive connection is closed after `header_timeout` already when
//! that is the shorter; `idle_timeout` bounds a connection on which no byte moves in either
//! direction (e.g. a request whose body stalls), checked by one timer per connection.

use crate::config::SecurityConfig;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The bounds of one listener, from `SecurityConfig`.
#[derive(Clone, Debug)]
pub struct ConnectionRules {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl ConnectionRules {
    pub fn from_config(security: &SecurityConfig) -> Self {
        let secs = |s: f64| Duration::from_secs_f64(if s.is_finite() { s.max(0.001) } else { 3600.0 });
        Self {
            header_timeout: secs(security.header_timeout),
            idle_timeout: secs(security.idle_timeout),
            max_connections: security.max_connections.max(1),
        }
    }

    /// hyper's HTTP/1 server with the header deadline (it needs a timer to keep one).
    pub fn http1(&self) -> http1::Builder {
        let mut builder = http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(self.header_timeout);
        builder
    }

    /// The permits that cap this listener's open connections.
    pub fn permits(&self) -> Arc<Semaphore> {
        Arc::new(Semaphore::new(self.max_connections))
    }
}

/// The next connection under the cap, with the permit that counts it (given back when it is
/// dropped); `None` once `shutdown` completes.
pub async fn accept<F: Future<Output = ()>>(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    shutdown: &mut Pin<&mut F>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let permit = tokio::select! {
        _ = shutdown.as_mut() => return None,
        permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
    };
    loop {
        tokio::select! {
            _ = shutdown.as_mut() => return None,
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => return Some((stream, addr, permit)),
                // Out of file descriptors and the like: wait rather than spin (as axum::serve does).
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// When bytes last moved on a connection, in milliseconds since it opened.
#[derive(Debug)]
pub struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self { opened: Instant::now(), last_ms: AtomicU64::new(0) })
    }

    fn touch(&self) {
        self.last_ms.store(self.opened.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        self.opened.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }

    /// Completes once no byte has moved for `limit`. One timer, re-armed only when it fires.
    pub async fn silent(&self, limit: Duration) {
        loop {
            let silent = self.silent_for();
            if silent >= limit {
                return;
            }
            tokio::time::sleep(limit - silent).await;
        }
    }
}

/// A connection's stream that notes its `Activity`.
pub struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub fn new(io: T, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` (HTTP/1, with `ConnectInfo<SocketAddr>` for the handlers)
/// within `rules` until `shutdown` completes, then lets the requests in flight finish.
pub async fn serve_router(listener: TcpListener, router: Router, rules: ConnectionRules, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let permits = rules.permits();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut connections = JoinSet::new();
    while let Some((stream, addr, permit)) = accept(&listener, &permits, &mut shutdown).await {
        while connections.try_join_next().is_some() {}
        let (router, rules, stop) = (router.clone(), rules.clone(), stop_rx.clone());
        connections.spawn(async move {
            serve_connection(stream, addr, router, &rules, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_connection(stream: TcpStream, addr: SocketAddr, router: Router, rules: &ConnectionRules, stop: watch::Receiver<bool>) {
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        // What `into_make_service_with_connect_info` gave: sign-in throttles by address.
        req.extensions_mut().insert(ConnectInfo(addr));
        router.clone().oneshot(req)
    });
    serve_http1(stream, service, rules, stop).await;
}

/// Serves one connection with hyper's HTTP/1 within `rules`: the header deadline (hyper's, armed
/// per request head) and the idle deadline (one timer per connection). On shutdown, or when the
/// connection has been silent too long, the request in flight is finished, then it is closed.
pub async fn serve_http1<S>(stream: TcpStream, service: S, rules: &ConnectionRules, mut stop: watch::Receiver<bool>)
where
    S: hyper::service::HttpService<Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let activity = Activity::new();
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let conn = rules.http1().serve_connection(io, service);
    let mut conn = pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stopped(&mut stop) => {}
        _ = activity.silent(rules.idle_timeout) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Completes when the server stops, or is dropped.
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
