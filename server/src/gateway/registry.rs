//! The APIs the gateway serves, in memory, matched by listen path (the longest first).

use crate::store::{Store, StoreError};
use app::model::{ApiDefinition, AuthMode};
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
    pub fn new(org_id: String, def: ApiDefinition) -> Option<Self> {
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
        Some(Self { api_id: def.api_id.as_str().into(), org_id: org_id.into(), auth: def.auth_mode(), auth_header, target, origin, host, id_header, def })
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
            let Ok(def) = serde_json::from_str::<ApiDefinition>(&row.definition) else {
                tracing::error!(api_id = %row.api_id, "stored API definition does not parse; not served");
                continue;
            };
            if !def.active {
                continue;
            }
            match LiveApi::new(row.org_id, def) {
                Some(api) => apis.push(Arc::new(api)),
                None => tracing::error!(api_id = %row.api_id, "API target URL does not parse; not served"),
            }
        }
        apis.sort_by_key(|a| std::cmp::Reverse(a.def.proxy.listen_path.len()));
        let n = apis.len();
        *self.apis.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(apis);
        Ok(n)
    }

    /// The API whose listen path is the longest prefix of `path` (a listen path `/a/` also
    /// serves `/a`).
    pub fn find(&self, path: &str) -> Option<Arc<LiveApi>> {
        let apis = self.apis.read().unwrap_or_else(|e| e.into_inner()).clone();
        apis.iter()
            .find(|a| {
                let lp = a.def.proxy.listen_path.as_str();
                path.starts_with(lp) || (lp.ends_with('/') && path == lp.trim_end_matches('/'))
            })
            .cloned()
    }
}
