//! HMAC request signing (tyk-key-semantics.md §6): parsing the `Signature` header, building the
//! signing string, and checking the signature and the clock skew.

use axum::http::{HeaderMap, Method};
use hmac::{Hmac, Mac};

/// A parsed `Authorization: Signature keyId="…",algorithm="…",headers="…",signature="…"`.
#[derive(Debug, PartialEq, Eq)]
pub struct SignatureHeader {
    pub key_id: String,
    pub algorithm: String,
    pub headers: Vec<String>,
    pub signature: String,
}

pub const ALGORITHMS: [&str; 4] = ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"];

pub fn parse(value: &str) -> Option<SignatureHeader> {
    let value = value.trim();
    let rest = match value.get(..9) {
        Some(p) if p.eq_ignore_ascii_case("signature") => value[9..].trim_start(),
        _ => value,
    };
    let (mut key_id, mut algorithm, mut headers, mut signature) = (None, None, None, None);
    for field in split_fields(rest)? {
        let (name, raw) = field.split_once('=')?;
        let v = raw.trim().strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(raw.trim()).to_owned();
        match name.trim().to_ascii_lowercase().as_str() {
            "keyid" => key_id = Some(v),
            "algorithm" => algorithm = Some(v),
            "headers" => headers = Some(v),
            "signature" => signature = Some(v),
            _ => return None,
        }
    }
    let headers = headers.unwrap_or_else(|| "date".into());
    Some(SignatureHeader {
        key_id: key_id.filter(|k| !k.is_empty())?,
        algorithm: algorithm.unwrap_or_default().to_ascii_lowercase(),
        headers: headers.split_whitespace().map(|h| h.to_ascii_lowercase()).collect(),
        signature: signature.filter(|s| !s.is_empty())?,
    })
}

/// Splits on commas outside double quotes.
fn split_fields(s: &str) -> Option<Vec<&str>> {
    let (mut out, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return None;
    }
    out.push(&s[start..]);
    Some(out.into_iter().map(str::trim).filter(|f| !f.is_empty()).collect())
}

/// The string the client signed: one `name: value` line per signed header.
pub fn signing_string(sig: &SignatureHeader, method: &Method, path: &str, headers: &HeaderMap) -> Option<String> {
    let mut lines = Vec::with_capacity(sig.headers.len());
    for name in &sig.headers {
        let line = match name.as_str() {
            "(request-target)" => format!("(request-target): {} {}", method.as_str().to_ascii_lowercase(), path),
            // X-Aux-Date stands in for Date where a client cannot set Date (browsers).
            "date" => match headers.get("x-aux-date") {
                Some(v) => format!("x-aux-date: {}", v.to_str().ok()?.trim()),
                None => format!("date: {}", headers.get("date")?.to_str().ok()?.trim()),
            },
            other => format!("{other}: {}", headers.get(other)?.to_str().ok()?.trim()),
        };
        lines.push(line);
    }
    Some(lines.join("\n"))
}

/// `url.QueryEscape(base64(HMAC(secret, signing string)))`, as the client must send it.
pub fn sign(algorithm: &str, secret: &str, signing_string: &str) -> String {
    use base64::Engine;
    fn mac<M: Mac + hmac::digest::KeyInit>(secret: &str, data: &str) -> Vec<u8> {
        let mut m = <M as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    }
    let digest = match algorithm {
        "hmac-sha256" => mac::<Hmac<sha2::Sha256>>(secret, signing_string),
        "hmac-sha384" => mac::<Hmac<sha2::Sha384>>(secret, signing_string),
        "hmac-sha512" => mac::<Hmac<sha2::Sha512>>(secret, signing_string),
        // Tyk's default for any other name.
        _ => mac::<Hmac<sha1::Sha1>>(secret, signing_string),
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
    b64.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
}

/// Does the supplied signature match? Lower-case percent escapes (as .NET writes them) are
/// accepted too, as Tyk does.
pub fn matches(expected: &str, supplied: &str) -> bool {
    if crate::auth::constant_time_eq(expected.as_bytes(), supplied.as_bytes()) {
        return true;
    }
    let upper = supplied.replace("%2b", "%2B").replace("%2f", "%2F").replace("%3d", "%3D");
    crate::auth::constant_time_eq(expected.as_bytes(), upper.as_bytes())
}

/// The request's date (Date or X-Aux-Date, RFC 1123) in unix milliseconds.
pub fn request_date_ms(headers: &HeaderMap) -> Option<i64> {
    let value = headers.get("x-aux-date").or_else(|| headers.get("date"))?.to_str().ok()?;
    let t = httpdate::parse_http_date(value.trim()).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tyk_header() {
        let h = parse(r#"Signature keyId="abc",algorithm="hmac-sha256",headers="(request-target) date",signature="x%2By""#).unwrap();
        assert_eq!(h.key_id, "abc");
        assert_eq!(h.algorithm, "hmac-sha256");
        assert_eq!(h.headers, vec!["(request-target)", "date"]);
        assert_eq!(h.signature, "x%2By");
        assert!(parse(r#"Signature keyId="abc",bogus="1",signature="s""#).is_none());
        assert!(parse(r#"Signature algorithm="hmac-sha1",signature="s""#).is_none());
        assert!(parse(r#"Signature keyId="abc,signature="s""#).is_none());
        assert_eq!(parse(r#"keyId="k",signature="s""#).unwrap().headers, vec!["date"]);
    }

    #[test]
    fn escapes_like_go() {
        let s = sign("hmac-sha1", "secret", "date: Mon, 02 Jan 2006 15:04:05 GMT");
        assert!(!s.contains('+') && !s.contains('/') && !s.contains('='));
        let dotnet = s.replace("%2B", "%2b").replace("%2F", "%2f").replace("%3D", "%3d");
        assert!(matches(&s, &dotnet));
        assert!(!matches(&s, &s[1..]));
    }
}
