//! Who is calling, and the comparisons every way in makes of what a caller sends. How the REST
//! APIs find these callers in a request, and refuse one, is `rest::callers`.

use crate::store::UserRow;

/// A dashboard user authenticated by the REST credential in `Authorization` (raw, as Tyk's
/// docs send it, or as `Bearer <credential>`).
pub struct ApiUser(pub UserRow);

/// A caller of `/admin` holding the `Admin-Auth` secret.
pub struct Admin;

/// `Bearer xyz` → `xyz` (case-insensitive, as Tyk does); anything else unchanged.
pub fn strip_bearer(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ => value,
    }
}

/// Compares secrets without revealing, through timing, how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer() {
        assert_eq!(strip_bearer("Bearer abc"), "abc");
        assert_eq!(strip_bearer("bearer abc"), "abc");
        assert_eq!(strip_bearer("abc"), "abc");
        assert_eq!(strip_bearer("Bearer"), "Bearer");
    }

    #[test]
    fn ct_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
