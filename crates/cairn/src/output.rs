//! What every command prints with: tables, `--json`, times, numbers, costs, and
//! colour that respects NO_COLOR and never reaches a pipe.

pub(crate) use cairn_core::display::{ago, dollars as cost, grouped, one_line, printable};
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

/// How output looks, decided once: ANSI styling only on a terminal and when
/// NO_COLOR is unset or empty (<https://no-color.org>); a spinner only on a terminal.
/// Every command and the REPL print through it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    /// stdout gets colour.
    pub color: bool,
    /// stdout is a terminal (spinner allowed).
    pub tty: bool,
    /// stderr gets colour too (errors, the session picker).
    pub color_stderr: bool,
}

impl Style {
    pub(crate) fn detect() -> Self {
        let no_color =
            std::env::var_os(cairn_core::env_vars::NO_COLOR).is_some_and(|v| !v.is_empty());
        let tty = io::stdout().is_terminal();
        Style {
            color: tty && !no_color,
            tty,
            color_stderr: io::stderr().is_terminal() && !no_color,
        }
    }

    /// No colour, no terminal: pipes and tests.
    #[cfg(test)]
    pub(crate) fn plain() -> Self {
        Style {
            color: false,
            tty: false,
            color_stderr: false,
        }
    }

    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint(text, "1")
    }

    pub(crate) fn dim(&self, text: &str) -> String {
        self.paint(text, "2")
    }

    /// `text` in the SGR style `code` (e.g. "36", "2;31") when colour is on.
    pub(crate) fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
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

/// 512 B, 12.0 KiB, 3.4 MiB, 1.2 GiB.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
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
    use std::borrow::Cow;

    use super::*;

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
        // Past the ASCII fast path: DEL, C1 controls and bidi controls, in text
        // long enough to span several blocks of the byte scan.
        let long = "x".repeat(100);
        assert_eq!(
            printable(&format!("{long}\x7f")),
            format!("{long}\\u{{7f}}")
        );
        assert_eq!(
            printable(&format!("é{long}\u{9b}")),
            format!("é{long}\\u{{9b}}")
        );
        assert_eq!(printable("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(printable("naïve — ok\n"), "naïve — ok\n");
        assert!(matches!(printable(&long), Cow::Borrowed(_)));
        assert_eq!(cell("two\nlines", 20), "two lines");
        assert_eq!(cell("a very long title", 8), "a very …");
        assert_eq!(truncate_left("/home/me/src/api", 8), "…src/api");
    }

    #[test]
    fn highlight_keeps_brackets_without_colour() {
        let plain = Style::plain();
        assert_eq!(plain.highlight("use [jwt] here"), "use [jwt] here");
        let color = Style {
            color: true,
            ..Style::plain()
        };
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
        t.write(&mut out, Style::plain()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME    TOKENS  TITLE\na        12.3k  x\nlonger       5  y\n"
        );
    }
}
