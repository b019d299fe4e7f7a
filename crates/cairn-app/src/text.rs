//! Short pieces of text the renderings share: one line of a summary, a TTL, an age.

use cairn_core::Timestamp;

/// The first line of a text, shortened for a list entry.
pub fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let mut short: String = line.chars().take(200).collect();
    if short.len() < line.len() || text.trim().lines().nth(1).is_some() {
        short.push('…');
    }
    short
}

/// "2 h", "90 s", for a TTL.
pub fn human_secs(secs: u64) -> String {
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// "just now", "42 s ago", "5 min ago", "3 h ago", "2 days ago".
pub fn ago(now: Timestamp, then: Timestamp) -> String {
    let secs = now.duration_since(then).as_secs();
    if secs < 0 {
        return "just now".to_owned();
    }
    match secs {
        0..5 => "just now".to_owned(),
        5..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86400 => format!("{} h ago", secs / 3600),
        _ => {
            let days = secs / 86400;
            if days == 1 {
                "1 day ago".to_owned()
            } else {
                format!("{days} days ago")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(ago(at(0), at(0)), "just now");
        assert_eq!(ago(at(42), at(0)), "42 s ago");
        assert_eq!(ago(at(300), at(0)), "5 min ago");
        assert_eq!(ago(at(3 * 3600), at(0)), "3 h ago");
        assert_eq!(ago(at(2 * 86400), at(0)), "2 days ago");
        assert_eq!(ago(at(0), at(10)), "just now");
    }
}
