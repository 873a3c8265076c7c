//! Key ids, how they are hashed, and how a request names a key.

use crate::secrets::sha256_hex;
use app::model::{KeyHash, OrgId};

/// A new key: the organisation id followed by 32 random hex characters (Tyk's legacy format,
/// which lets the gateway tell a key's organisation from the key itself).
pub fn generate(org_id: &OrgId) -> String {
    format!("{org_id}{}", uuid::Uuid::new_v4().simple())
}

/// The id of a custom key, as Tyk forms it: the organisation id is put in front unless the
/// client already did. `None` when the id is too short or has spaces or control characters.
pub fn custom(org_id: &OrgId, requested: &str) -> Option<String> {
    let ok = requested.len() >= 3 && requested.len() <= 256 && requested.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| if requested.starts_with(org_id.as_str()) { requested.to_owned() } else { format!("{org_id}{requested}") })
}

/// A basic-auth user's key id: organisation id + username (what the seed's key list shows).
/// The organisation is a `&str`: the gateway holds it shared, as an `Arc<str>`.
pub fn basic(org_id: &str, username: &str) -> String {
    format!("{org_id}{username}")
}

pub fn hash(key_id: &str) -> KeyHash {
    KeyHash::from_trusted(sha256_hex(key_id))
}

/// A new HMAC shared secret, shaped like Tyk's: base64 of a random UUID's hex (44 characters).
pub fn hmac_secret() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().simple().to_string())
}

/// How the id in a request's path names a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lookup {
    /// The key itself, with or without its organisation's prefix.
    #[default]
    Key,
    /// The key's hash.
    Hash,
    /// The key or its hash: both are tried, the hash first.
    Guess,
    /// A basic-auth user's name, in the caller's organisation.
    Username,
}

/// A key as a request names it: an id, and how to look it up.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "LookupFlags")]
pub struct KeyRef {
    pub id: String,
    pub lookup: Lookup,
}

/// Tyk's query flags, as they arrive: `hashed`, `auto_guess` and `username`.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupFlags {
    /// The id in the path is the key's hash (any value but empty, `false`, `0` or `no`).
    #[serde(default, deserialize_with = "flag")]
    pub hashed: bool,
    /// The id in the path may be the key or its hash: try both.
    #[serde(default, deserialize_with = "flag")]
    pub auto_guess: bool,
    /// The id in the path is a basic-auth username.
    #[serde(default, deserialize_with = "flag")]
    pub username: bool,
}

impl From<LookupFlags> for Lookup {
    /// When several flags are set, `username` wins over `auto_guess`, which wins over `hashed`.
    fn from(f: LookupFlags) -> Self {
        match (f.username, f.auto_guess, f.hashed) {
            (true, _, _) => Lookup::Username,
            (false, true, _) => Lookup::Guess,
            (false, false, true) => Lookup::Hash,
            (false, false, false) => Lookup::Key,
        }
    }
}

/// The id comes from the path, not the query: the handler fills it in.
impl From<LookupFlags> for KeyRef {
    fn from(f: LookupFlags) -> Self {
        Self { id: String::new(), lookup: f.into() }
    }
}

/// The query parameters documented are the flags the query string carries.
impl utoipa::IntoParams for KeyRef {
    fn into_params(parameter_in_provider: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>) -> Vec<utoipa::openapi::path::Parameter> {
        LookupFlags::into_params(parameter_in_provider)
    }
}

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(is_set(&<String as serde::Deserialize>::deserialize(d)?))
}

/// Tyk reads any non-empty query flag as set; we also read the obvious "false"/"0" as unset.
pub fn is_set(flag: &str) -> bool {
    !matches!(flag.to_ascii_lowercase().as_str(), "" | "false" | "0" | "no")
}

impl KeyRef {
    pub fn new(id: impl Into<String>, lookup: Lookup) -> Self {
        Self { id: id.into(), lookup }
    }

    pub fn raw(id: &str) -> Self {
        Self::new(id, Lookup::Key)
    }

    /// A key by its hash.
    pub fn hash(hash: &KeyHash) -> Self {
        Self::new(hash.as_str(), Lookup::Hash)
    }

    /// The hashes this reference could mean, most likely first. `org_id` is the caller's
    /// organisation, used to complete custom ids and usernames.
    pub fn candidates(&self, org_id: Option<&OrgId>) -> Vec<KeyHash> {
        let as_key = |out: &mut Vec<KeyHash>| {
            out.push(hash(&self.id));
            if let Some(org) = org_id.filter(|org| !self.id.starts_with(org.as_str())) {
                out.push(hash(&format!("{org}{}", self.id)));
            }
        };
        let mut out = Vec::new();
        match self.lookup {
            Lookup::Key => as_key(&mut out),
            Lookup::Hash => out.extend(KeyHash::parse_hex(&self.id)),
            Lookup::Guess => {
                out.extend(KeyHash::parse_hex(&self.id));
                as_key(&mut out);
            }
            Lookup::Username => out.extend(org_id.map(|org| hash(&basic(org.as_str(), &self.id)))),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "5e9d9544a1dcd60001d0ed20";

    #[test]
    fn ids() {
        let org = OrgId::parse(ORG).unwrap();
        let k = generate(&org);
        assert!(k.starts_with(ORG) && k.len() == 56);
        assert_eq!(custom(&org, "mykey").unwrap(), format!("{ORG}mykey"));
        assert_eq!(custom(&org, &format!("{ORG}x")).unwrap(), format!("{ORG}x"));
        assert!(custom(&org, "ab").is_none());
        assert!(custom(&org, "has space").is_none());
        assert_eq!(hmac_secret().len(), 44);
    }

    #[test]
    fn references() {
        let org = OrgId::parse(ORG).unwrap();
        let org = Some(&org);
        let h = hash("abc");
        assert_eq!(KeyRef::hash(&h).candidates(org), vec![h.clone()]);
        assert_eq!(KeyRef::new("not hex", Lookup::Hash).candidates(org), Vec::<KeyHash>::new());
        let raw = KeyRef::raw("abc").candidates(org);
        assert_eq!(raw, vec![hash("abc"), hash(&format!("{ORG}abc"))]);
        assert_eq!(KeyRef::raw(&format!("{ORG}abc")).candidates(org), vec![hash(&format!("{ORG}abc"))]);
        let user = KeyRef::new("ann", Lookup::Username);
        assert_eq!(user.candidates(org), vec![hash(&format!("{ORG}ann"))]);
        assert_eq!(user.candidates(None), Vec::<KeyHash>::new());
        let guess = KeyRef::new(h.as_str(), Lookup::Guess);
        assert_eq!(guess.candidates(None), vec![h.clone(), hash(h.as_str())]);
        assert_eq!(KeyRef::new("abc", Lookup::Guess).candidates(org), raw);
    }

    fn parsed(query: &str) -> Lookup {
        let uri: axum::http::Uri = format!("/keys/x?{query}").parse().unwrap();
        let r = axum::extract::Query::<KeyRef>::try_from_uri(&uri).unwrap().0;
        assert_eq!(r.id, "");
        r.lookup
    }

    #[test]
    fn query_flags() {
        assert_eq!(parsed(""), Lookup::Key);
        assert_eq!(parsed("hashed=true"), Lookup::Hash);
        assert_eq!(parsed("hashed=1"), Lookup::Hash);
        // Tyk reads any non-empty value as set; the obvious "off" values are not.
        assert_eq!(parsed("hashed=yes-please"), Lookup::Hash);
        for off in ["", "false", "FALSE", "0", "no"] {
            assert_eq!(parsed(&format!("hashed={off}")), Lookup::Key, "{off}");
            assert_eq!(parsed(&format!("username={off}&auto_guess={off}")), Lookup::Key, "{off}");
        }
        assert_eq!(parsed("auto_guess=true"), Lookup::Guess);
        assert_eq!(parsed("auto_guess=true&hashed=true"), Lookup::Guess);
        assert_eq!(parsed("username=true"), Lookup::Username);
        assert_eq!(parsed("username=true&hashed=1&auto_guess=1"), Lookup::Username);
        assert_eq!(parsed("other=1"), Lookup::Key);
    }
}
