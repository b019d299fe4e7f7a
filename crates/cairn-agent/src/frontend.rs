//! The face an [`crate::Agent`] talks to: it receives events and answers the yes/no
//! questions only a person can answer. The REPL prints and prompts; one-shot mode
//! prints text or JSONL and answers nothing (it is not interactive); the WebSocket
//! face forwards both over the socket.

use async_trait::async_trait;
use serde::Serialize;

use crate::AgentEvent;

/// Which spending threshold was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpendingLimitKind {
    /// `max_session_spending_threshold`: spend since the session's checkpoint.
    Session,
    /// `max_request_spending_threshold`: the cost of the last request.
    Request,
}

impl SpendingLimitKind {
    pub fn setting(&self) -> &'static str {
        match self {
            SpendingLimitKind::Session => "max_session_spending_threshold",
            SpendingLimitKind::Request => "max_request_spending_threshold",
        }
    }
}

/// A yes/no question for the person at the face.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Question {
    /// The model wants to run `command` in `cwd` (the project root). Default: no.
    ApproveShell { command: String, cwd: String },
    /// The model wants to call `tool` of MCP server `server` with `input` (JSON, cut).
    /// Default: no.
    ApproveMcpTool {
        server: String,
        tool: String,
        input: String,
    },
    /// A spending threshold was reached. Yes resets the session's spend checkpoint
    /// (limits count again from now); no ends the turn.
    ///
    /// `estimated`: nothing was spent yet; `spent_usd` is what the next request would
    /// cost in input alone, and yes sends it.
    ContinuePastSpendingLimit {
        limit: SpendingLimitKind,
        threshold_usd: f64,
        spent_usd: f64,
        estimated: bool,
    },
    /// `/rewind`: put back the files the agent changed since the rewind point
    /// (`overwrite`: these were changed outside cairn since; yes overwrites them).
    /// Default: no.
    RestoreFiles { files: Vec<String>, overwrite: bool },
}

impl Question {
    /// The question in plain words, for faces that just print it.
    pub fn prompt(&self) -> String {
        match self {
            Question::ApproveShell { command, cwd } => {
                format!("Run shell command in {cwd}?\n  $ {command}\n")
            }
            Question::ApproveMcpTool {
                server,
                tool,
                input,
            } => format!("Call tool {tool} of MCP server {server}?\n  {input}\n"),
            Question::ContinuePastSpendingLimit {
                limit,
                threshold_usd,
                spent_usd,
                estimated: true,
            } => format!(
                "The next request would cost about ${spent_usd:.4} in input alone; {} is \
                 ${threshold_usd:.2}. Send it anyway?",
                limit.setting()
            ),
            Question::ContinuePastSpendingLimit {
                limit,
                threshold_usd,
                spent_usd,
                estimated: false,
            } => format!(
                "Spending limit reached: ${spent_usd:.4} spent, {} is ${threshold_usd:.2}. \
                 Continue (the limit counts again from now)?",
                limit.setting()
            ),
            Question::RestoreFiles {
                files,
                overwrite: false,
            } => format!(
                "The agent changed these files since then:\n{}\nPut them back as they were?",
                files
                    .iter()
                    .map(|f| format!("  {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            Question::RestoreFiles {
                files,
                overwrite: true,
            } => format!(
                "These files were changed outside cairn after the agent wrote them:\n{}\n\
                 Overwrite them with their content from before the rewind point anyway?",
                files
                    .iter()
                    .map(|f| format!("  {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }
}

/// Receives the engine's events and answers its questions.
#[async_trait]
pub trait Frontend: Send {
    /// Called for every event, in order, as it happens (deltas included). Keep it
    /// quick: the stream waits while it runs.
    fn event(&mut self, event: AgentEvent);

    /// Whether a person can answer [`Frontend::ask`]. When false the engine never
    /// asks: shell commands outside `settings.shell_allow` are refused and a reached
    /// spending limit stops with `Error::SpendingLimit` (exit code 4).
    fn is_interactive(&self) -> bool;

    /// Ask a yes/no question (only called when [`Frontend::is_interactive`]).
    async fn ask(&mut self, question: &Question) -> bool;
}

/// A frontend that collects events and answers every question with a fixed answer:
/// for tests and for embedding the engine where nobody is asked.
#[derive(Debug, Default)]
pub struct Collect {
    pub events: Vec<AgentEvent>,
    pub interactive: bool,
    pub answer: bool,
    pub questions: Vec<Question>,
}

#[async_trait]
impl Frontend for Collect {
    fn event(&mut self, event: AgentEvent) {
        self.events.push(event);
    }

    fn is_interactive(&self) -> bool {
        self.interactive
    }

    async fn ask(&mut self, question: &Question) -> bool {
        self.questions.push(question.clone());
        self.answer
    }
}
