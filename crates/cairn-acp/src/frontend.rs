//! The engine's face for one ACP turn: every [`AgentEvent`] becomes a
//! `session/update` notification as it happens, and the questions only a person can
//! answer (run this shell command? go past the spending limit?) become
//! `session/request_permission` requests.

use std::collections::HashSet;
use std::path::PathBuf;

use agent_client_protocol::Client;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{
    ContentBlock, ContentChunk, Cost, PermissionOption, PermissionOptionKind,
    RequestPermissionOutcome, RequestPermissionRequest, SessionId, SessionNotification,
    SessionUpdate, TextContent, ToolCallStatus, ToolCallUpdate, ToolCallUpdateFields, ToolKind,
    UsageUpdate,
};
use async_trait::async_trait;
use cairn_agent::{AgentEvent, Frontend, Question};
use cairn_core::Usage;
use tokio_util::sync::CancellationToken;

use crate::tool_calls;

const ALLOW_ONCE: &str = "allow_once";
const ALLOW_ALWAYS: &str = "allow_always";
const REJECT: &str = "reject";

/// Sends one turn's events to the client.
pub(crate) struct AcpFrontend<'a> {
    cx: ConnectionTo<Client>,
    session_id: SessionId,
    /// Where the session's file tools work (tool locations are absolute).
    root: PathBuf,
    /// The model's context window, for `usage_update`.
    window: Option<u64>,
    cancel: CancellationToken,
    /// Shell commands approved "always" on this connection.
    always_allowed: &'a mut HashSet<String>,
    /// The shell call about to run (the engine asks for approval after `tool_use`):
    /// a permission request names it.
    shell_call: Option<String>,
    asked: u64,
    /// Tokens of the last request (its prompt and answer): the context in use.
    last_used: u64,
    pub(crate) turn: TurnReport,
}

/// What the turn came to, for the prompt's response.
#[derive(Debug, Default)]
pub(crate) struct TurnReport {
    /// The engine's `done` stop reason (`end_turn`, `max_tokens`, `interrupted`…).
    pub stop_reason: Option<String>,
    /// The last error the engine reported (kind, message).
    pub error: Option<(String, String)>,
    pub usage: Usage,
    pub cost_usd: f64,
    pub requests: u64,
    /// Whether any answer text was streamed (a command's output counts).
    pub answered: bool,
}

impl<'a> AcpFrontend<'a> {
    pub(crate) fn new(
        cx: ConnectionTo<Client>,
        session_id: SessionId,
        root: PathBuf,
        window: Option<u64>,
        cancel: CancellationToken,
        always_allowed: &'a mut HashSet<String>,
    ) -> Self {
        AcpFrontend {
            cx,
            session_id,
            root,
            window,
            cancel,
            always_allowed,
            shell_call: None,
            asked: 0,
            last_used: 0,
            turn: TurnReport::default(),
        }
    }

    pub(crate) fn send(&self, update: SessionUpdate) {
        send_update(&self.cx, &self.session_id, update);
    }

    pub(crate) fn agent_text(&mut self, text: &str) {
        self.turn.answered = true;
        self.send(SessionUpdate::AgentMessageChunk(text_chunk(text)));
    }

    fn thought(&self, text: &str) {
        self.send(SessionUpdate::AgentThoughtChunk(text_chunk(text)));
    }

    /// Ask the client; `None` when the turn was cancelled or the client could not
    /// answer (both mean no).
    async fn ask_client(
        &mut self,
        call: ToolCallUpdate,
        options: Vec<PermissionOption>,
    ) -> Option<String> {
        let request = RequestPermissionRequest::new(self.session_id.clone(), call, options);
        let sent = self.cx.send_request(request);
        let response = tokio::select! {
            response = sent.block_task() => response,
            () = self.cancel.cancelled() => return None,
        };
        match response {
            Ok(response) => match response.outcome {
                RequestPermissionOutcome::Selected(selected) => {
                    Some(selected.option_id.0.to_string())
                }
                _ => None,
            },
            Err(error) => {
                tracing::warn!("permission request failed: {error}");
                None
            }
        }
    }

    async fn approve_shell(&mut self, command: &str, cwd: &str) -> bool {
        if self.always_allowed.contains(command) {
            return true;
        }
        let id = self.shell_call.clone().unwrap_or_else(|| {
            self.asked += 1;
            format!("shell-approval-{}", self.asked)
        });
        let call = ToolCallUpdate::new(
            id,
            ToolCallUpdateFields::new()
                .title(format!("shell: {command}"))
                .kind(ToolKind::Execute)
                .status(ToolCallStatus::Pending)
                .content(vec![tool_calls::text_content(&format!(
                    "Run in {cwd}:\n$ {command}"
                ))]),
        );
        let options = vec![
            PermissionOption::new(ALLOW_ONCE, "Allow once", PermissionOptionKind::AllowOnce),
            PermissionOption::new(
                ALLOW_ALWAYS,
                "Always allow this command",
                PermissionOptionKind::AllowAlways,
            ),
            PermissionOption::new(REJECT, "Reject", PermissionOptionKind::RejectOnce),
        ];
        match self.ask_client(call, options).await.as_deref() {
            Some(ALLOW_ONCE) => true,
            Some(ALLOW_ALWAYS) => {
                self.always_allowed.insert(command.to_owned());
                true
            }
            _ => false,
        }
    }

    async fn approve_mcp_tool(&mut self, question: &Question) -> bool {
        self.asked += 1;
        let call = ToolCallUpdate::new(
            format!("mcp-tool-{}", self.asked),
            ToolCallUpdateFields::new()
                .title("call an MCP tool")
                .kind(ToolKind::Other)
                .status(ToolCallStatus::Pending)
                .content(vec![tool_calls::text_content(&question.prompt())]),
        );
        let options = vec![
            PermissionOption::new(ALLOW_ONCE, "Allow", PermissionOptionKind::AllowOnce),
            PermissionOption::new(REJECT, "Reject", PermissionOptionKind::RejectOnce),
        ];
        self.ask_client(call, options).await.as_deref() == Some(ALLOW_ONCE)
    }

    async fn continue_past_limit(&mut self, question: &Question) -> bool {
        self.asked += 1;
        let call = ToolCallUpdate::new(
            format!("spending-limit-{}", self.asked),
            ToolCallUpdateFields::new()
                .title("spending limit reached")
                .kind(ToolKind::Other)
                .status(ToolCallStatus::Pending)
                .content(vec![tool_calls::text_content(&question.prompt())]),
        );
        let options = vec![
            PermissionOption::new(ALLOW_ONCE, "Continue", PermissionOptionKind::AllowOnce),
            PermissionOption::new(REJECT, "Stop here", PermissionOptionKind::RejectOnce),
        ];
        self.ask_client(call, options).await.as_deref() == Some(ALLOW_ONCE)
    }
}

#[async_trait]
impl Frontend for AcpFrontend<'_> {
    fn event(&mut self, event: AgentEvent) {
        match event {
            AgentEvent::TextDelta { text } => self.agent_text(&text),
            AgentEvent::ThinkingDelta { text } => self.thought(&text),
            AgentEvent::ToolCallStarted { id, name } => {
                self.send(SessionUpdate::ToolCall(tool_calls::started(&id, &name)));
            }
            AgentEvent::ToolUse { id, name, input } => {
                self.shell_call = (name == cairn_agent::tools::SHELL).then(|| id.clone());
                let update = tool_calls::running(&self.root, &id, &name, &input);
                self.send(SessionUpdate::ToolCallUpdate(update));
            }
            AgentEvent::ToolResult {
                id,
                content,
                is_error,
                ..
            } => {
                self.shell_call = None;
                let update = tool_calls::finished(&id, &content, is_error);
                self.send(SessionUpdate::ToolCallUpdate(update));
            }
            AgentEvent::Usage { usage, .. } => {
                self.turn.requests += 1;
                self.turn.usage.add(&usage);
                let used = usage.input_tokens + usage.cache_read_tokens + usage.output_tokens;
                self.last_used = used;
            }
            AgentEvent::Cost {
                request_usd,
                session_usd,
                ..
            } => {
                self.turn.cost_usd += request_usd;
                let mut update = UsageUpdate::new(self.last_used, self.window.unwrap_or(0));
                update = update.cost(Cost::new(session_usd, "USD"));
                self.send(SessionUpdate::UsageUpdate(update));
            }
            AgentEvent::Notice { message } => self.thought(&format!("{message}\n")),
            AgentEvent::Retrying {
                attempt,
                delay_ms,
                reason,
            } => self.thought(&format!(
                "retrying after {reason} (attempt {attempt}, in {delay_ms} ms)\n"
            )),
            AgentEvent::CommandOutput { text, .. } => self.agent_text(&format!("{text}\n")),
            AgentEvent::Error { kind, message } => {
                if kind == "command" {
                    self.agent_text(&format!("error: {message}\n"));
                }
                self.turn.error = Some((kind, message));
            }
            AgentEvent::SubAgentStarted { session, model, .. } => {
                self.thought(&format!("sub-agent {session} ({model}) started\n"))
            }
            AgentEvent::SubAgentToolUse {
                session,
                name,
                input,
                ..
            } => self.thought(&format!(
                "{session} → {}\n",
                tool_calls::title(&name, Some(&input))
            )),
            AgentEvent::SubAgentFinished {
                session,
                stop_reason,
                cost_usd,
                ..
            } => self.thought(&format!(
                "sub-agent {session} {stop_reason} (${cost_usd:.4})\n"
            )),
            AgentEvent::Done { stop_reason } => self.turn.stop_reason = Some(stop_reason),
            AgentEvent::SessionOpened { .. }
            | AgentEvent::RequestStarted { .. }
            | AgentEvent::Interrupted { .. } => {}
        }
    }

    fn is_interactive(&self) -> bool {
        true
    }

    async fn ask(&mut self, question: &Question) -> bool {
        match question {
            Question::ApproveShell { command, cwd } => {
                let (command, cwd) = (command.clone(), cwd.clone());
                self.approve_shell(&command, &cwd).await
            }
            Question::ContinuePastSpendingLimit { .. } => self.continue_past_limit(question).await,
            // ACP has no `/rewind` picker; files are never overwritten unasked.
            Question::RestoreFiles { .. } => false,
            Question::ApproveMcpTool { .. } => self.approve_mcp_tool(question).await,
        }
    }
}

pub(crate) fn text_chunk(text: &str) -> ContentChunk {
    ContentChunk::new(ContentBlock::Text(TextContent::new(text.to_owned())))
}

/// Notifications are queued on the connection; a closed connection only means nobody
/// is listening any more (the store has everything).
pub(crate) fn send_update(
    cx: &ConnectionTo<Client>,
    session_id: &SessionId,
    update: SessionUpdate,
) {
    if let Err(error) = cx.send_notification(SessionNotification::new(session_id.clone(), update)) {
        tracing::debug!("session/update not sent: {error}");
    }
}
