//! Streamed markdown for the terminal. The answer arrives in deltas of any size, and
//! what has been printed cannot be taken back (no cursor codes: stdout may be a pipe),
//! so the renderer decides as early as it safely can:
//!
//! - the start of each line is held until its kind is known (heading, list item,
//!   quote, fence, rule, or plain text); text lines then stream character by
//!   character, with `**bold**`, `*italic*` and `` `code` `` styled as they go;
//! - headings, fence lines and rules are short, so they are held whole and printed
//!   when their newline arrives;
//! - fenced code streams line by line inside a frame that carries the language label.
//!
//! Without colour (NO_COLOR, or not a terminal) no escape code is written at all:
//! emphasis markers are dropped, inline code keeps its backticks, headings are
//! underlined with `=`/`-`. Control characters from the model are shown escaped so
//! an answer cannot move the cursor or change the terminal's state.

use unicode_width::UnicodeWidthStr;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "1";
const DIM: &str = "2";
const ITALIC: &str = "3";
const UNDERLINE: &str = "4";
/// Inline code and code blocks: a calm cyan that reads on dark and light themes.
const CODE: &str = "36";
const HEADING: &str = "35";

/// Turns a stream of markdown deltas into terminal text.
#[derive(Debug)]
pub(super) struct MarkdownRenderer {
    color: bool,
    /// Inside a fenced code block: the fence character and run length that close it.
    fence: Option<Fence>,
    mode: Mode,
    inline: Inline,
    /// Whether the last character written was a newline (or nothing was written).
    at_line_start: bool,
    out: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fence {
    ch: char,
    len: usize,
}

#[derive(Debug)]
enum Mode {
    /// Collecting the start of a line until its kind is known.
    LineStart(String),
    /// Streaming inline text to the end of the line.
    Text,
    /// Holding a whole line (heading, fence, rule) until its newline.
    WholeLine(String),
    /// Streaming one line of a fenced code block.
    Code,
}

/// What the start of a line turned out to be.
enum Decision {
    Wait,
    WholeLine,
    /// Write `prefix`, then stream the line from byte `rest` on as inline text.
    Text {
        prefix: String,
        rest: usize,
    },
}

impl MarkdownRenderer {
    pub(super) fn new(color: bool) -> Self {
        MarkdownRenderer {
            color,
            fence: None,
            mode: Mode::LineStart(String::new()),
            inline: Inline::new(color, ""),
            at_line_start: true,
            out: String::new(),
        }
    }

    /// Feed the next delta; returns what can be printed now.
    pub(super) fn push(&mut self, delta: &str) -> String {
        for c in delta.chars() {
            self.feed(c);
        }
        self.take()
    }

    /// The answer is over (or interrupted): print what is held, close any open style
    /// and code frame, and end on a newline. The renderer is ready for a new answer.
    pub(super) fn finish(&mut self) -> String {
        let line_open = !matches!(&self.mode, Mode::LineStart(p) if p.is_empty());
        if line_open {
            self.end_line(false);
        }
        if self.fence.take().is_some() {
            self.frame_bottom();
        }
        if !self.at_line_start {
            self.write_raw("\n");
        }
        self.inline = Inline::new(self.color, "");
        self.mode = Mode::LineStart(String::new());
        self.take()
    }

    /// Whether anything is held or written but not yet ended by a newline.
    #[cfg(test)]
    pub(super) fn mid_line(&self) -> bool {
        !self.at_line_start || !matches!(&self.mode, Mode::LineStart(p) if p.is_empty())
    }

    fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    fn feed(&mut self, c: char) {
        if c == '\r' {
            return; // CRLF answers: the newline does the work
        }
        if c == '\n' {
            self.end_line(true);
            return;
        }
        match &mut self.mode {
            Mode::LineStart(pending) => {
                pending.push(c);
                let pending = pending.clone();
                let decision = match self.fence {
                    Some(fence) => decide_in_fence(&pending, fence),
                    None => decide(&pending),
                };
                self.apply(decision, pending);
            }
            Mode::WholeLine(line) => line.push(c),
            Mode::Text => {
                let mut out = std::mem::take(&mut self.out);
                self.inline.feed(c, &mut out);
                self.out = out;
                self.at_line_start = false;
            }
            Mode::Code => self.write_code(&c.to_string()),
        }
    }

    fn apply(&mut self, decision: Decision, pending: String) {
        match decision {
            Decision::Wait => {}
            Decision::WholeLine => self.mode = Mode::WholeLine(pending),
            Decision::Text { prefix, rest } => {
                if self.fence.is_some() {
                    self.gutter();
                    self.mode = Mode::Code;
                    self.write_code(&pending);
                    return;
                }
                self.write_raw(&prefix);
                self.mode = Mode::Text;
                let mut out = std::mem::take(&mut self.out);
                for c in pending[rest..].chars() {
                    self.inline.feed(c, &mut out);
                }
                self.out = out;
                if !pending[rest..].is_empty() {
                    self.at_line_start = false;
                }
            }
        }
    }

    /// A newline arrived (`newline`), or the answer ended mid-line.
    fn end_line(&mut self, newline: bool) {
        let mode = std::mem::replace(&mut self.mode, Mode::LineStart(String::new()));
        match mode {
            Mode::LineStart(pending) => match self.fence {
                Some(fence) => {
                    if closes_fence(&pending, fence) {
                        self.fence = None;
                        self.frame_bottom();
                    } else if newline || !pending.is_empty() {
                        self.code_line(&pending);
                    }
                }
                None => self.whole_line(&pending, newline),
            },
            Mode::WholeLine(line) => match self.fence {
                Some(fence) if closes_fence(&line, fence) => {
                    self.fence = None;
                    self.frame_bottom();
                }
                Some(_) => self.code_line(&line),
                None => self.whole_line(&line, newline),
            },
            Mode::Text => {
                let mut out = std::mem::take(&mut self.out);
                self.inline.end_line(&mut out);
                self.out = out;
                self.write_raw("\n");
            }
            Mode::Code => {
                if self.color {
                    self.write_raw(RESET);
                }
                self.write_raw("\n");
            }
        }
    }

    /// Render a line known in full, outside any code block.
    fn whole_line(&mut self, line: &str, newline: bool) {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = &line[indent..];
        if body.trim().is_empty() {
            if newline {
                self.write_raw("\n");
            }
            return;
        }
        if let Some((level, text)) = heading(body) {
            self.heading(level, text);
            return;
        }
        if let Some(fence) = fence_opener(body) {
            let info = body.trim_start_matches(fence.ch).trim();
            let lang = info.split_whitespace().next().unwrap_or("");
            self.frame_top(lang);
            self.fence = Some(fence);
            return;
        }
        if is_rule(body) {
            self.rule();
            return;
        }
        // Plain text after all (a short line that never got past the undecided start).
        let (prefix, rest) = match decide_complete(line) {
            Some(Decision::Text { prefix, rest }) => (prefix, rest),
            _ => (String::new(), 0),
        };
        self.write_raw(&prefix);
        let mut out = std::mem::take(&mut self.out);
        for c in line[rest..].chars() {
            self.inline.feed(c, &mut out);
        }
        self.inline.end_line(&mut out);
        self.out = out;
        self.write_raw("\n");
    }

    fn heading(&mut self, level: usize, text: &str) {
        let base = match (self.color, level) {
            (false, _) => String::new(),
            (true, 1) => format!("{BOLD};{UNDERLINE};{HEADING}"),
            (true, 2) => format!("{BOLD};{HEADING}"),
            (true, _) => BOLD.to_owned(),
        };
        let mut inline = Inline::new(self.color, &base);
        let mut rendered = String::new();
        inline.begin(&mut rendered);
        for c in text.chars() {
            inline.feed(c, &mut rendered);
        }
        inline.end_line(&mut rendered);
        self.write_raw(&rendered);
        self.write_raw("\n");
        if !self.color && level <= 2 {
            // Plain text: underline as setext headings do, as wide as the text.
            let plain: String = strip_inline_markers(text);
            let width = UnicodeWidthStr::width(plain.as_str()).max(3);
            let mark = if level == 1 { "=" } else { "-" };
            self.write_raw(&mark.repeat(width));
            self.write_raw("\n");
        }
    }

    fn rule(&mut self) {
        let line = "─".repeat(40);
        if self.color {
            self.write_raw(&format!("\x1b[{DIM}m{line}{RESET}\n"));
        } else {
            self.write_raw(&line);
            self.write_raw("\n");
        }
    }

    fn frame_top(&mut self, lang: &str) {
        let label = if lang.is_empty() {
            "code".to_owned()
        } else {
            sanitize(lang)
        };
        if self.color {
            self.write_raw(&format!(
                "\x1b[{DIM}m┌─\x1b[0m \x1b[{BOLD}m{label}{RESET}\n"
            ));
        } else {
            self.write_raw(&format!("┌─ {label}\n"));
        }
    }

    fn frame_bottom(&mut self) {
        if self.color {
            self.write_raw(&format!("\x1b[{DIM}m└─{RESET}\n"));
        } else {
            self.write_raw("└─\n");
        }
    }

    fn gutter(&mut self) {
        if self.color {
            self.write_raw(&format!("\x1b[{DIM}m│{RESET} \x1b[{CODE}m"));
        } else {
            self.write_raw("│ ");
        }
    }

    /// One whole line of a code block, framed.
    fn code_line(&mut self, line: &str) {
        self.gutter();
        self.write_code(line);
        if self.color {
            self.write_raw(RESET);
        }
        self.write_raw("\n");
    }

    fn write_code(&mut self, text: &str) {
        let clean = sanitize(text);
        self.write_raw(&clean);
    }

    fn write_raw(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.out.push_str(text);
        self.at_line_start = text.ends_with('\n');
    }
}

/// Classify the start of a line outside code blocks.
fn decide(pending: &str) -> Decision {
    let indent = pending.len() - pending.trim_start_matches(' ').len();
    let body = &pending[indent..];
    let mut chars = body.chars();
    let Some(first) = chars.next() else {
        return Decision::Wait;
    };
    let second = chars.next();
    let plain = Decision::Text {
        prefix: String::new(),
        rest: 0,
    };
    match first {
        '#' => {
            let hashes = body.chars().take_while(|c| *c == '#').count();
            if hashes > 6 {
                plain
            } else if hashes == body.len() {
                Decision::Wait
            } else if body[hashes..].starts_with(' ') {
                Decision::WholeLine
            } else {
                plain
            }
        }
        '`' | '~' => {
            let run = body.chars().take_while(|c| *c == first).count();
            if run >= 3 {
                Decision::WholeLine
            } else if run == body.len() {
                Decision::Wait
            } else {
                plain
            }
        }
        '-' | '*' | '+' | '_' => {
            if first != '_' && second == Some(' ') {
                return bullet(indent);
            }
            if second.is_none() {
                return Decision::Wait;
            }
            if first != '+' && body.chars().all(|c| c == first || c == ' ') {
                Decision::Wait // `---` could still be a rule
            } else {
                plain
            }
        }
        '0'..='9' => {
            let digits = body.chars().take_while(char::is_ascii_digit).count();
            if digits > 9 {
                return plain;
            }
            let after = &body[digits..];
            let mut after_chars = after.chars();
            match (after_chars.next(), after_chars.next()) {
                (None, _) => Decision::Wait,
                (Some('.' | ')'), None) => Decision::Wait,
                (Some('.' | ')'), Some(' ')) => {
                    let marker_end = indent + digits + 2;
                    Decision::Text {
                        prefix: format!("{}{}", " ".repeat(indent), &body[..digits + 1]) + " ",
                        rest: marker_end,
                    }
                }
                _ => plain,
            }
        }
        '>' => match second {
            None => Decision::Wait,
            Some(c) => {
                let rest = indent + 1 + usize::from(c == ' ');
                Decision::Text {
                    prefix: format!("{}│ ", " ".repeat(indent)),
                    rest,
                }
            }
        },
        _ => plain,
    }
}

/// Classify a complete line that `decide` left waiting, as text.
fn decide_complete(line: &str) -> Option<Decision> {
    match decide(line) {
        Decision::Text { prefix, rest } => Some(Decision::Text { prefix, rest }),
        _ => {
            let indent = line.len() - line.trim_start_matches(' ').len();
            let body = &line[indent..];
            // `>` alone is an empty quote line.
            if body == ">" {
                return Some(Decision::Text {
                    prefix: format!("{}│", " ".repeat(indent)),
                    rest: line.len(),
                });
            }
            // `-` alone is an empty list item.
            if matches!(body, "-" | "*" | "+") {
                return Some(Decision::Text {
                    prefix: format!("{}•", " ".repeat(indent)),
                    rest: line.len(),
                });
            }
            None
        }
    }
}

fn bullet(indent: usize) -> Decision {
    Decision::Text {
        prefix: format!("{}• ", " ".repeat(indent)),
        rest: indent + 2,
    }
}

/// Classify the start of a line inside a code block: only a closing fence is special.
fn decide_in_fence(pending: &str, fence: Fence) -> Decision {
    let body = pending.trim_start_matches(' ');
    let indent = pending.len() - body.len();
    if indent <= 3 && body.is_empty() {
        return Decision::Wait;
    }
    if indent <= 3 && body.chars().all(|c| c == fence.ch) {
        // Could still be the closing fence: hold it.
        return Decision::WholeLine;
    }
    Decision::Text {
        prefix: String::new(),
        rest: 0,
    }
}

fn closes_fence(line: &str, fence: Fence) -> bool {
    let body = line.trim_start_matches(' ');
    if line.len() - body.len() > 3 {
        return false;
    }
    let run = body.chars().take_while(|c| *c == fence.ch).count();
    run >= fence.len && body[run * fence.ch.len_utf8()..].trim().is_empty()
}

fn heading(body: &str) -> Option<(usize, &str)> {
    let hashes = body.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &body[hashes..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    // Closing hashes (`## Title ##`) are decoration.
    let text = rest.trim().trim_end_matches('#').trim_end();
    Some((hashes, text))
}

fn fence_opener(body: &str) -> Option<Fence> {
    let ch = body.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = body.chars().take_while(|c| *c == ch).count();
    if len < 3 {
        return None;
    }
    // A backtick fence's info string cannot hold a backtick (that is inline code).
    if ch == '`' && body[len..].contains('`') {
        return None;
    }
    Some(Fence { ch, len })
}

fn is_rule(body: &str) -> bool {
    let Some(first) = body.chars().next() else {
        return false;
    };
    matches!(first, '-' | '*' | '_')
        && body.chars().all(|c| c == first || c == ' ')
        && body.chars().filter(|c| *c == first).count() >= 3
}

/// Heading text without its emphasis markers (for measuring the underline).
fn strip_inline_markers(text: &str) -> String {
    let mut inline = Inline::new(false, "");
    let mut out = String::new();
    for c in text.chars() {
        inline.feed(c, &mut out);
    }
    inline.end_line(&mut out);
    out
}

/// Model text made safe to print: control characters other than tab are escaped.
fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_safe(&mut out, c);
    }
    out
}

fn push_safe(out: &mut String, c: char) {
    if c.is_control() && c != '\t' && c != '\n' {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

/// Inline emphasis and code within one line, decided one character at a time with
/// one run of `*` or `` ` `` held until the character after it shows what it is.
#[derive(Debug)]
struct Inline {
    color: bool,
    /// SGR codes of the line itself (a heading's bold), restored after each change.
    base: String,
    bold: bool,
    italic: bool,
    /// Inside a code span opened by this many backticks.
    code: Option<usize>,
    /// A run of `*` or `` ` ``, or a `\`, not yet decided.
    held: String,
    /// The last character of text written (for deciding whether `*` closes).
    prev: Option<char>,
}

impl Inline {
    fn new(color: bool, base: &str) -> Self {
        Inline {
            color,
            base: base.to_owned(),
            bold: false,
            italic: false,
            code: None,
            held: String::new(),
            prev: None,
        }
    }

    /// Apply the base style at the start of a line.
    fn begin(&mut self, out: &mut String) {
        if self.color && !self.base.is_empty() {
            out.push_str(&format!("\x1b[{}m", self.base));
        }
    }

    fn feed(&mut self, c: char, out: &mut String) {
        if let Some(h) = self.held.chars().next() {
            if h == '\\' {
                self.held.clear();
                if c.is_ascii_punctuation() {
                    self.text(c, out);
                } else {
                    self.text('\\', out);
                    self.feed(c, out);
                }
                return;
            }
            if c == h {
                self.held.push(c);
                return;
            }
            self.resolve(Some(c), out);
        }
        match c {
            '`' => self.held.push(c),
            '*' if self.code.is_none() => self.held.push(c),
            '\\' if self.code.is_none() => self.held.push(c),
            _ => self.text(c, out),
        }
    }

    /// The line ended: decide what is held and drop every style.
    fn end_line(&mut self, out: &mut String) {
        self.resolve(None, out);
        let styled = self.bold || self.italic || self.code.is_some() || !self.base.is_empty();
        if self.color && styled {
            out.push_str(RESET);
        }
        self.bold = false;
        self.italic = false;
        self.code = None;
        self.prev = None;
    }

    fn resolve(&mut self, next: Option<char>, out: &mut String) {
        let held = std::mem::take(&mut self.held);
        let Some(kind) = held.chars().next() else {
            return;
        };
        let run = held.chars().count();
        match kind {
            '\\' => self.text('\\', out),
            '`' => match self.code {
                Some(open) if open == run => {
                    if !self.color {
                        out.push_str(&held);
                    }
                    self.code = None;
                    self.restyle(out);
                }
                Some(_) => self.literal(&held, out),
                None => {
                    self.code = Some(run);
                    if !self.color {
                        out.push_str(&held);
                    }
                    self.restyle(out);
                }
            },
            _ => {
                // `*` runs: open when followed by text, close when preceded by text.
                let opens = next.is_some_and(|c| !c.is_whitespace());
                let closes = self.prev.is_some_and(|c| !c.is_whitespace());
                let (want_bold, want_italic) = match run {
                    1 => (false, true),
                    2 => (true, false),
                    3 => (true, true),
                    _ => {
                        self.literal(&held, out);
                        return;
                    }
                };
                let toggles = |open: bool| if open { closes } else { opens };
                let can =
                    (!want_bold || toggles(self.bold)) && (!want_italic || toggles(self.italic));
                if !can {
                    self.literal(&held, out);
                    return;
                }
                if want_bold {
                    self.bold = !self.bold;
                }
                if want_italic {
                    self.italic = !self.italic;
                }
                self.restyle(out);
            }
        }
    }

    fn literal(&mut self, text: &str, out: &mut String) {
        for c in text.chars() {
            self.text(c, out);
        }
    }

    fn text(&mut self, c: char, out: &mut String) {
        push_safe(out, c);
        self.prev = Some(c);
    }

    /// Write the codes for the current style from scratch (reset, then apply).
    fn restyle(&self, out: &mut String) {
        if !self.color {
            return;
        }
        let mut codes: Vec<&str> = Vec::new();
        if !self.base.is_empty() {
            codes.push(&self.base);
        }
        if self.bold {
            codes.push(BOLD);
        }
        if self.italic {
            codes.push(ITALIC);
        }
        if self.code.is_some() {
            codes.push(CODE);
        }
        out.push_str(RESET);
        if !codes.is_empty() {
            out.push_str(&format!("\x1b[{}m", codes.join(";")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Render `text` fed in pieces of `chunk` characters, then finished.
    fn render(color: bool, chunk: usize, text: &str) -> String {
        let mut renderer = MarkdownRenderer::new(color);
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        for piece in chars.chunks(chunk.max(1)) {
            out.push_str(&renderer.push(&piece.iter().collect::<String>()));
        }
        out.push_str(&renderer.finish());
        out
    }

    /// Escape codes shown as `«1;35»` so snapshots stay readable text.
    fn visible(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("\x1b[") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('m').unwrap();
            out.push('«');
            out.push_str(&after[..end]);
            out.push('»');
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    const ANSWER: &str = "# Plan for **auth**

Here is what I found in `src/auth.rs`: the *token* check is **missing**.
2 * 3 = 6, and snake_case_names stay as they are.

## Steps
- read the file
- add a `check_token` call
  - nested item with **bold**
1. first
2. second

> a quote with `code`

```rust
fn main() {
    println!(\"hi **not bold**\");
}
```

---
### Small heading
Done.
";

    fn snapshot(name: &str, value: String) {
        insta::with_settings!({prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(name, value);
        });
    }

    #[test]
    fn answer_without_colour() {
        let out = render(false, 3, ANSWER);
        assert!(!out.contains('\x1b'));
        snapshot("render_answer_no_color", out);
    }

    #[test]
    fn answer_with_colour() {
        snapshot("render_answer_color", visible(&render(true, 3, ANSWER)));
    }

    #[test]
    fn output_does_not_depend_on_how_the_stream_is_cut() {
        for color in [false, true] {
            let whole = render(color, usize::MAX, ANSWER);
            for chunk in 1..=9 {
                assert_eq!(
                    render(color, chunk, ANSWER),
                    whole,
                    "chunk {chunk}, color {color}"
                );
            }
        }
    }

    #[test]
    fn text_streams_before_the_line_ends() {
        let mut r = MarkdownRenderer::new(false);
        assert_eq!(r.push("Hello "), "Hello ");
        assert_eq!(r.push("wor"), "wor");
        // A list marker is held until the character after it shows what it is.
        assert_eq!(r.push("ld\n-"), "ld\n");
        assert_eq!(r.push(" item"), "• item");
        // A heading is held whole.
        assert_eq!(r.push("\n## Ti"), "\n");
        assert_eq!(r.push("tle\n"), "Title\n-----\n");
        assert_eq!(r.finish(), "");
    }

    #[test]
    fn code_blocks_keep_markdown_literal_and_close_on_finish() {
        let out = render(false, 1, "```\n# not a heading\n- not a list\n**x**\n");
        assert_eq!(
            out,
            "┌─ code\n│ # not a heading\n│ - not a list\n│ **x**\n└─\n"
        );
        // A longer fence holds a shorter one.
        let out = render(false, 2, "````md\n```\ninside\n```\n````\nafter\n");
        assert_eq!(out, "┌─ md\n│ ```\n│ inside\n│ ```\n└─\nafter\n");
        let out = render(false, 4, "~~~python\nx = 1\n~~~\n");
        assert_eq!(out, "┌─ python\n│ x = 1\n└─\n");
    }

    #[test]
    fn emphasis_needs_text_beside_it_and_ends_with_the_line() {
        assert_eq!(render(false, 1, "2 * 3 * 4\n"), "2 * 3 * 4\n");
        assert_eq!(render(false, 1, "a **b** c\n"), "a b c\n");
        assert_eq!(render(false, 1, "\\*literal\\*\n"), "*literal*\n");
        // An unclosed marker cannot leak its style past the line.
        let out = render(true, 1, "**open\nnext\n");
        assert_eq!(visible(&out), "«0»«1»open«0»\nnext\n");
    }

    #[test]
    fn inline_code_keeps_stars_and_backticks_without_colour() {
        assert_eq!(render(false, 1, "use `a*b*c` here\n"), "use `a*b*c` here\n");
        assert_eq!(render(false, 1, "``x ` y``\n"), "``x ` y``\n");
        assert_eq!(visible(&render(true, 1, "`x`\n")), "«0»«36»x«0»\n");
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        let out = render(false, 1, "evil\x1b[2J text\r\n```\ncode\x07\n```\n");
        assert!(!out.contains('\x1b') && !out.contains('\x07') && !out.contains('\r'));
        assert_eq!(out, "evil\\u{1b}[2J text\n┌─ code\n│ code\\u{7}\n└─\n");
    }

    #[test]
    fn odd_line_starts_stay_text() {
        let out = render(
            false,
            1,
            "#hashtag\n--flag\n2024 was long\n1.5 apples\n+1\n>\n-\n",
        );
        assert_eq!(
            out,
            "#hashtag\n--flag\n2024 was long\n1.5 apples\n+1\n│\n•\n"
        );
    }

    #[test]
    fn finish_ends_on_a_newline_and_resets() {
        let mut r = MarkdownRenderer::new(false);
        assert_eq!(r.push("partial **ans"), "partial ans");
        assert!(r.mid_line());
        assert_eq!(r.finish(), "\n");
        assert!(!r.mid_line());
        assert_eq!(r.finish(), "");
        // Ready for the next answer, at a line start.
        assert_eq!(r.push("- x\n"), "• x\n");
    }
}
