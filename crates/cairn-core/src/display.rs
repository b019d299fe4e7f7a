//! Numbers and stored text as people read them in every face's output.

use std::borrow::Cow;

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
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_escapes_newlines_controls_and_bidi() {
        assert_eq!(one_line("plain title"), "plain title");
        assert_eq!(one_line("a\nb\tc\u{1b}[2J"), "a\\nb\\tc\\u{1b}[2J");
        assert_eq!(one_line("x\u{202E}cod.exe"), "x\\u{202e}cod.exe");
        assert_eq!(one_line("\u{2066}y\u{2069}"), "\\u{2066}y\\u{2069}");
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
