//! The moments the tool works at: `--at` (RFC 3339 or Unix seconds) or now,
//! and distances in days for people to read.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// Parses an `--at` value: an RFC 3339 instant or seconds since the Unix epoch.
pub(crate) fn parse_at(text: &str) -> Result<i64, String> {
    if let Ok(seconds) = text.parse::<i64>() {
        return if seconds < 0 {
            Err(format!("--at {text}: a time before 1970 is not accepted"))
        } else {
            Ok(seconds)
        };
    }
    let instant = time::OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| format!("--at {text:?}: expected an RFC 3339 instant (2030-01-31T12:00:00Z) or Unix seconds"))?;
    let seconds = instant.unix_timestamp();
    if seconds < 0 {
        return Err(format!("--at {text}: a time before 1970 is not accepted"));
    }
    Ok(seconds)
}

/// The time a command works at: `--at` when given, else now.
pub(crate) fn at_or_now(at: Option<&str>) -> Result<i64, String> {
    match at {
        Some(text) => parse_at(text),
        None => Ok(now()),
    }
}

/// Now, in seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `3 days`, `1 day`, `0 days`: whole days, rounded down.
pub(crate) fn days(seconds: i64) -> String {
    match seconds / DAY {
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_values() {
        assert_eq!(parse_at("0"), Ok(0));
        assert_eq!(parse_at("1970-01-02T00:00:00Z"), Ok(DAY));
        assert_eq!(parse_at("1970-01-01T01:00:00+01:00"), Ok(0));
        assert!(parse_at("-5").is_err());
        assert!(parse_at("1969-12-31T23:59:59Z").is_err());
        assert!(parse_at("tomorrow").is_err());
        assert_eq!(days(DAY * 2 + 5), "2 days");
        assert_eq!(days(DAY), "1 day");
    }
}
