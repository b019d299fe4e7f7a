//! Numbers, times and stored text as people read them in every face's output.
//! The one place for these helpers: the CLI, the REPL, the MCP tools and the
//! briefs all call them, so the same value reads the same everywhere.

use std::borrow::Cow;

use crate::Timestamp;

/// 1234567 → "1,234,567".
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Dollars: "$0.00", "$0.0042" for sub-cent amounts, "$12.34".
pub fn dollars(usd: f64) -> String {
    if usd == 0.0 {
        "$0.00".to_owned()
    } else if usd.abs() < 0.01 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

/// Unicode bidirectional controls: they reorder how the text around them is shown,
/// so a title can display as something other than what it says.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A stored value (a name, a title, a project path) shown on one line: control
/// characters, newlines and bidi controls are written as escapes (`\n`, `\u{202e}`),
/// so it cannot forge extra lines or reorder what follows. JSON output stays exact.
pub fn one_line(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || is_bidi_control(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(escaped(text, unsafe_char))
}

/// `text` with every character `unsafe_char` picks written as its escape.
fn escaped(text: &str, unsafe_char: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Text from a session or a file made safe for a terminal: control characters
/// other than newline and tab, and bidi controls, are shown escaped, so stored text
/// cannot move the cursor, change colours or reorder what is shown.
pub fn printable(text: &str) -> Cow<'_, str> {
    // `sessions context` passes a megabyte through here: a byte scan settles it,
    // decoding only the characters that could be unsafe. It lives here, not in the
    // binary, because the faces build at opt-level 1 in `release`, where the scan
    // is not vectorised.
    if !has_unsafe(text) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(escaped(text, is_unsafe))
}

/// Whether `text` holds a character [`is_unsafe`] refuses. Those are the C0 and C1
/// controls and DEL, whose UTF-8 starts with a byte below 0x20, 0x7F or 0xC2, and the
/// bidi controls, starting with 0xD8 or 0xE2; blocks of 64 bytes without such a
/// byte are passed over, and only the characters starting with one are decoded.
fn has_unsafe(text: &str) -> bool {
    let bytes = text.as_bytes();
    let blocks = bytes.chunks_exact(BLOCK);
    let tail_at = bytes.len() - blocks.remainder().len();
    let suspect = |at: usize, block: &[u8]| {
        block.iter().enumerate().any(|(i, &b)| {
            may_start_unsafe(b) != 0 && text[at + i..].chars().next().is_some_and(is_unsafe)
        })
    };
    // A fixed-size block folded with `|` and no early exit is what the compiler
    // turns into vector compares; a per-byte `&&` chain stays scalar.
    for (n, block) in blocks.enumerate() {
        let any = block
            .iter()
            .fold(0u8, |seen, &b| seen | may_start_unsafe(b));
        if any != 0 && suspect(n * BLOCK, block) {
            return true;
        }
    }
    suspect(tail_at, &bytes[tail_at..])
}

/// Bytes per block of [`has_unsafe`]'s scan.
const BLOCK: usize = 64;

/// 1 for a byte that can start an unsafe character (never a UTF-8 continuation
/// byte, so it always starts a character), else 0; branch-free, see [`has_unsafe`].
fn may_start_unsafe(b: u8) -> u8 {
    let control = (b < b' ') & (b != b'\n') & (b != b'\t');
    (control | (b == 0x7f) | (b == 0xc2) | (b == 0xd8) | (b == 0xe2)) as u8
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// Prose on one line: every run of whitespace (newlines included) becomes one
/// space, and what [`one_line`] escapes is escaped. For a knowledge item or a
/// note, where the words matter and the line breaks do not.
pub fn single_spaced(text: &str) -> String {
    let joined = collapse_whitespace(text);
    match one_line(&joined) {
        Cow::Borrowed(_) => joined,
        Cow::Owned(escaped) => escaped,
    }
}

/// `text` with every run of whitespace (Unicode's) made one space, and none at
/// either end. One pass and one allocation: a resume runs it over every retained
/// knowledge item (BENCHMARKS.md, "The body dictionary's first append").
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    if text.is_ascii() {
        // Words found by byte (every index of ASCII text is a char boundary); the
        // whitespace is the ASCII that `char::is_whitespace` accepts, vertical tab
        // included (`u8::is_ascii_whitespace` leaves it out).
        let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            while bytes.get(at).is_some_and(|&b| space(b)) {
                at += 1;
            }
            let start = at;
            while bytes.get(at).is_some_and(|&b| !space(b)) {
                at += 1;
            }
            if let Some(word) = text.get(start..at).filter(|w| !w.is_empty()) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(word);
            }
        }
        return out;
    }
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Longest [`first_line`], in characters, before the `…`.
pub const FIRST_LINE_CHARS: usize = 200;

/// The first line of a text, trimmed and cut at [`FIRST_LINE_CHARS`], with `…`
/// when anything was left out: a summary shown as a list entry.
pub fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let mut short: String = line.chars().take(FIRST_LINE_CHARS).collect();
    if short.len() < line.len() || text.trim().lines().nth(1).is_some() {
        short.push('…');
    }
    short
}

/// A TTL in the largest whole unit: "2 h", "90 s", "5 min".
pub fn human_secs(secs: u64) -> String {
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// How long ago `then` was, seen at `now`: "just now", "42 s ago", "5 min ago",
/// "3 h ago", "yesterday", "4 days ago"; a month or more back, the date. A time up
/// to a minute ahead (clocks of two machines disagree) is "just now"; further
/// ahead, the date, so a wrong clock shows rather than hides.
pub fn ago(now: Timestamp, then: Timestamp) -> String {
    let secs = now.as_second() - then.as_second();
    match secs {
        -60..10 => "just now".to_owned(),
        10..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        86_400..172_800 => "yesterday".to_owned(),
        172_800..2_592_000 => format!("{} days ago", secs / 86_400),
        _ => then.strftime("%Y-%m-%d").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_agrees_with_a_character_check_across_blocks() {
        // The byte scan agrees with a character-by-character check, also for
        // characters across its 64-byte blocks.
        let samples = [
            'a', '\n', '\t', '\u{0}', '\u{1f}', '\u{7f}', '\u{80}', '\u{9f}', '\u{a0}', 'é',
            '\u{61c}', '\u{61b}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{2014}', '\u{2029}',
            '\u{202a}', '\u{202e}', '\u{202f}', '\u{2065}', '\u{2066}', '\u{2069}', '\u{206a}',
            '…', '🦀',
        ];
        for c in samples {
            for pad in 60..66 {
                let text = format!("{}{c}{}", "x".repeat(pad), "y".repeat(70));
                assert_eq!(has_unsafe(&text), is_unsafe(c), "{c:?} after {pad} bytes");
            }
        }
    }

    #[test]
    fn one_line_escapes_newlines_controls_and_bidi() {
        assert_eq!(one_line("plain title"), "plain title");
        assert_eq!(one_line("a\nb\tc\u{1b}[2J"), "a\\nb\\tc\\u{1b}[2J");
        assert_eq!(one_line("x\u{202E}cod.exe"), "x\\u{202e}cod.exe");
        assert_eq!(one_line("\u{2066}y\u{2069}"), "\\u{2066}y\\u{2069}");
    }

    #[test]
    fn whitespace_collapses_as_split_whitespace_does() {
        for text in [
            "",
            "   ",
            "one",
            "  use  JWT\n\tfor auth \r\n",
            "a\u{b}b\u{c}c",
            "a\u{1c}b",
            "caf\u{e9}\u{a0}au\u{2003}lait  ok",
        ] {
            let expected = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(collapse_whitespace(text), expected, "{text:?}");
        }
    }

    #[test]
    fn prose_is_single_spaced_and_escaped() {
        assert_eq!(single_spaced("use  JWT\n\tfor auth"), "use JWT for auth");
        assert_eq!(single_spaced("red \u{1b}[31m x"), "red \\u{1b}[31m x");
        assert_eq!(single_spaced("a\u{202E}b"), "a\\u{202e}b");
    }

    #[test]
    fn first_line_cuts_at_the_line_and_the_length() {
        assert_eq!(first_line("  done  "), "done");
        assert_eq!(first_line("done\nmore"), "done…");
        let long = "x".repeat(FIRST_LINE_CHARS + 5);
        let cut = first_line(&long);
        assert_eq!(cut.chars().count(), FIRST_LINE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn relative_times_read_naturally() {
        let now: Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
        let at = |secs: i64| ago(now, now - jiff::SignedDuration::from_secs(secs));
        assert_eq!(at(0), "just now");
        assert_eq!(at(3), "just now");
        assert_eq!(at(42), "42 s ago");
        assert_eq!(at(3 * 60 + 5), "3 min ago");
        assert_eq!(at(5 * 3600), "5 h ago");
        assert_eq!(at(30 * 3600), "yesterday");
        assert_eq!(at(2 * 86_400), "2 days ago");
        assert_eq!(at(90 * 86_400), "2026-08-22");
        assert_eq!(at(-10), "just now", "a clock a little ahead");
        assert_eq!(at(-600), "2026-11-20", "a clock far ahead shows");
    }

    #[test]
    fn groups_thousands_and_shows_small_costs() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(dollars(0.0), "$0.00");
        assert_eq!(dollars(0.0042), "$0.0042");
        assert_eq!(dollars(12.345), "$12.35");
    }
}
