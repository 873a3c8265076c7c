//! The checks of one request, in Tyk's order (§4.1): credential → session → inactive →
//! expired → access rights (API, version, path and method) → rate limit (with throttling) →
//! quota. Each step either lets the request go on or refuses it; nothing here touches the
//! database once a key is cached.

use super::credentials;
use super::refusal::Refusal;
use super::registry::LiveApi;
use super::signature;
use super::Gateway;
use crate::keys::live::{KeyKind, LiveKey};
use crate::limits::rate::Rate;
use crate::limits::{Ask, QuotaAsk, Unavailable};
use app::model::{AuthMode, SessionState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::sync::Arc;
use std::time::Duration;

// Header names made at compile time: `insert("x-…", v)` parses the name on every request.
const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
const X_QUOTA_LIMIT: HeaderName = HeaderName::from_static("x-quota-limit");
const X_QUOTA_REMAINING: HeaderName = HeaderName::from_static("x-quota-remaining");
const X_QUOTA_RESET: HeaderName = HeaderName::from_static("x-quota-reset");

/// What the checks need to know of a request.
pub struct RequestView<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The client's address, where it is known (not behind forward-auth).
    pub client: Option<std::net::IpAddr>,
}

/// A request that passed: the key (none for keyless APIs), where the key was found (the
/// proxy takes it out), its version, and the headers describing its rate limit and quota.
pub struct Passed {
    pub key: Option<Arc<LiveKey>>,
    pub source: Option<credentials::Source>,
    pub version: String,
    pub headers: HeaderMap,
}

/// A refused request, with the headers that still describe the limits.
pub struct Refused {
    pub refusal: Refusal,
    pub key: Option<Arc<LiveKey>>,
    pub headers: HeaderMap,
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Self {
        Refused { refusal, key: None, headers: HeaderMap::new() }
    }
}

pub async fn check(gw: &Gateway, api: &LiveApi, req: &RequestView<'_>) -> Result<Passed, Refused> {
    let version = requested_version(api, req);
    if api.auth == AuthMode::Keyless {
        return Ok(Passed { key: None, source: None, version, headers: HeaderMap::new() });
    }
    let (key, source) = authenticate(gw, api, req).await?;
    let mut headers = HeaderMap::new();
    let refuse = |refusal, headers| Refused { refusal, key: Some(key.clone()), headers };

    let s = &key.session;
    if s.is_inactive {
        return Err(refuse(Refusal::Inactive, headers));
    }
    if s.expires >= 1 && s.expires < crate::store::now() {
        return Err(refuse(Refusal::Expired, headers));
    }
    if let Err(r) = access_rights(api, &key, &version, req) {
        return Err(refuse(r, headers));
    }

    // Limits apply per API where the key (or a policy) gives this API limits of its own.
    let (scope, limits) = limits_for(s, &api.api_id);
    let rate = Rate { rate: limits.rate, per: limits.per };
    let ask = Ask {
        key_hash: key.hash.as_str(),
        scope,
        rate: rate.is_limited().then_some(rate),
        quota: (limits.quota_max > 0).then_some(QuotaAsk {
            max: limits.quota_max,
            renewal_rate: limits.quota_renewal_rate,
            renews_hint: limits.quota_renews,
        }),
    };
    let mut outcome = match gw.limits.check(&ask).await {
        Ok(o) => o,
        Err(Unavailable) => return Err(refuse(Refusal::LimiterUnavailable, headers)),
    };
    // Throttling: wait and try again before answering 429. A refused request is not counted,
    // so trying again is just another check.
    let mut retries = 0;
    while outcome.rate.is_some_and(|d| !d.allowed) && retries < limits.throttle_retry_limit {
        retries += 1;
        tokio::time::sleep(Duration::from_secs_f64(limits.throttle_interval.max(0.0))).await;
        outcome = match gw.limits.check(&ask).await {
            Ok(o) => o,
            Err(Unavailable) => return Err(refuse(Refusal::LimiterUnavailable, headers)),
        };
    }
    if let Some(d) = outcome.rate {
        let reset_secs = d.retry_after_nanos.div_ceil(1_000_000_000) as i64;
        headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(d.limit));
        headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(d.remaining));
        headers.insert(X_RATELIMIT_RESET, HeaderValue::from(crate::store::now() + reset_secs));
        if !d.allowed {
            headers.insert(axum::http::header::RETRY_AFTER, HeaderValue::from(reset_secs.max(1)));
            return Err(refuse(Refusal::RateLimited, headers));
        }
    }
    if let Some(q) = outcome.quota {
        headers.insert(X_QUOTA_LIMIT, HeaderValue::from(q.limit));
        headers.insert(X_QUOTA_REMAINING, HeaderValue::from(q.remaining));
        headers.insert(X_QUOTA_RESET, HeaderValue::from(q.renews_at));
        if !q.allowed {
            return Err(refuse(Refusal::QuotaExceeded, headers));
        }
    }
    Ok(Passed { key: Some(key), source, version, headers })
}

/// The limits that apply to this API, and the counter scope ("" = the key's own counters).
struct Limits {
    rate: f64,
    per: f64,
    throttle_interval: f64,
    throttle_retry_limit: i64,
    quota_max: i64,
    quota_renewal_rate: i64,
    quota_renews: i64,
}

fn limits_for<'s>(s: &'s SessionState, api_id: &str) -> (&'s str, Limits) {
    if let Some((id, def)) = s.access_rights.get_key_value(api_id) {
        if let Some(l) = def.limit.as_ref().filter(|l| !l.is_empty()) {
            let scope = if def.allowance_scope.is_empty() { id.as_str() } else { def.allowance_scope.as_str() };
            return (
                scope,
                Limits {
                    rate: l.rate,
                    per: l.per,
                    throttle_interval: l.throttle_interval,
                    throttle_retry_limit: l.throttle_retry_limit,
                    quota_max: l.quota_max,
                    quota_renewal_rate: l.quota_renewal_rate,
                    quota_renews: l.quota_renews,
                },
            );
        }
    }
    (
        "",
        Limits {
            rate: s.rate,
            per: s.per,
            throttle_interval: s.throttle_interval,
            throttle_retry_limit: s.throttle_retry_limit,
            quota_max: s.quota_max,
            quota_renewal_rate: s.quota_renewal_rate,
            quota_renews: s.quota_renews,
        },
    )
}

/// Finds and checks the credential the API asks for, and returns the key behind it, with
/// where a plain key was found.
async fn authenticate(gw: &Gateway, api: &LiveApi, req: &RequestView<'_>) -> Result<(Arc<LiveKey>, Option<credentials::Source>), Refused> {
    match api.auth {
        AuthMode::BasicAuth => {
            let Some((user, password)) = credentials::basic(req.headers) else {
                return Err(Refusal::BasicAuthFailed.into());
            };
            let key_hash = crate::keys::id::hash(&crate::keys::id::basic(&api.org_id, &user));
            Ok((gw.basic_user(&key_hash, &password, req.client).await?, None))
        }
        AuthMode::Hmac => Ok((verify_signature(gw, api, req).await?, None)),
        AuthMode::Key | AuthMode::Keyless => {
            let (token, source) = credentials::api_key(api, req.headers, req.query).ok_or(Refusal::AuthFieldMissing)?;
            let key = find_key(gw, api, &token, KeyKind::AuthToken).await?.ok_or(Refusal::Disallowed)?;
            Ok((key, Some(source)))
        }
    }
}

/// A presented key of the kind the API takes: by its own hash, or, for a custom key presented
/// without its organisation prefix, as the API's organisation + key (Tyk's lookup order). A
/// key of another kind is not found: a basic-auth user's id (organisation + user name) or an
/// HMAC key's id (sent in clear) is no bearer token.
async fn find_key(gw: &Gateway, api: &LiveApi, token: &str, kind: KeyKind) -> Result<Option<Arc<LiveKey>>, Refusal> {
    if token.len() < 3 {
        return Ok(None);
    }
    let of_kind = |k: Option<Arc<LiveKey>>| k.filter(|k| k.kind == kind);
    if let Some(k) = of_kind(gw.key_for(&crate::keys::id::hash(token)).await?) {
        return Ok(Some(k));
    }
    if token.starts_with(&*api.org_id) {
        return Ok(None);
    }
    Ok(of_kind(gw.key_for(&crate::keys::id::hash(&format!("{}{token}", api.org_id))).await?))
}

async fn verify_signature(gw: &Gateway, api: &LiveApi, req: &RequestView<'_>) -> Result<Arc<LiveKey>, Refusal> {
    let invalid = Refusal::HmacInvalid;
    let header = req.headers.get(api.auth_header.as_str()).and_then(|v| v.to_str().ok()).ok_or(invalid.clone())?;
    let sig = signature::parse(header).ok_or(invalid.clone())?;
    let allowed = &api.def.hmac_allowed_algorithms;
    if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&sig.algorithm)) {
        return Err(invalid);
    }
    // The date is required (it is parsed before the skew check, as in Tyk).
    let date_ms = signature::request_date_ms(req.headers).ok_or(invalid.clone())?;
    let skew = api.def.hmac_allowed_clock_skew;
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    if skew > 0.0 && (now_ms - date_ms).abs() as f64 > skew {
        return Err(invalid);
    }
    let key = find_key(gw, api, &sig.key_id, KeyKind::Hmac).await?.ok_or(invalid.clone())?;
    let secret = key.hmac_secret.as_deref().filter(|s| !s.is_empty()).ok_or(invalid.clone())?;
    if !(key.session.hmac_enabled || key.session.enable_http_signature_validation) {
        return Err(invalid);
    }
    let signing = signature::signing_string(&sig, req.method, req.path, req.headers).ok_or(invalid.clone())?;
    let expected = signature::sign(&sig.algorithm, secret, &signing);
    if !signature::matches(&expected, &sig.signature) {
        return Err(invalid);
    }
    Ok(key)
}

/// The version the request asks for: where the API says to read it, else its default.
fn requested_version(api: &LiveApi, req: &RequestView<'_>) -> String {
    let vd = &api.def.version_data;
    if vd.not_versioned {
        return String::new();
    }
    let def = &api.def.definition;
    let found = match def.location.as_str() {
        "header" => req.headers.get(def.key.as_str()).and_then(|v| v.to_str().ok()).map(str::to_owned),
        "url-param" => req.query.and_then(|q| credentials::query_param(q, &def.key)),
        "url" => api.inner_path(req.path).trim_start_matches('/').split('/').next().map(str::to_owned),
        _ => None,
    };
    found.filter(|v| !v.is_empty()).unwrap_or_else(|| vd.default_version.clone())
}

/// The key may use this API, this version, this path with this method.
fn access_rights(api: &LiveApi, key: &LiveKey, version: &str, req: &RequestView<'_>) -> Result<(), Refusal> {
    // Keys and APIs belong to organisations; one never opens another's API.
    if key.refused || key.org_id != *api.org_id {
        return Err(Refusal::Disallowed);
    }
    if !api.def.version_data.not_versioned && !version.is_empty() && !api.def.has_version(version) {
        return Err(Refusal::VersionUnknown);
    }
    let rights = &key.session.access_rights;
    // No access rights: every API of the organisation.
    if rights.is_empty() {
        return Ok(());
    }
    let right = rights.get(&*api.api_id).ok_or(Refusal::Disallowed)?;
    if !api.def.version_data.not_versioned && !right.versions.is_empty() && !right.versions.iter().any(|v| v == version) {
        return Err(Refusal::Disallowed);
    }
    let rules = key.url_rules.get(&*api.api_id).map(Vec::as_slice).unwrap_or_default();
    if !right.allowed_urls.is_empty() {
        let inner = api.inner_path(req.path);
        let ok = rules.iter().any(|r| {
            (r.pattern.is_match(inner) || r.pattern.is_match(req.path)) && r.methods.iter().any(|m| m == req.method.as_str())
        });
        if !ok {
            return Err(Refusal::ResourceDisallowed);
        }
    }
    Ok(())
}
