//! What every command prints with: tables, `--json`, times, numbers, costs, and
//! colour that respects NO_COLOR and never reaches a pipe.

pub(crate) use cairn_core::display::{dollars as cost, grouped};
use std::borrow::Cow;
use std::io::{self, BufWriter, IsTerminal, StdoutLock, Write};

use cairn_core::Timestamp;
use serde::Serialize;

/// Buffered, locked stdout: one lock and few syscalls however much is printed.
pub(crate) fn stdout() -> BufWriter<StdoutLock<'static>> {
    BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// Prints `value` as pretty JSON and a newline.
pub(crate) fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = stdout();
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Whether stdout gets ANSI styling: a terminal, and NO_COLOR unset or empty
/// (<https://no-color.org>).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    pub color: bool,
}

impl Style {
    pub(crate) fn for_stdout() -> Self {
        let no_color =
            std::env::var_os(cairn_core::env_vars::NO_COLOR).is_some_and(|v| !v.is_empty());
        Style {
            color: !no_color && io::stdout().is_terminal(),
        }
    }

    pub(crate) fn bold<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.wrap(text, "1")
    }

    pub(crate) fn dim<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.wrap(text, "2")
    }

    fn wrap<'a>(&self, text: &'a str, code: &str) -> Cow<'a, str> {
        if self.color {
            Cow::Owned(format!("\x1b[{code}m{text}\x1b[0m"))
        } else {
            Cow::Borrowed(text)
        }
    }

    /// A search snippet: the store marks hits with `[` and `]`; on a colour
    /// terminal they become bold, otherwise the brackets stay.
    pub(crate) fn highlight(&self, snippet: &str) -> String {
        let clean = printable(snippet);
        if !self.color {
            return clean.into_owned();
        }
        let mut out = String::with_capacity(clean.len() + 16);
        let mut rest: &str = &clean;
        while let Some(open) = rest.find('[') {
            let Some(close) = rest[open..].find(']') else {
                break;
            };
            out.push_str(&rest[..open]);
            out.push_str(&self.bold(&rest[open + 1..open + close]));
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// Text from a session or a file made safe for a terminal: control characters
/// other than newline and tab, and bidi controls, are shown escaped, so stored text
/// cannot move the cursor, change colours or reorder what is shown.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || cairn_core::display::is_bidi_control(c)
}

/// A stored name, title or path on one line: newlines, control and bidi characters
/// escaped (see `cairn_core::display::one_line`).
pub(crate) fn one_line(text: &str) -> Cow<'_, str> {
    cairn_core::display::one_line(text)
}

/// One line of a table cell: printable, newlines folded, at most `max` characters.
pub(crate) fn cell(text: &str, max: usize) -> String {
    let one_line: String = printable(text)
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .collect();
    truncate(&one_line, max)
}

/// At most `max` characters, ending in `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// At most `max` characters, keeping the end (for paths): `…/src/api`.
pub(crate) fn truncate_left(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let mut out = String::from("…");
    out.extend(text.chars().skip(count - max.saturating_sub(1)));
    out
}

/// A path shown with the home directory as `~`.
pub(crate) fn home_relative(path: &str) -> String {
    if let Some(home) = std::env::var_os("HOME").and_then(|h| h.into_string().ok())
        && !home.is_empty()
        && home != "/"
        && let Some(rest) = path.strip_prefix(home.trim_end_matches('/'))
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return format!("~{rest}");
    }
    path.to_owned()
}

/// "just now", "3 min ago", "5 h ago", "2 days ago", else the date.
pub(crate) fn relative_time(then: Timestamp, now: Timestamp) -> String {
    let secs = now.as_second() - then.as_second();
    match secs {
        s if s < 0 => rfc3339_date(then),
        0..10 => "just now".to_owned(),
        10..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        86_400..172_800 => "yesterday".to_owned(),
        172_800..2_592_000 => format!("{} days ago", secs / 86_400),
        _ => rfc3339_date(then),
    }
}

fn rfc3339_date(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%d").to_string()
}

/// A time for people who want the exact instant, to the second, UTC.
pub(crate) fn exact_time(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// 950, 12.3k, 4.5M.
pub(crate) fn compact_number(n: u64) -> String {
    match n {
        0..1000 => n.to_string(),
        1000..999_950 => format!("{:.1}k", n as f64 / 1e3),
        999_950..999_950_000 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

/// 512 B, 12.0 KiB, 3.4 MiB.
pub(crate) fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f < KIB {
        format!("{n} B")
    } else if f < KIB * KIB {
        format!("{:.1} KiB", f / KIB)
    } else {
        format!("{:.1} MiB", f / (KIB * KIB))
    }
}

/// A plain-text table: a header row, columns padded to their widest cell.
pub(crate) struct Table {
    headers: Vec<&'static str>,
    right_aligned: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A header starting with `>` is right-aligned (numbers); the `>` is not shown.
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Table {
            right_aligned: headers.iter().map(|h| h.starts_with('>')).collect(),
            headers: headers.iter().map(|h| h.trim_start_matches('>')).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn write(&self, out: &mut impl Write, style: Style) -> io::Result<()> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let header: Vec<String> = self.headers.iter().map(|h| h.to_uppercase()).collect();
        let line = self.format_row(&header, &widths);
        writeln!(out, "{}", style.bold(&line))?;
        for row in &self.rows {
            writeln!(out, "{}", self.format_row(row, &widths))?;
        }
        Ok(())
    }

    fn format_row(&self, cells: &[String], widths: &[usize]) -> String {
        let mut line = String::new();
        let last = widths.len().saturating_sub(1);
        for (i, width) in widths.iter().enumerate() {
            let cell = cells.get(i).map(String::as_str).unwrap_or("");
            let pad = width.saturating_sub(cell.chars().count());
            if i > 0 {
                line.push_str("  ");
            }
            if self.right_aligned[i] {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if i != last {
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now: Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
        let ago = |secs: i64| relative_time(now - jiff::SignedDuration::from_secs(secs), now);
        assert_eq!(ago(3), "just now");
        assert_eq!(ago(42), "42 s ago");
        assert_eq!(ago(3 * 60 + 5), "3 min ago");
        assert_eq!(ago(5 * 3600), "5 h ago");
        assert_eq!(ago(30 * 3600), "yesterday");
        assert_eq!(ago(4 * 86_400), "4 days ago");
        assert_eq!(ago(90 * 86_400), "2026-08-22");
        assert_eq!(ago(-600), "2026-11-20");
    }

    #[test]
    fn compact_numbers_and_sizes() {
        assert_eq!(compact_number(950), "950");
        assert_eq!(compact_number(12_345), "12.3k");
        assert_eq!(compact_number(999_999), "1.0M");
        assert_eq!(compact_number(4_500_000), "4.5M");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(2048), "2.0 KiB");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(printable("a\x1b[31mred"), "a\\u{1b}[31mred");
        assert_eq!(cell("two\nlines", 20), "two lines");
        assert_eq!(cell("a very long title", 8), "a very …");
        assert_eq!(truncate_left("/home/me/src/api", 8), "…src/api");
    }

    #[test]
    fn highlight_keeps_brackets_without_colour() {
        let plain = Style { color: false };
        assert_eq!(plain.highlight("use [jwt] here"), "use [jwt] here");
        let color = Style { color: true };
        assert_eq!(
            color.highlight("use [jwt] and [JWT]"),
            "use \x1b[1mjwt\x1b[0m and \x1b[1mJWT\x1b[0m"
        );
        assert_eq!(color.highlight("open [ only"), "open [ only");
    }

    #[test]
    fn table_pads_and_aligns() {
        let mut t = Table::new(&["name", ">tokens", "title"]);
        t.row(vec!["a".into(), "12.3k".into(), "x".into()]);
        t.row(vec!["longer".into(), "5".into(), "y".into()]);
        let mut out = Vec::new();
        t.write(&mut out, Style { color: false }).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME    TOKENS  TITLE\na        12.3k  x\nlonger       5  y\n"
        );
    }
}
