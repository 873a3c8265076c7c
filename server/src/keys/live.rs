//! A key as the gateway needs it: the effective session (policies applied), its secrets for
//! verifying signatures and passwords, and its path rules compiled once.

use super::{parse_session, KeyError, Keys};
use axum::http::{HeaderName, HeaderValue};
use app::model::{apply_policies, KeyHash, OrgId, SessionState};
use regex::Regex;
use std::collections::BTreeMap;

pub struct UrlRule {
    pub pattern: Regex,
    pub methods: Vec<String>,
}

/// What a key is, which decides the one way the gateway accepts it: a token presented as is,
/// an HMAC key whose id travels in clear in every signed request, or a basic-auth user whose
/// id is the organisation's id and the user name. Presented another way, it is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    AuthToken,
    Hmac,
    BasicAuth,
}

pub struct LiveKey {
    pub hash: KeyHash,
    pub org_id: OrgId,
    pub kind: KeyKind,
    pub session: SessionState,
    pub hmac_secret: Option<String>,
    /// bcrypt hash of a basic-auth user's password.
    pub basic_password_hash: Option<String>,
    /// Per API id: the `allowed_urls` rules, compiled.
    pub url_rules: BTreeMap<String, Vec<UrlRule>>,
    /// Its policies could not be applied (all of them deleted, or they conflict): Tyk treats
    /// such a key as not found.
    pub refused: bool,
    /// What every analytics record of this key carries, made once.
    pub labels: KeyLabels,
    /// The identity headers forward-auth answers with, made once (see `identity_headers`).
    pub identity: Vec<(HeaderName, HeaderValue)>,
}

/// `X-Portcullis-Key-Hash`, `-Alias`, `-Org`, `-Policies`: who the caller is, for the service
/// behind a forward-auth proxy. A value that is not a valid header value is left out.
fn identity_headers(hash: &str, org_id: &str, session: &SessionState) -> Vec<(HeaderName, HeaderValue)> {
    [
        ("x-portcullis-key-hash", hash.to_owned()),
        ("x-portcullis-alias", session.alias.clone()),
        ("x-portcullis-org", org_id.to_owned()),
        ("x-portcullis-policies", session.policy_ids().join(",")),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((HeaderName::from_static(name), HeaderValue::try_from(value).ok()?)))
    .collect()
}

/// A key's identity in analytics: its hash, alias, and tags with `pol-<id>` per policy.
#[derive(Clone, Debug, Default)]
pub struct KeyLabels {
    pub hash: std::sync::Arc<str>,
    pub alias: std::sync::Arc<str>,
    pub tags: std::sync::Arc<[String]>,
}

impl KeyLabels {
    fn of(hash: &str, session: &SessionState) -> Self {
        let tags: Vec<String> =
            session.tags.iter().cloned().chain(session.policy_ids().iter().map(|p| format!("pol-{p}"))).collect();
        Self { hash: hash.into(), alias: session.alias.as_str().into(), tags: tags.into() }
    }
}

impl Keys {
    /// Loads a key for the gateway; `None` when there is no such key.
    pub async fn load_live(&self, key_hash: &KeyHash) -> Result<Option<LiveKey>, KeyError> {
        let Some(row) = self.store.key(key_hash).await? else { return Ok(None) };
        let own = parse_session(&row)?;
        let policies = self.existing_policies(&row.org_id, &own).await?;
        let lost_all_policies = !own.policy_ids().is_empty() && policies.is_empty();
        let (session, refused) = match apply_policies(&own, &policies) {
            Ok(s) if !lost_all_policies => (s, false),
            _ => (own.clone(), true),
        };
        let hmac_secret = match &row.hmac_secret {
            Some(sealed) => Some(self.vault.decrypt(sealed)?),
            None => None,
        };
        let basic_password_hash = row.basic_username.as_ref().map(|_| own.basic_auth_data.password.clone());
        let kind = if row.basic_username.is_some() {
            KeyKind::BasicAuth
        } else if hmac_secret.is_some() || session.hmac_enabled || session.enable_http_signature_validation {
            KeyKind::Hmac
        } else {
            KeyKind::AuthToken
        };
        let url_rules = session
            .access_rights
            .iter()
            .map(|(api, def)| {
                let rules = def
                    .allowed_urls
                    .iter()
                    // Patterns were validated when stored; one that no longer compiles matches nothing.
                    .filter_map(|u| Some(UrlRule { pattern: Regex::new(&u.url).ok()?, methods: u.methods.clone() }))
                    .collect();
                (api.clone(), rules)
            })
            .collect();
        Ok(Some(LiveKey {
            labels: KeyLabels::of(row.key_hash.as_str(), &session),
            identity: identity_headers(row.key_hash.as_str(), row.org_id.as_str(), &session),
            hash: row.key_hash,
            org_id: row.org_id,
            kind,
            session,
            hmac_secret,
            basic_password_hash,
            url_rules,
            refused,
        }))
    }
}
