//! One normalised request path, made once at the gateway's door, so that listen-path matching,
//! `allowed_urls`, the version from the URL, analytics and the upstream all see the same path.
//! Pure functions: no hyper, no axum.
//!
//! Normalising: escapes of unreserved characters are decoded (`%2e` is `.`, `%7E` is `~`); every
//! other escape stays as sent, its hex in upper case (`%2f` is `%2F`: an encoded slash is data,
//! not a separator); then dot segments are removed (RFC 3986 §5.2.4). Empty segments (`//`) are
//! kept, as the RFC does. A `..` that would climb above the root is an error, not silently
//! dropped: such a path is an attack or a broken client.

use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// A `..` segment climbs above `/`.
    AboveRoot,
}

/// The path with unreserved escapes decoded and dot segments removed. `path` is the path of an
/// origin-form request target (it starts with `/`; one that does not is treated as if it did).
pub fn normalise(path: &str) -> Result<String, PathError> {
    let decoded = decode_unreserved(path);
    remove_dot_segments(&decoded).map(Cow::into_owned)
}

/// Decodes `%XX` where XX is an unreserved character (ALPHA / DIGIT / `-` `.` `_` `~`), and
/// writes the hex of every other valid escape in upper case. A `%` not followed by two hex
/// digits is left as it is.
pub fn decode_unreserved(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                let c = (hi << 4 | lo) as char;
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~') {
                    out.push(c);
                } else {
                    out.push('%');
                    out.push(bytes[i + 1].to_ascii_uppercase() as char);
                    out.push(bytes[i + 2].to_ascii_uppercase() as char);
                }
                i += 3;
                continue;
            }
        }
        // Copy one whole UTF-8 character (a path from hyper is ASCII, but this stays correct).
        let len = utf8_len(bytes[i]);
        out.push_str(&path[i..i + len]);
        i += len;
    }
    Cow::Owned(out)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// RFC 3986 §5.2.4 on an absolute path, except that climbing above the root is an error.
pub fn remove_dot_segments(path: &str) -> Result<Cow<'_, str>, PathError> {
    let Some(rest) = path.strip_prefix('/') else {
        return remove_dot_segments(&format!("/{path}")).map(|p| Cow::Owned(p.into_owned()));
    };
    // The common case, checked without allocating: nothing to remove.
    if !rest.split('/').any(|s| s == "." || s == "..") {
        return Ok(Cow::Borrowed(path));
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    let last = segments.len() - 1;
    for (i, seg) in segments.into_iter().enumerate() {
        match seg {
            "." => {
                // A final `.` leaves a trailing slash: `/a/.` is `/a/`.
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.pop().is_none() {
                    return Err(PathError::AboveRoot);
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    Ok(Cow::Owned(format!("/{}", out.join("/"))))
}

/// Does a listen path serve this (normalised) path? Whole segments only: `/pay` and `/pay/`
/// serve `/pay` and `/pay/...`, not `/payments`; `/` serves every path.
pub fn listen_path_serves(listen_path: &str, path: &str) -> bool {
    let lp = listen_path.trim_end_matches('/');
    match path.strip_prefix(lp) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(p: &str) -> Result<String, PathError> {
        normalise(p)
    }

    #[test]
    fn plain_paths_unchanged() {
        for p in ["/", "/pay", "/pay/", "/pay/v2/charge", "/a.b/c..d/.e/f.", "/%C3%A9t%C3%A9"] {
            assert_eq!(n(p).unwrap(), p);
        }
    }

    #[test]
    fn dot_segments_removed() {
        assert_eq!(n("/pay/public/../admin").unwrap(), "/pay/admin");
        assert_eq!(n("/pay/./public").unwrap(), "/pay/public");
        assert_eq!(n("/./pay").unwrap(), "/pay");
        assert_eq!(n("/a/b/c/./../../g").unwrap(), "/a/g");
        assert_eq!(n("/pay/public/..").unwrap(), "/pay/", "a trailing .. leaves the directory");
        assert_eq!(n("/pay/public/.").unwrap(), "/pay/public/");
        assert_eq!(n("/pay/..").unwrap(), "/");
        assert_eq!(n("/pay/../").unwrap(), "/");
    }

    #[test]
    fn encoded_dots_are_dots() {
        assert_eq!(n("/pay/public/%2e%2e/admin").unwrap(), "/pay/admin");
        assert_eq!(n("/pay/public/%2E%2e/admin").unwrap(), "/pay/admin");
        assert_eq!(n("/pay/public/.%2E/admin").unwrap(), "/pay/admin");
        assert_eq!(n("/pay/%2e/public").unwrap(), "/pay/public");
        assert_eq!(n("/pay/%2e%2e%2e/x").unwrap(), "/pay/.../x", "three dots are a name");
    }

    #[test]
    fn unreserved_decoded_other_escapes_kept() {
        assert_eq!(n("/%7Euser/%41%62%2D%5F").unwrap(), "/~user/Ab-_");
        assert_eq!(n("/pay/a%2Fb").unwrap(), "/pay/a%2Fb", "an encoded slash is not a separator");
        assert_eq!(n("/pay/a%2fb").unwrap(), "/pay/a%2Fb", "escapes in upper case");
        assert_eq!(n("/pay/public%2F..%2Fadmin").unwrap(), "/pay/public%2F..%2Fadmin", "not segments");
        assert_eq!(n("/pay/%20x").unwrap(), "/pay/%20x");
    }

    #[test]
    fn non_utf8_and_broken_escapes_kept() {
        assert_eq!(n("/pay/%ff%fe").unwrap(), "/pay/%FF%FE");
        assert_eq!(n("/pay/%C3%28").unwrap(), "/pay/%C3%28");
        assert_eq!(n("/pay/%zz/%2").unwrap(), "/pay/%zz/%2");
        assert_eq!(n("/pay/%").unwrap(), "/pay/%");
        assert_eq!(n("/pay/%2").unwrap(), "/pay/%2");
        assert_eq!(n("/é/%2e%2e/x").unwrap(), "/x");
    }

    #[test]
    fn empty_segments_kept() {
        assert_eq!(n("//pay//x").unwrap(), "//pay//x");
        assert_eq!(n("/pay//../admin").unwrap(), "/pay/admin", "`..` removes the empty segment, as RFC 3986 does");
        assert_eq!(n("//..").unwrap(), "/");
    }

    #[test]
    fn climbing_above_the_root_is_refused() {
        assert_eq!(n("/.."), Err(PathError::AboveRoot));
        assert_eq!(n("/../admin"), Err(PathError::AboveRoot));
        assert_eq!(n("/pay/../../admin"), Err(PathError::AboveRoot));
        assert_eq!(n("/%2e%2e/admin"), Err(PathError::AboveRoot));
        assert_eq!(n("/pay/%2E%2E/%2e%2e"), Err(PathError::AboveRoot));
    }

    #[test]
    fn listen_paths_serve_whole_segments() {
        assert!(listen_path_serves("/pay", "/pay"));
        assert!(listen_path_serves("/pay", "/pay/x"));
        assert!(listen_path_serves("/pay/", "/pay"));
        assert!(listen_path_serves("/pay/", "/pay/"));
        assert!(!listen_path_serves("/pay", "/payments"));
        assert!(!listen_path_serves("/pay/", "/payments/x"));
        assert!(listen_path_serves("/", "/anything"));
        assert!(listen_path_serves("/", "/"));
        assert!(!listen_path_serves("/pay/v2/", "/pay/x"));
    }
}
