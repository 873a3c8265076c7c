//! Tyk's `user.Policy` (tyk-key-semantics.md §5), with the JSON rules described in
//! [`super::session`]: Tyk's names, every field optional and nullable, wrong types refused,
//! unknown fields kept, the always-present form on output.

use super::session::{go_f64, go_i64, nullable, APILimit, AccessDefinition, RateLimitSmoothing};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A policy: limits, access rights, tags and metadata shared by every key that applies it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// The Mongo-style storage id. Keys refer to `id`, not to this.
    #[serde(rename = "_id", deserialize_with = "nullable")]
    pub mongo_id: String,
    /// The id used in a key's `apply_policies`.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub org_id: String,
    #[serde(with = "go_f64")]
    pub rate: f64,
    #[serde(with = "go_f64")]
    pub per: f64,
    #[serde(deserialize_with = "go_i64")]
    pub quota_max: i64,
    #[serde(deserialize_with = "go_i64")]
    pub quota_renewal_rate: i64,
    #[serde(with = "go_f64")]
    pub throttle_interval: f64,
    #[serde(deserialize_with = "go_i64")]
    pub throttle_retry_limit: i64,
    #[serde(deserialize_with = "go_i64")]
    pub max_query_depth: i64,
    /// Empty makes this a "master policy": it sets the key's root limits only.
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub access_rights: BTreeMap<String, AccessDefinition>,
    #[serde(deserialize_with = "nullable")]
    pub hmac_enabled: bool,
    #[serde(deserialize_with = "nullable")]
    pub enable_http_signature_validation: bool,
    /// The Dashboard's policy state; `false` is a draft. Missing means active: Tyk always sends
    /// it, and a hand-written policy without it must not silently deactivate its keys.
    #[serde(deserialize_with = "nullable_true")]
    pub active: bool,
    /// "Deny access to all policy holders".
    #[serde(deserialize_with = "nullable")]
    pub is_inactive: bool,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub tags: Vec<String>,
    /// Trial period in seconds: a key created with this policy expires that long after creation.
    #[serde(deserialize_with = "go_i64")]
    pub key_expires_in: i64,
    /// `"retain"` or `"delete"`. Tyk leaves it out when empty.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub post_expiry_action: String,
    #[serde(deserialize_with = "go_i64")]
    pub post_expiry_grace_period: i64,
    #[serde(deserialize_with = "nullable")]
    pub partitions: PolicyPartitions,
    /// Unix seconds, as a string.
    #[serde(deserialize_with = "nullable")]
    pub last_updated: String,
    #[cfg_attr(feature = "ssr", schema(nullable))]
    #[serde(deserialize_with = "nullable")]
    pub meta_data: Map<String, Value>,
    pub smoothing: Option<RateLimitSmoothing>,
    /// Fields this version does not know (the Dashboard's `date_created`,
    /// `graphql_access_rights`, ...), kept so that they round-trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mongo_id: String::new(),
            id: String::new(),
            name: String::new(),
            org_id: String::new(),
            rate: 0.0,
            per: 0.0,
            quota_max: 0,
            quota_renewal_rate: 0,
            throttle_interval: 0.0,
            throttle_retry_limit: 0,
            max_query_depth: 0,
            access_rights: BTreeMap::new(),
            hmac_enabled: false,
            enable_http_signature_validation: false,
            active: true,
            is_inactive: false,
            tags: Vec::new(),
            key_expires_in: 0,
            post_expiry_action: String::new(),
            post_expiry_grace_period: 0,
            partitions: PolicyPartitions::default(),
            last_updated: String::new(),
            meta_data: Map::new(),
            smoothing: None,
            extra: Map::new(),
        }
    }
}

impl Policy {
    /// The policy's own limits as an [`APILimit`] (Tyk's `Policy.APILimit()`).
    pub fn api_limit(&self) -> APILimit {
        APILimit {
            rate: self.rate,
            per: self.per,
            smoothing: self.smoothing.clone(),
            throttle_interval: self.throttle_interval,
            throttle_retry_limit: self.throttle_retry_limit,
            max_query_depth: self.max_query_depth,
            quota_max: self.quota_max,
            quota_renewal_rate: self.quota_renewal_rate,
            ..APILimit::default()
        }
    }

    /// Whether keys holding this policy are refused: "deny access" or not active.
    pub fn denies_access(&self) -> bool {
        self.is_inactive || !self.active
    }
}

/// Which parts of a key a policy sets. None set means all of them (a "monolithic" policy).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyPartitions {
    #[serde(deserialize_with = "nullable")]
    pub quota: bool,
    #[serde(deserialize_with = "nullable")]
    pub rate_limit: bool,
    #[serde(deserialize_with = "nullable")]
    pub complexity: bool,
    #[serde(deserialize_with = "nullable")]
    pub acl: bool,
    /// Each API gets its own limits and counters; cannot be combined with the flags above.
    #[serde(deserialize_with = "nullable")]
    pub per_api: bool,
}

impl PolicyPartitions {
    /// Tyk's `Enabled()`: any of quota, rate_limit, acl, complexity (not per_api).
    pub fn enabled(&self) -> bool {
        self.quota || self.rate_limit || self.acl || self.complexity
    }
}

/// `active`: a `null` means active too, like a missing field.
fn nullable_true<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The Dashboard API's policy example (dashboard-swagger.yml `policiesExample`).
    fn dashboard_example() -> Value {
        json!({
            "_id": "363635373039383964393864643030303031646131376631",
            "access_rights": {"8ddd91f3cda9453442c477b06c4e2da4": {
                "allowance_scope": "", "allowed_types": [],
                "allowed_urls": [{"methods": ["GET"], "url": "/users"}],
                "api_id": "8ddd91f3cda9453442c477b06c4e2da4", "api_name": "Itachi API",
                "disable_introspection": false, "field_access_rights": [],
                "limit": {"max_query_depth": 0, "per": 0, "quota_max": 0, "quota_remaining": 0,
                          "quota_renewal_rate": 0, "quota_renews": 0, "rate": 0,
                          "set_by_policy": false,
                          "smoothing": {"delay": 30, "enabled": false, "step": 100,
                                        "threshold": 500, "trigger": 0.8},
                          "throttle_interval": 0, "throttle_retry_limit": 0},
                "restricted_types": [], "versions": ["Default"]
            }},
            "active": true,
            "date_created": "2024-05-27T10:24:31.099Z",
            "hmac_enabled": false,
            "id": "",
            "is_inactive": false,
            "key_expires_in": 2592000,
            "last_updated": "1716980105",
            "max_query_depth": -1,
            "meta_data": {"user_type": "mobile_user"},
            "name": "Sample policy",
            "org_id": "664a14650619d40001f1f00f",
            "partitions": {"acl": true, "complexity": false, "per_api": false, "quota": true,
                           "rate_limit": true},
            "per": 60,
            "quota_max": 10000,
            "quota_renewal_rate": 3600,
            "rate": 1000,
            "smoothing": {"delay": 30, "enabled": false, "step": 100, "threshold": 500,
                          "trigger": 0.8},
            "tags": ["security"],
            "throttle_interval": 10,
            "throttle_retry_limit": 10
        })
    }

    #[test]
    fn dashboard_example_round_trips() {
        let input = dashboard_example();
        let p: Policy = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(p.mongo_id, "363635373039383964393864643030303031646131376631");
        assert_eq!(p.rate, 1000.0);
        assert_eq!(p.max_query_depth, -1);
        assert!(p.partitions.enabled() && !p.partitions.per_api);
        assert_eq!(p.extra["date_created"], json!("2024-05-27T10:24:31.099Z"));
        let out = serde_json::to_value(&p).unwrap();
        for (field, value) in input.as_object().unwrap() {
            assert_eq!(out.get(field), Some(value), "field {field} changed");
        }
        assert_eq!(serde_json::from_value::<Policy>(out).unwrap(), p);
    }

    #[test]
    fn empty_body_gives_an_active_policy_with_defaults() {
        let p: Policy = serde_json::from_str("{}").unwrap();
        assert_eq!(p, Policy::default());
        assert!(p.active && !p.denies_access());
        let out = serde_json::to_value(&p).unwrap();
        assert_eq!(
            out["partitions"],
            json!({"quota": false, "rate_limit": false, "complexity": false,
                                             "acl": false, "per_api": false})
        );
        assert_eq!(out["smoothing"], Value::Null);
        assert!(out.get("post_expiry_action").is_none());
    }

    #[test]
    fn nulls_are_accepted() {
        let p: Policy = serde_json::from_value(json!({
            "access_rights": null, "tags": null, "meta_data": null, "smoothing": null,
            "partitions": null, "active": null, "rate": null
        }))
        .unwrap();
        assert_eq!(p, Policy::default());
    }

    #[test]
    fn wrong_types_are_refused() {
        for bad in [
            json!({"rate": "10"}),
            json!({"quota_max": "10"}),
            json!({"active": "yes"}),
            json!({"partitions": {"acl": 1}}),
            json!({"tags": [1]}),
        ] {
            assert!(serde_json::from_value::<Policy>(bad.clone()).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn inactive_or_draft_policies_deny_access() {
        let draft: Policy = serde_json::from_value(json!({"active": false})).unwrap();
        let denied: Policy = serde_json::from_value(json!({"is_inactive": true})).unwrap();
        assert!(draft.denies_access() && denied.denies_access());
    }
}
