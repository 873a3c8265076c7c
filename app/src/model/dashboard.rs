//! What the dashboard's pages receive from the server: lists, details and the choices a form
//! offers. Plain serde types, shared by the server (which fills them) and the browser.

use super::api_definition::AuthMode;
use super::forms::{ApiForm, KeyForm, PolicyForm};
use super::ids::KeyHash;
use super::policy::PolicyPartitions;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Keys per page of the key list.
pub const KEYS_PER_PAGE: u32 = 20;

/// Which keys the list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusFilter {
    #[default]
    All,
    Active,
    Inactive,
    Expired,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 4] = [StatusFilter::All, StatusFilter::Active, StatusFilter::Inactive, StatusFilter::Expired];

    pub fn slug(self) -> &'static str {
        match self {
            StatusFilter::All => "",
            StatusFilter::Active => "active",
            StatusFilter::Inactive => "inactive",
            StatusFilter::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::All => "All",
            StatusFilter::Active => "Active",
            StatusFilter::Inactive => "Inactive",
            StatusFilter::Expired => "Expired",
        }
    }

    pub fn from_slug(s: &str) -> Self {
        Self::ALL.into_iter().find(|f| f.slug() == s).unwrap_or_default()
    }
}

/// The order of the key list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeySort {
    #[default]
    Newest,
    Oldest,
    Alias,
    /// Soonest expiry first; keys that never expire last.
    Expiry,
}

impl KeySort {
    pub const ALL: [KeySort; 4] = [KeySort::Newest, KeySort::Oldest, KeySort::Alias, KeySort::Expiry];

    pub fn slug(self) -> &'static str {
        match self {
            KeySort::Newest => "",
            KeySort::Oldest => "oldest",
            KeySort::Alias => "alias",
            KeySort::Expiry => "expiry",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            KeySort::Newest => "Newest first",
            KeySort::Oldest => "Oldest first",
            KeySort::Alias => "Alias (A–Z)",
            KeySort::Expiry => "Expiring soonest",
        }
    }

    pub fn from_slug(s: &str) -> Self {
        Self::ALL.into_iter().find(|f| f.slug() == s).unwrap_or_default()
    }
}

/// What the key list asks for; also its URL query (`q`, `status`, `sort`, `page`, `cursor`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyListQuery {
    /// Part of an alias, key hash, tag, policy (id or name) or API (id or name).
    pub q: String,
    pub status: StatusFilter,
    pub sort: KeySort,
    /// From 1. With a cursor, only the number the page is shown as.
    pub page: u32,
    /// Where the page starts, as the server's previous answer gave it (`KeyPage::next`/`prev`);
    /// empty for the page `page` names. Following cursors reads no skipped key.
    pub cursor: String,
}

impl KeyListQuery {
    /// The URL of the list for this query.
    pub fn href(&self) -> String {
        let mut params: Vec<(&str, String)> = Vec::new();
        if !self.q.is_empty() {
            params.push(("q", self.q.clone()));
        }
        if self.status != StatusFilter::All {
            params.push(("status", self.status.slug().into()));
        }
        if self.sort != KeySort::Newest {
            params.push(("sort", self.sort.slug().into()));
        }
        if self.page > 1 {
            params.push(("page", self.page.to_string()));
        }
        if !self.cursor.is_empty() {
            params.push(("cursor", self.cursor.clone()));
        }
        if params.is_empty() {
            return "/keys".into();
        }
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect();
        format!("/keys?{}", query.join("&"))
    }
}

/// Percent-encodes a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
    Expired,
}

impl KeyStatus {
    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
            KeyStatus::Expired => "Expired",
        }
    }

    pub fn of(is_inactive: bool, expires: i64, now: i64) -> Self {
        if is_inactive {
            KeyStatus::Inactive
        } else if expires > 0 && expires <= now {
            KeyStatus::Expired
        } else {
            KeyStatus::Active
        }
    }
}

/// An id with the name a person knows it by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// One row of the key list (effective values: policies applied).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeySummary {
    pub key_hash: KeyHash,
    pub alias: String,
    /// Set for basic-auth users.
    pub basic_username: Option<String>,
    pub hmac: bool,
    pub policies: Vec<Named>,
    pub apis: Vec<Named>,
    pub tags: Vec<String>,
    /// Unix seconds; 0 never.
    pub expires: i64,
    /// `<= 0` unlimited.
    pub quota_max: i64,
    pub quota_remaining: i64,
    pub status: KeyStatus,
}

impl KeySummary {
    /// What to call the key: its alias, its username, or the start of its hash.
    pub fn title(&self) -> String {
        if !self.alias.is_empty() {
            self.alias.clone()
        } else if let Some(u) = &self.basic_username {
            u.clone()
        } else {
            format!("Key {}", short_hash(self.key_hash.as_str()))
        }
    }

    pub fn quota_used(&self) -> i64 {
        (self.quota_max - self.quota_remaining.max(0)).clamp(0, self.quota_max.max(0))
    }
}

/// The first characters of a key hash, enough to tell keys apart.
pub fn short_hash(hash: &str) -> &str {
    &hash[..hash.len().min(10)]
}

/// A page of the key list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyPage {
    pub keys: Vec<KeySummary>,
    pub total: i64,
    pub page: u32,
    pub pages: u32,
    /// The server's clock (unix seconds), for relative times that render the same on both sides.
    pub now: i64,
    /// Whether the organisation has any key at all (tells "no keys yet" from "no match").
    pub any_keys: bool,
    /// The cursors of the pages after and before this one, where there is one.
    pub next: Option<String>,
    pub prev: Option<String>,
}

/// Everything the key page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyDetail {
    pub summary: KeySummary,
    /// The key's own settings, as the edit form starts.
    pub form: KeyForm,
    /// Effective limits (policies applied).
    pub rate: f64,
    pub per: f64,
    pub throttle_retry_limit: i64,
    pub throttle_interval: f64,
    pub quota_renewal_rate: i64,
    /// Unix seconds; 0 never.
    pub quota_renews: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub detailed_logging: bool,
    pub now: i64,
    /// Policies the key lists that do not exist: skipped, so the key works with the others.
    #[serde(default)]
    pub missing_policies: Vec<String>,
}

/// What a new key's owner is shown, once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedKey {
    /// The key itself (for a basic-auth user, the organisation id and username).
    pub key: String,
    pub key_hash: KeyHash,
    /// Set when HMAC signing is on.
    pub hmac_secret: Option<String>,
    pub basic_username: Option<String>,
}

/// An API the forms can grant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiChoice {
    pub api_id: String,
    pub name: String,
    pub listen_path: String,
    /// Version names; an unversioned API has "Default".
    pub versions: Vec<String>,
    pub auth_mode: AuthMode,
}

/// A policy the key form can apply, with what it sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyChoice {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub partitions: PolicyPartitions,
    pub rate: f64,
    pub per: f64,
    pub throttle_retry_limit: i64,
    pub throttle_interval: f64,
    pub quota_max: i64,
    pub quota_renewal_rate: i64,
    pub apis: Vec<Named>,
    pub tags: Vec<String>,
}

/// The choices the key and policy forms offer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FormOptions {
    pub apis: Vec<ApiChoice>,
    pub policies: Vec<PolicyChoice>,
    pub now: i64,
}

/// A row of the policy list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicySummary {
    pub choice: PolicyChoice,
    pub key_count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyDetail {
    pub id: String,
    pub form: PolicyForm,
    pub key_count: i64,
}

/// A row of the API list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiSummary {
    pub api: ApiChoice,
    pub target_url: String,
    pub active: bool,
    /// Keys that grant it.
    pub key_count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiDetail {
    pub api_id: String,
    pub form: ApiForm,
    pub key_count: i64,
}

// ---------------------------------------------------------------------------------------------
// Usage (analytics)
// ---------------------------------------------------------------------------------------------

/// The period a usage chart covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UsageWindow {
    #[default]
    Day,
    Week,
    Month,
}

impl UsageWindow {
    pub const ALL: [UsageWindow; 3] = [UsageWindow::Day, UsageWindow::Week, UsageWindow::Month];

    pub fn slug(self) -> &'static str {
        match self {
            UsageWindow::Day => "24h",
            UsageWindow::Week => "7d",
            UsageWindow::Month => "30d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UsageWindow::Day => "24 hours",
            UsageWindow::Week => "7 days",
            UsageWindow::Month => "30 days",
        }
    }

    pub fn from_slug(s: &str) -> Self {
        Self::ALL.into_iter().find(|w| w.slug() == s).unwrap_or_default()
    }

    /// Seconds the window covers.
    pub fn seconds(self) -> i64 {
        match self {
            UsageWindow::Day => 24 * 3600,
            UsageWindow::Week => 7 * 24 * 3600,
            UsageWindow::Month => 30 * 24 * 3600,
        }
    }

    /// Seconds per bar: hours for a day, 6 hours for a week, days for a month.
    pub fn bucket_seconds(self) -> i64 {
        match self {
            UsageWindow::Day => 3600,
            UsageWindow::Week => 6 * 3600,
            UsageWindow::Month => 24 * 3600,
        }
    }
}

/// The requests of one time slot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageBucket {
    /// Unix seconds at which the slot starts.
    pub start: i64,
    pub requests: u64,
    /// HTTP status (>= 400) → how many requests got it.
    pub errors_by_status: BTreeMap<u16, u64>,
}

impl UsageBucket {
    pub fn errors(&self) -> u64 {
        self.errors_by_status.values().sum()
    }
}

/// A key's traffic over a window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUsage {
    pub window: UsageWindow,
    /// Oldest first; slots without requests may be left out.
    pub buckets: Vec<UsageBucket>,
    /// Unix seconds of the last request, if known.
    pub last_used: Option<i64>,
    pub now: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_urls() {
        assert_eq!(KeyListQuery::default().href(), "/keys");
        let q = KeyListQuery { q: "a b&c".into(), status: StatusFilter::Expired, sort: KeySort::Alias, page: 2, cursor: String::new() };
        assert_eq!(q.href(), "/keys?q=a+b%26c&status=expired&sort=alias&page=2");
        let q = KeyListQuery { page: 3, cursor: "YTpu-_x".into(), ..KeyListQuery::default() };
        assert_eq!(q.href(), "/keys?page=3&cursor=YTpu-_x");
    }

    #[test]
    fn status() {
        assert_eq!(KeyStatus::of(false, 0, 100), KeyStatus::Active);
        assert_eq!(KeyStatus::of(false, 100, 100), KeyStatus::Expired);
        assert_eq!(KeyStatus::of(true, 50, 100), KeyStatus::Inactive);
    }
}
