//! `cairn run --resume` without a name: a list of this project's sessions, newest
//! first (name, last active, messages, cost), to choose from with the arrows and
//! Enter, or by typing the row's number. Drawn on stderr like the line editor, so
//! stdout keeps only the conversation. Esc, `q`, Ctrl+C or Ctrl+D choose nothing.

use std::io::{self, Write};

use cairn_core::{SessionFilter, SessionName, SessionSummary, Store, Timestamp};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{QueueableCommand, cursor, style, terminal};

use crate::output;

/// How many sessions the picker loads (one page of the index, newest first).
const LOAD_LIMIT: u32 = 500;

/// One row as shown.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Row {
    pub name: String,
    pub last_active: String,
    pub messages: String,
    pub cost: String,
    pub title: String,
}

impl Row {
    pub(super) fn from_summary(summary: &SessionSummary, now: Timestamp) -> Self {
        Row {
            name: summary.name.to_string(),
            last_active: output::ago(now, summary.updated_at),
            messages: output::grouped(summary.message_count),
            cost: output::cost(summary.cost_usd),
            title: summary
                .title
                .as_deref()
                .map(|t| output::cell(t, 40))
                .unwrap_or_default(),
        }
    }
}

/// A key, as far as the picker cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Key {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Backspace,
    Digit(u8),
    Cancel,
    Other,
}

/// What a key led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    Continue,
    Chosen(usize),
    Cancelled,
}

/// The picker's state, kept apart from the terminal so it can be tested.
#[derive(Debug)]
pub(super) struct Picker {
    rows: Vec<Row>,
    selected: usize,
    /// Digits typed so far (a row number being entered).
    typed: String,
    /// First row on screen.
    top: usize,
    /// Rows that fit on screen.
    height: usize,
}

impl Picker {
    pub(super) fn new(rows: Vec<Row>, height: usize) -> Self {
        Picker {
            rows,
            selected: 0,
            typed: String::new(),
            top: 0,
            height: height.max(1),
        }
    }

    #[cfg(test)]
    pub(super) fn selected(&self) -> usize {
        self.selected
    }

    pub(super) fn handle(&mut self, key: Key) -> Step {
        let last = self.rows.len().saturating_sub(1);
        if !matches!(key, Key::Digit(_) | Key::Backspace) {
            self.typed.clear();
        }
        match key {
            Key::Up => self.selected = self.selected.saturating_sub(1),
            Key::Down => self.selected = (self.selected + 1).min(last),
            Key::PageUp => self.selected = self.selected.saturating_sub(self.height),
            Key::PageDown => self.selected = (self.selected + self.height).min(last),
            Key::Home => self.selected = 0,
            Key::End => self.selected = last,
            Key::Enter => {
                return if self.rows.is_empty() {
                    Step::Cancelled
                } else {
                    Step::Chosen(self.selected)
                };
            }
            Key::Cancel => return Step::Cancelled,
            Key::Digit(d) => {
                let mut typed = self.typed.clone();
                typed.push(char::from(b'0' + d));
                // A number that names no row starts over from this digit.
                let number = match typed.parse::<usize>() {
                    Ok(n) if (1..=self.rows.len()).contains(&n) => Some((typed, n)),
                    _ => {
                        let single = usize::from(d);
                        (1..=self.rows.len())
                            .contains(&single)
                            .then(|| (d.to_string(), single))
                    }
                };
                if let Some((typed, n)) = number {
                    self.typed = typed;
                    self.selected = n - 1;
                }
            }
            Key::Backspace => {
                self.typed.pop();
                if let Ok(n) = self.typed.parse::<usize>() {
                    self.selected = n.saturating_sub(1).min(last);
                }
            }
            Key::Other => {}
        }
        self.scroll();
        Step::Continue
    }

    fn scroll(&mut self) {
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + self.height {
            self.top = self.selected + 1 - self.height;
        }
    }

    /// The lines to draw: a header, the visible rows (the selected one marked `›`
    /// and, with colour, reversed), and a footer when rows are hidden.
    pub(super) fn lines(&self, color: bool) -> Vec<String> {
        let number_width = self.rows.len().to_string().len();
        let width = |f: fn(&Row) -> &str| {
            self.rows
                .iter()
                .map(|r| f(r).chars().count())
                .max()
                .unwrap_or(0)
        };
        let name_w = width(|r| &r.name).max(4);
        let active_w = width(|r| &r.last_active).max(11);
        let messages_w = width(|r| &r.messages).max(8);
        let cost_w = width(|r| &r.cost).max(4);
        let mut lines = vec![format!(
            "  {:>number_width$}  {:<name_w$}  {:<active_w$}  {:>messages_w$}  {:>cost_w$}",
            "#", "name", "last active", "messages", "cost"
        )];
        let end = (self.top + self.height).min(self.rows.len());
        for (i, row) in self.rows.iter().enumerate().take(end).skip(self.top) {
            let marker = if i == self.selected { "›" } else { " " };
            let mut line = format!(
                "{marker} {:>number_width$}  {:<name_w$}  {:<active_w$}  {:>messages_w$}  {:>cost_w$}",
                i + 1,
                row.name,
                row.last_active,
                row.messages,
                row.cost
            );
            if !row.title.is_empty() {
                line.push_str("  ");
                line.push_str(&row.title);
            }
            if color && i == self.selected {
                line = format!("\x1b[7m{line}\x1b[0m");
            }
            lines.push(line);
        }
        if self.rows.len() > self.height {
            lines.push(format!(
                "  ({}–{} of {})",
                self.top + 1,
                end,
                self.rows.len()
            ));
        }
        lines
    }
}

/// Load this project's sessions and let the person choose one. `Ok(None)` when
/// they cancel. A project without sessions is an error that says how to start one.
pub(super) async fn pick_session(
    store: &dyn Store,
    project: &cairn_core::Project,
    color: bool,
) -> anyhow::Result<Option<SessionName>> {
    let filter = SessionFilter {
        project: Some(project.clone()),
        limit: LOAD_LIMIT,
        offset: 0,
    };
    let sessions = store.list_sessions(&filter).await?;
    if sessions.is_empty() {
        return Err(cairn_core::Error::not_found(
            "session",
            format!(
                "none in {} yet; start one with `cairn run --name NAME`",
                output::home_relative(project.as_str())
            ),
        )
        .into());
    }
    let now = Timestamp::now();
    let rows: Vec<Row> = sessions.iter().map(|s| Row::from_summary(s, now)).collect();
    let chosen = tokio::task::spawn_blocking(move || choose(rows, color)).await??;
    Ok(chosen.map(|i| sessions[i].name.clone()))
}

/// The terminal loop: raw mode for single keys, redrawn in place on stderr.
fn choose(rows: Vec<Row>, color: bool) -> io::Result<Option<usize>> {
    let (_, term_rows) = terminal::size().unwrap_or((80, 24));
    // Leave room for the title, the header, the footer and the line after.
    let height = usize::from(term_rows).saturating_sub(5).clamp(3, 20);
    let mut picker = Picker::new(rows, height);
    let mut err = io::stderr();
    writeln!(
        err,
        "Resume which session? ↑/↓ or a number, Enter to open, Esc to cancel."
    )?;
    terminal::enable_raw_mode()?;
    let _raw = RawModeGuard;
    let mut drawn = draw(&mut err, &picker, color, 0)?;
    loop {
        let key = match event::read()? {
            Event::Key(key) if key.kind != KeyEventKind::Release => to_key(key),
            Event::Resize(..) => Key::Other,
            _ => continue,
        };
        match picker.handle(key) {
            Step::Continue => drawn = draw(&mut err, &picker, color, drawn)?,
            Step::Chosen(i) => return Ok(Some(i)),
            Step::Cancelled => return Ok(None),
        }
    }
}

/// Draw the picker over the `previous` lines drawn; returns how many lines it took.
fn draw(out: &mut impl Write, picker: &Picker, color: bool, previous: usize) -> io::Result<usize> {
    if previous > 0 {
        out.queue(cursor::MoveToColumn(0))?;
        out.queue(cursor::MoveUp(u16::try_from(previous).unwrap_or(u16::MAX)))?;
        out.queue(terminal::Clear(terminal::ClearType::FromCursorDown))?;
    }
    let lines = picker.lines(color);
    for line in &lines {
        out.queue(style::Print(line))?;
        // Raw mode: a newline does not return the carriage.
        out.queue(style::Print("\r\n"))?;
    }
    out.flush()?;
    Ok(lines.len())
}

fn to_key(key: KeyEvent) -> Key {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('c' | 'd') if ctrl => Key::Cancel,
        KeyCode::Char('p') if ctrl => Key::Up,
        KeyCode::Char('n') if ctrl => Key::Down,
        KeyCode::Up | KeyCode::Char('k') => Key::Up,
        KeyCode::Down | KeyCode::Char('j') => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Enter => Key::Enter,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Esc | KeyCode::Char('q') => Key::Cancel,
        KeyCode::Char(c) if c.is_ascii_digit() => Key::Digit(c as u8 - b'0'),
        _ => Key::Other,
    }
}

/// Leaves raw mode however the loop ends.
struct RawModeGuard;

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<Row> {
        (1..=n)
            .map(|i| Row {
                name: format!("session-{i}"),
                last_active: format!("{i} hours ago"),
                messages: i.to_string(),
                cost: format!("${i}.00"),
                title: String::new(),
            })
            .collect()
    }

    #[test]
    fn arrows_move_and_stop_at_the_ends() {
        let mut p = Picker::new(rows(3), 10);
        assert_eq!(p.handle(Key::Up), Step::Continue);
        assert_eq!(p.selected(), 0);
        p.handle(Key::Down);
        p.handle(Key::Down);
        p.handle(Key::Down);
        assert_eq!(p.selected(), 2);
        assert_eq!(p.handle(Key::Enter), Step::Chosen(2));
    }

    #[test]
    fn typing_a_number_selects_that_row() {
        let mut p = Picker::new(rows(12), 5);
        p.handle(Key::Digit(1));
        assert_eq!(p.selected(), 0);
        p.handle(Key::Digit(2));
        assert_eq!(p.selected(), 11, "1 then 2 is row 12");
        assert_eq!(p.handle(Key::Enter), Step::Chosen(11));
        // 13 does not exist: the 3 starts a new number.
        let mut p = Picker::new(rows(12), 5);
        p.handle(Key::Digit(1));
        p.handle(Key::Digit(3));
        assert_eq!(p.selected(), 2);
        // 0 alone names nothing.
        let mut p = Picker::new(rows(3), 5);
        p.handle(Key::Down);
        p.handle(Key::Digit(0));
        assert_eq!(p.selected(), 1);
        p.handle(Key::Backspace);
        assert_eq!(p.selected(), 1);
    }

    #[test]
    fn cancel_chooses_nothing() {
        let mut p = Picker::new(rows(2), 5);
        assert_eq!(p.handle(Key::Cancel), Step::Cancelled);
        let mut empty = Picker::new(Vec::new(), 5);
        assert_eq!(empty.handle(Key::Enter), Step::Cancelled);
    }

    #[test]
    fn scrolls_to_keep_the_selection_visible() {
        let mut p = Picker::new(rows(10), 3);
        for _ in 0..5 {
            p.handle(Key::Down);
        }
        let lines = p.lines(false);
        // Header, three rows (4–6), footer.
        assert_eq!(lines.len(), 5);
        assert!(lines[1].contains("session-4"));
        assert!(lines[3].starts_with("›  6"), "{lines:?}");
        assert_eq!(lines[4], "  (4–6 of 10)");
        p.handle(Key::Home);
        assert!(p.lines(false)[1].starts_with("›  1"));
    }

    #[test]
    fn rows_are_aligned_and_colour_only_when_asked() {
        let p = Picker::new(rows(2), 5);
        let plain = p.lines(false);
        assert_eq!(
            plain,
            [
                "  #  name       last active  messages   cost",
                "› 1  session-1  1 hours ago         1  $1.00",
                "  2  session-2  2 hours ago         2  $2.00",
            ]
        );
        assert!(plain.iter().all(|l| !l.contains('\x1b')));
        assert!(p.lines(true)[1].starts_with("\x1b[7m›"));
    }
}
