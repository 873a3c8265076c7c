//! Encrypts the few secrets that must stay readable (HMAC shared secrets: the gateway needs them
//! to verify signatures), so that a copy of the database alone does not reveal them.
//! XChaCha20-Poly1305 with a random nonce per value; the key comes from `PORTCULLIS_SECRET_KEY`
//! or, failing that, a key file created once in the data folder.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("PORTCULLIS_SECRET_KEY must be 64 hex characters (32 bytes)")]
    BadKey,
    #[error("cannot read or create the secret key file {0}: {1}")]
    KeyFile(String, std::io::Error),
    #[error("a stored secret could not be decrypted: was PORTCULLIS_SECRET_KEY changed?")]
    Decrypt,
}

#[derive(Clone)]
pub struct Vault {
    cipher: Arc<XChaCha20Poly1305>,
}

impl Vault {
    pub fn from_hex(key_hex: &str) -> Result<Self, VaultError> {
        let bytes = hex::decode(key_hex.trim()).map_err(|_| VaultError::BadKey)?;
        if bytes.len() != 32 {
            return Err(VaultError::BadKey);
        }
        Ok(Self { cipher: Arc::new(XChaCha20Poly1305::new(Key::from_slice(&bytes))) })
    }

    /// The configured key, or the one in `<data_dir>/secret.key` (created on first use).
    pub fn open(configured: Option<&str>, data_dir: &Path) -> Result<Self, VaultError> {
        if let Some(key) = configured {
            return Self::from_hex(key);
        }
        let path = data_dir.join("secret.key");
        let err = |e| VaultError::KeyFile(path.display().to_string(), e);
        match std::fs::read_to_string(&path) {
            Ok(key) => Self::from_hex(&key),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(err)?;
                let key = crate::secrets::random_hex(32);
                write_private(&path, &key).map_err(err)?;
                Self::from_hex(&key)
            }
            Err(e) => Err(err(e)),
        }
    }

    /// base64(nonce ‖ ciphertext).
    pub fn encrypt(&self, plaintext: &str) -> String {
        use base64::Engine;
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("encryption with a valid key cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    pub fn decrypt(&self, sealed: &str) -> Result<String, VaultError> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).map_err(|_| VaultError::Decrypt)?;
        if bytes.len() < 24 {
            return Err(VaultError::Decrypt);
        }
        let (nonce, body) = bytes.split_at(24);
        let plain = self.cipher.decrypt(XNonce::from_slice(nonce), body).map_err(|_| VaultError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| VaultError::Decrypt)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let v = Vault::from_hex(&"ab".repeat(32)).unwrap();
        let sealed = v.encrypt("secret");
        assert_ne!(sealed, v.encrypt("secret"), "a fresh nonce each time");
        assert_eq!(v.decrypt(&sealed).unwrap(), "secret");
        let other = Vault::from_hex(&"cd".repeat(32)).unwrap();
        assert!(other.decrypt(&sealed).is_err());
        assert!(Vault::from_hex("abcd").is_err());
    }

    #[test]
    fn key_file_is_created_once() {
        let dir = std::env::temp_dir().join(format!("vault-{}", crate::secrets::random_hex(4)));
        let a = Vault::open(None, &dir).unwrap();
        let b = Vault::open(None, &dir).unwrap();
        assert_eq!(b.decrypt(&a.encrypt("x")).unwrap(), "x");
        let _ = std::fs::remove_dir_all(dir);
    }
}
