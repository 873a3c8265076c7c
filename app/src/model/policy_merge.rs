//! The policy merge: a key's effective session is the key with its policies applied.
//!
//! This follows Tyk's `internal/policy/apply.go` (`Service.Apply`, tyk-key-semantics.md §5)
//! step by step, with these differences, each on purpose:
//! - Tags come out de-duplicated and sorted (Tyk's order comes from a Go map, so it is random).
//! - A policy with `active: false` deactivates its keys, as `is_inactive: true` does.
//! - When two rate limits have the same interval, the higher rate wins (10 per 60 beats 5 per 30),
//!   so the result does not depend on the order of the policies. Tyk keeps the first one.
//! - Once a partitioned policy was applied, a later per_api policy is always refused (Tyk forgets
//!   it if a non-partitioned policy came in between).
//! - Merged access rights keep the policy's `api_name`, `api_id` and unknown fields (Tyk leaves
//!   them empty); endpoint paths may contain `:` (Tyk drops those while merging).
//!
//! It is pure: the caller looks the policies up (only those that exist, in the key's order) and
//! gets a new session back. It runs on every change and when a key's session is loaded.

use super::policy::Policy;
use super::session::{
    interval_nanos, APILimit, AccessDefinition, AccessSpec, Endpoint, EndpointMethod,
    FieldAccessDefinition, GraphqlType, RateLimit, SessionState,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Why policies could not be applied to a key. The messages are Tyk's where Tyk has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// A policy of another organisation: applying it would let one org change another's key.
    #[error("attempting to apply policy {policy_id} from different organisation to key")]
    ForeignOrg { policy_id: String, policy_org: String, key_org: String },
    #[error("cannot apply policy {policy_id} which has per_api and any of partitions set")]
    PerApiWithPartitions { policy_id: String },
    /// `policy_id` is the policy at which the mix was detected.
    #[error(
        "cannot apply multiple policies when some have per_api set and some are partitioned \
         (policy {policy_id})"
    )]
    MixedPerApiAndPartitions { policy_id: String },
    /// Policies were listed but none of them granted access to any API.
    #[error("key has no valid policies to be applied")]
    NoValidPolicies,
}

/// Applies `policies` to `session` and returns the effective session.
///
/// `policies` are the key's policies that exist, in the key's order (the caller resolves
/// `apply_policies` and checks organisations; a policy of another organisation is refused here
/// too). With no policies listed on the key and none passed, the key's own values stand.
pub fn apply_policies(
    session: &SessionState,
    policies: &[Policy],
) -> Result<SessionState, MergeError> {
    let original = &session.access_rights;
    let mut s = session.clone();
    // Tyk: `if session.MetaData == nil { make(map) }`.
    if s.meta_data.is_null() {
        s.meta_data = Value::Object(Map::new());
    }

    // ClearSession: zero what each policy is about to set, so that the policy's values win over
    // the key's instead of competing with them as "most permissive".
    for p in policies {
        clear_session(&mut s, p);
    }

    let listed = !session.policy_ids().is_empty() || !policies.is_empty();
    // Only the policies decide whether a key with policies is active (Tyk PR #7642).
    let mut inactive = !listed && session.is_inactive;
    let mut tags = BTreeSet::new();
    let mut merge = Merge::default();

    for p in policies {
        if !p.org_id.is_empty() && !s.org_id.is_empty() && p.org_id != s.org_id {
            return Err(MergeError::ForeignOrg {
                policy_id: p.id.clone(),
                policy_org: p.org_id.clone(),
                key_org: s.org_id.clone(),
            });
        }
        if p.partitions.per_api && p.partitions.enabled() {
            return Err(MergeError::PerApiWithPartitions { policy_id: p.id.clone() });
        }
        if p.partitions.per_api {
            merge.apply_per_api(p, original)?;
        } else {
            merge.apply_partitions(p, &mut s, original)?;
        }

        inactive |= p.denies_access();
        tags.extend(p.tags.iter().cloned());
        merge_meta_data(&mut s.meta_data, &p.meta_data);
        // Tyk compares the strings; unix seconds of equal length compare like numbers.
        if p.last_updated > s.last_updated {
            s.last_updated = p.last_updated.clone();
        }
        if !p.post_expiry_action.is_empty() {
            s.post_expiry_action = p.post_expiry_action.clone();
        }
        if p.post_expiry_grace_period != 0 {
            s.post_expiry_grace_period = p.post_expiry_grace_period;
        }
    }

    s.is_inactive = inactive;
    // Since Tyk 2.9 key tags are kept next to policy tags (DESIGN.md: merged on purpose).
    tags.extend(std::mem::take(&mut s.tags));
    s.tags = tags.into_iter().collect();

    if !listed {
        // A key's own per-API limit counts in its own namespace.
        for (api_id, def) in s.access_rights.iter_mut() {
            if !def.limit_is_empty() {
                def.allowance_scope = api_id.clone();
            }
        }
        return Ok(s);
    }

    merge.finish(&mut s)?;
    Ok(s)
}

/// The expiry of a key created now with `policies` (Tyk's `checkAndApplyTrialPeriod`): the last
/// policy with a positive `key_expires_in` decides. `None` leaves the key's own expiry. Only for
/// new keys; Tyk does not apply it again on update.
pub fn trial_expiry(policies: &[Policy], now_unix: i64) -> Option<i64> {
    policies
        .iter()
        .rev()
        .find(|p| p.key_expires_in > 0)
        .map(|p| now_unix.saturating_add(p.key_expires_in))
}

/// Tyk's `ClearSession` for one policy. No partition flag (also per_api) means all of them.
fn clear_session(s: &mut SessionState, p: &Policy) {
    let parts = p.partitions;
    let all = !parts.enabled();
    if parts.quota || all {
        s.quota_max = 0;
        s.quota_remaining = 0;
    }
    if parts.rate_limit || all {
        s.rate = 0.0;
        s.per = 0.0;
        s.smoothing = None;
        s.throttle_retry_limit = 0;
        s.throttle_interval = 0.0;
    }
    if parts.complexity || all {
        s.max_query_depth = 0;
    }
}

/// One API's rights while merging. `set_by` is Tyk's runtime-only `Limit.SetBy`: the policy
/// (or API, for per_api) whose limit this is.
#[derive(Clone, Default)]
struct Right {
    def: AccessDefinition,
    limit: APILimit,
    set_by: String,
}

/// Tyk's `applyStatus` together with the rights being built.
#[derive(Default)]
struct Merge {
    rights: BTreeMap<String, Right>,
    did_acl: BTreeSet<String>,
    did_quota: BTreeSet<String>,
    did_rate_limit: BTreeSet<String>,
    did_complexity: BTreeSet<String>,
    did_per_api: bool,
    did_partition: bool,
}

impl Merge {
    /// Tyk's `applyPartitions`: a partitioned or monolithic policy.
    fn apply_partitions(
        &mut self,
        p: &Policy,
        s: &mut SessionState,
        original: &BTreeMap<String, AccessDefinition>,
    ) -> Result<(), MergeError> {
        let partitioned = p.partitions.enabled();
        if partitioned && self.did_per_api {
            return Err(MergeError::MixedPerApiAndPartitions { policy_id: p.id.clone() });
        }
        let acl = !partitioned || p.partitions.acl;
        let quota = !partitioned || p.partitions.quota;
        let rate_limit = !partitioned || p.partitions.rate_limit;
        let complexity = !partitioned || p.partitions.complexity;

        for (api_id, pdef) in &p.access_rights {
            // Start from what earlier policies gave this API.
            let mut ar = self.rights.get(api_id).cloned().unwrap_or_default();

            if acl {
                self.did_acl.insert(api_id.clone());
                merge_acl(&mut ar.def, pdef);
                ar.set_by = p.id.clone();
            }

            if quota {
                self.did_quota.insert(api_id.clone());
                if more_or_unlimited(p.quota_max, ar.limit.quota_max) {
                    ar.limit.quota_max = p.quota_max;
                    if more_or_unlimited(p.quota_max, s.quota_max) {
                        s.quota_max = p.quota_max;
                    }
                }
                if p.quota_renewal_rate > ar.limit.quota_renewal_rate {
                    ar.limit.quota_renewal_rate = p.quota_renewal_rate;
                    if p.quota_renewal_rate > s.quota_renewal_rate {
                        s.quota_renewal_rate = p.quota_renewal_rate;
                    }
                }
            }

            if rate_limit {
                self.did_rate_limit.insert(api_id.clone());
                apply_rate_limits(s, p, &mut ar.limit);
                ar.def.endpoints = merge_endpoints(&pdef.endpoints, &ar.def.endpoints);
                if p.throttle_retry_limit > ar.limit.throttle_retry_limit {
                    ar.limit.throttle_retry_limit = p.throttle_retry_limit;
                    if p.throttle_retry_limit > s.throttle_retry_limit {
                        s.throttle_retry_limit = p.throttle_retry_limit;
                    }
                }
                if p.throttle_interval > ar.limit.throttle_interval {
                    ar.limit.throttle_interval = p.throttle_interval;
                    if p.throttle_interval > s.throttle_interval {
                        s.throttle_interval = p.throttle_interval;
                    }
                }
            }

            if complexity {
                self.did_complexity.insert(api_id.clone());
                if more_or_unlimited(p.max_query_depth, ar.limit.max_query_depth) {
                    ar.limit.max_query_depth = p.max_query_depth;
                    if more_or_unlimited(p.max_query_depth, s.max_query_depth) {
                        s.max_query_depth = p.max_query_depth;
                    }
                }
            }

            // The key's running quota window for this API is kept.
            if let Some(limit) = original.get(api_id).and_then(|d| d.limit.as_ref()) {
                if !limit.is_empty() {
                    ar.limit.quota_renews = limit.quota_renews;
                }
            }

            self.rights.insert(api_id.clone(), ar);
        }

        // A "master policy" (no access rights) sets the key's root limits directly.
        if p.access_rights.is_empty() {
            if rate_limit {
                s.rate = p.rate;
                s.per = p.per;
                s.smoothing = p.smoothing.clone();
                s.throttle_interval = p.throttle_interval;
                s.throttle_retry_limit = p.throttle_retry_limit;
            }
            if complexity {
                s.max_query_depth = p.max_query_depth;
            }
            if quota {
                s.quota_max = p.quota_max;
                s.quota_renewal_rate = p.quota_renewal_rate;
            }
        }

        s.hmac_enabled |= p.hmac_enabled;
        s.enable_http_signature_validation |= p.enable_http_signature_validation;
        self.did_partition |= partitioned;
        Ok(())
    }

    /// Tyk's `applyPerAPI`: every API gets its own limits and its own counters.
    fn apply_per_api(
        &mut self,
        p: &Policy,
        original: &BTreeMap<String, AccessDefinition>,
    ) -> Result<(), MergeError> {
        if self.did_partition {
            return Err(MergeError::MixedPerApiAndPartitions { policy_id: p.id.clone() });
        }
        for (api_id, pdef) in &p.access_rights {
            let mut def = pdef.clone();
            // An API without its own limit takes the policy's, counted in the policy's namespace.
            let (mut limit, scope) = match def.limit.take() {
                Some(limit) if !limit.is_empty() => (limit, api_id.clone()),
                _ => (p.api_limit(), p.id.clone()),
            };
            def.allowance_scope = scope.clone();
            if let Some(orig) = original.get(api_id) {
                if let Some(orig_limit) = orig.limit.as_ref().filter(|l| !l.is_empty()) {
                    limit.quota_renews = orig_limit.quota_renews;
                }
                // Disabled GraphQL introspection stays disabled.
                def.disable_introspection |= orig.disable_introspection;
            }
            let mut right = Right { def, limit, set_by: scope };
            if let Some(current) = self.rights.get(api_id) {
                apply_api_level_limits(&mut right, current);
            }
            self.rights.insert(api_id.clone(), right);
            self.did_acl.insert(api_id.clone());
            self.did_quota.insert(api_id.clone());
            self.did_rate_limit.insert(api_id.clone());
            self.did_complexity.insert(api_id.clone());
        }
        if !p.access_rights.is_empty() {
            self.did_per_api = true;
        }
        Ok(())
    }

    /// Tyk's finalisation: drop APIs no policy granted, let each API inherit the parts no policy
    /// set from the session root, and write the result into the session.
    fn finish(self, s: &mut SessionState) -> Result<(), MergeError> {
        let Merge { mut rights, did_acl, did_quota, did_rate_limit, did_complexity, .. } = self;

        // Rights set by several policies count in separate namespaces.
        let setters: BTreeSet<&str> =
            rights.values().map(|r| r.set_by.as_str()).filter(|id| !id.is_empty()).collect();
        let several_setters = setters.len() > 1;

        rights.retain(|api_id, _| did_acl.contains(api_id));
        for (api_id, r) in rights.iter_mut() {
            if !did_rate_limit.contains(api_id) {
                r.limit.rate = s.rate;
                r.limit.per = s.per;
                r.limit.smoothing = s.smoothing.clone();
                r.limit.throttle_interval = s.throttle_interval;
                r.limit.throttle_retry_limit = s.throttle_retry_limit;
                r.def.endpoints.clear();
            }
            if !did_complexity.contains(api_id) {
                r.limit.max_query_depth = s.max_query_depth;
            }
            if !did_quota.contains(api_id) {
                r.limit.quota_max = s.quota_max;
                r.limit.quota_renewal_rate = s.quota_renewal_rate;
                r.limit.quota_renews = s.quota_renews;
            }
            if several_setters && r.def.allowance_scope.is_empty() && !r.set_by.is_empty() {
                r.def.allowance_scope = r.set_by.clone();
            }
        }

        // Legacy: when the policies set limits for one single API, the root mirrors it.
        if did_quota.len() == 1 && did_rate_limit.len() == 1 && did_complexity.len() == 1 {
            for r in rights.values() {
                s.rate = r.limit.rate;
                s.per = r.limit.per;
                s.smoothing = r.limit.smoothing.clone();
                s.quota_max = r.limit.quota_max;
                s.quota_renews = r.limit.quota_renews;
                s.quota_renewal_rate = r.limit.quota_renewal_rate;
                s.max_query_depth = r.limit.max_query_depth;
            }
        }

        if rights.is_empty() {
            return Err(MergeError::NoValidPolicies);
        }
        // Non-empty rights imply that some policy supplied an ACL, so the key's are replaced.
        s.access_rights = rights
            .into_iter()
            .map(|(api_id, r)| {
                let mut def = r.def;
                def.limit = Some(r.limit);
                (api_id, def)
            })
            .collect();
        Ok(())
    }
}

/// Tyk's `greaterThanInt64`: is `a` more than `b`, where -1 means unlimited?
fn more_or_unlimited(a: i64, b: i64) -> bool {
    if a == -1 {
        return true;
    }
    if b == -1 {
        return false;
    }
    a > b
}

/// Does the limit (`new_rate` every `new_interval`) allow more than the current one? A shorter
/// interval between requests wins; equal intervals go to the higher rate.
fn allows_more(new_interval: i64, new_rate: f64, cur_interval: i64, cur_rate: f64) -> bool {
    cur_interval > new_interval
        || (cur_interval == new_interval && cur_interval != 0 && new_rate > cur_rate)
}

/// Tyk's `ApplyRateLimits`: the policy's rate replaces an empty or less permissive one, on the
/// API and on the session root alike.
fn apply_rate_limits(s: &mut SessionState, p: &Policy, api: &mut APILimit) {
    let empty = |rate: f64, per: f64| rate == 0.0 || per == 0.0;
    if empty(p.rate, p.per) {
        return;
    }
    let policy_interval = interval_nanos(p.rate, p.per);
    if empty(api.rate, api.per)
        || allows_more(policy_interval, p.rate, interval_nanos(api.rate, api.per), api.rate)
    {
        api.rate = p.rate;
        api.per = p.per;
        api.smoothing = p.smoothing.clone();
    }
    if empty(s.rate, s.per)
        || allows_more(policy_interval, p.rate, interval_nanos(s.rate, s.per), s.rate)
    {
        s.rate = p.rate;
        s.per = p.per;
        s.smoothing = p.smoothing.clone();
    }
}

/// Tyk's `applyAPILevelLimits`: two per_api policies grant the same API. `new` is the later one.
fn apply_api_level_limits(new: &mut Right, current: &Right) {
    let (n, c) = (&mut new.limit, &current.limit);
    let mut updated = false;
    if allows_more(interval_nanos(c.rate, c.per), c.rate, interval_nanos(n.rate, n.per), n.rate) {
        n.rate = c.rate;
        n.per = c.per;
        n.smoothing = c.smoothing.clone();
        updated = true;
    }
    if c.quota_max != n.quota_max && more_or_unlimited(c.quota_max, n.quota_max) {
        n.quota_max = c.quota_max;
        updated = true;
    }
    if more_or_unlimited(c.quota_renewal_rate, n.quota_renewal_rate) {
        n.quota_renewal_rate = c.quota_renewal_rate;
    }
    // An unlimited quota has nothing to renew.
    if n.quota_max == -1 {
        n.quota_renewal_rate = 0;
    }
    if updated {
        new.set_by = current.set_by.clone();
        new.def.allowance_scope = current.def.allowance_scope.clone();
    }
    new.def.endpoints = merge_endpoints(&new.def.endpoints, &current.def.endpoints);
}

/// The ACL part of two access definitions for one API: unions throughout.
fn merge_acl(r: &mut AccessDefinition, v: &AccessDefinition) {
    r.disable_introspection |= v.disable_introspection;
    append_if_missing(&mut r.versions, &v.versions);
    merge_allowed_urls(&mut r.allowed_urls, &v.allowed_urls);
    merge_graphql_types(&mut r.restricted_types, &v.restricted_types);
    merge_graphql_types(&mut r.allowed_types, &v.allowed_types);
    merge_field_access_rights(&mut r.field_access_rights, &v.field_access_rights);
    // Not Tyk: keep the API's name and the fields we do not know (first policy wins).
    if r.api_id.is_empty() {
        r.api_id = v.api_id.clone();
    }
    if r.api_name.is_empty() {
        r.api_name = v.api_name.clone();
    }
    for (k, val) in &v.extra {
        r.extra.entry(k.clone()).or_insert_with(|| val.clone());
    }
}

/// Tyk's `appendIfMissing`: order kept, no duplicates added.
fn append_if_missing(dest: &mut Vec<String>, items: &[String]) {
    for item in items {
        if !dest.contains(item) {
            dest.push(item.clone());
        }
    }
}

/// Tyk's `MergeAllowedURLs`: one rule per URL, in first-seen order, methods unioned.
fn merge_allowed_urls(dest: &mut Vec<AccessSpec>, src: &[AccessSpec]) {
    for spec in src {
        match dest.iter_mut().find(|d| d.url == spec.url) {
            Some(existing) => append_if_missing(&mut existing.methods, &spec.methods),
            None => dest.push(spec.clone()),
        }
    }
}

/// GraphQL allowed or restricted types: fields unioned per type name.
fn merge_graphql_types(dest: &mut Vec<GraphqlType>, src: &[GraphqlType]) {
    for t in src {
        match dest.iter_mut().find(|d| d.name == t.name) {
            Some(existing) => append_if_missing(&mut existing.fields, &t.fields),
            None => dest.push(t.clone()),
        }
    }
}

/// Field-level depth limits: the larger depth per (type, field), -1 meaning unlimited.
fn merge_field_access_rights(dest: &mut Vec<FieldAccessDefinition>, src: &[FieldAccessDefinition]) {
    for far in src {
        let mut exists = false;
        for d in dest.iter_mut() {
            if d.type_name == far.type_name && d.field_name == far.field_name {
                exists = true;
                if more_or_unlimited(far.limits.max_query_depth, d.limits.max_query_depth) {
                    d.limits.max_query_depth = far.limits.max_query_depth;
                }
            }
        }
        if !exists {
            dest.push(far.clone());
        }
    }
}

/// Tyk's `ApplyEndpointLevelLimits`: per (path, method) the shorter interval wins, on a tie the
/// higher rate.
fn merge_endpoints(policy: &[Endpoint], current: &[Endpoint]) -> Vec<Endpoint> {
    let current = endpoint_map(current);
    if current.is_empty() {
        return policy.to_vec();
    }
    let mut result = endpoint_map(policy);
    if result.is_empty() {
        return endpoints_from_map(current);
    }
    for (key, cur) in current {
        match result.get(&key) {
            None => {
                result.insert(key, cur);
            }
            Some(pol) => {
                let (p, c) = (pol.interval_nanos(), cur.interval_nanos());
                if p > c || (p == c && cur.rate > pol.rate) {
                    result.insert(key, cur);
                }
            }
        }
    }
    endpoints_from_map(result)
}

/// (path, method) → limit; a later duplicate replaces an earlier one, as in Tyk's map.
fn endpoint_map(endpoints: &[Endpoint]) -> BTreeMap<(String, String), RateLimit> {
    let mut map = BTreeMap::new();
    for e in endpoints {
        for m in &e.methods {
            map.insert((e.path.clone(), m.name.clone()), m.limit.clone());
        }
    }
    map
}

/// Back to a list, sorted by path and then by method name ignoring case, as Tyk sorts it.
fn endpoints_from_map(map: BTreeMap<(String, String), RateLimit>) -> Vec<Endpoint> {
    let mut out: Vec<Endpoint> = Vec::new();
    for ((path, name), limit) in map {
        let method = EndpointMethod { name, limit };
        match out.last_mut() {
            Some(last) if last.path == path => last.methods.push(method),
            _ => out.push(Endpoint { path, methods: vec![method] }),
        }
    }
    for e in &mut out {
        e.methods.sort_by_key(|m| m.name.to_uppercase());
    }
    out
}

/// Policy metadata overwrites the key's, key by key (Tyk PR #2725: the policy stays authoritative).
fn merge_meta_data(meta: &mut Value, policy_meta: &Map<String, Value>) {
    match meta {
        Value::Object(map) => {
            for (k, v) in policy_meta {
                map.insert(k.clone(), v.clone());
            }
        }
        // Only a non-object meta_data (which Tyk could not even store) gets here.
        _ if !policy_meta.is_empty() => *meta = Value::Object(policy_meta.clone()),
        _ => {}
    }
}

/// Tyk's rules, case by case (its own cases are in `internal/policy/apply_test.go`).
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    enum Expect {
        Ok(fn(&SessionState)),
        Err(MergeError),
    }

    struct Case {
        name: &'static str,
        key: Value,
        policies: Vec<Value>,
        /// Run with the policies reversed too, expecting the same outcome.
        any_order: bool,
        expect: Expect,
    }

    fn case(name: &'static str, key: Value, policies: Vec<Value>, expect: Expect) -> Case {
        Case { name, key, policies, any_order: false, expect }
    }

    fn any_order(mut c: Case) -> Case {
        c.any_order = true;
        c
    }

    fn run(cases: Vec<Case>) {
        for c in cases {
            let key: SessionState = serde_json::from_value(c.key.clone()).unwrap();
            let mut policies: Vec<Policy> =
                c.policies.iter().map(|p| serde_json::from_value(p.clone()).unwrap()).collect();
            let runs = if c.any_order { 2 } else { 1 };
            for run in 0..runs {
                if run == 1 {
                    policies.reverse();
                }
                let order = if run == 1 { "reversed" } else { "as listed" };
                match (apply_policies(&key, &policies), &c.expect) {
                    (Ok(s), Expect::Ok(check)) => {
                        // A panic inside `check` names the case through this message.
                        eprintln!("case: {} ({order})", c.name);
                        check(&s);
                    }
                    (Err(e), Expect::Err(want)) => assert_eq!(&e, want, "{} ({order})", c.name),
                    (Ok(s), Expect::Err(want)) => {
                        panic!("{} ({order}): wanted {want:?}, got {s:?}", c.name)
                    }
                    (Err(e), Expect::Ok(_)) => panic!("{} ({order}): unexpected {e:?}", c.name),
                }
            }
        }
    }

    fn limit(s: &SessionState, api: &str) -> APILimit {
        s.access_rights[api].limit.clone().expect("merged rights carry a limit")
    }

    fn apis(s: &SessionState) -> Vec<&str> {
        s.access_rights.keys().map(String::as_str).collect()
    }

    #[test]
    fn rate_and_quota() {
        run(vec![
            case(
                "a single monolithic policy replaces the key's rate, quota and rights",
                json!({"org_id": "org", "rate": 5, "per": 1, "quota_max": 10,
                       "quota_renewal_rate": 60, "throttle_interval": 3,
                       "throttle_retry_limit": 2, "max_query_depth": 4,
                       "apply_policies": ["p1"],
                       "access_rights": {"old": {"api_id": "old", "versions": ["Default"]}}}),
                vec![json!({"id": "p1", "org_id": "org", "rate": 100, "per": 60,
                            "quota_max": 1000, "quota_renewal_rate": 3600,
                            "access_rights": {"api1": {"api_id": "api1", "api_name": "One",
                                                       "versions": ["Default"]}}})],
                Expect::Ok(|s| {
                    assert_eq!((s.rate, s.per), (100.0, 60.0));
                    assert_eq!((s.quota_max, s.quota_renewal_rate), (1000, 3600));
                    assert_eq!((s.throttle_interval, s.throttle_retry_limit), (0.0, 0));
                    assert_eq!(s.max_query_depth, 0);
                    assert_eq!(apis(s), ["api1"]);
                    let l = limit(s, "api1");
                    assert_eq!((l.rate, l.per, l.quota_max), (100.0, 60.0, 1000));
                    assert_eq!(s.access_rights["api1"].versions, ["Default"]);
                    assert_eq!(s.access_rights["api1"].api_name, "One");
                    assert_eq!(s.access_rights["api1"].allowance_scope, "");
                }),
            ),
            any_order(case(
                "the most permissive rate wins: the shorter interval between requests",
                json!({}),
                vec![
                    json!({"id": "p1", "rate": 10, "per": 1, "access_rights": {"a": {}}}),
                    json!({"id": "p2", "rate": 100, "per": 60, "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!((s.rate, s.per), (10.0, 1.0));
                    assert_eq!((limit(s, "a").rate, limit(s, "a").per), (10.0, 1.0));
                }),
            )),
            any_order(case(
                "equal intervals: the higher rate wins",
                json!({}),
                vec![
                    json!({"id": "p1", "rate": 5, "per": 30, "access_rights": {"a": {}}}),
                    json!({"id": "p2", "rate": 10, "per": 60, "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!((s.rate, s.per), (10.0, 60.0));
                    assert_eq!(limit(s, "a").rate, 10.0);
                }),
            )),
            any_order(case(
                "a policy without a rate leaves the other policy's rate",
                json!({}),
                vec![
                    json!({"id": "p1", "rate": 10, "per": 1, "access_rights": {"a": {}}}),
                    json!({"id": "p2", "quota_max": 5, "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| assert_eq!((s.rate, s.per, s.quota_max), (10.0, 1.0, 5))),
            )),
            any_order(case(
                "rate: -1 (unlimited) beats any rate, as its interval is the shortest",
                json!({}),
                vec![
                    json!({"id": "p1", "rate": 100, "per": 1, "access_rights": {"a": {}}}),
                    json!({"id": "p2", "rate": -1, "per": -1, "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!((s.rate, s.per), (-1.0, -1.0));
                    assert_eq!((limit(s, "a").rate, limit(s, "a").per), (-1.0, -1.0));
                }),
            )),
            any_order(case(
                "quota: -1 (unlimited) beats any quota; the longer renewal rate wins",
                json!({}),
                vec![
                    json!({"id": "p1", "quota_max": 1000, "quota_renewal_rate": 3600,
                           "access_rights": {"a": {}}}),
                    json!({"id": "p2", "quota_max": -1, "quota_renewal_rate": 60,
                           "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!((s.quota_max, s.quota_renewal_rate), (-1, 3600));
                    assert_eq!(limit(s, "a").quota_max, -1);
                }),
            )),
            any_order(case(
                "quota: the larger one wins",
                json!({}),
                vec![
                    json!({"quota_max": 2, "access_rights": {"a": {}},
                           "partitions": {"acl": true, "quota": true}}),
                    json!({"quota_max": 3, "access_rights": {"a": {}},
                           "partitions": {"acl": true, "quota": true}}),
                ],
                Expect::Ok(|s| assert_eq!(s.quota_max, 3)),
            )),
        ]);
    }

    #[test]
    fn partitioned_limits_throttle_and_complexity() {
        run(vec![
            case(
                "a quota-only partition sets the quota and keeps the key's rate and throttle",
                json!({"rate": 7, "per": 1, "throttle_interval": 2, "throttle_retry_limit": 3,
                       "quota_max": 5, "quota_remaining": 4, "max_query_depth": 6}),
                vec![json!({"id": "q", "quota_max": 50, "quota_renewal_rate": 60,
                            "partitions": {"quota": true, "acl": true},
                            "access_rights": {"a": {}}})],
                Expect::Ok(|s| {
                    assert_eq!((s.rate, s.per), (7.0, 1.0));
                    assert_eq!((s.throttle_interval, s.throttle_retry_limit), (2.0, 3));
                    assert_eq!((s.quota_max, s.quota_remaining), (50, 0));
                    assert_eq!(s.max_query_depth, 6);
                    let l = limit(s, "a");
                    assert_eq!((l.rate, l.per, l.throttle_retry_limit), (7.0, 1.0, 3));
                    assert_eq!((l.quota_max, l.max_query_depth), (50, 6));
                }),
            ),
            any_order(case(
                "quota and rate from separate partitioned policies combine",
                json!({}),
                vec![
                    json!({"quota_max": 2, "partitions": {"acl": true, "quota": true},
                           "access_rights": {"a": {}}}),
                    json!({"rate": 4, "per": 4, "partitions": {"acl": true, "rate_limit": true},
                           "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!((s.quota_max, s.rate, s.per), (2, 4.0, 4.0));
                    assert_eq!((limit(s, "a").quota_max, limit(s, "a").rate), (2, 4.0));
                }),
            )),
            any_order(case(
                "throttle interval and retry limit: each the larger",
                json!({}),
                vec![
                    json!({"throttle_interval": 2, "throttle_retry_limit": 5,
                           "access_rights": {"a": {}}}),
                    json!({"throttle_interval": 9, "throttle_retry_limit": 1,
                           "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!((s.throttle_interval, s.throttle_retry_limit), (9.0, 5));
                    let l = limit(s, "a");
                    assert_eq!((l.throttle_interval, l.throttle_retry_limit), (9.0, 5));
                }),
            )),
            any_order(case(
                "complexity: the larger depth, -1 being unlimited",
                json!({}),
                vec![
                    json!({"max_query_depth": 5, "partitions": {"acl": true, "complexity": true},
                           "access_rights": {"a": {}}}),
                    json!({"max_query_depth": -1, "partitions": {"complexity": true},
                           "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!(s.max_query_depth, -1);
                    assert_eq!(limit(s, "a").max_query_depth, -1);
                }),
            )),
            case(
                "the key's running quota window (quota_renews) is kept",
                json!({"quota_renews": 1,
                       "access_rights": {"a": {"limit": {"quota_max": 10,
                                                          "quota_renews": 1715847135}}}}),
                vec![json!({"quota_max": 100, "access_rights": {"a": {}}})],
                Expect::Ok(|s| {
                    assert_eq!(limit(s, "a").quota_renews, 1715847135);
                    assert_eq!(s.quota_renews, 1715847135, "one API: the root mirrors it");
                }),
            ),
        ]);
    }

    #[test]
    fn access_rights() {
        run(vec![
            case(
                "versions and URLs are unions; methods are merged per URL",
                json!({}),
                vec![
                    json!({"access_rights": {"a": {
                        "versions": ["v1"],
                        "allowed_urls": [{"url": "/user", "methods": ["GET"]}]}}}),
                    json!({"access_rights": {
                        "a": {"versions": ["v2", "v1"],
                              "allowed_urls": [{"url": "/user", "methods": ["POST", "GET"]},
                                               {"url": "/companies", "methods": ["GET"]}]},
                        "b": {"versions": ["Default"]}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!(apis(s), ["a", "b"]);
                    let a = &s.access_rights["a"];
                    assert_eq!(a.versions, ["v1", "v2"]);
                    let urls: Vec<(&str, Vec<&str>)> = a
                        .allowed_urls
                        .iter()
                        .map(|u| (u.url.as_str(), u.methods.iter().map(String::as_str).collect()))
                        .collect();
                    assert_eq!(urls, [("/user", vec!["GET", "POST"]), ("/companies", vec!["GET"])]);
                }),
            ),
            case(
                "the policies' rights replace the key's own",
                json!({"access_rights": {"c": {"versions": ["Default"]}}}),
                vec![json!({"partitions": {"acl": true},
                            "access_rights": {"a": {}, "b": {}}})],
                Expect::Ok(|s| assert_eq!(apis(s), ["a", "b"])),
            ),
            case(
                "APIs that no policy granted through its ACL are dropped",
                json!({}),
                vec![
                    json!({"quota_max": 3, "partitions": {"quota": true},
                           "access_rights": {"b": {}}}),
                    json!({"id": "p1", "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!(apis(s), ["a"]);
                    assert_eq!(s.quota_max, 3);
                }),
            ),
            case(
                "an API with only an ACL partition inherits its limits from the root",
                json!({}),
                vec![
                    json!({"partitions": {"acl": true}, "access_rights": {"a": {}}}),
                    json!({"rate": 4, "per": 1, "partitions": {"rate_limit": true},
                           "access_rights": {"a": {}, "b": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!(apis(s), ["a"]);
                    assert_eq!((limit(s, "a").rate, limit(s, "a").per), (4.0, 1.0));
                }),
            ),
        ]);
    }

    #[test]
    fn access_rights_by_namespace_graphql_and_endpoint() {
        run(vec![
            any_order(case(
                "rights set by several policies count in separate namespaces",
                json!({}),
                vec![
                    json!({"id": "p1", "access_rights": {"a": {}}}),
                    json!({"id": "p2", "access_rights": {"b": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!(s.access_rights["a"].allowance_scope, "p1");
                    assert_eq!(s.access_rights["b"].allowance_scope, "p2");
                }),
            )),
            any_order(case(
                "GraphQL: type fields unioned, field depth the larger, introspection stays off",
                json!({}),
                vec![
                    json!({"access_rights": {"g": {
                        "disable_introspection": true,
                        "restricted_types": [{"name": "Country", "fields": ["code", "name"]}],
                        "field_access_rights": [
                            {"type_name": "Query", "field_name": "people",
                             "limits": {"max_query_depth": 4}}]}}}),
                    json!({"access_rights": {"g": {
                        "restricted_types": [{"name": "Country", "fields": ["code", "phone"]},
                                             {"name": "Person", "fields": ["name"]}],
                        "field_access_rights": [
                            {"type_name": "Query", "field_name": "people",
                             "limits": {"max_query_depth": -1}},
                            {"type_name": "Query", "field_name": "films",
                             "limits": {"max_query_depth": 2}}]}}}),
                ],
                Expect::Ok(|s| {
                    let g = &s.access_rights["g"];
                    assert!(g.disable_introspection);
                    let country = g.restricted_types.iter().find(|t| t.name == "Country").unwrap();
                    let mut fields = country.fields.clone();
                    fields.sort();
                    assert_eq!(fields, ["code", "name", "phone"]);
                    assert_eq!(g.restricted_types.len(), 2);
                    let depth = |f: &str| {
                        g.field_access_rights
                            .iter()
                            .find(|r| r.field_name == f)
                            .unwrap()
                            .limits
                            .max_query_depth
                    };
                    assert_eq!((depth("people"), depth("films")), (-1, 2));
                }),
            )),
            any_order(case(
                "endpoint limits: per method and path the shorter interval wins",
                json!({}),
                vec![
                    json!({"access_rights": {"d": {"endpoints": [
                        {"path": "/get", "methods": [{"name": "GET",
                                                      "limit": {"rate": 10, "per": 60}}]}]}}}),
                    json!({"access_rights": {"d": {"endpoints": [
                        {"path": "/get", "methods": [{"name": "GET",
                                                      "limit": {"rate": 20, "per": 60}}]},
                        {"path": "/post", "methods": [{"name": "POST",
                                                       "limit": {"rate": 5, "per": 1}}]}]}}}),
                ],
                Expect::Ok(|s| {
                    let got = serde_json::to_value(&s.access_rights["d"].endpoints).unwrap();
                    assert_eq!(
                        got,
                        json!([
                        {"path": "/get", "methods": [{"name": "GET",
                                                      "limit": {"rate": 20, "per": 60}}]},
                        {"path": "/post", "methods": [{"name": "POST",
                                                       "limit": {"rate": 5, "per": 1}}]}])
                    );
                }),
            )),
            case(
                "endpoint limits need the rate-limit partition",
                json!({}),
                vec![json!({"partitions": {"acl": true}, "access_rights": {"d": {"endpoints": [
                    {"path": "/get", "methods": [{"name": "GET", "limit": {"rate": -1}}]}]}}})],
                Expect::Ok(|s| assert!(s.access_rights["d"].endpoints.is_empty())),
            ),
        ]);
    }

    #[test]
    fn flags_tags_and_metadata() {
        run(vec![
            any_order(case(
                "tags: the key's and the policies', de-duplicated and sorted",
                json!({"tags": ["zeta", "edge"]}),
                vec![
                    json!({"tags": ["alpha", "edge"], "access_rights": {"a": {}}}),
                    json!({"tags": ["beta", "alpha"], "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| assert_eq!(s.tags, ["alpha", "beta", "edge", "zeta"])),
            )),
            case(
                "metadata: policy keys overwrite the key's, the later policy wins",
                json!({"meta_data": {"owner": "key", "k": 1}}),
                vec![
                    json!({"meta_data": {"owner": "p1"}, "access_rights": {"a": {}}}),
                    json!({"meta_data": {"owner": "p2", "tier": "gold"},
                           "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!(s.meta_data, json!({"owner": "p2", "k": 1, "tier": "gold"}))
                }),
            ),
            any_order(case(
                "an inactive policy deactivates the key",
                json!({}),
                vec![
                    json!({"id": "ok", "access_rights": {"a": {}}}),
                    json!({"id": "deny", "is_inactive": true, "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| assert!(s.is_inactive)),
            )),
            any_order(case(
                "a draft policy (active: false) deactivates the key",
                json!({}),
                vec![
                    json!({"id": "ok", "access_rights": {"a": {}}}),
                    json!({"id": "draft", "active": false, "access_rights": {"b": {}}}),
                ],
                Expect::Ok(|s| assert!(s.is_inactive)),
            )),
            case(
                "the key's own is_inactive is ignored when policies apply",
                json!({"is_inactive": true, "apply_policies": ["p1"]}),
                vec![json!({"id": "p1", "access_rights": {"a": {}}})],
                Expect::Ok(|s| assert!(!s.is_inactive)),
            ),
            case(
                "without policies the key keeps its own values",
                json!({"is_inactive": true, "rate": 3, "per": 1, "tags": ["b", "a", "b"],
                       "access_rights": {"a": {"versions": ["Default"]},
                                         "b": {"limit": {"rate": 1, "per": 1}}}}),
                vec![],
                Expect::Ok(|s| {
                    assert!(s.is_inactive);
                    assert_eq!((s.rate, s.per), (3.0, 1.0));
                    assert_eq!(s.tags, ["a", "b"]);
                    assert_eq!(apis(s), ["a", "b"]);
                    assert_eq!(s.access_rights["a"].allowance_scope, "");
                    assert_eq!(s.access_rights["b"].allowance_scope, "b", "own per-API limit");
                    assert_eq!(s.meta_data, json!({}));
                }),
            ),
            any_order(case(
                "hmac_enabled and enable_http_signature_validation are ORed",
                json!({}),
                vec![
                    json!({"hmac_enabled": true, "access_rights": {"a": {}}}),
                    json!({"enable_http_signature_validation": true, "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| assert!(s.hmac_enabled && s.enable_http_signature_validation)),
            )),
            case(
                "last_updated is the latest; post-expiry settings from the last policy setting them",
                json!({"last_updated": "1700000000", "post_expiry_action": "retain"}),
                vec![
                    json!({"last_updated": "1715681746", "post_expiry_action": "delete",
                           "post_expiry_grace_period": 60, "access_rights": {"a": {}}}),
                    json!({"last_updated": "1710000000", "post_expiry_grace_period": 0,
                           "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!(s.last_updated, "1715681746");
                    assert_eq!((s.post_expiry_action.as_str(), s.post_expiry_grace_period),
                               ("delete", 60));
                }),
            ),
        ]);
    }

    #[test]
    fn master_policy() {
        run(vec![
            any_order(case(
                "a policy without rights sets the root limits the other APIs inherit",
                json!({"rate": 1000, "per": 1}),
                vec![
                    json!({"id": "m", "rate": 50, "per": 1, "quota_max": 500,
                           "quota_renewal_rate": 60, "max_query_depth": 3}),
                    json!({"id": "acl", "partitions": {"acl": true},
                           "access_rights": {"a": {"versions": ["Default"]}}}),
                ],
                Expect::Ok(|s| {
                    assert_eq!(
                        (s.rate, s.per, s.quota_max, s.max_query_depth),
                        (50.0, 1.0, 500, 3)
                    );
                    let l = limit(s, "a");
                    assert_eq!(
                        (l.rate, l.quota_max, l.quota_renewal_rate, l.max_query_depth),
                        (50.0, 500, 60, 3)
                    );
                }),
            )),
            case(
                "a master policy alone grants no API",
                json!({}),
                vec![json!({"id": "m", "rate": 50, "per": 1})],
                Expect::Err(MergeError::NoValidPolicies),
            ),
        ]);
    }

    #[test]
    fn per_api() {
        run(vec![
            case(
                "each API keeps its own limit or gets the policy's, in its own namespace",
                json!({}),
                vec![json!({"id": "pa", "rate": 300, "per": 1, "quota_max": -1,
                            "partitions": {"per_api": true},
                            "access_rights": {
                                "d": {"limit": {"rate": 200, "per": 10, "quota_max": 5000,
                                                "quota_renewal_rate": 3600}},
                                "e": {}}})],
                Expect::Ok(|s| {
                    let (d, e) = (limit(s, "d"), limit(s, "e"));
                    assert_eq!(
                        (d.rate, d.per, d.quota_max, d.quota_renewal_rate),
                        (200.0, 10.0, 5000, 3600)
                    );
                    assert_eq!((e.rate, e.per, e.quota_max), (300.0, 1.0, -1));
                    assert_eq!(s.access_rights["d"].allowance_scope, "d");
                    assert_eq!(s.access_rights["e"].allowance_scope, "pa");
                }),
            ),
            any_order(case(
                "two per_api policies on one API: shorter interval, larger quota, -1 renews never",
                json!({}),
                vec![
                    json!({"id": "pa1", "partitions": {"per_api": true}, "access_rights": {
                        "d": {"limit": {"rate": 20, "per": 1, "quota_max": 1000,
                                        "quota_renewal_rate": 3600}}}}),
                    json!({"id": "pa2", "partitions": {"per_api": true}, "access_rights": {
                        "d": {"limit": {"rate": 300, "per": 10, "quota_max": -1,
                                        "quota_renewal_rate": 60}}}}),
                ],
                Expect::Ok(|s| {
                    let d = limit(s, "d");
                    assert_eq!(
                        (d.rate, d.per, d.quota_max, d.quota_renewal_rate),
                        (300.0, 10.0, -1, 0)
                    );
                    assert_eq!(s.access_rights["d"].allowance_scope, "d");
                }),
            )),
            any_order(case(
                "per_api and a monolithic policy may be combined",
                json!({}),
                vec![
                    json!({"id": "pa", "partitions": {"per_api": true},
                           "access_rights": {"d": {"limit": {"rate": 5, "per": 1}}}}),
                    json!({"id": "mono", "rate": 1, "per": 1, "access_rights": {"a": {}}}),
                ],
                Expect::Ok(|s| assert_eq!(apis(s), ["a", "d"])),
            )),
        ]);
    }

    #[test]
    fn errors() {
        let per_api = json!({"id": "pa", "partitions": {"per_api": true},
                             "access_rights": {"d": {"limit": {"rate": 5, "per": 1}}}});
        let quota = json!({"id": "q", "quota_max": 2, "partitions": {"acl": true, "quota": true},
                           "access_rights": {"a": {}}});
        run(vec![
            case(
                "per_api together with another partition flag in one policy",
                json!({}),
                vec![json!({"id": "both", "partitions": {"per_api": true, "acl": true},
                            "access_rights": {"a": {}}})],
                Expect::Err(MergeError::PerApiWithPartitions { policy_id: "both".into() }),
            ),
            case(
                "a partitioned policy after a per_api one",
                json!({}),
                vec![per_api.clone(), quota.clone()],
                Expect::Err(MergeError::MixedPerApiAndPartitions { policy_id: "q".into() }),
            ),
            case(
                "a per_api policy after a partitioned one",
                json!({}),
                vec![quota, per_api],
                Expect::Err(MergeError::MixedPerApiAndPartitions { policy_id: "pa".into() }),
            ),
            case(
                "a policy of another organisation",
                json!({"org_id": "org1"}),
                vec![
                    json!({"id": "mine", "org_id": "org1", "access_rights": {"a": {}}}),
                    json!({"id": "theirs", "org_id": "org2", "access_rights": {"a": {}}}),
                ],
                Expect::Err(MergeError::ForeignOrg {
                    policy_id: "theirs".into(),
                    policy_org: "org2".into(),
                    key_org: "org1".into(),
                }),
            ),
            case(
                "a policy without an org applies to any key",
                json!({"org_id": "org1"}),
                vec![json!({"id": "any", "access_rights": {"a": {}}})],
                Expect::Ok(|s| assert_eq!(apis(s), ["a"])),
            ),
            case(
                "policies that grant no API through an ACL",
                json!({}),
                vec![json!({"id": "r", "rate": 10, "per": 1, "partitions": {"rate_limit": true},
                            "access_rights": {"a": {}}})],
                Expect::Err(MergeError::NoValidPolicies),
            ),
            case(
                "policies listed on the key but none found",
                json!({"apply_policies": ["gone"], "access_rights": {"a": {}}}),
                vec![],
                Expect::Err(MergeError::NoValidPolicies),
            ),
        ]);
    }

    #[test]
    fn error_messages_name_the_policy() {
        let e = MergeError::ForeignOrg {
            policy_id: "p9".into(),
            policy_org: "o2".into(),
            key_org: "o1".into(),
        };
        assert_eq!(
            e.to_string(),
            "attempting to apply policy p9 from different organisation to key"
        );
        assert_eq!(
            MergeError::NoValidPolicies.to_string(),
            "key has no valid policies to be applied"
        );
    }

    #[test]
    fn trial_period_comes_from_the_last_policy_that_sets_one() {
        let p = |secs: i64| Policy { key_expires_in: secs, ..Policy::default() };
        assert_eq!(trial_expiry(&[p(60), p(0), p(3600), p(0)], 1_000), Some(4_600));
        assert_eq!(trial_expiry(&[p(0)], 1_000), None);
        assert_eq!(trial_expiry(&[], 1_000), None);
    }
}
