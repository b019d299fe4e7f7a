//! One turn: the person's message, then requests to the model and the tool calls it
//! makes, until it stops. Everything is appended to the session the moment it
//! exists: the user message before the first request, each answer when it is
//! complete (or, interrupted, what arrived of it), each tool result when its tool
//! returns.

use cairn_core::event::ToolResultContent;
use cairn_core::store::SessionUpdate;
use cairn_core::{
    ContentBlock, ErrorRecord, Message, Payload, Role, SessionStatus, SubagentRecord,
};
use cairn_llm::{ChatResponse, ErrorKind, LlmError, StopReason, StreamEvent};
use futures::StreamExt;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, LastRequest, Outcome, StopCause};
use crate::frontend::Question;
use crate::tools::{ToolOutput, for_model, shell_allowed, shell_command};
use crate::{AgentError, AgentEvent, Frontend, after_turn, pressure, request, spending};

/// A turn that keeps calling tools stops after this many requests.
pub const MAX_REQUESTS_PER_TURN: usize = 100;

/// Characters of the first message kept as a session's title.
const TITLE_CHARS: usize = 80;

/// What the result of a tool call cut short says.
const TOOL_NOT_RUN_INTERRUPTED: &str =
    "interrupted: the user stopped the turn before this tool call ran";

pub(crate) async fn run(
    agent: &mut Agent,
    text: String,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> Result<Outcome, AgentError> {
    let mut content = Vec::new();
    if !agent.conversation.pending().is_empty() {
        if let Err(message) = crate::commands::media::check_capabilities(agent) {
            agent.conversation.take_pending();
            ui.event(AgentEvent::Error {
                kind: "unsupported".into(),
                message: format!(
                    "{message}. The message was not sent and the attachments were dropped."
                ),
            });
            ui.event(done("refused"));
            return Ok(Outcome::Stopped {
                reason: StopCause::UnsupportedMedia,
            });
        }
        for pending in agent.conversation.take_pending() {
            content.push(match pending.kind {
                crate::media::MediaKind::Image => ContentBlock::Image(pending.block),
                crate::media::MediaKind::Video => ContentBlock::Video(pending.block),
            });
        }
    }
    let title = agent
        .conversation
        .session()
        .title
        .is_none()
        .then(|| crate::resume::shorten(&text, TITLE_CHARS));
    content.push(ContentBlock::Text { text });
    let last_seq_before = agent.conversation.live().events.last().map_or(0, |e| e.seq);
    agent
        .append_message(Message::new(Role::User, content))
        .await?;
    // A session without a title is named by its first message, for listings; a
    // session closed with /done is active again once someone writes in it.
    let title = title.filter(|t| !t.is_empty());
    let reopened = agent.conversation.session().status == SessionStatus::Done;
    if title.is_some() || reopened {
        agent
            .update_session(SessionUpdate {
                title: title.map(Some),
                status: reopened.then_some(SessionStatus::Active),
                ..Default::default()
            })
            .await?;
    }
    // `done` is the last event of a turn: it is held back until the work after the
    // turn (sizes, hints, automatic compression) has reported too.
    let (outcome, done) = {
        let mut held = HoldDone { ui, done: None };
        let outcome = requests(agent, &mut held, cancel).await;
        (outcome, held.done)
    };
    // Sizes are kept current whatever happened, as long as the store works. A context
    // the provider found too long is counted (and compressed) like any other.
    let after = match &outcome {
        Ok(Outcome::Failed { kind }) if kind != ErrorKind::ContextTooLong.as_str() => {
            after_turn::after_failed_turn(agent, ui, last_seq_before).await
        }
        Ok(_) | Err(AgentError::Core(cairn_core::Error::SpendingLimit(_))) => {
            after_turn::after_turn(agent, ui).await
        }
        Err(_) => Ok(()),
    };
    if let Some(done) = done {
        ui.event(done);
    }
    after?;
    outcome
}

/// The face during a turn's requests, holding back `done` (see [`run`]).
struct HoldDone<'a> {
    ui: &'a mut dyn Frontend,
    done: Option<AgentEvent>,
}

#[async_trait::async_trait]
impl Frontend for HoldDone<'_> {
    fn event(&mut self, event: AgentEvent) {
        match event {
            AgentEvent::Done { .. } => self.done = Some(event),
            other => self.ui.event(other),
        }
    }

    fn is_interactive(&self) -> bool {
        self.ui.is_interactive()
    }

    async fn ask(&mut self, question: &Question) -> bool {
        self.ui.ask(question).await
    }
}

async fn requests(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> Result<Outcome, AgentError> {
    let mut last_request_usd: Option<f64> = None;
    // Once the person lets an expensive request go, the estimate does not ask again
    // in this turn (the cost of each request is still checked once known).
    let mut expensive_allowed = false;
    for _ in 0..agent.max_requests {
        if let Some(stop) = crate::subagent::over_call_limit(agent, ui) {
            return Ok(stop);
        }
        let hit = agent.budget.take_limit().or_else(|| {
            spending::check(
                &agent.options.settings,
                agent.spent_since_checkpoint(),
                last_request_usd,
            )
        });
        match spending_gate(agent, ui, hit).await? {
            Gate::Pass => {}
            Gate::Continued(kind) => {
                expensive_allowed |= kind == crate::SpendingLimitKind::Request;
            }
            Gate::Stop(outcome) => return Ok(outcome),
        }
        // A turn of many tool calls can outgrow the window before it ends: compress
        // here too when a pressure level is reached.
        let compressed = pressure::before_request(agent, ui, cancel).await?;
        if cancel.is_cancelled() || matches!(compressed, pressure::BeforeRequest::Cancelled) {
            ui.event(AgentEvent::Interrupted {
                partial_kept: false,
            });
            ui.event(done("interrupted"));
            return Ok(Outcome::Interrupted);
        }
        let request = request::build(agent).await?;
        if let Some(message) = agent.context.window_overflow(&agent.model, &request) {
            ui.event(AgentEvent::Error {
                kind: "context_too_long".into(),
                message,
            });
            ui.event(done("context_too_long"));
            return Ok(Outcome::Stopped {
                reason: StopCause::ContextTooLong,
            });
        }
        if !expensive_allowed {
            let hit = estimate(agent, &request);
            match spending_gate(agent, ui, hit).await? {
                Gate::Pass => {}
                Gate::Continued(_) => expensive_allowed = true,
                Gate::Stop(outcome) => return Ok(outcome),
            }
        }
        let events_before_answer = agent.conversation.live().events.len();
        ui.event(AgentEvent::RequestStarted {
            model: agent.model.to_string(),
        });
        let response = match stream(agent, request, ui, cancel).await {
            Streamed::Finished(response) => response,
            Streamed::Cancelled(partial) => {
                let kept = keep_partial(agent, partial, ui, events_before_answer).await?;
                ui.event(AgentEvent::Interrupted { partial_kept: kept });
                ui.event(done("interrupted"));
                return Ok(Outcome::Interrupted);
            }
            Streamed::Failed(mut error) => {
                return failed(agent, &mut error, ui, events_before_answer).await;
            }
        };
        let stop_reason = response.stop_reason.clone().unwrap_or(StopReason::EndTurn);
        let cost = record_answer(agent, response, ui, events_before_answer, false).await?;
        last_request_usd = Some(cost);

        let calls: Vec<(String, String, Value)> = agent
            .conversation
            .live()
            .events
            .last()
            .and_then(|e| e.payload.as_message())
            .map(|m| {
                m.tool_uses()
                    .map(|(id, name, input)| (id.to_owned(), name.to_owned(), input.clone()))
                    .collect()
            })
            .unwrap_or_default();
        if calls.is_empty() {
            ui.event(done(stop_reason.as_str()));
            return Ok(Outcome::Answered);
        }
        if run_tools(agent, calls, ui, cancel).await? {
            ui.event(AgentEvent::Interrupted { partial_kept: true });
            ui.event(done("interrupted"));
            return Ok(Outcome::Interrupted);
        }
    }
    if let Some(role) = agent.role.as_ref().filter(|r| r.max_turns.is_some()) {
        ui.event(AgentEvent::Notice {
            message: format!(
                "agent {} stopped after its max_turns of {} requests",
                role.name, agent.max_requests
            ),
        });
        ui.event(done(StopCause::MaxTurns.as_str()));
        return Ok(Outcome::Stopped {
            reason: StopCause::MaxTurns,
        });
    }
    ui.event(AgentEvent::Notice {
        message: format!(
            "stopped after {MAX_REQUESTS_PER_TURN} requests in one turn; send a message to go on"
        ),
    });
    ui.event(done("request_limit"));
    Ok(Outcome::Stopped {
        reason: StopCause::RequestLimit,
    })
}

enum Gate {
    /// Under the limits.
    Pass,
    /// A limit of this kind was reached and the person chose to continue.
    Continued(crate::SpendingLimitKind),
    Stop(Outcome),
}

/// The pre-send estimate of `request` (see [`spending::estimate_request`]).
fn estimate(agent: &Agent, request: &cairn_llm::ChatRequest) -> Option<spending::LimitHit> {
    spending::estimate_request(
        &agent.options.settings,
        agent.budget.spending(),
        &agent.model,
        crate::request_size::token_bound(request),
        || crate::request_size::count(&agent.model.token_counter(), request),
    )
}

/// Raise `hit`, if any: a sub-agent stops (its parent raises it), a non-interactive
/// run stops with `SpendingLimit` (exit code 4), a person is asked.
async fn spending_gate(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    hit: Option<spending::LimitHit>,
) -> Result<Gate, AgentError> {
    let Some(hit) = hit else {
        return Ok(Gate::Pass);
    };
    if agent.depth > 0 {
        // A sub-agent never asks: it stops, and the agent that delegated to it raises
        // the limit at its own gate (asking the person once, or exit code 4).
        agent.budget.hold_limit(hit);
        ui.event(done("spending_limit"));
        return Ok(Gate::Stop(Outcome::Stopped {
            reason: StopCause::SpendingLimit,
        }));
    }
    let message = hit.message(agent.conversation.session().name.as_str());
    if !ui.is_interactive() {
        ui.event(AgentEvent::Error {
            kind: "spending_limit".into(),
            message: message.clone(),
        });
        ui.event(done("spending_limit"));
        return Err(cairn_core::Error::SpendingLimit(message).into());
    }
    let question = Question::ContinuePastSpendingLimit {
        limit: hit.kind,
        threshold_usd: hit.threshold_usd,
        spent_usd: hit.spent_usd,
        estimated: hit.estimated_input_tokens.is_some(),
    };
    if hit.estimated_input_tokens.is_some() {
        // Nothing was spent yet: yes sends this request, the checkpoint stays.
        if ui.ask(&question).await {
            return Ok(Gate::Continued(hit.kind));
        }
        ui.event(AgentEvent::Notice {
            message: format!("stopped: {message}"),
        });
        ui.event(done("spending_limit"));
        return Ok(Gate::Stop(Outcome::Stopped {
            reason: StopCause::SpendingLimit,
        }));
    }
    if ui.ask(&question).await {
        agent
            .update_session(SessionUpdate {
                // Sub-agents' spend counts too, so the checkpoint includes it.
                spend_checkpoint_usd: Some(
                    agent.budget.checkpoint_now(agent.conversation.session()),
                ),
                ..Default::default()
            })
            .await?;
        ui.event(AgentEvent::Notice {
            message: format!(
                "continuing; spending limits count again from ${:.4}",
                agent.conversation.session().spend_checkpoint_usd
            ),
        });
        Ok(Gate::Continued(hit.kind))
    } else {
        ui.event(AgentEvent::Notice {
            message: format!("stopped: {message}"),
        });
        ui.event(done("spending_limit"));
        Ok(Gate::Stop(Outcome::Stopped {
            reason: StopCause::SpendingLimit,
        }))
    }
}

enum Streamed {
    Finished(ChatResponse),
    /// Cancelled by the face: the text and thinking that arrived.
    Cancelled(Partial),
    Failed(LlmError),
}

#[derive(Default)]
struct Partial {
    text: String,
    thinking: String,
}

async fn stream(
    agent: &Agent,
    request: cairn_llm::ChatRequest,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> Streamed {
    let mut stream = agent.options.llm.stream(request);
    let mut partial = Partial::default();
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Streamed::Cancelled(partial),
            next = stream.next() => next,
        };
        let event = match next {
            Some(Ok(event)) => event,
            Some(Err(error)) => return Streamed::Failed(error),
            None => {
                return Streamed::Failed(LlmError::new(
                    cairn_llm::ErrorKind::MalformedStream,
                    "",
                    "the answer ended without its final event",
                ));
            }
        };
        match event {
            StreamEvent::Retrying {
                attempt,
                delay,
                reason,
            } => ui.event(AgentEvent::Retrying {
                attempt,
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                reason,
            }),
            StreamEvent::Started { .. } => {}
            StreamEvent::TextDelta(text) => {
                partial.text.push_str(&text);
                ui.event(AgentEvent::TextDelta { text });
            }
            StreamEvent::ThinkingDelta(text) => {
                partial.thinking.push_str(&text);
                ui.event(AgentEvent::ThinkingDelta { text });
            }
            StreamEvent::ToolCallStarted { id, name } => {
                ui.event(AgentEvent::ToolCallStarted { id, name });
            }
            StreamEvent::ToolCall { .. } => {}
            StreamEvent::Finished(response) => return Streamed::Finished(response),
        }
    }
}

/// Store a finished (or partial) answer with its usage and cost; report both.
/// Returns the request's cost.
async fn record_answer(
    agent: &mut Agent,
    response: ChatResponse,
    ui: &mut dyn Frontend,
    events_before_answer: usize,
    interrupted: bool,
) -> Result<f64, AgentError> {
    let usage = response.usage;
    let request_id = response.request_id.clone();
    let model = agent.model.to_string();
    let cost = agent.budget.cost(&agent.model, &usage);
    let mut message = response.into_message();
    if interrupted {
        message.content = keepable(message.content);
        message.interrupted = true;
    }
    message.cost_usd = Some(cost.usd);
    let has_content = !message.content.is_empty();
    if has_content || !usage.is_zero() {
        if !has_content {
            // Usage without content (the stream broke before any output) is still
            // billed: keep it as an empty, interrupted answer so the totals are right.
            message.content.push(ContentBlock::Text {
                text: String::new(),
            });
        }
        agent.append_message(message).await?;
        agent.refresh_session().await?;
        agent.budget.report_spend(agent.conversation.session());
    }
    if !usage.is_zero() {
        ui.event(AgentEvent::Usage {
            model: model.clone(),
            usage,
            request_id,
        });
        ui.event(AgentEvent::Cost {
            request_usd: cost.usd,
            session_usd: agent.conversation.session().cost_usd,
            priced: cost.priced,
        });
        agent.last_request = Some(LastRequest {
            model,
            usage,
            cost_usd: cost.usd,
            priced: cost.priced,
            events_before_answer,
        });
        agent.context.reported(
            agent.conversation.live(),
            events_before_answer,
            cairn_core::tokens::prompt_tokens(&usage),
        );
    }
    if let Some(note) = cost.note {
        ui.event(AgentEvent::Notice { message: note });
    }
    Ok(cost.usd)
}

/// Of an interrupted answer, keep what a provider accepts back: text, and thinking
/// that carries its signature. Unfinished tool calls are dropped (they never ran).
fn keepable(content: Vec<ContentBlock>) -> Vec<ContentBlock> {
    content
        .into_iter()
        .filter(|b| match b {
            ContentBlock::Text { text } => !text.is_empty(),
            ContentBlock::Thinking { signature, .. } => signature.is_some(),
            _ => false,
        })
        .collect()
}

/// Keep what arrived of a cancelled answer, marked interrupted. True when anything
/// was kept.
async fn keep_partial(
    agent: &mut Agent,
    partial: Partial,
    ui: &mut dyn Frontend,
    events_before_answer: usize,
) -> Result<bool, AgentError> {
    let _ = partial.thinking; // unsigned thinking cannot be sent back; not kept
    if partial.text.is_empty() {
        return Ok(false);
    }
    let mut response = ChatResponse::empty(agent.model.to_string());
    response
        .content
        .push(ContentBlock::Text { text: partial.text });
    record_answer(agent, response, ui, events_before_answer, true).await?;
    Ok(true)
}

async fn failed(
    agent: &mut Agent,
    error: &mut LlmError,
    ui: &mut dyn Frontend,
    events_before_answer: usize,
) -> Result<Outcome, AgentError> {
    let kind = error.kind().as_str().to_owned();
    // The message is stored and shown: no key or URL credential may ride along.
    let keys = cairn_core::scrub::configured_keys(&agent.options.settings.providers);
    let mut message = cairn_core::scrub::scrub(&error.to_string(), &keys);
    if error.kind() == cairn_llm::ErrorKind::ContextTooLong {
        message.push_str(
            " — the conversation no longer fits the model's context window; switch to a \
             model with a larger window (/model) or compress the context",
        );
    }
    let partial = error.take_partial();
    let kept = match partial {
        Some(partial) => {
            let has_text = partial
                .content
                .iter()
                .any(|b| matches!(b, ContentBlock::Text { text } if !text.is_empty()));
            record_answer(agent, partial, ui, events_before_answer, true).await?;
            has_text
        }
        None => false,
    };
    // The failure itself is part of the session's story.
    agent
        .append(vec![Payload::Error(ErrorRecord {
            error_kind: kind.clone(),
            message: message.clone(),
            status: error.status,
            extra: Map::new(),
        })])
        .await?;
    if kept {
        ui.event(AgentEvent::Interrupted { partial_kept: true });
    }
    ui.event(AgentEvent::Error {
        kind: kind.clone(),
        message,
    });
    ui.event(done("error"));
    Ok(Outcome::Failed { kind })
}

/// Run the tool calls of the last answer in order, storing each result as soon as
/// the tool returns. True when the turn was interrupted.
async fn run_tools(
    agent: &mut Agent,
    calls: Vec<(String, String, Value)>,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> Result<bool, AgentError> {
    let mut calls = calls.into_iter().peekable();
    while let Some((id, name, input)) = calls.next() {
        if cancel.is_cancelled() {
            // This call and every one after it get an "interrupted" result.
            let not_run = std::iter::once((id, name, input)).chain(calls.by_ref());
            for (id, name, _) in not_run {
                let output = ToolOutput::error(TOOL_NOT_RUN_INTERRUPTED);
                store_result(agent, ui, &id, &name, output, true, None, None).await?;
            }
            return Ok(true);
        }
        if crate::toolset::is_subagent_tool(&name) {
            // Sub-agent calls next to each other run side by side.
            let mut batch = vec![(id, name, input)];
            while let Some(next) =
                calls.next_if(|(_, name, _)| crate::toolset::is_subagent_tool(name))
            {
                batch.push(next);
            }
            for (id, name, input) in &batch {
                ui.event(AgentEvent::ToolUse {
                    id: id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                });
            }
            let results = crate::subagent::run_batch(agent, batch.clone(), ui, cancel).await?;
            let interrupted = cancel.is_cancelled();
            for ((id, name, _), delegated) in batch.iter().zip(results) {
                let (output, record) = (delegated.output, delegated.record);
                store_result(agent, ui, id, name, output, interrupted, record, None).await?;
            }
            continue;
        }
        ui.event(AgentEvent::ToolUse {
            id: id.clone(),
            name: name.clone(),
            input: input.clone(),
        });
        let mut snapshot = None;
        let output = if let Some(refusal) = crate::toolset::refusal(agent, &name) {
            ToolOutput::error(refusal)
        } else if name == crate::tools::remember::REMEMBER {
            crate::tools::remember::run(agent, &input).await?
        } else if name == crate::tools::recall::RECALL {
            crate::tools::recall::run(agent, &input).await?
        } else if crate::mcp_client::is_mcp_tool(&name) {
            match mcp_approval(agent, &name, &input, ui).await {
                Some(refusal) => ToolOutput::error(refusal),
                None => agent.mcp.call(&name, &input, cancel).await,
            }
        } else {
            match approval(agent, &name, &input, ui).await {
                Some(refusal) => ToolOutput::error(refusal),
                None => {
                    let before = crate::file_snapshot::before(agent, &name, &input).await;
                    let output = agent.toolbox.run(&name, &input, cancel).await;
                    snapshot = crate::file_snapshot::after(before, &output);
                    output
                }
            }
        };
        let interrupted = cancel.is_cancelled();
        store_result(agent, ui, &id, &name, output, interrupted, None, snapshot).await?;
    }
    Ok(cancel.is_cancelled())
}

/// `None` when the call may run; otherwise why not (the model reads it).
async fn approval(
    agent: &Agent,
    name: &str,
    input: &Value,
    ui: &mut dyn Frontend,
) -> Option<String> {
    let command = shell_command(name, input)?;
    if agent.options.auto_approve_shell
        || shell_allowed(&command, &agent.options.settings.shell_allow)
    {
        return None;
    }
    if !ui.is_interactive() {
        return Some(
            "refused: shell commands need the user's approval, and this run is not \
             interactive. Only commands allowed by [shell] allow in config.toml (or any \
             command with --yes) run here."
                .to_owned(),
        );
    }
    let question = Question::ApproveShell {
        command,
        cwd: agent.toolbox.root().display().to_string(),
    };
    if ui.ask(&question).await {
        None
    } else {
        Some("refused: the user declined to run this command".to_owned())
    }
}

/// `None` when MCP tool `name` may run: allowed by its server's `allow_tools`, by
/// `--yes`, or by the person; otherwise why not (the model reads it).
async fn mcp_approval(
    agent: &Agent,
    name: &str,
    input: &Value,
    ui: &mut dyn Frontend,
) -> Option<String> {
    let (server, tool) = crate::mcp_client::split_tool_name(name)?;
    let allowed = agent.mcp.server(server).is_some_and(|def| def.allows(tool));
    if agent.options.auto_approve_shell || allowed {
        return None;
    }
    if !ui.is_interactive() {
        return Some(format!(
            "refused: MCP tool calls need the user's approval, and this run is not \
             interactive. Only tools listed in allow_tools under [mcp_servers.{server}] in \
             config.toml (or any tool with --yes) run here."
        ));
    }
    let question = Question::ApproveMcpTool {
        server: server.to_owned(),
        tool: tool.to_owned(),
        input: crate::resume::shorten(&input.to_string(), 400),
    };
    if ui.ask(&question).await {
        None
    } else {
        Some("refused: the user declined to run this tool".to_owned())
    }
}

/// Store a tool call's result and report it. `record`: what a `delegate` call's
/// result keeps about its sub-agent (session, cost), stored as its `subagent` field;
/// `snapshot`: what a file tool changed (for `/rewind`).
#[allow(clippy::too_many_arguments)]
async fn store_result(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    id: &str,
    name: &str,
    output: ToolOutput,
    interrupted: bool,
    record: Option<SubagentRecord>,
    snapshot: Option<cairn_app::file_snapshot::FileSnapshot>,
) -> Result<(), AgentError> {
    let shown = for_model(&output.content);
    let truncated = shown.len() != output.content.len();
    let event = AgentEvent::ToolResult {
        id: id.to_owned(),
        name: name.to_owned(),
        content: shown.into_owned(),
        is_error: output.is_error,
        truncated,
        bytes: output.content.len() as u64,
    };
    let content = result_content(agent, output.content, output.extra).await?;
    let mut message = Message::new(
        Role::Tool,
        vec![ContentBlock::ToolResult {
            tool_use_id: id.to_owned(),
            content,
            is_error: output.is_error,
        }],
    );
    message.interrupted = interrupted;
    message.subagent = record;
    if let Some(snapshot) = snapshot {
        snapshot.attach(&mut message);
    }
    agent.append_message(message).await?;
    ui.event(event);
    Ok(())
}

/// A tool's text, with its images (stored as attachments) and kept blocks after it.
async fn result_content(
    agent: &Agent,
    text: String,
    extra: Vec<crate::tools::ToolExtra>,
) -> Result<ToolResultContent, AgentError> {
    if extra.is_empty() {
        return Ok(ToolResultContent::Text(text));
    }
    let mut blocks = vec![ContentBlock::text(text)];
    for part in extra {
        blocks.push(match part {
            crate::tools::ToolExtra::Image { mime, bytes } => {
                let stored = agent.store.put_attachment(&mime, bytes).await?;
                ContentBlock::Image(cairn_core::MediaBlock {
                    sha256: stored.sha256,
                    mime,
                    data_base64: None,
                })
            }
            crate::tools::ToolExtra::Kept(map) => ContentBlock::Other(map),
        });
    }
    Ok(ToolResultContent::Blocks(blocks))
}

fn done(stop_reason: &str) -> AgentEvent {
    AgentEvent::Done {
        stop_reason: stop_reason.to_owned(),
    }
}
