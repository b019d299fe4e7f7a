//! `cairn run -p "…"` (or a prompt on stdin): one turn with tools, then exit. Not
//! interactive: shell commands run only when `--yes` or `[shell] allow` permits them,
//! and a reached spending limit stops with exit code 4.
//!
//! `--format text` streams the answer to stdout and everything else (tool calls,
//! notices, cost) to stderr; `--format jsonl` prints every engine event as one JSON
//! object per line on stdout (`text_delta`, `tool_use`, `tool_result`, `usage`,
//! `cost`, `done`, …).

use std::io::Write;

use async_trait::async_trait;
use cairn_agent::{Agent, AgentEvent, AgentOptions, Frontend, Outcome, Question, SessionTarget};
use tokio_util::sync::CancellationToken;

use super::agent_error;
use crate::app::App;
use crate::args::run::RunFormat;
use crate::output;

/// Exit code of a run stopped by Ctrl+C (128 + SIGINT), as shells expect.
const INTERRUPTED_EXIT: u8 = 130;

pub(super) async fn run(
    app: &App,
    options: AgentOptions,
    target: SessionTarget,
    prompt: String,
    format: RunFormat,
) -> anyhow::Result<()> {
    let store = app.store().await?;
    let mut ui = OneShot::new(format);
    let mut agent = Agent::open(store, options, target, &mut ui)
        .await
        .map_err(agent_error)?;
    let cancel = CancellationToken::new();
    let watcher = tokio::spawn(interrupt_on_ctrl_c(cancel.clone()));
    let outcome = agent.submit(&prompt, &mut ui, &cancel).await;
    watcher.abort();
    ui.finish();
    let name = agent.session().name.clone();
    let closed = agent.close().await;
    let outcome = outcome.map_err(agent_error)?;
    closed.map_err(agent_error)?;
    match outcome {
        Outcome::Answered | Outcome::Command | Outcome::Exit => Ok(()),
        Outcome::Interrupted => {
            eprintln!(
                "interrupted; what arrived is kept. Resume with: cairn run --resume {}",
                name.as_str()
            );
            std::process::exit(i32::from(INTERRUPTED_EXIT));
        }
        Outcome::Failed { .. } | Outcome::Stopped { .. } => Err(anyhow::anyhow!(
            "{}",
            ui.last_error
                .take()
                .unwrap_or_else(|| "the turn did not complete".to_owned())
        )),
    }
}

/// The first Ctrl+C interrupts the turn (the partial answer is kept); a second one
/// leaves at once (everything acknowledged is already stored).
async fn interrupt_on_ctrl_c(cancel: CancellationToken) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    cancel.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(i32::from(INTERRUPTED_EXIT));
    }
}

struct OneShot {
    format: RunFormat,
    /// The answer text ended without a newline (text format).
    open_line: bool,
    last_error: Option<String>,
    summary: Option<String>,
}

impl OneShot {
    fn new(format: RunFormat) -> Self {
        OneShot {
            format,
            open_line: false,
            last_error: None,
            summary: None,
        }
    }

    fn finish(&mut self) {
        if self.open_line {
            println!();
            self.open_line = false;
        }
        if let Some(summary) = self.summary.take() {
            eprintln!("{summary}");
        }
    }

    fn text_event(&mut self, event: AgentEvent) {
        match event {
            AgentEvent::SessionOpened {
                session,
                model,
                created,
                recap,
                ..
            } => {
                let how = if created { "new session" } else { "session" };
                match recap {
                    Some(r) => eprintln!(
                        "{how} {session} · {model} · {} messages · {} · last active {}",
                        r.messages,
                        output::cost(r.cost_usd),
                        output::ago(jiff::Timestamp::now(), r.last_active)
                    ),
                    None => eprintln!("{how} {session} · {model}"),
                }
            }
            AgentEvent::TextDelta { text } => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(output::printable(&text).as_bytes());
                let _ = out.flush();
                self.open_line = !text.ends_with('\n');
            }
            AgentEvent::ToolUse { name, input, .. } => {
                self.end_line();
                eprintln!("→ {name} {}", output::cell(&input.to_string(), 120));
            }
            AgentEvent::ToolResult {
                content,
                is_error,
                bytes,
                ..
            } => {
                let first = content.lines().next().unwrap_or("");
                let mark = if is_error { "✗" } else { "←" };
                eprintln!(
                    "{mark} {} ({})",
                    output::cell(first, 100),
                    output::bytes(bytes)
                );
            }
            AgentEvent::Retrying {
                attempt,
                delay_ms,
                reason,
            } => eprintln!("retrying after {reason} (attempt {attempt}, in {delay_ms} ms)"),
            AgentEvent::Notice { message } => {
                self.end_line();
                eprintln!("note: {message}");
            }
            AgentEvent::CommandOutput { text, .. } => {
                self.end_line();
                println!("{}", output::printable(&text));
            }
            AgentEvent::Error { kind, message } => {
                self.end_line();
                // Turn failures are reported once, by the exit path.
                if kind == "command" {
                    eprintln!("error: {message}");
                }
            }
            AgentEvent::Interrupted { partial_kept } => {
                self.end_line();
                if partial_kept {
                    eprintln!("(answer interrupted; the part received is kept)");
                }
            }
            AgentEvent::Cost {
                request_usd: _,
                session_usd,
                priced,
            } => {
                let cost = if priced {
                    output::cost(session_usd)
                } else {
                    format!("{} (unpriced model)", output::cost(session_usd))
                };
                self.summary = Some(format!("session cost {cost}"));
            }
            AgentEvent::SubAgentStarted { session, model, .. } => {
                self.end_line();
                eprintln!("⤷ sub-agent {session} ({model}) started");
            }
            AgentEvent::SubAgentToolUse {
                session,
                name,
                input,
                ..
            } => eprintln!(
                "  {session} → {name} {}",
                output::cell(&input.to_string(), 100)
            ),
            AgentEvent::SubAgentFinished {
                session,
                stop_reason,
                requests,
                cost_usd,
                ..
            } => eprintln!(
                "⤶ sub-agent {session} {stop_reason} · {requests} request{} · {}",
                if requests == 1 { "" } else { "s" },
                output::cost(cost_usd)
            ),
            AgentEvent::ThinkingDelta { .. }
            | AgentEvent::ToolCallStarted { .. }
            | AgentEvent::RequestStarted { .. }
            | AgentEvent::Usage { .. }
            | AgentEvent::Done { .. } => {}
        }
    }

    fn end_line(&mut self) {
        if self.open_line {
            println!();
            self.open_line = false;
        }
    }
}

#[async_trait]
impl Frontend for OneShot {
    fn event(&mut self, event: AgentEvent) {
        if let AgentEvent::Error { message, .. } = &event {
            self.last_error = Some(message.clone());
        }
        match self.format {
            RunFormat::Jsonl => {
                let mut out = std::io::stdout().lock();
                if serde_json::to_writer(&mut out, &event).is_ok() {
                    let _ = out.write_all(b"\n");
                    let _ = out.flush();
                }
            }
            RunFormat::Text => self.text_event(event),
        }
    }

    fn is_interactive(&self) -> bool {
        false
    }

    async fn ask(&mut self, _question: &Question) -> bool {
        false
    }
}
