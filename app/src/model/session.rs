//! Tyk's key object, `user.SessionState`, and the types inside it (tyk-key-semantics.md §1).
//!
//! The JSON rules, shared with [`super::policy`]:
//! - Tyk's exact field names, in Tyk's order.
//! - Every field may be missing (Tyk ≥ 5.12 leaves zero values out, older Tyk always sends them)
//!   and every field may be `null` (Go's decoder leaves the zero value on `null`, and older Tyk
//!   sends `null` for empty lists and maps).
//! - A value of the wrong type is an error, as it is in Go: `"rate": "10"` does not decode.
//! - Fields we do not know are kept in `extra` and written back, so a read returns what was written.
//! - Output is the older, always-present form, so clients written for either Tyk can read it.
//!   Integral floats are written as integers (`1000`, not `1000.0`), as Go prints them.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A Tyk key: its limits, its access rights and everything else Tyk stores with it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionState {
    /// Legacy; unused by the limiter.
    #[serde(deserialize_with = "go_i64")]
    pub last_check: i64,
    /// Legacy; only counted down under `legacy_enable_allowance_countdown`.
    #[serde(with = "go_f64")]
    pub allowance: f64,
    /// Requests per `per` seconds; `<= 0` means no rate limit ([`UNLIMITED_RATE`] also wins
    /// the policy merge, where 0 is "not set").
    #[serde(with = "go_f64")]
    pub rate: f64,
    #[serde(with = "go_f64")]
    pub per: f64,
    #[serde(with = "go_f64")]
    pub throttle_interval: f64,
    /// `<= 0` means no throttling.
    #[serde(deserialize_with = "go_i64")]
    pub throttle_retry_limit: i64,
    /// GraphQL depth limit; `-1` and `0` mean unlimited.
    #[serde(deserialize_with = "go_i64")]
    pub max_query_depth: i64,
    /// RFC 3339. Left out when empty: Go clients cannot parse `""` as a time.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub date_created: String,
    /// Unix seconds; `<= 0` means never.
    #[serde(deserialize_with = "go_i64")]
    pub expires: i64,
    /// `-1` and `0` mean unlimited.
    #[serde(deserialize_with = "go_i64")]
    pub quota_max: i64,
    #[serde(deserialize_with = "go_i64")]
    pub quota_renews: i64,
    #[serde(deserialize_with = "go_i64")]
    pub quota_remaining: i64,
    /// Seconds; `<= 0` means the quota never renews.
    #[serde(deserialize_with = "go_i64")]
    pub quota_renewal_rate: i64,
    /// API id → what the key may do there. Empty means a master key.
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub access_rights: BTreeMap<String, AccessDefinition>,
    #[serde(deserialize_with = "nullable")]
    pub org_id: String,
    #[serde(deserialize_with = "nullable")]
    pub oauth_client_id: String,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub oauth_keys: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub certificate: String,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub mtls_static_certificate_bindings: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub basic_auth_data: BasicAuthData,
    #[serde(deserialize_with = "nullable")]
    pub jwt_data: JwtData,
    #[serde(deserialize_with = "nullable")]
    pub hmac_enabled: bool,
    #[serde(deserialize_with = "nullable")]
    pub enable_http_signature_validation: bool,
    /// The HMAC shared secret.
    #[serde(deserialize_with = "nullable")]
    pub hmac_string: String,
    #[serde(deserialize_with = "nullable")]
    pub rsa_certificate_id: String,
    #[serde(deserialize_with = "nullable")]
    pub is_inactive: bool,
    /// Deprecated single policy, used only when `apply_policies` is empty.
    #[serde(deserialize_with = "nullable")]
    pub apply_policy_id: String,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub apply_policies: Vec<String>,
    #[serde(deserialize_with = "go_i64")]
    pub data_expires: i64,
    #[serde(deserialize_with = "nullable")]
    pub monitor: Monitor,
    /// Deprecated alias of `enable_detailed_recording`.
    #[serde(deserialize_with = "nullable")]
    pub enable_detail_recording: bool,
    #[serde(deserialize_with = "nullable")]
    pub enable_detailed_recording: bool,
    /// Free-form. Tyk's type is a map, but its OpenAPI file says "any" (the seed even shows a
    /// string), so any JSON value is kept. `null` stays `null`, as Go writes a nil map.
    pub meta_data: Value,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub alias: String,
    /// Unix seconds, as a string.
    #[serde(deserialize_with = "nullable")]
    pub last_updated: String,
    #[serde(deserialize_with = "go_i64")]
    pub id_extractor_deadline: i64,
    #[serde(deserialize_with = "go_i64")]
    pub session_lifetime: i64,
    /// `"retain"` or `"delete"` (Tyk 5.13+).
    #[serde(deserialize_with = "nullable")]
    pub post_expiry_action: String,
    /// Seconds; `-1` means retain forever.
    #[serde(deserialize_with = "go_i64")]
    pub post_expiry_grace_period: i64,
    /// Sent by the Dashboard API; runtime-only in the gateway.
    #[serde(deserialize_with = "nullable")]
    pub key_id: String,
    pub smoothing: Option<RateLimitSmoothing>,
    /// Fields this version does not know, kept so that they round-trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SessionState {
    /// The policy ids to apply, as Tyk's `PolicyIDs()`: `apply_policies`, or else the deprecated
    /// `apply_policy_id`.
    pub fn policy_ids(&self) -> Vec<&str> {
        if !self.apply_policies.is_empty() {
            self.apply_policies.iter().map(String::as_str).collect()
        } else if !self.apply_policy_id.is_empty() {
            vec![self.apply_policy_id.as_str()]
        } else {
            Vec::new()
        }
    }

    /// The session's own limits, as an [`APILimit`] (Tyk's `SessionState.APILimit()`).
    pub fn api_limit(&self) -> APILimit {
        APILimit {
            rate: self.rate,
            per: self.per,
            smoothing: self.smoothing.clone(),
            throttle_interval: self.throttle_interval,
            throttle_retry_limit: self.throttle_retry_limit,
            max_query_depth: self.max_query_depth,
            quota_max: self.quota_max,
            quota_renews: self.quota_renews,
            quota_remaining: 0,
            quota_renewal_rate: self.quota_renewal_rate,
            extra: Map::new(),
        }
    }
}

/// What a key (or policy) may do on one API: `access_rights[api_id]`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessDefinition {
    #[serde(deserialize_with = "nullable")]
    pub api_name: String,
    #[serde(deserialize_with = "nullable")]
    pub api_id: String,
    /// Version names allowed.
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub versions: Vec<String>,
    /// Path rules; each `url` is a regular expression.
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub allowed_urls: Vec<AccessSpec>,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub restricted_types: Vec<GraphqlType>,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub allowed_types: Vec<GraphqlType>,
    /// Per-API limits. Missing, `null` or all zero: inherit the session's values.
    pub limit: Option<APILimit>,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub field_access_rights: Vec<FieldAccessDefinition>,
    #[serde(deserialize_with = "nullable")]
    pub disable_introspection: bool,
    /// The counter namespace for rate limit and quota (§4.6).
    #[serde(deserialize_with = "nullable")]
    pub allowance_scope: String,
    /// Per-endpoint rate limits. Tyk always left this out when empty.
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
    /// Everything else (the MCP and JSON-RPC fields of newer Tyk, the Dashboard's extras).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AccessDefinition {
    /// True when the limit is missing or all zero: the API then uses the session's limits.
    pub fn limit_is_empty(&self) -> bool {
        self.limit.as_ref().is_none_or(APILimit::is_empty)
    }
}

/// One `allowed_urls` rule.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessSpec {
    #[serde(deserialize_with = "nullable")]
    pub url: String,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub methods: Vec<String>,
}

/// Limits on one API, with the session's limit fields.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct APILimit {
    #[serde(with = "go_f64")]
    pub rate: f64,
    #[serde(with = "go_f64")]
    pub per: f64,
    /// Tyk has always left this out when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoothing: Option<RateLimitSmoothing>,
    #[serde(with = "go_f64")]
    pub throttle_interval: f64,
    #[serde(deserialize_with = "go_i64")]
    pub throttle_retry_limit: i64,
    #[serde(deserialize_with = "go_i64")]
    pub max_query_depth: i64,
    #[serde(deserialize_with = "go_i64")]
    pub quota_max: i64,
    #[serde(deserialize_with = "go_i64")]
    pub quota_renews: i64,
    #[serde(deserialize_with = "go_i64")]
    pub quota_remaining: i64,
    #[serde(deserialize_with = "go_i64")]
    pub quota_renewal_rate: i64,
    /// E.g. the Dashboard's `set_by_policy`.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl APILimit {
    /// Tyk's `APILimit.IsEmpty()`: every number is zero (smoothing is not looked at).
    pub fn is_empty(&self) -> bool {
        self.rate == 0.0
            && self.per == 0.0
            && self.throttle_interval == 0.0
            && self.throttle_retry_limit == 0
            && self.max_query_depth == 0
            && self.quota_max == 0
            && self.quota_renews == 0
            && self.quota_remaining == 0
            && self.quota_renewal_rate == 0
    }
}

/// Rate-limit smoothing (`apidef.RateLimitSmoothing`).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitSmoothing {
    #[serde(deserialize_with = "nullable")]
    pub enabled: bool,
    #[serde(deserialize_with = "go_i64")]
    pub threshold: i64,
    #[serde(with = "go_f64")]
    pub trigger: f64,
    #[serde(deserialize_with = "go_i64")]
    pub step: i64,
    #[serde(deserialize_with = "go_i64")]
    pub delay: i64,
}

impl RateLimitSmoothing {
    /// Tyk applies smoothing only when enabled and every setting is positive.
    pub fn is_valid(&self) -> bool {
        self.enabled && self.step > 0 && self.delay > 0 && self.threshold > 0 && self.trigger > 0.0
    }
}

/// A GraphQL type and the fields listed for it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GraphqlType {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub fields: Vec<String>,
}

/// A GraphQL field's own depth limit.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldAccessDefinition {
    #[serde(deserialize_with = "nullable")]
    pub type_name: String,
    #[serde(deserialize_with = "nullable")]
    pub field_name: String,
    #[serde(deserialize_with = "nullable")]
    pub limits: FieldLimits,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldLimits {
    #[serde(deserialize_with = "go_i64")]
    pub max_query_depth: i64,
}

/// Rate limits for the methods of one path.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", schema(as = SessionEndpoint))]
#[serde(default)]
pub struct Endpoint {
    #[serde(deserialize_with = "nullable")]
    pub path: String,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub methods: Vec<EndpointMethod>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", schema(as = SessionEndpointMethod))]
#[serde(default)]
pub struct EndpointMethod {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub limit: RateLimit,
}

/// A bare rate limit, as used per endpoint.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", schema(as = SessionEndpointRateLimit))]
#[serde(default)]
pub struct RateLimit {
    #[serde(with = "go_f64")]
    pub rate: f64,
    #[serde(with = "go_f64")]
    pub per: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoothing: Option<RateLimitSmoothing>,
}

impl RateLimit {
    /// Tyk's `RateLimit.Duration()`: nanoseconds between two allowed requests, 0 when either
    /// number is not positive. Computed as Go does, so that ties are ties in both.
    pub fn interval_nanos(&self) -> i64 {
        interval_nanos(self.rate, self.per)
    }
}

/// Tyk's "unlimited" rate (`session_manager.go`): no rate limit at the gateway, and in the
/// policy merge an interval of 0, shorter than any other, so it beats every finite rate.
pub const UNLIMITED_RATE: f64 = -1.0;

/// Tyk's `RateLimit.Duration()` for a (rate, per) pair; see [`RateLimit::interval_nanos`].
pub fn interval_nanos(rate: f64, per: f64) -> i64 {
    if per <= 0.0 || rate <= 0.0 {
        return 0;
    }
    // time.Duration(float64(time.Second) * per / rate): same operations, same truncation.
    (1e9 * per / rate) as i64
}

/// Basic-auth credentials of a key. `user` is the Dashboard's addition.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BasicAuthData {
    #[serde(deserialize_with = "nullable")]
    pub user: String,
    #[serde(deserialize_with = "nullable")]
    pub password: String,
    /// `""` (plain), `bcrypt`, `sha256`, `murmur32`, `murmur64`, `murmur128`.
    #[serde(deserialize_with = "nullable")]
    pub hash_type: String,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JwtData {
    #[serde(deserialize_with = "nullable")]
    pub secret: String,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Monitor {
    /// Quota-usage percentages that fire events.
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(with = "go_f64_vec")]
    pub trigger_limits: Vec<f64>,
}

/// Go's decoder leaves a field at its zero value when it reads `null`; do the same.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An i64 that accepts `null` (as 0) and integral floats such as `2592000.0` or
/// `1.718439136e+09`, which the YAML-converted examples in Tyk's docs contain. A fractional
/// number or a value of another type is still an error.
pub(crate) fn go_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(0),
        Some(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18).map(|f| f as i64))
            .ok_or_else(|| D::Error::custom(format!("invalid value: {n}, expected an integer"))),
    }
}

/// An f64 that accepts `null` and prints integral values as integers, as Go does.
pub(crate) mod go_f64 {
    use serde::{Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        GoFloat(*v).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        super::nullable(d)
    }

    pub(super) struct GoFloat(pub f64);

    impl Serialize for GoFloat {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            // Below 2^53 every integral f64 converts to i64 exactly.
            if self.0.fract() == 0.0 && self.0.abs() < 9_007_199_254_740_992.0 {
                s.serialize_i64(self.0 as i64)
            } else {
                s.serialize_f64(self.0)
            }
        }
    }
}

/// A list of f64, written as [`go_f64`] writes one.
pub(crate) mod go_f64_vec {
    use super::go_f64::GoFloat;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| GoFloat(*x)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        super::nullable(d)
    }
}

/// Seed 004 (`POST /api/keys/{keyId}`), its request body and the response's `data`, plus the
/// edge cases of the two JSON forms.
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SEED_REQUEST: &str = r#"{
      "alias": "portal-key",
      "allowance": 1000,
      "apply_policies": ["62a0ec9092faf50001395817"],
      "enable_detailed_recording": true,
      "expires": 1718439136,
      "hmac_enabled": false,
      "is_inactive": false,
      "meta_data": {"tyk_developer_id": "62b3fb9a1d5e4f00017226f5"},
      "org_id": "5e9d9544a1dcd60001d0ed20",
      "per": 60,
      "quota_max": -1,
      "quota_remaining": 0,
      "quota_renewal_rate": -1,
      "quota_renews": 1715847135,
      "rate": 1000,
      "tags": ["edge-eu", "edge"],
      "throttle_interval": 0,
      "throttle_retry_limit": 0
    }"#;

    const SEED_RESPONSE_DATA: &str = r#"{
      "access_rights": {},
      "alias": "portal-developer@example.org",
      "allowance": 1000,
      "apply_policies": ["641c15dd0fffb800010197bf", "615d2e528bf3980001c7c6c2"],
      "apply_policy_id": "641c15dd0fffb800010197bf",
      "basic_auth_data": {"hash_type": "bcrypt", "password": "testuse1", "user": "admin-user@example.org"},
      "certificate": "<string>",
      "data_expires": 0,
      "date_created": "2024-05-14T13:15:46.560506+03:00",
      "enable_detailed_recording": true,
      "expires": 1716895221,
      "hmac_enabled": false,
      "hmac_string": "<string>",
      "id_extractor_deadline": 0,
      "is_inactive": true,
      "jwt_data": {"secret": "<string>"},
      "key_id": "<string>",
      "last_check": 0,
      "last_updated": "1715681746",
      "max_query_depth": 5,
      "meta_data": "<any>",
      "monitor": {"trigger_limits": [80, 60, 50]},
      "oauth_client_id": "<string>",
      "oauth_keys": {},
      "org_id": "5e9d9544a1dcd60001d0ed20",
      "per": 60,
      "quota_max": 1710302205,
      "quota_remaining": 20000,
      "quota_renewal_rate": -1,
      "quota_renews": 1715681745,
      "rate": 1000,
      "session_lifetime": 0,
      "smoothing": {"delay": 2, "enabled": true, "step": 2, "threshold": 2, "trigger": 1},
      "tags": ["edge", "edge-eu"],
      "throttle_interval": 10,
      "throttle_retry_limit": -1
    }"#;

    /// Decodes `text`, encodes the result, and checks that every input field came back with the
    /// same value and that decoding the output gives the same session again.
    fn round_trip(text: &str) -> (SessionState, Value) {
        let input: Value = serde_json::from_str(text).unwrap();
        let session: SessionState = serde_json::from_str(text).unwrap();
        let output = serde_json::to_value(&session).unwrap();
        for (field, value) in input.as_object().unwrap() {
            assert_eq!(output.get(field), Some(value), "field {field} changed");
        }
        let again: SessionState = serde_json::from_value(output.clone()).unwrap();
        assert_eq!(again, session);
        (session, output)
    }

    #[test]
    fn integral_floats_are_integers() {
        let s: SessionState = serde_json::from_value(serde_json::json!({ "expires": 1.718439136e9, "quota_max": 5.0 })).unwrap();
        assert_eq!((s.expires, s.quota_max), (1718439136, 5));
        assert!(serde_json::from_value::<SessionState>(serde_json::json!({ "quota_max": 1.5 })).is_err());
        assert!(serde_json::from_value::<SessionState>(serde_json::json!({ "quota_max": "5" })).is_err());
    }

    #[test]
    fn seed_request_body_round_trips() {
        let (s, _) = round_trip(SEED_REQUEST);
        assert_eq!(s.rate, 1000.0);
        assert_eq!(s.per, 60.0);
        assert_eq!(s.quota_max, -1);
        assert_eq!(s.tags, ["edge-eu", "edge"]);
        assert_eq!(s.policy_ids(), ["62a0ec9092faf50001395817"]);
        assert_eq!(s.meta_data["tyk_developer_id"], "62b3fb9a1d5e4f00017226f5");
        assert!(s.extra.is_empty());
    }

    #[test]
    fn seed_response_data_round_trips() {
        let (s, out) = round_trip(SEED_RESPONSE_DATA);
        assert_eq!(s.basic_auth_data.user, "admin-user@example.org");
        assert_eq!(s.basic_auth_data.hash_type, "bcrypt");
        assert_eq!(s.monitor.trigger_limits, [80.0, 60.0, 50.0]);
        assert_eq!(s.smoothing.as_ref().map(|sm| sm.step), Some(2));
        assert_eq!(s.meta_data, json!("<any>"));
        assert_eq!(s.throttle_interval, 10.0);
        assert_eq!(s.key_id, "<string>");
        // Integral floats come back as integers, as Go prints them.
        assert_eq!(serde_json::to_string(&out["rate"]).unwrap(), "1000");
        assert!(s.extra.is_empty());
    }

    #[test]
    fn omit_zero_body_gives_defaults_and_full_output() {
        let s: SessionState = serde_json::from_str("{}").unwrap();
        assert_eq!(s, SessionState::default());
        let out = serde_json::to_value(&s).unwrap();
        // The older, always-present form.
        for field in ["rate", "per", "quota_max", "expires", "is_inactive", "org_id", "alias"] {
            assert!(out.get(field).is_some(), "{field} missing");
        }
        assert_eq!(out["access_rights"], json!({}));
        assert_eq!(out["tags"], json!([]));
        assert_eq!(out["smoothing"], Value::Null);
        assert_eq!(out["basic_auth_data"], json!({"user": "", "password": "", "hash_type": ""}));
        assert_eq!(out["monitor"], json!({"trigger_limits": []}));
        assert!(out.get("date_created").is_none(), "an empty time is not a time");
    }

    #[test]
    fn nulls_are_accepted_where_tyk_sends_them() {
        let s: SessionState = serde_json::from_value(json!({
            "access_rights": null, "apply_policies": null, "tags": null, "smoothing": null,
            "oauth_keys": null, "meta_data": null, "mtls_static_certificate_bindings": null,
            "monitor": {"trigger_limits": null}, "rate": null, "alias": null,
        }))
        .unwrap();
        assert!(s.access_rights.is_empty() && s.apply_policies.is_empty() && s.tags.is_empty());
        assert!(s.oauth_keys.is_empty() && s.monitor.trigger_limits.is_empty());
        assert_eq!(s.smoothing, None);
        assert_eq!(s.meta_data, Value::Null);
        assert_eq!(s.rate, 0.0);
    }

    #[test]
    fn access_definitions_in_both_forms() {
        let s: SessionState = serde_json::from_value(json!({"access_rights": {
            // Tyk ≥ 5.12: zero values left out.
            "new": {"api_id": "new", "versions": ["Default"]},
            // Tyk < 5.12: everything present, empty lists as null, a zero limit.
            "old": {
                "api_name": "Old", "api_id": "old", "versions": ["v1"], "allowed_urls": null,
                "restricted_types": null, "allowed_types": null, "field_access_rights": null,
                "disable_introspection": false, "allowance_scope": "",
                "limit": {"rate": 0, "per": 0, "throttle_interval": 0, "throttle_retry_limit": 0,
                          "max_query_depth": 0, "quota_max": 0, "quota_renews": 0,
                          "quota_remaining": 0, "quota_renewal_rate": 0}
            },
            // Tyk 2.x: a null limit.
            "older": {"api_id": "older", "limit": null,
                      "allowed_urls": [{"url": "/a.*", "methods": ["GET"]}]}
        }}))
        .unwrap();
        assert_eq!(s.access_rights["new"].limit, None);
        assert!(s.access_rights["new"].limit_is_empty());
        assert!(s.access_rights["old"].limit_is_empty());
        assert!(s.access_rights["old"].allowed_urls.is_empty());
        assert_eq!(s.access_rights["older"].allowed_urls[0].methods, ["GET"]);
        let out = serde_json::to_value(&s).unwrap();
        assert_eq!(out["access_rights"]["new"]["versions"], json!(["Default"]));
        assert_eq!(out["access_rights"]["new"]["restricted_types"], json!([]));
        assert!(out["access_rights"]["new"].get("endpoints").is_none());
    }

    #[test]
    fn unknown_fields_round_trip() {
        let input = json!({
            "rate": 1.5,
            "x_portcullis_note": {"a": [1, 2]},
            "access_rights": {"api": {
                "api_id": "api",
                "mcp_access_rights": {"tools": {"allowed": ["t1"]}},
                "limit": {"rate": 10, "per": 1, "set_by_policy": true},
                "endpoints": [{"path": "/x", "methods": [{"name": "GET", "limit": {"rate": 5, "per": 1}}]}]
            }}
        });
        let s: SessionState = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(s.extra["x_portcullis_note"], json!({"a": [1, 2]}));
        let out = serde_json::to_value(&s).unwrap();
        assert_eq!(out["rate"], json!(1.5));
        assert_eq!(out["x_portcullis_note"], input["x_portcullis_note"]);
        let api = &out["access_rights"]["api"];
        assert_eq!(api["mcp_access_rights"], input["access_rights"]["api"]["mcp_access_rights"]);
        assert_eq!(api["limit"]["set_by_policy"], json!(true));
        assert_eq!(api["endpoints"], input["access_rights"]["api"]["endpoints"]);
    }

    #[test]
    fn wrong_types_are_refused() {
        for bad in [
            json!({"rate": "1000"}),
            json!({"quota_max": 1.5}),
            json!({"expires": "1718439136"}),
            json!({"tags": "edge"}),
            json!({"is_inactive": "false"}),
            json!({"access_rights": {"a": {"versions": "Default"}}}),
            json!({"access_rights": {"a": {"limit": {"per": "60"}}}}),
            json!({"oauth_keys": {"k": 1}}),
        ] {
            assert!(
                serde_json::from_value::<SessionState>(bad.clone()).is_err(),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn policy_ids_fall_back_to_the_deprecated_field() {
        let mut s = SessionState { apply_policy_id: "old".into(), ..Default::default() };
        assert_eq!(s.policy_ids(), ["old"]);
        s.apply_policies = vec!["a".into(), "b".into()];
        assert_eq!(s.policy_ids(), ["a", "b"]);
        assert!(SessionState::default().policy_ids().is_empty());
    }

    #[test]
    fn intervals_match_go() {
        assert_eq!(interval_nanos(10.0, 1.0), 100_000_000);
        assert_eq!(interval_nanos(10.0, 60.0), interval_nanos(5.0, 30.0));
        assert_eq!(interval_nanos(-1.0, 1.0), 0);
        assert_eq!(interval_nanos(5.0, 0.0), 0);
    }
}
