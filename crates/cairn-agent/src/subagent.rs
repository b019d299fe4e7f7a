//! Sub-agents: a `delegate` call runs a task in a child session with its own context
//! (a sub-agent system prompt and the task, not the parent's history), the same tools
//! but `delegate`, the same project root, confinement and shell approval. Its final
//! answer is the call's result (stored whole, cut for the model like any tool output).
//!
//! The child is an ordinary session (`<parent>-sub-<n>`, `parent_id` set), so
//! `cairn sessions show` and `--resume` work on it. Its spend counts toward the
//! parent's spending limits: it starts with the parent's spend since the checkpoint,
//! stops before a request that would pass a limit, and leaves the limit to the
//! parent's gate (which asks the person, or stops a non-interactive run with exit
//! code 4). Cancelling the turn (Ctrl+C) cancels the sub-agent too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use cairn_core::display::dollars;
use cairn_core::name::MAX_NAME_CHARS;
use cairn_core::{Error, NewSession, Session, SessionName, Store, SubagentRecord, Usage};
use cairn_llm::ModelRef;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use ulid::Ulid;

use crate::agent::{Agent, Outcome, StopCause};
use crate::conversation::Conversation;
use crate::lease::LeaseGuard;
use crate::tools::ToolOutput;
use crate::tools::delegate::{Args, DELEGATE};
use crate::{AgentError, AgentEvent, Frontend, Question};

/// How deep delegation goes: a session's sub-agents cannot delegate again.
pub const MAX_SUBAGENT_DEPTH: u32 = 1;

/// Characters of the task kept as the child session's title.
const TITLE_CHARS: usize = 80;

pub use crate::budget::SubagentTotals;

/// Sub-agents of `session`: its children that are not forks (a fork has a fork point).
pub(crate) async fn totals(
    store: &Arc<dyn Store>,
    session: Ulid,
) -> Result<SubagentTotals, AgentError> {
    let children = store.child_sessions(session).await?;
    Ok(children
        .iter()
        .filter(|c| c.fork_seq.is_none())
        .fold(SubagentTotals::default(), |t, c| SubagentTotals {
            count: t.count + 1,
            cost_usd: t.cost_usd + c.cost_usd,
        }))
}

/// The result of a `delegate` call, and what its stored result keeps about the child.
pub(crate) struct Delegated {
    pub output: ToolOutput,
    pub record: Option<SubagentRecord>,
}

impl Delegated {
    fn refused(message: impl Into<String>) -> Self {
        Delegated {
            output: ToolOutput::error(message),
            record: None,
        }
    }
}

/// Run the `delegate` call `call_id` of `parent`'s last answer. Bad input and a
/// sub-agent that fails are results the model reads; only what stops the parent too
/// (the store, a lost lease) is an `Err`.
pub(crate) async fn run(
    parent: &mut Agent,
    call_id: &str,
    input: &Value,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> Result<Delegated, AgentError> {
    if parent.depth >= MAX_SUBAGENT_DEPTH {
        return Ok(Delegated::refused(format!(
            "{DELEGATE} is not available here: a sub-agent cannot delegate further. Do the \
             work yourself with the other tools."
        )));
    }
    let args = match Args::parse(input) {
        Ok(args) => args,
        Err(message) => return Ok(Delegated::refused(message)),
    };
    let model = match args
        .model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None => parent.model.clone(),
        Some(name) => match parent.options.llm.resolve(name) {
            Ok(model) => model,
            Err(e) => {
                return Ok(Delegated::refused(format!(
                    "{DELEGATE}: model {name:?} cannot be used ({e}); leave model out to use \
                     {}",
                    parent.model
                )));
            }
        },
    };
    let title = crate::resume::shorten(args.task.trim(), TITLE_CHARS);
    let session = create_child(parent, &title, &model).await?;
    parent.budget.subagent_started();
    let mut child = child_agent(parent, session, model.clone()).await?;
    let name = child.conversation.session().name.as_str().to_owned();
    ui.event(AgentEvent::SubAgentStarted {
        id: call_id.to_owned(),
        session: name.clone(),
        model: model.to_string(),
        task: title,
    });

    let mut face = SubagentFace::new(ui, call_id, &name);
    let outcome = child_turn(&mut child, args.message(), &mut face, cancel).await;
    let report = face.report();
    // Whatever happened, the parent's totals and limits follow what the child spent.
    let refreshed = child.refresh_session().await;
    let cost_usd = child.conversation.session().cost_usd;
    parent.budget.subagent_spent(cost_usd);
    let limit = child.budget.take_limit();
    let child_id = child.conversation.session().id;
    let closed = child.close().await;
    let outcome = outcome?;
    refreshed?;
    closed?;
    ui.event(AgentEvent::SubAgentFinished {
        id: call_id.to_owned(),
        session: name.clone(),
        stop_reason: report.stop_reason.clone(),
        requests: report.requests,
        usage: report.usage,
        cost_usd,
    });

    let answer = report.answer.trim();
    let footer = format!(
        "[cairn: sub-agent session {name}, {} request{}, {}; its whole work is stored \
         there]",
        report.requests,
        if report.requests == 1 { "" } else { "s" },
        dollars(cost_usd),
    );
    let output = match &outcome {
        Outcome::Answered if !answer.is_empty() => ToolOutput::ok(format!("{answer}\n\n{footer}")),
        Outcome::Answered => ToolOutput::error(format!(
            "the sub-agent finished without an answer.\n\n{footer}"
        )),
        Outcome::Interrupted => ToolOutput::error(with_partial(
            "interrupted: the user stopped the sub-agent",
            answer,
            &footer,
        )),
        Outcome::Failed { kind } => ToolOutput::error(with_partial(
            &format!(
                "the sub-agent failed ({kind}): {}",
                report.error.as_deref().unwrap_or("no details")
            ),
            answer,
            &footer,
        )),
        Outcome::Stopped {
            reason: StopCause::SpendingLimit,
        } => ToolOutput::error(with_partial(
            "the sub-agent was stopped: a spending limit of this session was reached",
            answer,
            &footer,
        )),
        Outcome::Stopped { reason } => ToolOutput::error(with_partial(
            &format!("the sub-agent stopped ({reason})"),
            answer,
            &footer,
        )),
        Outcome::Command | Outcome::Exit => ToolOutput::error(footer.clone()),
    };
    // The parent's next gate raises the limit the child stopped at.
    if let Some(limit) = limit {
        parent.budget.hold_limit(limit);
    }
    Ok(Delegated {
        output,
        record: Some(SubagentRecord {
            session: name,
            session_id: child_id.to_string(),
            model: model.to_string(),
            stop_reason: report.stop_reason,
            requests: report.requests,
            usage: report.usage,
            cost_usd,
            extra: serde_json::Map::new(),
        }),
    })
}

/// The child's turn, boxed: a turn runs tools, one of which runs a turn.
fn child_turn<'a>(
    child: &'a mut Agent,
    message: String,
    face: &'a mut SubagentFace<'_>,
    cancel: &'a CancellationToken,
) -> Pin<Box<dyn Future<Output = Result<Outcome, AgentError>> + Send + 'a>> {
    Box::pin(crate::turn::run(child, message, face, cancel))
}

fn with_partial(what: &str, answer: &str, footer: &str) -> String {
    if answer.is_empty() {
        format!("{what}.\n\n{footer}")
    } else {
        format!("{what}. What it had answered:\n\n{answer}\n\n{footer}")
    }
}

/// `<parent>-sub-<n>`, the parent's name cut so the whole fits the name rule.
fn child_name(parent: &SessionName, n: u64) -> Result<SessionName, Error> {
    let suffix = format!("-sub-{n}");
    let keep = MAX_NAME_CHARS.saturating_sub(suffix.len());
    // Names are ASCII (the name rule), so a byte cut is a character cut.
    let base: String = parent.as_str().chars().take(keep).collect();
    SessionName::parse(&format!("{base}{suffix}"))
}

async fn create_child(
    parent: &Agent,
    title: &str,
    model: &ModelRef,
) -> Result<Session, AgentError> {
    let first = parent.budget.subagents().count + 1;
    let mut last = None;
    // A name can be taken by another session (renamed, imported); try the next ones.
    for n in first..first + 64 {
        let mut new = NewSession::new(
            child_name(&parent.conversation.session().name, n)?,
            parent.conversation.session().project.clone(),
        );
        new.title = Some(title.to_owned()).filter(|t| !t.is_empty());
        new.model = Some(model.to_string());
        new.parent_id = Some(parent.conversation.session().id);
        match parent.store.create_session(new).await {
            Ok(session) => return Ok(session),
            Err(e @ Error::AlreadyExists { .. }) => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last
        .unwrap_or_else(|| Error::invalid("cannot find a free name for the sub-agent's session"))
        .into())
}

async fn child_agent(
    parent: &Agent,
    session: Session,
    model: ModelRef,
) -> Result<Agent, AgentError> {
    let store = parent.store.clone();
    let lease = LeaseGuard::acquire(store.clone(), &session, false).await?;
    let retention = parent.options.settings.compression.knowledge_retention;
    let live = store.live_context(session.id, retention).await?;
    let mut options = parent.options.clone();
    options.force = false;
    let mut child = Agent::new(
        store,
        options,
        Conversation::loaded(live),
        model,
        parent.toolbox.clone(),
        parent.depth + 1,
        parent.spent_since_checkpoint(),
    );
    child.lease = Some(lease);
    Ok(child)
}

/// What the face saw of the sub-agent's turn.
struct Report {
    requests: u64,
    usage: Usage,
    stop_reason: String,
    /// The text of its last answer.
    answer: String,
    error: Option<String>,
}

/// The parent's face as the sub-agent sees it: the sub-agent's work is reported
/// compactly (its tool calls, notices) rather than streamed, and its questions (run
/// this shell command?) go to the same person.
struct SubagentFace<'a> {
    parent: &'a mut dyn Frontend,
    call_id: String,
    session: String,
    requests: u64,
    usage: Usage,
    stop_reason: Option<String>,
    answer: String,
    error: Option<String>,
}

impl<'a> SubagentFace<'a> {
    fn new(parent: &'a mut dyn Frontend, call_id: &str, session: &str) -> Self {
        SubagentFace {
            parent,
            call_id: call_id.to_owned(),
            session: session.to_owned(),
            requests: 0,
            usage: Usage::default(),
            stop_reason: None,
            answer: String::new(),
            error: None,
        }
    }

    fn report(&mut self) -> Report {
        Report {
            requests: self.requests,
            usage: self.usage,
            stop_reason: self
                .stop_reason
                .take()
                .unwrap_or_else(|| "error".to_owned()),
            answer: std::mem::take(&mut self.answer),
            error: self.error.take(),
        }
    }

    fn notice(&mut self, message: &str) {
        self.parent.event(AgentEvent::Notice {
            message: format!("sub-agent {}: {message}", self.session),
        });
    }
}

#[async_trait]
impl Frontend for SubagentFace<'_> {
    fn event(&mut self, event: AgentEvent) {
        match event {
            AgentEvent::RequestStarted { .. } => {
                self.requests += 1;
                // Only the last answer is the sub-agent's result.
                self.answer.clear();
            }
            AgentEvent::TextDelta { text } => self.answer.push_str(&text),
            AgentEvent::Usage { usage, .. } => self.usage.add(&usage),
            AgentEvent::ToolUse { name, input, .. } => {
                self.parent.event(AgentEvent::SubAgentToolUse {
                    id: self.call_id.clone(),
                    session: self.session.clone(),
                    name,
                    input,
                });
            }
            AgentEvent::Notice { message } => self.notice(&message),
            AgentEvent::Retrying {
                attempt, reason, ..
            } => self.notice(&format!("retrying (attempt {attempt}): {reason}")),
            AgentEvent::Error { kind, message } => {
                self.notice(&format!("{kind}: {message}"));
                self.error = Some(message);
            }
            AgentEvent::Done { stop_reason } => self.stop_reason = Some(stop_reason),
            // Deeper sub-agents (when the depth allows them) show as they are.
            event @ (AgentEvent::SubAgentStarted { .. }
            | AgentEvent::SubAgentToolUse { .. }
            | AgentEvent::SubAgentFinished { .. }) => self.parent.event(event),
            AgentEvent::SessionOpened { .. }
            | AgentEvent::ThinkingDelta { .. }
            | AgentEvent::ToolCallStarted { .. }
            | AgentEvent::ToolResult { .. }
            | AgentEvent::Cost { .. }
            | AgentEvent::Interrupted { .. }
            | AgentEvent::CommandOutput { .. } => {}
        }
    }

    fn is_interactive(&self) -> bool {
        self.parent.is_interactive()
    }

    async fn ask(&mut self, question: &Question) -> bool {
        self.parent.ask(question).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_names_follow_the_parent_and_fit_the_rule() {
        let parent = SessionName::parse("auth-refactor").unwrap();
        assert_eq!(
            child_name(&parent, 3).unwrap().as_str(),
            "auth-refactor-sub-3"
        );
        let long = SessionName::parse(&"a".repeat(128)).unwrap();
        let name = child_name(&long, 12).unwrap();
        assert_eq!(name.as_str().len(), 128);
        assert!(name.as_str().ends_with("a-sub-12"));
    }
}
