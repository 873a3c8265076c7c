//! The reverse proxy: sends an allowed request to the API's target and streams the answer back.
//!
//! Nothing that opens a door crosses it: the credential the API knows of, in every place the
//! API reads it, and the dashboard's session cookies are taken out of the request, and an
//! upstream cannot set a dashboard session cookie (a tenant's upstream may share the
//! dashboard's host name).

use super::egress::Egress;
use super::refusal::Refusal;
use super::registry::LiveApi;
use super::upstream::{UpstreamError, Upstreams};
use app::backend::SESSION_COOKIE_NAMES;
use app::model::AuthMode;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response, Uri};
use std::net::SocketAddr;
use std::sync::Arc;
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
    pub fn new(timeout: Duration, egress: Arc<Egress>) -> Self {
        Self { upstreams: Upstreams::new(timeout, egress), timeout }
    }

    /// Forwards the request without `credential` and without the dashboard's session cookies.
    pub async fn forward(&self, api: &LiveApi, mut req: Request<Body>, client: SocketAddr, credential: Credential<'_>) -> Result<Response<Body>, Refusal> {
        let uri = upstream_uri(api, req.uri(), &credential).ok_or(Refusal::Internal)?;
        let host = req.headers().get(header::HOST).cloned();
        let headers = req.headers_mut();
        strip_hop_by_hop(headers);
        strip_credentials(headers, &credential);
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
            Err(_) => {
                tracing::warn!(api_id = %api.api_id, "upstream did not answer in time");
                return Err(Refusal::UpstreamTimeout);
            }
            // The cause names addresses and ports: the operator's log has it, the client not.
            Ok(Err(UpstreamError(why))) => {
                tracing::warn!(api_id = %api.api_id, error = %why, "upstream could not be reached");
                return Err(Refusal::UpstreamUnreachable);
            }
            Ok(Ok(r)) => r,
        };
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        drop_session_set_cookies(&mut parts.headers);
        Ok(Response::from_parts(parts, Body::new(body)))
    }
}

/// Every place an API reads its credential from, to be taken out before forwarding (not only
/// where this request's key was: a client may send it in several places at once).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credential<'a> {
    pub header: Option<&'a str>,
    pub param: Option<&'a str>,
    pub cookie: Option<&'a str>,
}

impl<'a> Credential<'a> {
    /// What the API knows as a credential, in whatever mode it is (keyless included: its
    /// configured places still carry what looks like one).
    pub fn of(api: &'a LiveApi) -> Self {
        let auth = &api.def.auth;
        let header = match api.auth {
            AuthMode::BasicAuth => "authorization",
            _ => api.auth_header.as_str(),
        };
        let named = |name: &'a str| if name.is_empty() { header } else { name };
        let key_places = matches!(api.auth, AuthMode::Key | AuthMode::Keyless);
        Credential {
            header: Some(header),
            param: (key_places && auth.use_param).then(|| named(auth.param_name.as_str())),
            cookie: (key_places && auth.use_cookie).then(|| named(auth.cookie_name.as_str())),
        }
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

/// Takes the API's credential header and cookie and the dashboard's session cookies out of a
/// request's headers (the parameter is taken out of the URI by `upstream_uri`).
pub fn strip_credentials(headers: &mut HeaderMap, credential: &Credential<'_>) {
    if let Some(name) = credential.header {
        headers.remove(name);
    }
    let is_credential = |name: &str| {
        SESSION_COOKIE_NAMES.iter().any(|s| s.eq_ignore_ascii_case(name)) || credential.cookie.is_some_and(|c| c.eq_ignore_ascii_case(name))
    };
    if !headers.contains_key(header::COOKIE) {
        return;
    }
    let kept: Vec<&str> = headers
        .get_all(header::COOKIE)
        .iter()
        // A Cookie value that is not text cannot be read for names: it is not forwarded.
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !is_credential(pair.split_once('=').map_or(*pair, |(k, _)| k).trim()))
        .collect();
    let joined = kept.join("; ");
    headers.remove(header::COOKIE);
    if let Some(v) = (!joined.is_empty()).then(|| HeaderValue::from_str(&joined).ok()).flatten() {
        headers.insert(header::COOKIE, v);
    }
}

/// Drops every `Set-Cookie` of an upstream's answer that would set a dashboard session cookie.
pub fn drop_session_set_cookies(headers: &mut HeaderMap) {
    let sets_session = |v: &HeaderValue| {
        // A value that is not text cannot be read: it is dropped rather than trusted.
        let Ok(text) = v.to_str() else { return true };
        let name = text.split(';').next().unwrap_or("").split_once('=').map_or("", |(k, _)| k).trim();
        SESSION_COOKIE_NAMES.iter().any(|s| s.eq_ignore_ascii_case(name))
    };
    if !headers.get_all(header::SET_COOKIE).iter().any(sets_session) {
        return;
    }
    let kept: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().filter(|v| !sets_session(*v)).cloned().collect();
    headers.remove(header::SET_COOKIE);
    for v in kept {
        headers.append(header::SET_COOKIE, v);
    }
}

/// The target's path + (the request's path, without the listen path where the API says so) +
/// query (without the API's key parameter), in origin form: the
/// connection is already to the target, and `Host` names it.
fn upstream_uri(api: &LiveApi, uri: &Uri, credential: &Credential<'_>) -> Option<Uri> {
    let path = uri.path();
    let path = if api.def.proxy.strip_listen_path { api.inner_path(path) } else { path };
    let base = api.target.path().trim_end_matches('/');
    let mut out = format!("{base}{path}");
    let query = match (uri.query(), credential.param) {
        (Some(q), Some(name)) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn credentials_and_sessions_are_taken_out() {
        let credential = Credential { header: Some("x-api-key"), param: None, cookie: Some("api_cookie") };
        let mut h = headers(&[
            ("x-api-key", "k"),
            ("cookie", "a=1; portcullis_session=s; API_COOKIE=k"),
            ("cookie", "__host-Portcullis_Session=s;b=2;flag"),
            ("authorization", "kept: not this API's header"),
        ]);
        strip_credentials(&mut h, &credential);
        assert!(h.get("x-api-key").is_none());
        assert_eq!(h.get_all("cookie").iter().collect::<Vec<_>>(), vec!["a=1; b=2; flag"]);
        assert!(h.get("authorization").is_some());
        let mut only_session = headers(&[("cookie", "portcullis_session=s")]);
        strip_credentials(&mut only_session, &Credential::default());
        assert!(only_session.get("cookie").is_none());
    }

    #[test]
    fn session_set_cookies_are_dropped() {
        let mut h = headers(&[
            ("set-cookie", "a=1; Path=/"),
            ("set-cookie", "portcullis_session=x; Path=/; HttpOnly"),
            ("set-cookie", " __Host-PORTCULLIS_SESSION =x"),
            ("set-cookie", "b=2"),
            ("content-type", "text/plain"),
        ]);
        drop_session_set_cookies(&mut h);
        assert_eq!(h.get_all("set-cookie").iter().collect::<Vec<_>>(), vec!["a=1; Path=/", "b=2"]);
        assert!(h.get("content-type").is_some());
    }
}
