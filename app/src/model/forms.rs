//! What the dashboard's forms hold, and the rules they follow. Each rule is written once, here,
//! and compiled twice: the browser runs it before sending, the server runs it again on what
//! arrives (and the server's services run [`validate_session_rules`] /
//! [`validate_policy_rules`] for every way in, the REST APIs too).
//!
//! Errors name the field with Tyk's JSON names (`rate`, `quota_max`, `basic_auth_data.user`,
//! ...), so a form can put the server's message beside the same input as its own.

use super::api_definition::{ApiDefinition, AuthMode, VersionInfo};
use super::policy::{Policy, PolicyPartitions};
use super::session::{AccessDefinition, AccessSpec, SessionState, UNLIMITED_RATE};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One broken rule, at one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), message: message.into() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The id of the input that shows `field` (`basic_auth_data.user` → `f-basic_auth_data-user`).
pub fn input_id(field: &str) -> String {
    format!("f-{}", field.replace('.', "-"))
}

// ---------------------------------------------------------------------------------------------
// Rules shared with the services (every way in)
// ---------------------------------------------------------------------------------------------

/// The rules every key definition follows, whichever way it came in (REST, `/tyk`, the
/// dashboard). The keys service calls this; so does [`validate_key_form`].
pub fn validate_session_rules(s: &SessionState) -> Result<(), FieldError> {
    check_rate(s.rate, s.per)?;
    if s.quota_max < -1 {
        return Err(FieldError::new("quota_max", "must be -1 (unlimited) or more"));
    }
    if s.throttle_interval < 0.0 {
        return Err(FieldError::new("throttle_interval", "must not be negative"));
    }
    if s.tags.iter().any(|t| t.trim().is_empty()) {
        return Err(FieldError::new("tags", "tags must not be empty"));
    }
    Ok(())
}

/// The limits rules of a policy, whichever way it came in. The policies service calls this;
/// so does [`validate_policy_form`].
pub fn validate_policy_rules(p: &Policy) -> Result<(), FieldError> {
    if p.partitions.per_api && p.partitions.enabled() {
        return Err(FieldError::new("partitions", "per_api cannot be combined with other partitions"));
    }
    check_rate(p.rate, p.per)?;
    if p.quota_max < -1 {
        return Err(FieldError::new("quota_max", "must be -1 (unlimited) or more"));
    }
    Ok(())
}

/// A rate limit is 0 (none set), [`UNLIMITED_RATE`], or `rate` requests every `per` seconds.
/// `per` may be -1 too: Tyk's dashboard writes `rate: -1, per: -1` for "unlimited".
fn check_rate(rate: f64, per: f64) -> Result<(), FieldError> {
    if rate < 0.0 && rate != UNLIMITED_RATE {
        return Err(FieldError::new("rate", "must be -1 (unlimited), 0 (no rate limit) or more"));
    }
    if per < 0.0 && per != UNLIMITED_RATE {
        return Err(FieldError::new("per", "must be -1, 0 or more"));
    }
    if rate > 0.0 && per <= 0.0 {
        return Err(FieldError::new("per", "must be greater than 0 when rate is set"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Presets
// ---------------------------------------------------------------------------------------------

pub const HOUR: i64 = 3600;
pub const DAY: i64 = 24 * HOUR;

/// The expiry presets of the key form: (label, seconds from now).
pub const EXPIRY_PRESETS: [(&str, i64); 7] = [
    ("1 hour", HOUR),
    ("6 hours", 6 * HOUR),
    ("12 hours", 12 * HOUR),
    ("24 hours", DAY),
    ("1 week", 7 * DAY),
    ("2 weeks", 14 * DAY),
    ("1 month", 30 * DAY),
];

/// The quota reset presets: (label, `quota_renewal_rate` seconds; 0 never resets).
pub const QUOTA_RESET_PRESETS: [(&str, i64); 7] = [
    ("Never", 0),
    ("Hourly", HOUR),
    ("Every 6 hours", 6 * HOUR),
    ("Every 12 hours", 12 * HOUR),
    ("Daily", DAY),
    ("Weekly", 7 * DAY),
    ("Monthly", 30 * DAY),
];

/// The HTTP methods a path rule can allow.
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

// ---------------------------------------------------------------------------------------------
// Pieces shared by the key and policy forms
// ---------------------------------------------------------------------------------------------

/// Access to one API, as the form edits it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessRightForm {
    pub api_id: String,
    pub api_name: String,
    pub versions: Vec<String>,
    pub paths: Vec<PathRuleForm>,
}

/// An `allowed_urls` rule: a path pattern and its methods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PathRuleForm {
    pub path: String,
    pub methods: Vec<String>,
}

/// Rate limit, throttling and quota, as typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsForm {
    pub rate_disabled: bool,
    pub rate: String,
    pub per: String,
    pub throttle_disabled: bool,
    pub throttle_retry_limit: String,
    pub throttle_interval: String,
    pub quota_unlimited: bool,
    pub quota_max: String,
    /// Seconds; 0 never resets.
    pub quota_renewal_rate: i64,
}

impl Default for LimitsForm {
    fn default() -> Self {
        Self {
            rate_disabled: false,
            rate: "1000".into(),
            per: "60".into(),
            throttle_disabled: true,
            throttle_retry_limit: String::new(),
            throttle_interval: String::new(),
            quota_unlimited: true,
            quota_max: String::new(),
            quota_renewal_rate: HOUR,
        }
    }
}

/// The parsed limits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    pub rate: f64,
    pub per: f64,
    pub throttle_retry_limit: i64,
    pub throttle_interval: f64,
    pub quota_max: i64,
    pub quota_renewal_rate: i64,
}

/// Which of a form's sections its policies decide (then the form shows them locked).
///
/// A key that applies policies takes its access rights from them alone (Tyk drops the APIs no
/// policy granted), so `access_rights` says whether any of them grants access at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Governed {
    pub access_rights: bool,
    pub rate_limit: bool,
    pub quota: bool,
}

impl Governed {
    /// What a set of policies decides, from their partitions (tyk-key-semantics §5): a policy
    /// without partitions, or a per-API one, decides everything.
    pub fn by<'a>(partitions: impl IntoIterator<Item = &'a PolicyPartitions>) -> Self {
        let mut g = Governed::default();
        for p in partitions {
            let all = p.per_api || !p.enabled();
            g.access_rights |= all || p.acl;
            g.rate_limit |= all || p.rate_limit;
            g.quota |= all || p.quota;
        }
        g
    }
}

fn parse_number(field: &str, text: &str, what: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        errors.push(FieldError::new(field, format!("Enter {what}")));
        return None;
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Some(v),
        _ => {
            errors.push(FieldError::new(field, format!("Enter {what} as a number, e.g. 100")));
            None
        }
    }
}

fn parse_whole(field: &str, text: &str, what: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        errors.push(FieldError::new(field, format!("Enter {what}")));
        return None;
    }
    match t.parse::<i64>() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(FieldError::new(field, format!("Enter {what} as a whole number, e.g. 1000")));
            None
        }
    }
}

impl LimitsForm {
    /// Parses what was typed, skipping the sections `governed` locks. Errors are added to
    /// `errors`; the parsed values are returned either way (zero where unreadable).
    pub fn parse(&self, governed: Governed, errors: &mut Vec<FieldError>) -> Limits {
        let mut l = Limits { quota_max: -1, quota_renewal_rate: self.quota_renewal_rate, ..Limits::default() };
        if !governed.rate_limit {
            if !self.rate_disabled {
                let rate = parse_number("rate", &self.rate, "the number of requests", errors);
                // Tyk's "unlimited" (-1) needs no period; it is stored as Tyk's dashboard does.
                let unlimited = rate == Some(UNLIMITED_RATE);
                let per = if unlimited && self.per.trim().is_empty() {
                    Some(UNLIMITED_RATE)
                } else {
                    parse_number("per", &self.per, "the period in seconds", errors)
                };
                if let Some(r) = rate {
                    if r <= 0.0 && !unlimited {
                        errors.push(FieldError::new("rate", "Must be more than 0 (or -1 for unlimited), or disable rate limiting"));
                    }
                    l.rate = r;
                }
                if let Some(p) = per {
                    if p <= 0.0 && !(unlimited && p == UNLIMITED_RATE) {
                        errors.push(FieldError::new("per", "Must be more than 0 seconds"));
                    }
                    l.per = p;
                }
            }
            if !self.throttle_disabled {
                let retries = parse_whole("throttle_retry_limit", &self.throttle_retry_limit, "how many retries", errors);
                let interval = parse_number("throttle_interval", &self.throttle_interval, "the interval in seconds", errors);
                if let Some(r) = retries {
                    if r < 1 {
                        errors.push(FieldError::new("throttle_retry_limit", "Must be at least 1, or disable throttling"));
                    }
                    l.throttle_retry_limit = r;
                }
                if let Some(i) = interval {
                    if i <= 0.0 {
                        errors.push(FieldError::new("throttle_interval", "Must be more than 0 seconds"));
                    }
                    l.throttle_interval = i;
                }
            }
        }
        if !governed.quota && !self.quota_unlimited {
            if let Some(q) = parse_whole("quota_max", &self.quota_max, "how many requests the quota allows", errors) {
                if q < 1 {
                    errors.push(FieldError::new("quota_max", "Must be at least 1, or choose Unlimited"));
                }
                l.quota_max = q;
            }
            if l.quota_renewal_rate < 0 {
                errors.push(FieldError::new("quota_renewal_rate", "Choose when the quota resets"));
            }
        }
        l
    }

    pub fn from_values(rate: f64, per: f64, retries: i64, interval: f64, quota_max: i64, renewal: i64) -> Self {
        // An unlimited rate (-1) is shown as typed, so that saving the form keeps it.
        let unlimited = rate == UNLIMITED_RATE;
        let rate_disabled = rate <= 0.0 && !unlimited;
        let throttle_disabled = retries <= 0 || interval <= 0.0;
        let quota_unlimited = quota_max <= 0;
        Self {
            rate_disabled,
            rate: if rate_disabled { String::new() } else { number_text(rate) },
            per: if rate_disabled || (unlimited && per == UNLIMITED_RATE) { String::new() } else { number_text(per) },
            throttle_disabled,
            throttle_retry_limit: if throttle_disabled { String::new() } else { retries.to_string() },
            throttle_interval: if throttle_disabled { String::new() } else { number_text(interval) },
            quota_unlimited,
            quota_max: if quota_unlimited { String::new() } else { quota_max.to_string() },
            // An unlimited quota shows the usual reset, ready for when a limit is set.
            quota_renewal_rate: if quota_unlimited && renewal <= 0 { HOUR } else { renewal.max(0) },
        }
    }
}

/// A number as a person would type it: `60`, not `60.0`.
pub fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

fn check_tags(tags: &[String], errors: &mut Vec<FieldError>) {
    if tags.iter().any(|t| t.trim().is_empty()) {
        errors.push(FieldError::new("tags", "Tags must not be empty"));
    } else if tags.iter().any(|t| t.len() > 100) {
        errors.push(FieldError::new("tags", "A tag may be at most 100 characters long"));
    }
}

fn check_meta(rows: &[(String, String)], errors: &mut Vec<FieldError>) {
    let mut seen = std::collections::BTreeSet::new();
    for (k, v) in rows {
        let k = k.trim();
        if k.is_empty() {
            if !v.is_empty() {
                errors.push(FieldError::new("meta_data", "Every metadata value needs a key"));
                return;
            }
            continue;
        }
        if !seen.insert(k) {
            errors.push(FieldError::new("meta_data", format!("The metadata key '{k}' is used twice")));
            return;
        }
    }
}

fn check_access_rights(rights: &[AccessRightForm], errors: &mut Vec<FieldError>) {
    for r in rights {
        if r.api_id.is_empty() {
            errors.push(FieldError::new("access_rights", "Choose an API for every access right"));
            return;
        }
        if r.paths.iter().any(|p| p.path.trim().is_empty()) {
            errors.push(FieldError::new(
                "access_rights",
                format!("{}: every path rule needs a path (a regular expression, e.g. /users.*)", display_name(r)),
            ));
            return;
        }
        if r.paths.iter().any(|p| p.methods.is_empty()) {
            errors.push(FieldError::new(
                "access_rights",
                format!("{}: every path rule needs at least one method", display_name(r)),
            ));
            return;
        }
    }
}

fn display_name(r: &AccessRightForm) -> &str {
    if r.api_name.is_empty() {
        &r.api_id
    } else {
        &r.api_name
    }
}

/// Writes the form's access rights into a map, keeping what the form does not edit (per-API
/// limits, GraphQL settings, unknown fields) of rights that were there before.
fn apply_access_rights(rights: &[AccessRightForm], target: &mut BTreeMap<String, AccessDefinition>) {
    let mut old = std::mem::take(target);
    for r in rights {
        let mut def = old.remove(&r.api_id).unwrap_or_default();
        def.api_id = r.api_id.clone();
        if !r.api_name.is_empty() {
            def.api_name = r.api_name.clone();
        }
        def.versions = r.versions.clone();
        def.allowed_urls = r
            .paths
            .iter()
            .map(|p| AccessSpec { url: p.path.trim().to_owned(), methods: p.methods.clone() })
            .collect();
        target.insert(r.api_id.clone(), def);
    }
}

fn access_rights_form(rights: &BTreeMap<String, AccessDefinition>) -> Vec<AccessRightForm> {
    rights
        .iter()
        .map(|(api_id, d)| AccessRightForm {
            api_id: api_id.clone(),
            api_name: d.api_name.clone(),
            versions: d.versions.clone(),
            paths: d
                .allowed_urls
                .iter()
                .map(|u| PathRuleForm { path: u.url.clone(), methods: u.methods.clone() })
                .collect(),
        })
        .collect()
}

/// Metadata rows from a JSON object: strings as they are, other values as JSON text.
fn meta_rows(meta: &Value) -> Vec<(String, String)> {
    match meta {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
            .collect(),
        _ => Vec::new(),
    }
}

/// A JSON object from metadata rows. A value that was not a string before and was not changed
/// keeps its type.
fn meta_object(rows: &[(String, String)], old: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in rows {
        let k = k.trim();
        if k.is_empty() {
            continue;
        }
        let kept = old.get(k).filter(|o| !o.is_string() && o.to_string() == *v).cloned();
        out.insert(k.to_owned(), kept.unwrap_or_else(|| Value::String(v.clone())));
    }
    out
}

fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags.iter().map(|t| t.trim().to_owned()) {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The key form
// ---------------------------------------------------------------------------------------------

/// How a client proves it holds the key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyAuth {
    /// The key itself, in a header.
    #[default]
    Token,
    /// Requests are signed with a shared secret the server makes.
    Hmac,
    /// A username and password.
    Basic,
}

/// When the key expires.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiry {
    #[default]
    Never,
    /// Leave the expiry the key has (unix seconds; 0 never).
    Keep(i64),
    /// So many seconds from now.
    In(i64),
    /// At this unix time; 0 when the date could not be read.
    At(i64),
}

/// Everything the create and edit forms of a key hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyForm {
    /// Access comes from policies (`policies`) rather than from `access_rights`.
    pub use_policies: bool,
    pub access_rights: Vec<AccessRightForm>,
    pub policies: Vec<String>,
    pub limits: LimitsForm,
    pub expiry: Expiry,
    pub tags: Vec<String>,
    pub meta_data: Vec<(String, String)>,
    pub alias: String,
    pub detailed_logging: bool,
    pub auth: KeyAuth,
    pub basic_username: String,
    /// Empty on update keeps the stored password.
    pub basic_password: String,
    /// True when editing an existing key (a basic-auth password is then optional).
    pub existing: bool,
}

impl Default for KeyForm {
    fn default() -> Self {
        Self {
            use_policies: false,
            access_rights: Vec::new(),
            policies: Vec::new(),
            limits: LimitsForm::default(),
            expiry: Expiry::Never,
            tags: Vec::new(),
            meta_data: Vec::new(),
            alias: String::new(),
            detailed_logging: false,
            auth: KeyAuth::Token,
            basic_username: String::new(),
            basic_password: String::new(),
            existing: false,
        }
    }
}

/// Checks a key form: what the browser runs before sending and the server runs on what
/// arrives. `governed` says which sections the chosen policies lock (they are not checked),
/// `now` is unix seconds. Every error found is returned, in the order of the form.
pub fn validate_key_form(form: &KeyForm, governed: Governed, now: i64) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if form.use_policies && form.policies.is_empty() {
        errors.push(FieldError::new("apply_policies", "Choose at least one policy, or set access rights instead"));
    } else if form.use_policies && !governed.access_rights {
        errors.push(FieldError::new(
            "apply_policies",
            "None of these policies grants access to an API: add one that decides access rights \
             (the Access rights partition, or no partitions)",
        ));
    }
    if !form.use_policies {
        check_access_rights(&form.access_rights, &mut errors);
    }
    let limits = form.limits.parse(governed, &mut errors);
    match form.expiry {
        Expiry::At(t) if t <= 0 => errors.push(FieldError::new("expires", "Enter the date and time the key expires")),
        Expiry::At(t) if t <= now => errors.push(FieldError::new("expires", "The expiry date must be in the future")),
        Expiry::In(secs) if secs <= 0 => errors.push(FieldError::new("expires", "Choose when the key expires")),
        _ => {}
    }
    check_tags(&form.tags, &mut errors);
    check_meta(&form.meta_data, &mut errors);
    if form.alias.chars().count() > 200 {
        errors.push(FieldError::new("alias", "An alias may be at most 200 characters long"));
    }
    if form.auth == KeyAuth::Basic {
        let user = form.basic_username.trim();
        if user.is_empty() {
            errors.push(FieldError::new("basic_auth_data.user", "Enter a username"));
        } else if user.contains(':') || user.chars().any(|c| c.is_control() || c.is_whitespace()) {
            errors.push(FieldError::new("basic_auth_data.user", "A username cannot contain ':' or spaces"));
        } else if user.len() > 256 {
            errors.push(FieldError::new("basic_auth_data.user", "A username may be at most 256 characters long"));
        }
        if form.basic_password.is_empty() && !form.existing {
            errors.push(FieldError::new("basic_auth_data.password", "Enter a password"));
        } else if form.basic_password.len() > 72 {
            errors.push(FieldError::new("basic_auth_data.password", "A password may be at most 72 bytes long"));
        }
    }
    if errors.is_empty() {
        // The rules of every way in, on what the form will send.
        let mut s = SessionState::default();
        form.apply_parsed(&mut s, governed, now, limits);
        if let Err(e) = validate_session_rules(&s) {
            errors.push(e);
        }
    }
    errors
}

impl KeyForm {
    /// Writes the form into a session (a new one, or the key's own stored one, whose fields the
    /// form does not show are kept). Call after [`validate_key_form`] found nothing.
    pub fn apply(&self, s: &mut SessionState, governed: Governed, now: i64) {
        let limits = self.limits.parse(governed, &mut Vec::new());
        self.apply_parsed(s, governed, now, limits);
    }

    fn apply_parsed(&self, s: &mut SessionState, governed: Governed, now: i64, l: Limits) {
        if self.use_policies {
            s.apply_policies = self.policies.clone();
            s.apply_policy_id.clear();
        } else {
            s.apply_policies.clear();
            s.apply_policy_id.clear();
        }
        if self.use_policies {
            // The policies alone decide the APIs.
            s.access_rights.clear();
        } else {
            apply_access_rights(&self.access_rights, &mut s.access_rights);
        }
        if !(self.use_policies && governed.rate_limit) {
            s.rate = l.rate;
            s.per = l.per;
            s.throttle_retry_limit = l.throttle_retry_limit;
            s.throttle_interval = l.throttle_interval;
        }
        if !(self.use_policies && governed.quota) {
            s.quota_max = l.quota_max;
            s.quota_renewal_rate = if l.quota_max > 0 { l.quota_renewal_rate } else { 0 };
        }
        s.expires = match self.expiry {
            Expiry::Never => 0,
            Expiry::Keep(t) => t,
            Expiry::In(secs) => now + secs,
            Expiry::At(t) => t,
        };
        s.tags = clean_tags(&self.tags);
        s.meta_data = Value::Object(meta_object(&self.meta_data, &s.meta_data));
        s.alias = self.alias.trim().to_owned();
        s.enable_detailed_recording = self.detailed_logging;
        s.enable_detail_recording = false;
        s.hmac_enabled = self.auth == KeyAuth::Hmac;
        if self.auth == KeyAuth::Basic {
            s.basic_auth_data.user = self.basic_username.trim().to_owned();
            s.basic_auth_data.password = self.basic_password.clone();
        } else {
            s.basic_auth_data = Default::default();
        }
    }

    /// The form for editing a stored key (its own session, before policies).
    pub fn from_session(s: &SessionState) -> Self {
        let policies: Vec<String> = s.policy_ids().into_iter().map(str::to_owned).collect();
        let auth = if !s.basic_auth_data.user.is_empty() {
            KeyAuth::Basic
        } else if s.hmac_enabled {
            KeyAuth::Hmac
        } else {
            KeyAuth::Token
        };
        Self {
            use_policies: !policies.is_empty(),
            access_rights: access_rights_form(&s.access_rights),
            policies,
            limits: LimitsForm::from_values(
                s.rate,
                s.per,
                s.throttle_retry_limit,
                s.throttle_interval,
                s.quota_max,
                s.quota_renewal_rate,
            ),
            expiry: if s.expires > 0 { Expiry::Keep(s.expires) } else { Expiry::Never },
            tags: s.tags.clone(),
            meta_data: meta_rows(&s.meta_data),
            alias: s.alias.clone(),
            detailed_logging: s.enable_detailed_recording || s.enable_detail_recording,
            auth,
            basic_username: s.basic_auth_data.user.clone(),
            basic_password: String::new(),
            existing: true,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The policy form
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyForm {
    pub name: String,
    /// False is a draft: keys that apply it are refused.
    pub active: bool,
    pub limits: LimitsForm,
    pub access_rights: Vec<AccessRightForm>,
    pub partitions: PolicyPartitions,
    pub tags: Vec<String>,
    pub meta_data: Vec<(String, String)>,
}

impl Default for PolicyForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            active: true,
            limits: LimitsForm::default(),
            access_rights: Vec::new(),
            partitions: PolicyPartitions::default(),
            tags: Vec::new(),
            meta_data: Vec::new(),
        }
    }
}

pub fn validate_policy_form(form: &PolicyForm) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = form.name.trim();
    if name.is_empty() {
        errors.push(FieldError::new("name", "Enter a name"));
    } else if name.chars().count() > 200 {
        errors.push(FieldError::new("name", "A name may be at most 200 characters long"));
    }
    let limits = form.limits.parse(Governed::default(), &mut errors);
    check_access_rights(&form.access_rights, &mut errors);
    check_tags(&form.tags, &mut errors);
    check_meta(&form.meta_data, &mut errors);
    if errors.is_empty() {
        let mut p = Policy::default();
        form.apply_parsed(&mut p, limits);
        if let Err(e) = validate_policy_rules(&p) {
            errors.push(e);
        }
    }
    errors
}

impl PolicyForm {
    /// Writes the form into a policy (a new one, or the stored one: fields the form does not
    /// show are kept).
    pub fn apply(&self, p: &mut Policy) {
        let limits = self.limits.parse(Governed::default(), &mut Vec::new());
        self.apply_parsed(p, limits);
    }

    fn apply_parsed(&self, p: &mut Policy, l: Limits) {
        p.name = self.name.trim().to_owned();
        p.active = self.active;
        p.rate = l.rate;
        p.per = l.per;
        p.throttle_retry_limit = l.throttle_retry_limit;
        p.throttle_interval = l.throttle_interval;
        p.quota_max = l.quota_max;
        p.quota_renewal_rate = if l.quota_max > 0 { l.quota_renewal_rate } else { 0 };
        apply_access_rights(&self.access_rights, &mut p.access_rights);
        p.partitions = self.partitions;
        p.tags = clean_tags(&self.tags);
        let old = Value::Object(std::mem::take(&mut p.meta_data));
        p.meta_data = meta_object(&self.meta_data, &old);
    }

    pub fn from_policy(p: &Policy) -> Self {
        Self {
            name: p.name.clone(),
            active: p.active,
            limits: LimitsForm::from_values(
                p.rate,
                p.per,
                p.throttle_retry_limit,
                p.throttle_interval,
                p.quota_max,
                p.quota_renewal_rate,
            ),
            access_rights: access_rights_form(&p.access_rights),
            partitions: p.partitions,
            tags: p.tags.clone(),
            meta_data: meta_rows(&Value::Object(p.meta_data.clone())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The API form
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiForm {
    pub name: String,
    pub listen_path: String,
    /// Tyk's `domain`: the one host the API answers on; empty for every host.
    pub domain: String,
    pub target_url: String,
    pub strip_listen_path: bool,
    pub auth_mode: AuthMode,
    /// False: one "Default" version and no version check.
    pub versioned: bool,
    pub versions: Vec<String>,
    /// Where the gateway reads the version: `header`, `url-param` or `url`.
    pub version_location: String,
    /// The header or parameter name.
    pub version_key: String,
    pub active: bool,
}

impl Default for ApiForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            listen_path: String::new(),
            domain: String::new(),
            target_url: String::new(),
            strip_listen_path: true,
            auth_mode: AuthMode::Key,
            versioned: false,
            versions: Vec::new(),
            version_location: "header".into(),
            version_key: "x-api-version".into(),
            active: true,
        }
    }
}

pub const VERSION_LOCATIONS: [(&str, &str); 3] =
    [("header", "A header"), ("url-param", "A query parameter"), ("url", "The first path segment")];

pub fn validate_api_form(form: &ApiForm) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if form.versioned {
        if form.versions.is_empty() {
            errors.push(FieldError::new("version_data.versions", "Add at least one version, or make the API unversioned"));
        } else if form.versions.iter().any(|v| v.trim().is_empty()) {
            errors.push(FieldError::new("version_data.versions", "Version names must not be empty"));
        }
        if !VERSION_LOCATIONS.iter().any(|(l, _)| *l == form.version_location) {
            errors.push(FieldError::new("definition.location", "Choose where the version is read"));
        } else if form.version_location != "url" && form.version_key.trim().is_empty() {
            errors.push(FieldError::new("definition.key", "Enter the header or parameter name"));
        }
    }
    let mut def = ApiDefinition::default();
    form.apply(&mut def);
    // The rules of every way in (the REST API runs the same ones, and answers the first): all of
    // them, so that the form shows every field that needs fixing at once. They come before the
    // version errors, in the order of the form; a field the version checks named already keeps
    // that one message.
    let mut all: Vec<FieldError> = def
        .problems()
        .into_iter()
        .filter(|(field, _)| !errors.iter().any(|e| e.field == *field))
        .map(|(field, message)| FieldError::new(field, capitalise(&message)))
        .collect();
    all.append(&mut errors);
    all
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

impl ApiForm {
    /// Writes the form into a definition (a new one, or the stored one, whose other settings
    /// are kept).
    pub fn apply(&self, def: &mut ApiDefinition) {
        def.name = self.name.trim().to_owned();
        def.proxy.listen_path = self.listen_path.trim().to_owned();
        def.domain = self.domain.trim().to_owned();
        def.proxy.target_url = self.target_url.trim().to_owned();
        def.proxy.strip_listen_path = self.strip_listen_path;
        def.active = self.active;
        def.use_keyless = self.auth_mode == AuthMode::Keyless;
        def.use_basic_auth = self.auth_mode == AuthMode::BasicAuth;
        def.enable_signature_checking = self.auth_mode == AuthMode::Hmac;
        let mut old = std::mem::take(&mut def.version_data.versions);
        if self.versioned {
            def.version_data.not_versioned = false;
            for v in self.versions.iter().map(|v| v.trim()) {
                let info = old.remove(v).unwrap_or_else(|| VersionInfo { name: v.to_owned(), ..Default::default() });
                def.version_data.versions.insert(v.to_owned(), info);
            }
            if !def.version_data.versions.contains_key(&def.version_data.default_version) {
                def.version_data.default_version = self.versions.first().map(|v| v.trim().to_owned()).unwrap_or_default();
            }
            def.definition.location = self.version_location.clone();
            def.definition.key = self.version_key.trim().to_owned();
        } else {
            def.version_data.not_versioned = true;
            def.version_data.default_version.clear();
            let info = old.remove("Default").unwrap_or_else(|| VersionInfo { name: "Default".into(), ..Default::default() });
            def.version_data.versions.insert("Default".into(), info);
        }
    }

    pub fn from_definition(def: &ApiDefinition) -> Self {
        let versioned = !def.version_data.not_versioned && !def.version_data.versions.is_empty();
        Self {
            name: def.name.clone(),
            listen_path: def.proxy.listen_path.clone(),
            domain: def.domain.clone(),
            target_url: def.proxy.target_url.clone(),
            strip_listen_path: def.proxy.strip_listen_path,
            auth_mode: def.auth_mode(),
            versioned,
            versions: if versioned { def.version_data.versions.keys().cloned().collect() } else { Vec::new() },
            version_location: if def.definition.location.is_empty() { "header".into() } else { def.definition.location.clone() },
            version_key: if def.definition.key.is_empty() { "x-api-version".into() } else { def.definition.key.clone() },
            active: def.active,
        }
    }
}

impl AuthMode {
    pub const ALL: [AuthMode; 4] = [AuthMode::Key, AuthMode::BasicAuth, AuthMode::Hmac, AuthMode::Keyless];

    pub fn label(self) -> &'static str {
        match self {
            AuthMode::Key => "Authentication token",
            AuthMode::BasicAuth => "Basic authentication",
            AuthMode::Hmac => "HMAC signed requests",
            AuthMode::Keyless => "Keyless (open)",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            AuthMode::Key => "key",
            AuthMode::BasicAuth => "basic",
            AuthMode::Hmac => "hmac",
            AuthMode::Keyless => "keyless",
        }
    }

    pub fn from_slug(s: &str) -> Self {
        Self::ALL.into_iter().find(|m| m.slug() == s).unwrap_or(AuthMode::Key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    fn full_form() -> KeyForm {
        KeyForm {
            access_rights: vec![AccessRightForm {
                api_id: "api1".into(),
                api_name: "Orders".into(),
                versions: vec!["Default".into()],
                paths: vec![PathRuleForm { path: "/orders.*".into(), methods: vec!["GET".into()] }],
            }],
            limits: LimitsForm {
                rate: "100".into(),
                per: "60".into(),
                throttle_disabled: false,
                throttle_retry_limit: "3".into(),
                throttle_interval: "2".into(),
                quota_unlimited: false,
                quota_max: "1000".into(),
                quota_renewal_rate: DAY,
                ..LimitsForm::default()
            },
            expiry: Expiry::In(7 * DAY),
            tags: vec!["mobile".into(), " mobile ".into()],
            meta_data: vec![("team".into(), "blue".into())],
            alias: " ann ".into(),
            detailed_logging: true,
            ..KeyForm::default()
        }
    }

    #[test]
    fn a_full_key_form_becomes_a_session() {
        let form = full_form();
        assert_eq!(validate_key_form(&form, Governed::default(), NOW), vec![]);
        let mut s = SessionState::default();
        form.apply(&mut s, Governed::default(), NOW);
        assert_eq!((s.rate, s.per, s.throttle_retry_limit, s.throttle_interval), (100.0, 60.0, 3, 2.0));
        assert_eq!((s.quota_max, s.quota_renewal_rate), (1000, DAY));
        assert_eq!(s.expires, NOW + 7 * DAY);
        assert_eq!(s.tags, vec!["mobile"]);
        assert_eq!(s.meta_data, serde_json::json!({"team": "blue"}));
        assert_eq!(s.alias, "ann");
        assert!(s.enable_detailed_recording);
        let right = &s.access_rights["api1"];
        assert_eq!(right.allowed_urls[0].url, "/orders.*");
        assert_eq!(right.versions, vec!["Default"]);
        // And back: the edit form shows what was saved.
        let back = KeyForm::from_session(&s);
        assert_eq!(back.limits.rate, "100");
        assert_eq!(back.expiry, Expiry::Keep(NOW + 7 * DAY));
        assert_eq!(back.access_rights, form.access_rights);
    }

    #[test]
    fn errors_are_found_at_their_fields() {
        let mut form = full_form();
        form.limits.rate = "lots".into();
        form.limits.per = "0".into();
        form.limits.quota_max = "-5".into();
        form.expiry = Expiry::At(NOW - 10);
        form.tags = vec!["".into()];
        form.meta_data = vec![("".into(), "orphan".into())];
        form.auth = KeyAuth::Basic;
        let errors = validate_key_form(&form, Governed::default(), NOW);
        assert_eq!(
            fields(&errors),
            vec!["rate", "per", "quota_max", "expires", "tags", "meta_data", "basic_auth_data.user", "basic_auth_data.password"]
        );
    }

    #[test]
    fn locked_sections_are_not_checked() {
        let mut form = full_form();
        form.use_policies = true;
        form.policies = vec!["gold".into()];
        form.limits.rate = "garbage".into();
        let all = Governed::by([&PolicyPartitions::default()]);
        assert_eq!(all, Governed { access_rights: true, rate_limit: true, quota: true });
        assert_eq!(validate_key_form(&form, all, NOW), vec![]);
        let mut s = SessionState { rate: 5.0, per: 1.0, ..Default::default() };
        form.apply(&mut s, all, NOW);
        assert!(s.access_rights.is_empty());
        assert_eq!(s.apply_policies, vec!["gold"]);
        // Access and quota from the policy: the rate limit is the key's again, and checked.
        let acl_quota = Governed::by([&PolicyPartitions { acl: true, quota: true, ..Default::default() }]);
        assert_eq!(fields(&validate_key_form(&form, acl_quota, NOW)), vec!["rate"]);
        // A policy that grants no access cannot be a key's only source of access.
        let quota_only = Governed::by([&PolicyPartitions { quota: true, ..Default::default() }]);
        assert_eq!(fields(&validate_key_form(&form, quota_only, NOW)), vec!["apply_policies", "rate"]);
        form.policies.clear();
        assert_eq!(fields(&validate_key_form(&form, all, NOW)), vec!["apply_policies"]);
    }

    #[test]
    fn session_rules_are_the_services_rules() {
        let s = SessionState { rate: 10.0, per: 0.0, ..Default::default() };
        assert_eq!(validate_session_rules(&s).unwrap_err().field, "per");
        let s = SessionState { quota_max: -2, ..Default::default() };
        assert_eq!(validate_session_rules(&s).unwrap_err().field, "quota_max");
        assert!(validate_session_rules(&SessionState::default()).is_ok());
    }

    #[test]
    fn an_unlimited_rate_is_accepted_everywhere() {
        for (rate, per) in [(-1.0, -1.0), (-1.0, 60.0), (-1.0, 0.0)] {
            assert!(validate_session_rules(&SessionState { rate, per, ..Default::default() }).is_ok());
            assert!(validate_policy_rules(&Policy { rate, per, ..Default::default() }).is_ok());
        }
        for (rate, per, field) in [(-2.0, 1.0, "rate"), (-0.5, 1.0, "rate"), (5.0, -1.0, "per"), (0.0, -3.0, "per")] {
            assert_eq!(validate_session_rules(&SessionState { rate, per, ..Default::default() }).unwrap_err().field, field);
            assert_eq!(validate_policy_rules(&Policy { rate, per, ..Default::default() }).unwrap_err().field, field);
        }
        // The form: -1 may be typed without a period, and a stored -1 comes back as typed.
        let mut form = PolicyForm { name: "Open".into(), ..PolicyForm::default() };
        form.limits.rate = "-1".into();
        form.limits.per = String::new();
        assert_eq!(validate_policy_form(&form), vec![]);
        let mut p = Policy::default();
        form.apply(&mut p);
        assert_eq!((p.rate, p.per), (-1.0, -1.0));
        assert_eq!(PolicyForm::from_policy(&p).limits, form.limits);
        form.limits.rate = "-2".into();
        assert_eq!(fields(&validate_policy_form(&form)), vec!["per", "rate"]);
    }

    #[test]
    fn metadata_keeps_non_string_values_it_did_not_change() {
        let mut s = SessionState { meta_data: serde_json::json!({"n": 5, "s": "x"}), ..Default::default() };
        let mut form = KeyForm::from_session(&s);
        assert_eq!(form.meta_data, vec![("n".into(), "5".into()), ("s".into(), "x".into())]);
        form.meta_data[1].1 = "y".into();
        form.apply(&mut s, Governed::default(), NOW);
        assert_eq!(s.meta_data, serde_json::json!({"n": 5, "s": "y"}));
    }

    #[test]
    fn policy_form() {
        let mut form = PolicyForm { name: "Gold".into(), ..PolicyForm::default() };
        assert_eq!(validate_policy_form(&form), vec![]);
        form.partitions = PolicyPartitions { per_api: true, quota: true, ..Default::default() };
        assert_eq!(fields(&validate_policy_form(&form)), vec!["partitions"]);
        form.name.clear();
        assert_eq!(fields(&validate_policy_form(&form))[0], "name");
        let mut p = Policy::default();
        let form = PolicyForm { name: "Gold".into(), ..PolicyForm::default() };
        form.apply(&mut p);
        assert_eq!((p.rate, p.per, p.quota_max), (1000.0, 60.0, -1));
        assert_eq!(PolicyForm::from_policy(&p), form);
    }

    #[test]
    fn api_form() {
        let mut form = ApiForm { name: "Orders".into(), listen_path: "/orders/".into(), target_url: "http://up".into(), ..ApiForm::default() };
        assert_eq!(validate_api_form(&form), vec![]);
        let mut def = ApiDefinition::default();
        form.apply(&mut def);
        assert!(def.version_data.not_versioned && def.version_data.versions.contains_key("Default"));
        form.listen_path = "orders".into();
        form.versioned = true;
        assert_eq!(fields(&validate_api_form(&form)), vec!["proxy.listen_path", "version_data.versions"]);
        // Every broken field at once, in the order of the form.
        let empty = ApiForm { listen_path: "x".into(), target_url: "ftp://x".into(), ..ApiForm::default() };
        assert_eq!(fields(&validate_api_form(&empty)), vec!["name", "proxy.listen_path", "proxy.target_url"]);
        form.listen_path = "/orders/".into();
        form.versions = vec!["v1".into(), "v2".into()];
        form.auth_mode = AuthMode::Hmac;
        assert_eq!(validate_api_form(&form), vec![]);
        form.apply(&mut def);
        assert_eq!(def.version_data.default_version, "v1");
        assert_eq!(def.auth_mode(), AuthMode::Hmac);
        assert_eq!(ApiForm::from_definition(&def), form);
        form.domain = "https://api.example.com".into();
        assert_eq!(fields(&validate_api_form(&form)), vec!["domain"]);
        form.domain = " api.example.com ".into();
        assert_eq!(validate_api_form(&form), vec![]);
        form.apply(&mut def);
        assert_eq!(def.domain, "api.example.com");
    }
}
