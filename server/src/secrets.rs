//! Random identifiers and secrets, and the SHA-256 we store instead of a secret.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// `n` random bytes as lowercase hex (2n characters), from the OS's CSPRNG.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A fresh 24-hex id, the shape of Tyk's organisation, user and policy ids.
pub fn object_id() -> String {
    random_hex(12)
}

/// Lowercase hex SHA-256: how credentials and keys are stored and looked up.
pub fn sha256_hex(secret: &str) -> String {
    // Into a buffer, not through `hex::encode`'s char iterator: the gateway hashes the
    // presented key on every request, and the iterator cost more than SHA-256 itself.
    let mut out = [0u8; 64];
    hex::encode_to_slice(Sha256::digest(secret.as_bytes()), &mut out).expect("32 bytes fill 64 hex digits");
    std::str::from_utf8(&out).expect("hex is ASCII").to_owned()
}

/// A readable random password for the first admin (16 characters from an unambiguous alphabet).
pub fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(object_id().len(), 24);
        assert_ne!(object_id(), object_id());
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(generated_password().len(), 16);
    }
}
