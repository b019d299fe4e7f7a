//! Points in time on the command line: `30d`, `2w`, `12h` (that long ago) or a date
//! `2026-11-01` / an RFC 3339 instant. Used by `--since`.

use cairn_core::Timestamp;
use jiff::tz::TimeZone;

/// A clap value parser: the instant the text names, in UTC.
pub(crate) fn instant(raw: &str) -> Result<Timestamp, String> {
    let raw = raw.trim();
    if let Ok(ts) = raw.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(date) = raw.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    let span: jiff::Span = raw
        .parse()
        .map_err(|_| format!("{raw:?} is neither an age (30d, 2w, 12h) nor a date (2026-11-01)"))?;
    if span.is_negative() {
        return Err(format!("{raw:?}: an age cannot be negative"));
    }
    Timestamp::now()
        .to_zoned(TimeZone::UTC)
        .checked_sub(span)
        .map(|z| z.timestamp())
        .map_err(|e| format!("{raw:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_dates_and_instants() {
        let now = Timestamp::now();
        let month = instant("30d").unwrap();
        let secs = (now - month).get_seconds();
        assert!(
            (30 * 86_400 - 5..=30 * 86_400 + 5).contains(&secs),
            "{secs}"
        );
        assert!(instant("2w").unwrap() < instant("1w").unwrap());
        assert_eq!(
            instant("2026-11-01").unwrap(),
            "2026-11-01T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            instant("2026-11-01T10:00:00Z").unwrap().to_string(),
            "2026-11-01T10:00:00Z"
        );
        for bad in ["yesterday", "", "-3d", "30 parsecs"] {
            assert!(instant(bad).is_err(), "{bad} accepted");
        }
    }
}
