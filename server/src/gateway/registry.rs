//! The APIs the gateway serves, in memory, matched by host and listen path: the APIs bound to
//! the request's host (Tyk's `domain`) first, then those without a domain; among them the
//! longest listen path that serves the path by whole segments.

use crate::store::{Store, StoreError};
use app::model::{ApiDefinition, AuthMode, OrgId};
use axum::http::{HeaderValue, Uri};
use std::sync::{Arc, RwLock};

/// An active API, ready for the hot path.
#[derive(Debug)]
pub struct LiveApi {
    /// Shared, not copied, by every analytics record and metric of the API.
    pub api_id: Arc<str>,
    pub org_id: Arc<str>,
    pub def: ApiDefinition,
    pub auth: AuthMode,
    /// Lower-case header carrying the key (default `authorization`).
    pub auth_header: String,
    pub target: Uri,
    /// The target's `scheme://authority`, which upstream connections are pooled by.
    pub origin: Arc<str>,
    /// The `Host` the upstream is sent: the target's host, and its port unless the scheme's own.
    pub host: HeaderValue,
    /// `X-Portcullis-Api` for forward-auth answers, made once.
    pub id_header: HeaderValue,
}

impl LiveApi {
    pub fn new(org_id: &OrgId, def: ApiDefinition) -> Option<Self> {
        let target: Uri = def.proxy.target_url.parse().ok()?;
        let origin = format!("{}://{}", target.scheme_str()?, target.authority()?).into();
        let host = match (target.host()?, target.port_u16()) {
            (host, Some(port)) if !matches!((target.scheme_str(), port), (Some("http"), 80) | (Some("https"), 443)) => format!("{host}:{port}"),
            (host, _) => host.to_owned(),
        };
        let host = HeaderValue::from_str(&host).ok()?;
        let auth_header = match def.auth.auth_header_name.trim() {
            "" => "authorization".to_owned(),
            name => name.to_ascii_lowercase(),
        };
        let id_header = HeaderValue::from_str(&def.api_id).unwrap_or(HeaderValue::from_static(""));
        Some(Self { api_id: def.api_id.as_str().into(), org_id: org_id.as_str().into(), auth: def.auth_mode(), auth_header, target, origin, host, id_header, def })
    }

    /// The request path below the listen path (always starting with '/').
    pub fn inner_path<'a>(&self, path: &'a str) -> &'a str {
        let rest = path.strip_prefix(self.def.proxy.listen_path.trim_end_matches('/')).unwrap_or(path);
        if rest.is_empty() {
            "/"
        } else {
            rest
        }
    }
}

#[derive(Default)]
pub struct ApiRegistry {
    apis: RwLock<Arc<Vec<Arc<LiveApi>>>>,
}

impl ApiRegistry {
    /// Reads every active API from storage and replaces the table at once.
    pub async fn reload(&self, store: &Store) -> Result<usize, StoreError> {
        let mut apis: Vec<Arc<LiveApi>> = Vec::new();
        for row in store.all_apis().await? {
            let Ok(mut def) = serde_json::from_str::<ApiDefinition>(&row.definition) else {
                tracing::error!(api_id = %row.api_id, "stored API definition does not parse; not served");
                continue;
            };
            if !def.active {
                continue;
            }
            // The column is the canonical domain (a definition stored before it may differ in case).
            def.domain = row.domain;
            match LiveApi::new(&row.org_id, def) {
                Some(api) => apis.push(Arc::new(api)),
                None => tracing::error!(api_id = %row.api_id, "API target URL does not parse; not served"),
            }
        }
        apis.sort_by_key(|a| (a.def.domain.is_empty(), std::cmp::Reverse(a.def.proxy.listen_path.len())));
        let n = apis.len();
        *self.apis.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(apis);
        Ok(n)
    }

    /// The API serving this (normalised) path on this host: one bound to the host if any serves
    /// it, else one without a domain; the longest listen path first. `host` is the request's
    /// `Host` as sent: its port is ignored (see [`host_name`]).
    pub fn find(&self, host: Option<&str>, path: &str) -> Option<Arc<LiveApi>> {
        let host = host.map(host_name).unwrap_or("");
        let apis = self.apis.read().unwrap_or_else(|e| e.into_inner()).clone();
        apis.iter()
            .find(|a| {
                (a.def.domain.is_empty() || a.def.domain.eq_ignore_ascii_case(host))
                    && super::path::listen_path_serves(&a.def.proxy.listen_path, path)
            })
            .cloned()
    }
}

/// The host name of a `Host` header (or authority): without its port and a final dot. A
/// domain never has a port, so `api.example.com:8080` matches the domain `api.example.com`:
/// the gateway may listen on any port, behind any proxy.
pub fn host_name(host: &str) -> &str {
    let name = if host.starts_with('[') {
        // An IPv6 literal: the port, if any, follows the bracket.
        host.split_once(']').map_or(host, |(ip, _)| &host[..ip.len() + 1])
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.strip_suffix('.').unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names() {
        assert_eq!(host_name("api.example.com"), "api.example.com");
        assert_eq!(host_name("api.example.com:8080"), "api.example.com");
        assert_eq!(host_name("api.example.com.:80"), "api.example.com");
        assert_eq!(host_name("[::1]:8080"), "[::1]");
        assert_eq!(host_name("[::1]"), "[::1]");
        assert_eq!(host_name(""), "");
    }
}
