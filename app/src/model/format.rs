//! How the dashboard writes times, periods and numbers. Pure functions of their arguments (the
//! server sends its clock), so a page renders the same text on the server and in the browser.

/// "in 3 days", "5 minutes ago", "just now".
pub fn relative(at: i64, now: i64) -> String {
    let diff = at - now;
    let span = diff.abs();
    if span < 45 {
        return "just now".into();
    }
    let (n, unit) = if span < 45 * 60 {
        ((span + 30) / 60, "minute")
    } else if span < 36 * 3600 {
        ((span + 1800) / 3600, "hour")
    } else if span < 45 * 86400 {
        ((span + 43200) / 86400, "day")
    } else if span < 365 * 86400 {
        ((span + 15 * 86400) / (30 * 86400), "month")
    } else {
        ((span + 182 * 86400) / (365 * 86400), "year")
    };
    let n = n.max(1);
    let unit = if n == 1 { unit.to_string() } else { format!("{unit}s") };
    if diff > 0 {
        format!("in {n} {unit}")
    } else {
        format!("{n} {unit} ago")
    }
}

/// Unix seconds as "2026-05-01 14:30 UTC".
pub fn utc(at: i64) -> String {
    let days = at.div_euclid(86400);
    let secs = at.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

/// Unix seconds as RFC 3339 in UTC ("2026-05-01T14:30:00Z"), as Tyk's APIs write times; Go's
/// zero time, as Tyk prints it, for "never" and for what RFC 3339 cannot write (a year before 0
/// or after 9999).
pub fn rfc3339(secs: Option<i64>) -> String {
    const NEVER: &str = "0001-01-01T00:00:00Z";
    let Some(at) = secs else { return NEVER.into() };
    let (y, m, d) = civil_from_days(at.div_euclid(86400));
    if !(0..10_000).contains(&y) {
        return NEVER.into();
    }
    let s = at.rem_euclid(86400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A period in seconds as words: "second", "minute", "60 seconds" → "minute", 90 → "90 seconds".
pub fn period(secs: f64) -> String {
    let s = secs.round() as i64;
    match s {
        1 => "second".into(),
        60 => "minute".into(),
        3600 => "hour".into(),
        86400 => "day".into(),
        604_800 => "week".into(),
        2_592_000 => "month (30 days)".into(),
        _ => format!("{} seconds", super::forms::number_text(secs)),
    }
}

/// "100 requests per minute", or "No rate limit".
pub fn rate(rate: f64, per: f64) -> String {
    if rate <= 0.0 || per <= 0.0 {
        "No rate limit".into()
    } else {
        format!("{} per {}", count(rate as i64, "request"), period(per))
    }
}

/// "1,000 per day", or "Unlimited".
pub fn quota(max: i64, renewal: i64) -> String {
    if max <= 0 {
        return "Unlimited".into();
    }
    let every = match renewal {
        r if r <= 0 => "never resets".to_string(),
        r => format!("per {}", period(r as f64)),
    };
    format!("{} {every}", count(max, "request"))
}

/// "1 request", "1,000 requests".
pub fn count(n: i64, noun: &str) -> String {
    format!("{} {noun}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// 1234567 → "1,234,567".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative(100, 100), "just now");
        assert_eq!(relative(100 + 3600, 100), "in 1 hour");
        assert_eq!(relative(100 + 7 * 86400, 100), "in 7 days");
        assert_eq!(relative(100, 100 + 5 * 60), "5 minutes ago");
        assert_eq!(relative(100, 100 + 90 * 86400), "3 months ago");
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339(None), "0001-01-01T00:00:00Z");
        assert_eq!(rfc3339(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(Some(1_700_000_000)), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(Some(-1)), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(Some(253_402_300_799)), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(Some(253_402_300_800)), "0001-01-01T00:00:00Z");
        assert_eq!(rfc3339(Some(-62_167_219_200)), "0000-01-01T00:00:00Z");
        assert_eq!(rfc3339(Some(-62_167_219_201)), "0001-01-01T00:00:00Z");
        assert_eq!(rfc3339(Some(i64::MAX)), "0001-01-01T00:00:00Z");
        assert_eq!(rfc3339(Some(i64::MIN)), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn words() {
        assert_eq!(rate(100.0, 60.0), "100 requests per minute");
        assert_eq!(rate(5.0, 90.0), "5 requests per 90 seconds");
        assert_eq!(rate(0.0, 0.0), "No rate limit");
        assert_eq!(quota(1000, 86400), "1,000 requests per day");
        assert_eq!(quota(-1, 0), "Unlimited");
        assert_eq!(thousands(-1234567), "-1,234,567");
    }
}
