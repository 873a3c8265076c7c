//! The part of Tyk's API definition the gateway needs. A definition posted as Tyk exports it is
//! accepted whole: what we do not use is kept in `extra` (at each level) and returned as sent.

use super::session::nullable;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", schema(as = APIDefinition))]
#[serde(default)]
pub struct ApiDefinition {
    #[serde(deserialize_with = "nullable")]
    pub api_id: String,
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub slug: String,
    #[serde(deserialize_with = "nullable")]
    pub org_id: String,
    /// Inactive APIs are not served by the gateway. Missing means active: a definition posted
    /// without the flag is meant to work.
    pub active: bool,
    #[serde(deserialize_with = "nullable")]
    pub proxy: Proxy,
    /// Tyk's `domain`: when set, the API serves only requests whose `Host` is this host name
    /// (case-insensitive, any port). Empty serves every host.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(deserialize_with = "nullable")]
    pub use_keyless: bool,
    #[serde(deserialize_with = "nullable")]
    pub use_basic_auth: bool,
    #[serde(deserialize_with = "nullable")]
    pub enable_signature_checking: bool,
    /// Empty means every supported algorithm.
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub hmac_allowed_algorithms: Vec<String>,
    /// Milliseconds; `<= 0` turns the check off.
    #[serde(deserialize_with = "nullable")]
    pub hmac_allowed_clock_skew: f64,
    #[serde(deserialize_with = "nullable")]
    pub auth: AuthConfig,
    #[serde(deserialize_with = "nullable")]
    pub version_data: VersionData,
    #[serde(deserialize_with = "nullable")]
    pub definition: VersionDefinition,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ApiDefinition {
    fn default() -> Self {
        Self {
            api_id: String::new(),
            name: String::new(),
            slug: String::new(),
            org_id: String::new(),
            active: true,
            proxy: Proxy::default(),
            domain: String::new(),
            use_keyless: false,
            use_basic_auth: false,
            enable_signature_checking: false,
            hmac_allowed_algorithms: Vec::new(),
            hmac_allowed_clock_skew: 0.0,
            auth: AuthConfig::default(),
            version_data: VersionData::default(),
            definition: VersionDefinition::default(),
            extra: Map::new(),
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", schema(as = ProxyConfig))]
#[serde(default)]
pub struct Proxy {
    #[serde(deserialize_with = "nullable")]
    pub listen_path: String,
    #[serde(deserialize_with = "nullable")]
    pub target_url: String,
    #[serde(deserialize_with = "nullable")]
    pub strip_listen_path: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Where the gateway finds the key (tyk-key-semantics.md §4.2).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Empty means `Authorization`.
    #[serde(deserialize_with = "nullable")]
    pub auth_header_name: String,
    #[serde(deserialize_with = "nullable")]
    pub use_param: bool,
    /// Empty means the header name.
    #[serde(deserialize_with = "nullable")]
    pub param_name: String,
    #[serde(deserialize_with = "nullable")]
    pub use_cookie: bool,
    /// Empty means the header name.
    #[serde(deserialize_with = "nullable")]
    pub cookie_name: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionData {
    #[serde(deserialize_with = "nullable")]
    pub not_versioned: bool,
    #[serde(deserialize_with = "nullable")]
    pub default_version: String,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub versions: BTreeMap<String, VersionInfo>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionInfo {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Where the gateway reads the requested version: `header`, `url-param` or `url`, under `key`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionDefinition {
    #[serde(deserialize_with = "nullable")]
    pub location: String,
    #[serde(deserialize_with = "nullable")]
    pub key: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How a request to this API proves who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMode {
    Keyless,
    BasicAuth,
    Hmac,
    Key,
}

impl ApiDefinition {
    pub fn auth_mode(&self) -> AuthMode {
        if self.use_keyless {
            AuthMode::Keyless
        } else if self.use_basic_auth {
            AuthMode::BasicAuth
        } else if self.enable_signature_checking {
            AuthMode::Hmac
        } else {
            AuthMode::Key
        }
    }

    /// Does the API define this version? Unversioned APIs accept any.
    pub fn has_version(&self, version: &str) -> bool {
        self.version_data.not_versioned
            || self.version_data.versions.is_empty()
            || self.version_data.versions.contains_key(version)
    }

    /// The rules every definition must follow; the message names the field. The first broken
    /// rule, see [`ApiDefinition::problems`] for all of them.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// Every broken rule, at most one per field, in the order of the form.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push(("name", "is required".into()));
        }
        let lp = &self.proxy.listen_path;
        if !lp.starts_with('/') {
            problems.push(("proxy.listen_path", "must start with '/'".into()));
        } else if lp.chars().any(|c| c.is_whitespace() || c == '?' || c == '#') {
            problems.push(("proxy.listen_path", "must be a plain path (no spaces, '?' or '#')".into()));
        }
        if !self.domain.is_empty() && !is_host_name(&self.domain) {
            problems.push(("domain", "must be a host name, such as api.example.com (no scheme, port or path)".into()));
        }
        let target = &self.proxy.target_url;
        if !(target.starts_with("http://") || target.starts_with("https://")) || target.len() <= "http://".len() {
            problems.push(("proxy.target_url", "must be an http:// or https:// URL".into()));
        }
        const ALGORITHMS: [&str; 4] = ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"];
        if let Some(bad) = self.hmac_allowed_algorithms.iter().find(|a| !ALGORITHMS.contains(&a.as_str())) {
            problems.push(("hmac_allowed_algorithms", format!("'{bad}' is not one of {}", ALGORITHMS.join(", "))));
        }
        if !self.definition.location.is_empty() && !["header", "url-param", "url"].contains(&self.definition.location.as_str()) {
            problems.push(("definition.location", "must be header, url-param or url".into()));
        }
        problems
    }
}

/// A DNS host name (letters, digits and hyphens in dot-separated labels), as Tyk's `domain`
/// takes it without its patterns.
pub fn is_host_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A domain as stored and compared: lower case, without a final dot, trimmed.
pub fn canonical_domain(domain: &str) -> String {
    let d = domain.trim();
    d.strip_suffix('.').unwrap_or(d).to_ascii_lowercase()
}

/// Do two listen paths overlap: is one a prefix of the other, by whole path segments? `/pay`
/// and `/pay/v2/` do, `/pay` and `/payments` do not, `/` overlaps every path.
pub fn listen_paths_overlap(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_end_matches('/'), b.trim_end_matches('/'));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.strip_prefix(short).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Could two routes (domain, listen path) be asked for the same request? Two different
/// domains never; an API without a domain serves every host, so it meets any other route
/// whose listen path overlaps its own.
pub fn routes_overlap(a: (&str, &str), b: (&str, &str)) -> bool {
    let hosts_meet = a.0.is_empty() || b.0.is_empty() || a.0.eq_ignore_ascii_case(b.0);
    hosts_meet && listen_paths_overlap(a.1, b.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tyk_export() -> Value {
        json!({
            "api_id": "b84fe1a04e5648927971c0557971565c",
            "name": "Tyk Test API",
            "org_id": "664a14650619d40001f1f00f",
            "active": true,
            "auth": { "auth_header_name": "authorization" },
            "definition": { "key": "version", "location": "header" },
            "proxy": { "listen_path": "/tyk-api-test/", "target_url": "https://httpbin.org", "strip_listen_path": true,
                       "preserve_host_header": false },
            "version_data": { "default_version": "", "not_versioned": true,
                              "versions": { "Default": { "name": "Default", "use_extended_paths": true } } },
            "use_oauth2": false,
            "custom_middleware": null
        })
    }

    #[test]
    fn tyk_definition_round_trips() {
        let def: ApiDefinition = serde_json::from_value(tyk_export()).unwrap();
        assert_eq!(def.proxy.listen_path, "/tyk-api-test/");
        assert!(def.proxy.strip_listen_path);
        assert_eq!(def.auth_mode(), AuthMode::Key);
        let back = serde_json::to_value(&def).unwrap();
        assert_eq!(back["use_oauth2"], false, "unknown fields kept");
        assert_eq!(back["proxy"]["preserve_host_header"], false, "unknown nested fields kept");
        assert_eq!(back["version_data"]["versions"]["Default"]["use_extended_paths"], true);
        assert!(def.validate().is_ok());
    }

    #[test]
    fn missing_active_means_active() {
        let def: ApiDefinition = serde_json::from_value(json!({ "name": "x" })).unwrap();
        assert!(def.active);
    }

    #[test]
    fn validation_names_the_field() {
        let mut def: ApiDefinition = serde_json::from_value(tyk_export()).unwrap();
        def.proxy.listen_path = "no-slash".into();
        assert_eq!(def.validate().unwrap_err().0, "proxy.listen_path");
        def.proxy.listen_path = "/ok/".into();
        def.proxy.target_url = "ftp://x".into();
        assert_eq!(def.validate().unwrap_err().0, "proxy.target_url");
        def.proxy.target_url = "http://x".into();
        def.hmac_allowed_algorithms = vec!["md5".into()];
        assert_eq!(def.validate().unwrap_err().0, "hmac_allowed_algorithms");
    }

    #[test]
    fn domains() {
        for good in ["api.example.com", "localhost", "a-b.c1.io", "API.Example.com", "127.0.0.1"] {
            assert!(is_host_name(good), "{good}");
        }
        for bad in ["", "http://a.com", "a.com:80", "a.com/x", "-a.com", "a..com", "a_b.com", "*.a.com", "{sub}.a.com", "é.com"] {
            assert!(!is_host_name(bad), "{bad}");
        }
        let mut def = ApiDefinition { name: "x".into(), ..ApiDefinition::default() };
        def.proxy.listen_path = "/x/".into();
        def.proxy.target_url = "http://up".into();
        def.domain = "a.com:80".into();
        assert_eq!(def.validate().unwrap_err().0, "domain");
        def.domain = "a.com".into();
        assert!(def.validate().is_ok());
        assert_eq!(canonical_domain(" API.Example.com. "), "api.example.com");
        let back = serde_json::to_value(&def).unwrap();
        assert_eq!(back["domain"], "a.com");
        def.domain.clear();
        assert!(serde_json::to_value(&def).unwrap().get("domain").is_none(), "no domain, no field: a read returns what was written");
    }

    #[test]
    fn overlaps() {
        assert!(listen_paths_overlap("/pay", "/pay/v2/"));
        assert!(listen_paths_overlap("/pay/v2/", "/pay/"));
        assert!(listen_paths_overlap("/pay/", "/pay"));
        assert!(listen_paths_overlap("/", "/anything/"));
        assert!(listen_paths_overlap("/x", "/"));
        assert!(!listen_paths_overlap("/pay", "/payments"));
        assert!(!listen_paths_overlap("/payments/", "/pay/"));
        assert!(!listen_paths_overlap("/a/b", "/a/c"));
        assert!(routes_overlap(("", "/pay/"), ("b.com", "/pay/v2/")));
        assert!(routes_overlap(("A.com", "/pay/"), ("a.com", "/")));
        assert!(!routes_overlap(("a.com", "/pay/"), ("b.com", "/pay/")));
        assert!(!routes_overlap(("", "/pay/"), ("", "/payments/")));
    }

    #[test]
    fn versions() {
        let mut def = ApiDefinition::default();
        assert!(def.has_version("anything"));
        def.version_data.versions.insert("v1".into(), VersionInfo::default());
        assert!(def.has_version("v1"));
        assert!(!def.has_version("v2"));
    }
}
