//! The reverse proxy: sends an allowed request to the API's target and streams the answer back.

use super::refusal::Refusal;
use super::registry::LiveApi;
use super::upstream::{UpstreamError, Upstreams};
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response, Uri};
use std::net::SocketAddr;
use std::time::Duration;

/// Headers that describe one hop, not the message: never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// One gateway worker's proxy: its upstream connections, and how long an upstream may take.
pub struct Proxy {
    upstreams: Upstreams,
    timeout: Duration,
}

impl Proxy {
    pub fn new(timeout: Duration) -> Self {
        Self { upstreams: Upstreams::new(timeout), timeout }
    }

    /// Forwards the request. `credential` names what to take out of it (the client's key must
    /// not reach the upstream).
    pub async fn forward(&self, api: &LiveApi, mut req: Request<Body>, client: SocketAddr, credential: Credential<'_>) -> Result<Response<Body>, Refusal> {
        let uri = upstream_uri(api, req.uri(), &credential).ok_or(Refusal::Internal)?;
        let host = req.headers().get(header::HOST).cloned();
        let headers = req.headers_mut();
        strip_hop_by_hop(headers);
        match credential {
            Credential::Header(name) => {
                headers.remove(name);
            }
            Credential::Cookie(name) => strip_cookie(headers, name),
            Credential::Param(_) | Credential::None => {}
        }
        // The upstream sees its own host name; the client's is passed as X-Forwarded-Host.
        headers.insert(header::HOST, api.host.clone());
        let forwarded_for = match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(prior) => format!("{prior}, {}", client.ip()),
            None => client.ip().to_string(),
        };
        if let Ok(v) = HeaderValue::from_str(&forwarded_for) {
            headers.insert(X_FORWARDED_FOR, v);
        }
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        if let Some(h) = host {
            headers.insert(X_FORWARDED_HOST, h);
        }
        *req.uri_mut() = uri;
        *req.version_mut() = axum::http::Version::HTTP_11;

        let response = match tokio::time::timeout(self.timeout, self.upstreams.send(&api.origin, &api.target, req)).await {
            Err(_) => return Err(Refusal::UpstreamTimeout),
            Ok(Err(UpstreamError(why))) => return Err(Refusal::UpstreamUnreachable(why)),
            Ok(Ok(r)) => r,
        };
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        Ok(Response::from_parts(parts, Body::new(body)))
    }
}

/// Where the credential was, so the proxy can remove it.
pub enum Credential<'a> {
    Header(&'a str),
    Param(&'a str),
    Cookie(&'a str),
    None,
}

impl<'a> From<&'a super::credentials::Source> for Credential<'a> {
    fn from(s: &'a super::credentials::Source) -> Self {
        use super::credentials::Source;
        match s {
            Source::Header(n) => Credential::Header(n),
            Source::Param(n) => Credential::Param(n),
            Source::Cookie(n) => Credential::Cookie(n),
        }
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in Connection are hop-by-hop too.
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<String> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        for name in &named {
            headers.remove(name.as_str());
        }
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

fn strip_cookie(headers: &mut HeaderMap, name: &str) {
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| pair.split_once('=').map(|(k, _)| k != name).unwrap_or(true))
        .map(str::to_owned)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty() {
        set(headers, "cookie", &kept.join("; "));
    }
}

/// The target's path + (the request's path, without the listen path where the API says so) +
/// query (without the key parameter, if the key came that way), in origin form: the
/// connection is already to the target, and `Host` names it.
fn upstream_uri(api: &LiveApi, uri: &Uri, credential: &Credential<'_>) -> Option<Uri> {
    let path = uri.path();
    let path = if api.def.proxy.strip_listen_path { api.inner_path(path) } else { path };
    let base = api.target.path().trim_end_matches('/');
    let mut out = format!("{base}{path}");
    let query = match (uri.query(), credential) {
        (Some(q), Credential::Param(name)) => {
            let kept: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            (!kept.is_empty()).then(|| url::form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish())
        }
        (q, _) => q.map(str::to_owned),
    };
    if let Some(q) = query {
        out.push('?');
        out.push_str(&q);
    }
    out.parse().ok()
}
