//! The engine's face in a terminal: prints what the agent reports as it happens
//! (markdown rendered as it streams, a spinner while waiting, tool calls in two
//! short lines, notices and errors) and asks its yes/no questions inline.
//!
//! Everything printed goes through [`Style`]: without colour not one escape code
//! is written, and without a terminal there is no spinner either.

use std::io::{self, BufRead, Write};

use async_trait::async_trait;
use cairn_agent::{AgentEvent, Frontend, Question, Recap};
use cairn_core::{Timestamp, Usage};
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use tokio_util::sync::CancellationToken;

use super::render::MarkdownRenderer;
use super::spinner::Spinner;
use super::tool_summary;
use crate::output::{self, Style};

/// Where answers to questions come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AnswerSource {
    /// One key press on a terminal (raw mode).
    Keys,
    /// A line from stdin (not a terminal).
    Lines,
}

pub(super) struct TerminalFrontend {
    look: Style,
    answers: AnswerSource,
    renderer: MarkdownRenderer,
    spinner: Spinner,
    /// Inside a run of thinking deltas.
    thinking: bool,
    /// The greeting (how to get help, how to leave) is printed once.
    greeted: bool,
    turn_usage: Usage,
    /// Cost of this turn's requests, and the session's total after the last one.
    turn_cost: Option<(f64, f64)>,
    /// Cancelled on Ctrl+C while a question waits for its answer.
    cancel: Option<CancellationToken>,
    /// Output goes here; stdout in the REPL, a buffer in tests.
    out: Box<dyn Write + Send>,
}

impl TerminalFrontend {
    pub(super) fn new(look: Style, answers: AnswerSource) -> Self {
        TerminalFrontend::with_output(look, answers, Box::new(io::stdout()))
    }

    pub(super) fn with_output(
        look: Style,
        answers: AnswerSource,
        out: Box<dyn Write + Send>,
    ) -> Self {
        TerminalFrontend {
            look,
            answers,
            renderer: MarkdownRenderer::new(look.color),
            spinner: Spinner::new(look.tty),
            thinking: false,
            greeted: false,
            turn_usage: Usage::default(),
            turn_cost: None,
            cancel: None,
            out,
        }
    }

    /// The token of the turn about to run (Ctrl+C in a question cancels it).
    pub(super) fn set_cancel(&mut self, cancel: Option<CancellationToken>) {
        self.cancel = cancel;
    }

    /// Print a line of our own (not from the engine), ending any answer in progress.
    pub(super) fn say(&mut self, text: &str) {
        self.settle();
        self.write(&format!("{text}\n"));
    }

    /// A dimmed line of our own.
    pub(super) fn note(&mut self, text: &str) {
        let line = self.look.dim(text);
        self.say(&line);
    }

    /// An error of our own, on stderr.
    pub(super) fn error(&mut self, text: &str) {
        self.settle();
        let _ = self.out.flush();
        let label = if self.look.color_stderr {
            "\x1b[31merror:\x1b[0m"
        } else {
            "error:"
        };
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "{label} {}", output::printable(text));
        let _ = err.flush();
    }

    /// Stop the spinner and end whatever answer or thinking is open, on a newline.
    fn settle(&mut self) {
        self.spinner.stop();
        self.end_thinking();
        let rest = self.renderer.finish();
        self.write(&rest);
    }

    fn end_thinking(&mut self) {
        if self.thinking {
            self.thinking = false;
            let end = if self.look.color {
                "\x1b[0m\n\n"
            } else {
                "\n\n"
            };
            self.write(end);
        }
    }

    fn write(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    fn session_opened(
        &mut self,
        session: &str,
        project: &str,
        model: &str,
        created: bool,
        recap: Option<&Recap>,
    ) {
        self.settle();
        let bold = |t: &str| self.look.paint(t, "1");
        let mut text = String::new();
        match recap {
            Some(recap) => text.push_str(&recap_block(&self.look, recap, model)),
            None => {
                let what = if created { "New session" } else { "Session" };
                text.push_str(&format!(
                    "{what} {} · {} · {}\n",
                    bold(session),
                    output::printable(model),
                    output::home_relative(project)
                ));
            }
        }
        if !self.greeted {
            self.greeted = true;
            text.push_str(&self.look.dim(
                "Type a message (Alt+Enter for a new line), /help for commands, Tab to complete, Ctrl+D to leave.",
            ));
            text.push('\n');
        }
        self.write(&text);
    }

    fn tool_use(&mut self, name: &str, input: &serde_json::Value) {
        self.settle();
        let line = tool_summary::call_line(name, input);
        let (tool, rest) = line.split_at(line.find(' ').unwrap_or(line.len()));
        let shown = format!("▸ {}{rest}\n", self.look.paint(tool, "36"));
        self.write(&shown);
        self.spinner
            .start(&format!("running {}", output::cell(name, 40)));
    }

    fn tool_result(&mut self, content: &str, is_error: bool, truncated: bool, bytes: u64) {
        self.spinner.stop();
        let summary = tool_summary::result_line(content, is_error, truncated, bytes);
        let line = if is_error {
            self.look.paint(&format!("  ↳ {summary}"), "2;31")
        } else {
            self.look.dim(&format!("  ↳ {summary}"))
        };
        self.write(&format!("{line}\n"));
    }

    fn done(&mut self, stop_reason: &str) {
        self.settle();
        if stop_reason == "max_tokens" {
            self.note("(the answer reached the model's output limit)");
        }
        let usage = std::mem::take(&mut self.turn_usage);
        let cost = self.turn_cost.take();
        if !usage.is_zero() {
            let mut footer = format!(
                "{} in · {} out",
                output::compact_number(
                    usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
                ),
                output::compact_number(usage.output_tokens + usage.reasoning_tokens)
            );
            if usage.cache_read_tokens > 0 {
                footer.push_str(&format!(
                    " ({} cached)",
                    output::compact_number(usage.cache_read_tokens)
                ));
            }
            if let Some((turn, session)) = cost {
                footer.push_str(&format!(
                    " · {} · session {}",
                    output::cost(turn),
                    output::cost(session)
                ));
            }
            self.note(&footer);
        }
    }

    /// Read y/N: one key on a terminal, a line otherwise. Ctrl+C answers no and
    /// interrupts the turn.
    async fn read_answer(&mut self) -> bool {
        match self.answers {
            AnswerSource::Keys => match tokio::task::spawn_blocking(read_key_answer).await {
                Ok(Ok(KeyAnswer::Yes)) => true,
                Ok(Ok(KeyAnswer::Interrupt)) => {
                    if let Some(cancel) = &self.cancel {
                        cancel.cancel();
                    }
                    false
                }
                _ => false,
            },
            AnswerSource::Lines => {
                let read = tokio::task::spawn_blocking(|| {
                    let mut line = String::new();
                    io::stdin().lock().read_line(&mut line).map(|_| line)
                })
                .await;
                matches!(read, Ok(Ok(line)) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
            }
        }
    }
}

enum KeyAnswer {
    Yes,
    No,
    Interrupt,
}

fn read_key_answer() -> io::Result<KeyAnswer> {
    terminal::enable_raw_mode()?;
    let answer = loop {
        let key = match event::read() {
            Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => key,
            Ok(_) => continue,
            Err(e) => {
                let _ = terminal::disable_raw_mode();
                return Err(e);
            }
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => break KeyAnswer::Interrupt,
            KeyCode::Char('d') if ctrl => break KeyAnswer::No,
            KeyCode::Char('y' | 'Y') => break KeyAnswer::Yes,
            KeyCode::Char('n' | 'N') | KeyCode::Enter | KeyCode::Esc => break KeyAnswer::No,
            _ => {}
        }
    };
    terminal::disable_raw_mode()?;
    Ok(answer)
}

/// The short block printed when a session is resumed.
pub(super) fn recap_block(look: &Style, recap: &Recap, model: &str) -> String {
    let now = Timestamp::now();
    let mut text = format!("Resumed {}", look.paint(recap.name.as_str(), "1"));
    if let Some(title) = recap.title.as_deref().filter(|t| !t.trim().is_empty()) {
        text.push_str(&format!(" — {}", output::cell(title, 80)));
    }
    text.push('\n');
    let messages = if recap.messages == 1 {
        "message"
    } else {
        "messages"
    };
    text.push_str(&format!(
        "  last active {} · {} {messages} · {} · {}\n",
        output::ago(now, recap.last_active),
        output::grouped(recap.messages),
        output::cost(recap.cost_usd),
        output::printable(model),
    ));
    if let Some(user) = recap.last_user.as_deref() {
        text.push_str(&look.dim(&format!("  you: {}", output::cell(user, 160))));
        text.push('\n');
    }
    if let Some(assistant) = recap.last_assistant.as_deref() {
        text.push_str(&look.dim(&format!("  assistant: {}", output::cell(assistant, 160))));
        text.push('\n');
    }
    text
}

#[async_trait]
impl Frontend for TerminalFrontend {
    fn event(&mut self, event: AgentEvent) {
        match event {
            AgentEvent::SessionOpened {
                session,
                project,
                model,
                created,
                recap,
            } => self.session_opened(&session, &project, &model, created, recap.as_ref()),
            AgentEvent::RequestStarted { .. } => {
                self.spinner.stop();
                self.spinner.start("waiting for the model");
            }
            AgentEvent::Retrying {
                attempt,
                delay_ms,
                reason,
            } => {
                self.settle();
                self.note(&format!(
                    "retrying in {:.1} s (attempt {attempt}): {}",
                    delay_ms as f64 / 1000.0,
                    output::cell(&reason, 200)
                ));
                self.spinner.start("waiting for the model");
            }
            AgentEvent::TextDelta { text } => {
                self.spinner.stop();
                self.end_thinking();
                let shown = self.renderer.push(&text);
                self.write(&shown);
            }
            AgentEvent::ThinkingDelta { text } => {
                self.spinner.stop();
                if !self.thinking {
                    let rest = self.renderer.finish();
                    self.write(&rest);
                    self.thinking = true;
                    let label = if self.look.color {
                        "\x1b[2mthinking…\x1b[0m\n\x1b[2;3m"
                    } else {
                        "thinking…\n"
                    };
                    self.write(label);
                }
                let clean = output::printable(&text).into_owned();
                self.write(&clean);
            }
            AgentEvent::ToolCallStarted { name, .. } => {
                self.settle();
                self.spinner
                    .start(&format!("preparing {}", output::cell(&name, 40)));
            }
            AgentEvent::ToolUse { name, input, .. } => self.tool_use(&name, &input),
            AgentEvent::ToolResult {
                content,
                is_error,
                truncated,
                bytes,
                ..
            } => self.tool_result(&content, is_error, truncated, bytes),
            AgentEvent::Usage { usage, .. } => self.turn_usage.add(&usage),
            AgentEvent::Cost {
                request_usd,
                session_usd,
                ..
            } => {
                let before = self.turn_cost.map(|(turn, _)| turn).unwrap_or(0.0);
                self.turn_cost = Some((before + request_usd, session_usd));
            }
            AgentEvent::Notice { message } => {
                self.settle();
                self.note(&format!("note: {}", output::printable(&message)));
            }
            AgentEvent::Error { message, .. } => self.error(&message),
            AgentEvent::Interrupted { partial_kept } => {
                self.settle();
                self.note(if partial_kept {
                    "[interrupted — the partial answer is kept in the session]"
                } else {
                    "[interrupted]"
                });
            }
            AgentEvent::CommandOutput { text, .. } => {
                self.settle();
                let mut shown = output::printable(&text).into_owned();
                if !shown.ends_with('\n') {
                    shown.push('\n');
                }
                self.write(&shown);
            }
            AgentEvent::SubAgentStarted {
                session,
                agent,
                model,
                ..
            } => {
                self.settle();
                let who = if agent == "delegate" {
                    "sub-agent".to_owned()
                } else {
                    format!("agent {}", output::printable(&agent))
                };
                let line = self.look.dim(&format!(
                    "  ⤷ {who} {} ({}) started",
                    output::printable(&session),
                    output::printable(&model)
                ));
                self.write(&format!("{line}\n"));
                self.spinner.start("sub-agent working");
            }
            AgentEvent::SubAgentToolUse {
                session,
                name,
                input,
                ..
            } => {
                self.spinner.stop();
                let line = self.look.dim(&format!(
                    "    {} ▸ {}",
                    output::cell(&session, 60),
                    tool_summary::call_line(&name, &input)
                ));
                self.write(&format!("{line}\n"));
                self.spinner
                    .start(&format!("sub-agent running {}", output::cell(&name, 40)));
            }
            AgentEvent::SubAgentFinished {
                session,
                stop_reason,
                requests,
                usage,
                cost_usd,
                ..
            } => {
                self.spinner.stop();
                let line = self.look.dim(&format!(
                    "  ⤶ sub-agent {} {} · {requests} request{} · {}",
                    output::printable(&session),
                    if stop_reason == "end_turn" {
                        "finished".to_owned()
                    } else {
                        format!("stopped ({})", output::printable(&stop_reason))
                    },
                    if requests == 1 { "" } else { "s" },
                    output::cost(cost_usd)
                ));
                self.write(&format!("{line}\n"));
                // The turn's footer counts what its sub-agents used.
                self.turn_usage.add(&usage);
                if let Some((turn, session_usd)) = self.turn_cost {
                    self.turn_cost = Some((turn + cost_usd, session_usd));
                }
            }
            AgentEvent::Done { stop_reason } => self.done(&stop_reason),
        }
    }

    fn is_interactive(&self) -> bool {
        true
    }

    async fn ask(&mut self, question: &Question) -> bool {
        self.settle();
        let text = match question {
            Question::ApproveShell { command, cwd } => format!(
                "The model wants to run a shell command in {}:\n  $ {}\nRun it? [y/N] ",
                output::home_relative(cwd),
                output::printable(command)
            ),
            other => format!("{} [y/N] ", other.prompt().trim_end()),
        };
        let shown = self.look.paint(&text, "1");
        self.write(&shown);
        let yes = self.read_answer().await;
        if self.answers == AnswerSource::Keys {
            self.write(if yes { "yes\n" } else { "no\n" });
        }
        yes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer tests can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn frontend(look: Style) -> (TerminalFrontend, Captured) {
        let captured = Captured::default();
        let ui =
            TerminalFrontend::with_output(look, AnswerSource::Lines, Box::new(captured.clone()));
        (ui, captured)
    }

    fn turn() -> Vec<AgentEvent> {
        vec![
            AgentEvent::RequestStarted {
                model: "openai:gpt-4.1".into(),
            },
            AgentEvent::TextDelta {
                text: "Let me **look**".into(),
            },
            AgentEvent::TextDelta { text: ".".into() },
            AgentEvent::ToolCallStarted {
                id: "t1".into(),
                name: "read_file".into(),
            },
            AgentEvent::Usage {
                model: "openai:gpt-4.1".into(),
                usage: Usage {
                    input_tokens: 1200,
                    output_tokens: 30,
                    ..Usage::default()
                },
                request_id: None,
            },
            AgentEvent::Cost {
                request_usd: 0.0026,
                session_usd: 0.0026,
                priced: true,
            },
            AgentEvent::ToolUse {
                id: "t1".into(),
                name: "read_file".into(),
                input: serde_json::json!({"path": "src/main.rs"}),
            },
            AgentEvent::ToolResult {
                id: "t1".into(),
                name: "read_file".into(),
                content: "fn main() {}\n".into(),
                is_error: false,
                truncated: false,
                bytes: 13,
            },
            AgentEvent::RequestStarted {
                model: "openai:gpt-4.1".into(),
            },
            AgentEvent::TextDelta {
                text: "It is `main`.".into(),
            },
            AgentEvent::Done {
                stop_reason: "end_turn".into(),
            },
        ]
    }

    #[test]
    fn a_turn_without_colour_has_no_escape_codes() {
        let (mut ui, out) = frontend(Style::plain());
        for event in turn() {
            ui.event(event);
        }
        let text = out.text();
        assert!(!text.contains('\x1b'), "{text:?}");
        assert_eq!(
            text,
            "Let me look.\n▸ read_file src/main.rs\n  ↳ 1 line, 13 B\nIt is `main`.\n1.2k in · 30 out · $0.0026 · session $0.0026\n"
        );
    }

    #[test]
    fn a_turn_with_colour_styles_the_answer() {
        let look = Style {
            color: true,
            tty: false,
            color_stderr: false,
        };
        let (mut ui, out) = frontend(look);
        for event in turn() {
            ui.event(event);
        }
        let text = out.text();
        assert!(text.contains("\x1b[1mlook"), "{text:?}");
        assert!(
            text.contains("▸ \x1b[36mread_file\x1b[0m src/main.rs"),
            "{text:?}"
        );
        assert!(text.contains("\x1b[2m  ↳ 1 line, 13 B\x1b[0m"), "{text:?}");
    }

    #[test]
    fn a_sub_agent_shows_as_a_few_compact_lines_and_counts_in_the_turn() {
        let (mut ui, out) = frontend(Style::plain());
        let events = vec![
            AgentEvent::Cost {
                request_usd: 0.01,
                session_usd: 0.01,
                priced: true,
            },
            AgentEvent::ToolUse {
                id: "d1".into(),
                name: "delegate".into(),
                input: serde_json::json!({"task": "find the expiry"}),
            },
            AgentEvent::SubAgentStarted {
                id: "d1".into(),
                session: "auth-sub-1".into(),
                agent: "delegate".into(),
                model: "openai:gpt-4.1".into(),
                task: "find the expiry".into(),
            },
            AgentEvent::SubAgentToolUse {
                id: "d1".into(),
                session: "auth-sub-1".into(),
                name: "read_file".into(),
                input: serde_json::json!({"path": "src/auth.rs"}),
            },
            AgentEvent::SubAgentFinished {
                id: "d1".into(),
                session: "auth-sub-1".into(),
                stop_reason: "end_turn".into(),
                requests: 2,
                usage: Usage {
                    input_tokens: 2000,
                    output_tokens: 100,
                    ..Usage::default()
                },
                cost_usd: 0.02,
            },
            AgentEvent::Done {
                stop_reason: "end_turn".into(),
            },
        ];
        for event in events {
            ui.event(event);
        }
        assert_eq!(
            out.text(),
            "▸ delegate find the expiry\n\
             \x20 ⤷ sub-agent auth-sub-1 (openai:gpt-4.1) started\n\
             \x20   auth-sub-1 ▸ read_file src/auth.rs\n\
             \x20 ⤶ sub-agent auth-sub-1 finished · 2 requests · $0.02\n\
             2.0k in · 100 out · $0.03 · session $0.01\n"
        );
    }

    #[test]
    fn resumed_session_prints_a_recap() {
        let (mut ui, out) = frontend(Style::plain());
        ui.event(AgentEvent::SessionOpened {
            session: "auth-refactor".into(),
            project: "/tmp/p".into(),
            model: "openai:gpt-4.1".into(),
            created: false,
            recap: Some(Recap {
                name: "auth-refactor".into(),
                title: Some("Move auth to middleware".into()),
                model: Some("openai:gpt-4.1".into()),
                last_active: Timestamp::now(),
                messages: 14,
                cost_usd: 0.42,
                last_user: Some("and the tests?\nall of them".into()),
                last_assistant: Some("They pass.".into()),
            }),
        });
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Resumed auth-refactor — Move auth to middleware");
        assert_eq!(
            lines[1],
            "  last active just now · 14 messages · $0.42 · openai:gpt-4.1"
        );
        assert_eq!(lines[2], "  you: and the tests? all of them");
        assert_eq!(lines[3], "  assistant: They pass.");
        assert!(lines[4].contains("/help"));
    }

    #[test]
    fn interruption_and_errors_end_the_answer_cleanly() {
        let (mut ui, out) = frontend(Style::plain());
        ui.event(AgentEvent::TextDelta {
            text: "```rust\nfn half".into(),
        });
        ui.event(AgentEvent::Interrupted { partial_kept: true });
        ui.event(AgentEvent::Done {
            stop_reason: "interrupted".into(),
        });
        assert_eq!(
            out.text(),
            "┌─ rust\n│ fn half\n└─\n[interrupted — the partial answer is kept in the session]\n"
        );
    }

    #[test]
    fn command_output_is_made_safe() {
        let (mut ui, out) = frontend(Style::plain());
        ui.event(AgentEvent::CommandOutput {
            command: "context".into(),
            text: "user: hi\x1b[2J".into(),
            data: serde_json::Value::Null,
        });
        assert_eq!(out.text(), "user: hi\\u{1b}[2J\n");
    }
}
