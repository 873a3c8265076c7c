//! Key ids, how they are hashed, and how a request names a key.

use crate::secrets::sha256_hex;
use app::model::KeyHash;

/// A new key: the organisation id followed by 32 random hex characters (Tyk's legacy format,
/// which lets the gateway tell a key's organisation from the key itself).
pub fn generate(org_id: &str) -> String {
    format!("{org_id}{}", uuid::Uuid::new_v4().simple())
}

/// The id of a custom key, as Tyk forms it: the organisation id is put in front unless the
/// client already did. `None` when the id is too short or has spaces or control characters.
pub fn custom(org_id: &str, requested: &str) -> Option<String> {
    let ok = requested.len() >= 3 && requested.len() <= 256 && requested.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| if requested.starts_with(org_id) { requested.to_owned() } else { format!("{org_id}{requested}") })
}

/// A basic-auth user's key id: organisation id + username (what the seed's key list shows).
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

/// How a request names a key: Tyk's `hashed`, `auto_guess` and `username` query flags.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyRef {
    #[serde(skip)]
    pub id: String,
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

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(is_set(&<String as serde::Deserialize>::deserialize(d)?))
}

/// Tyk reads any non-empty query flag as set; we also read the obvious "false"/"0" as unset.
pub fn is_set(flag: &str) -> bool {
    !matches!(flag.to_ascii_lowercase().as_str(), "" | "false" | "0" | "no")
}

impl KeyRef {
    pub fn raw(id: &str) -> Self {
        Self { id: id.to_owned(), ..Self::default() }
    }

    /// The hashes this reference could mean, most likely first. `org_id` is the caller's
    /// organisation, used to complete custom ids and usernames.
    pub fn candidates(&self, org_id: Option<&str>) -> Vec<KeyHash> {
        let mut out = Vec::new();
        if self.hashed || self.auto_guess {
            out.extend(KeyHash::parse_hex(&self.id));
        }
        if self.username {
            out.extend(org_id.map(|org| hash(&basic(org, &self.id))));
            return out;
        }
        if !self.hashed || self.auto_guess {
            out.push(hash(&self.id));
            if let Some(org) = org_id.filter(|org| !self.id.starts_with(*org)) {
                out.push(hash(&format!("{org}{}", self.id)));
            }
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
        let k = generate(ORG);
        assert!(k.starts_with(ORG) && k.len() == 56);
        assert_eq!(custom(ORG, "mykey").unwrap(), format!("{ORG}mykey"));
        assert_eq!(custom(ORG, &format!("{ORG}x")).unwrap(), format!("{ORG}x"));
        assert!(custom(ORG, "ab").is_none());
        assert!(custom(ORG, "has space").is_none());
        assert_eq!(hmac_secret().len(), 44);
    }

    #[test]
    fn references() {
        let h = hash("abc");
        let by_hash = KeyRef { id: h.to_string(), hashed: true, ..Default::default() };
        assert_eq!(by_hash.candidates(Some(ORG)), vec![h.clone()]);
        let raw = KeyRef::raw("abc").candidates(Some(ORG));
        assert_eq!(raw, vec![hash("abc"), hash(&format!("{ORG}abc"))]);
        let user = KeyRef { id: "ann".into(), username: true, ..Default::default() };
        assert_eq!(user.candidates(Some(ORG)), vec![hash(&format!("{ORG}ann"))]);
        let guess = KeyRef { id: h.to_string(), auto_guess: true, ..Default::default() };
        assert_eq!(guess.candidates(None)[0], h);
    }
}
