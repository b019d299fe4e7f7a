//! What the engine reports while it works. Serialisable: `--format jsonl` prints one
//! per line and the WebSocket face sends them as they are.

use cairn_core::{Timestamp, Usage};
use serde::Serialize;
use serde_json::Value;

/// One thing that happened. Within a turn the order is: `request_started`, then
/// deltas and `tool_call_started`, then `usage` and `cost` for the request, then for
/// each tool call `tool_use` and `tool_result`; this repeats while the model calls
/// tools, and the turn ends with exactly one `done` (or `interrupted` / `error`
/// followed by `done`), the last event of the turn. A `delegate` call shows as
/// `tool_use`, then `sub_agent_started`, `sub_agent_tool_use` for each tool the
/// sub-agent runs, `sub_agent_finished`, then the call's `tool_result`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// The agent now drives this session (at open, after `/session`, `/new`).
    SessionOpened {
        session: String,
        project: String,
        model: String,
        /// True when the session was just created.
        created: bool,
        /// For a resumed session: where it stands.
        recap: Option<Recap>,
    },
    /// A request is about to be sent to the model.
    RequestStarted { model: String },
    /// A transient provider failure; the request is sent again after `delay_ms`.
    Retrying {
        attempt: u32,
        delay_ms: u64,
        reason: String,
    },
    /// Visible answer text.
    TextDelta { text: String },
    /// Reasoning text (faces may show it dimmed or hide it).
    ThinkingDelta { text: String },
    /// The model began a tool call; its arguments are still streaming.
    ToolCallStarted { id: String, name: String },
    /// A complete tool call about to run (after approval, when one is needed).
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// What the tool returned. `content` is what the model sees (cut to the model's
    /// limit when `truncated`; the whole output is stored), `bytes` the full size.
    ToolResult {
        id: String,
        name: String,
        content: String,
        is_error: bool,
        truncated: bool,
        bytes: u64,
    },
    /// Token usage of one request.
    Usage {
        model: String,
        usage: Usage,
        request_id: Option<String>,
    },
    /// Cost of one request and of the whole session so far (USD). `priced` is false
    /// when the model has no known price (counted as 0).
    Cost {
        request_usd: f64,
        session_usd: f64,
        priced: bool,
    },
    /// Something a person should know that is not an error (a one-time price note,
    /// an interrupted tool call repaired on resume, a model switch…).
    Notice { message: String },
    /// A failure shown in plain words; the session stays usable. `kind` is a stable
    /// identifier (`auth`, `server`, `rate_limit`, `network`, `refused`, …).
    Error { kind: String, message: String },
    /// The answer was interrupted (Ctrl+C or a broken stream); what arrived is kept
    /// in the session, marked interrupted.
    Interrupted { partial_kept: bool },
    /// Output of a slash command: `text` for people, `data` for programs.
    CommandOutput {
        command: String,
        text: String,
        data: Value,
    },
    /// The model handed a task to a sub-agent (the `delegate` or `agent_<name>` tool
    /// call `id`): a child session with its own context, whose answer becomes the
    /// call's result. `agent`: `delegate`, or the named agent. Several sub-agents of
    /// one answer run at once: their events interleave, told apart by `id`.
    SubAgentStarted {
        id: String,
        session: String,
        agent: String,
        model: String,
        task: String,
    },
    /// A tool call the sub-agent of `delegate` call `id` is about to run.
    SubAgentToolUse {
        id: String,
        session: String,
        name: String,
        input: Value,
    },
    /// The sub-agent of `delegate` call `id` stopped (`stop_reason` as in `done`); its
    /// requests, tokens and cost (USD), which count toward this session's limits.
    SubAgentFinished {
        id: String,
        session: String,
        stop_reason: String,
        requests: u64,
        usage: Usage,
        cost_usd: f64,
    },
    /// The turn (or command) is over. `stop_reason`: `end_turn`, `max_tokens`,
    /// `interrupted`, `error`, `spending_limit`, `refused`, `context_too_long` (the next
    /// request would not fit the model's window even after compression; not sent), … .
    Done { stop_reason: String },
}

/// Where a resumed session stands, shown before the first prompt.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recap {
    pub name: String,
    pub title: Option<String>,
    pub model: Option<String>,
    pub last_active: Timestamp,
    pub messages: u64,
    pub cost_usd: f64,
    /// Text of the last user message of the live context (cut to a few hundred chars).
    pub last_user: Option<String>,
    /// Text of the last assistant message of the live context (cut likewise).
    pub last_assistant: Option<String>,
}
