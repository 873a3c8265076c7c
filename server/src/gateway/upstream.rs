//! Connections to upstreams: one pool per gateway worker, and each connection driven by the
//! request that uses it.
//!
//! hyper's pooled client runs every upstream connection as a task of its own. A proxied request
//! then woke that task to send, was woken back with the answer and again for the body, and took
//! and returned its connection through bookkeeping shared by every thread. Here an HTTP/1
//! connection (`hyper::client::conn`, the same protocol code) is polled inside the request's
//! own task while the request is sent and the answer streamed back (`UpstreamBody`), and then
//! goes back to the idle list of the worker it was used on. Nothing is shared between workers.
//!
//! Every connection is opened to an address the egress rules allow (`egress`), checked on the
//! addresses a name resolves to now, not when the API was saved.

use super::egress::{Egress, EgressRefusal};
use axum::body::Body;
use axum::http::{Request, Response, Uri};
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_tls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::net::{IpAddr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tower::{Service, ServiceExt};

type Io = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

/// An idle connection is closed after waiting this long for its next request (as hyper's
/// pooled client does).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Idle connections kept per upstream and worker; one coming back to a full list is closed.
const MAX_IDLE: usize = 256;
/// How often expired or closed idle connections are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Why an upstream gave no answer: the most specific message of the failure, such as
/// "Connection refused (os error 111)". For the log only: it names internal addresses.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UpstreamError(pub String);

/// One worker's connections to every upstream.
pub struct Upstreams {
    connector: HttpsConnector<GuardedConnector>,
    idle: Arc<IdleConns>,
    sweeping: AtomicBool,
}

/// Idle connections by origin (`scheme://authority`), the most recently used last.
type IdleConns = Mutex<HashMap<Arc<str>, Vec<Idle>>>;

struct Idle {
    conn: Conn,
    since: Instant,
}

/// One HTTP/1 connection: the handle requests are sent through, and the connection itself,
/// which does the reading and writing whenever it is polled.
struct Conn {
    send: SendRequest<Body>,
    io: Connection<Io, Body>,
    /// The connection future has finished (closed or failed): it must not be polled again.
    done: bool,
}

impl Conn {
    /// Lets the connection make progress: write the request, read the answer into its body.
    fn drive(&mut self, cx: &mut Context<'_>) {
        if !self.done && Pin::new(&mut self.io).poll(cx).is_ready() {
            self.done = true;
        }
    }

    /// Open and free for the next request. Polling it once (with nobody to wake) is also how an
    /// idle connection notices that the upstream closed it.
    fn reusable(&mut self) -> bool {
        self.drive(&mut Context::from_waker(Waker::noop()));
        !self.done && self.send.is_ready()
    }
}

impl Upstreams {
    pub fn new(timeout: Duration, egress: Arc<Egress>) -> Self {
        let connector = HttpsConnector::new_with_connector(GuardedConnector { egress, timeout });
        Self { connector, idle: Arc::default(), sweeping: AtomicBool::new(false) }
    }

    /// Sends `req` (origin-form URI, Host set) to `target`, on an idle connection to `origin`
    /// if there is one. A request that a pooled connection could not even send (the upstream
    /// had closed it) is sent once more on a new connection.
    pub async fn send(&self, origin: &Arc<str>, target: &Uri, mut req: Request<Body>) -> Result<Response<UpstreamBody>, UpstreamError> {
        loop {
            let (mut conn, reused) = match self.checkout(origin) {
                Some(conn) => (conn, true),
                None => (self.connect(target).await?, false),
            };
            let mut answer = pin!(conn.send.try_send_request(req));
            let answer = poll_fn(|cx| {
                conn.drive(cx);
                answer.as_mut().poll(cx)
            })
            .await;
            match answer {
                Ok(response) => {
                    let lease = Lease { conn, origin: origin.clone(), home: self.idle.clone() };
                    return Ok(response.map(|body| UpstreamBody { body, ended: false, lease: Some(lease) }));
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(UpstreamError(innermost(e.error()))),
                },
            }
        }
    }

    fn checkout(&self, origin: &str) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(origin)?;
        while let Some(mut c) = list.pop() {
            if c.since.elapsed() < IDLE_TIMEOUT && c.conn.reusable() {
                return Some(c.conn);
            }
        }
        None
    }

    async fn connect(&self, target: &Uri) -> Result<Conn, UpstreamError> {
        let io = self.connector.clone().oneshot(target.clone()).await.map_err(|e| UpstreamError(innermost(&*e)))?;
        let (send, io) = http1::handshake(io).await.map_err(|e| UpstreamError(innermost(&e)))?;
        self.start_sweeping();
        Ok(Conn { send, io, done: false })
    }

    /// Closes idle connections that expired or that the upstream closed, every `SWEEP_EVERY`,
    /// on the runtime of the worker that opened the pool's first connection (called on each
    /// new connection, never per request); stops when the pool is dropped.
    fn start_sweeping(&self) {
        if self.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let pool: Weak<IdleConns> = Arc::downgrade(&self.idle);
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(SWEEP_EVERY).await;
                let Some(idle) = pool.upgrade() else { return };
                let mut lists = idle.lock().unwrap_or_else(|e| e.into_inner());
                lists.retain(|_, list| {
                    list.retain_mut(|c| c.since.elapsed() < IDLE_TIMEOUT && c.conn.reusable());
                    !list.is_empty()
                });
            }
        });
    }
}

/// A connection lent to one answer until its body has been read.
struct Lease {
    conn: Conn,
    origin: Arc<str>,
    home: Arc<IdleConns>,
}

impl Lease {
    /// Back to the idle list (the next checkout makes sure it is still open and free).
    fn release(self) {
        if self.conn.done {
            return;
        }
        let mut idle = self.home.lock().unwrap_or_else(|e| e.into_inner());
        let list = match idle.get_mut(&*self.origin) {
            Some(list) => list,
            None => idle.entry(self.origin).or_default(),
        };
        if list.len() < MAX_IDLE {
            list.push(Idle { conn: self.conn, since: Instant::now() });
        }
    }
}

/// An upstream's answer body. Reading it drives the connection it arrives on; once it has
/// been read to the end, the connection goes back to its pool. A body dropped before its end
/// takes the connection with it (the rest of the answer would still be on the wire).
pub struct UpstreamBody {
    body: Incoming,
    ended: bool,
    lease: Option<Lease>,
}

impl UpstreamBody {
    fn release(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release();
        }
    }
}

impl hyper::body::Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        // The frame may have arrived already; else the connection reads it in.
        let mut frame = Pin::new(&mut this.body).poll_frame(cx);
        if frame.is_pending() {
            if let Some(lease) = &mut this.lease {
                lease.conn.drive(cx);
            }
            frame = Pin::new(&mut this.body).poll_frame(cx);
        }
        if matches!(frame, Poll::Ready(None)) {
            this.ended = true;
            this.release();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        // An empty answer (204, 304, a HEAD, Content-Length: 0) is never read: it is complete.
        if hyper::body::Body::is_end_stream(self) {
            self.release();
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// hyper's TCP connector, opening connections only to addresses the egress rules allow: an
/// IP-literal target is checked here (the connector does not resolve it), a name through the
/// resolver, which drops the addresses refused.
#[derive(Clone)]
pub struct GuardedConnector {
    egress: Arc<Egress>,
    timeout: Duration,
}

impl Service<Uri> for GuardedConnector {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, target: Uri) -> Self::Future {
        let port = target.port_u16().unwrap_or(if target.scheme_str() == Some("https") { 443 } else { 80 });
        let host = target.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            if let Err(refused) = self.egress.check(SocketAddr::new(ip, port)) {
                return Box::pin(std::future::ready(Err::<Self::Response, BoxError>(BoxError::from(refused))));
            }
        }
        // The resolver must know the port (own listeners are refused by address and port),
        // which hyper does not pass it: one connector per connection, a few fields to fill.
        let mut http = HttpConnector::new_with_resolver(GuardedResolver { egress: self.egress.clone(), port });
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.timeout));
        http.enforce_http(false);
        Box::pin(async move { http.oneshot(target).await.map_err(BoxError::from) })
    }
}

/// Resolves an upstream's name for one port and keeps only the addresses the egress rules
/// allow; when none is left, the error names the first refusal (for the log).
#[derive(Clone)]
struct GuardedResolver {
    egress: Arc<Egress>,
    port: u16,
}

impl Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        Box::pin(resolve_allowed(self.egress.clone(), name, self.port))
    }
}

async fn resolve_allowed(egress: Arc<Egress>, name: Name, port: u16) -> Result<std::vec::IntoIter<SocketAddr>, BoxError> {
    let mut allowed = Vec::new();
    let mut refused = None;
    for addr in tokio::net::lookup_host((name.as_str(), port)).await? {
        match egress.check(addr) {
            Ok(()) => allowed.push(addr),
            Err(r) => {
                refused.get_or_insert(r);
            }
        }
    }
    match refused {
        Some(r) if allowed.is_empty() => Err(r.into()),
        _ => Ok(allowed.into_iter()),
    }
}

/// Checks an upstream URL before an API is saved: every address its host resolves to now must
/// be allowed. A name that does not resolve (yet) passes: DNS may not be ready, and the
/// connection is checked again anyway.
pub async fn check_target(egress: &Egress, target_url: &str) -> Result<(), EgressRefusal> {
    /// A save does not wait on a slow resolver longer than this.
    const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
    let Ok(target) = target_url.parse::<Uri>() else { return Ok(()) };
    let Some(host) = target.host() else { return Ok(()) };
    let port = target.port_u16().unwrap_or(if target.scheme_str() == Some("https") { 443 } else { 80 });
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return egress.check(SocketAddr::new(ip, port));
    }
    let Ok(Ok(addrs)) = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port))).await else { return Ok(()) };
    addrs.map(|a| egress.check(a)).collect()
}

/// The last message in an error's chain.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(source) = last.source() {
        last = source;
    }
    last.to_string()
}
