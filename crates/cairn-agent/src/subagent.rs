//! Sub-agents: a `delegate` or `agent_<name>` call runs a task in a child session
//! with its own context (a sub-agent system prompt and the task, not the parent's
//! history), the same project root, confinement and shell approval. A named agent
//! brings its own system prompt, model, tool subset and limits (`max_turns`,
//! `max_spending`). Its final answer is the call's result (stored whole, cut for the
//! model like any tool output).
//!
//! The calls of one answer run side by side ([`run_batch`]), at most
//! `[delegation] max_parallel` at once; each child runs in a task of its own and
//! reports to the parent's face through a channel (its questions too), and the
//! parent goes on when all have answered. Results are stored in call order.
//!
//! The child is an ordinary session (`<parent>-sub-<n>`, `parent_id` set), so
//! `cairn sessions show` and `--resume` work on it. Its spend counts toward the
//! parent's spending limits: it starts with the parent's spend since the checkpoint,
//! adds what its running siblings spend, stops before a request that would pass a
//! limit, and leaves the limit to the parent's gate (which asks the person, or stops
//! a non-interactive run with exit code 4). Cancelling the turn (Ctrl+C) cancels
//! every sub-agent too.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use cairn_core::agent_def::AgentDef;
use cairn_core::display::dollars;
use cairn_core::name::MAX_NAME_CHARS;
use cairn_core::{Error, NewSession, Session, SessionName, Store, SubagentRecord, Usage};
use cairn_llm::ModelRef;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use ulid::Ulid;

use crate::agent::{Agent, Outcome, StopCause};
use crate::budget::{ChildCost, SiblingSpend};
use crate::conversation::Conversation;
use crate::lease::LeaseGuard;
use crate::spending::LimitHit;
use crate::tools::ToolOutput;
use crate::tools::agents;
use crate::tools::delegate::{Args, DELEGATE};
use crate::{AgentError, AgentEvent, Frontend, Question};

/// Characters of the task kept as the child session's title.
const TITLE_CHARS: usize = 80;

pub use crate::budget::SubagentTotals;

/// Sub-agents of `session`: its children that are not forks (a fork has a fork point),
/// in all and one by one; a child's cost includes its own sub-agents'.
pub(crate) async fn totals(
    store: &Arc<dyn Store>,
    session: Ulid,
) -> Result<(SubagentTotals, Vec<ChildCost>), AgentError> {
    let mut children = store.child_sessions(session).await?;
    children.retain(|c| c.fork_seq.is_none());
    children.sort_by_key(|c| c.created_at);
    let mut each = Vec::with_capacity(children.len());
    for child in children {
        let cost_usd = child.cost_usd + descendants_cost(store, child.id).await?;
        each.push(ChildCost {
            session: child.name.as_str().to_owned(),
            title: child.title,
            cost_usd,
        });
    }
    let totals = SubagentTotals {
        count: each.len() as u64,
        cost_usd: each.iter().map(|c| c.cost_usd).sum(),
    };
    Ok((totals, each))
}

/// Levels of sub-agents below a session whose spend is counted (a bound, not a
/// setting: it only guards against a cycle in a store written by someone else).
const MAX_COUNTED_DEPTH: usize = 16;

/// What the sub-agents below `session` cost, level by level.
async fn descendants_cost(store: &Arc<dyn Store>, session: Ulid) -> Result<f64, AgentError> {
    let mut total = 0.0;
    let mut level = vec![session];
    for _ in 0..MAX_COUNTED_DEPTH {
        let mut next = Vec::new();
        for id in level {
            for child in store.child_sessions(id).await? {
                if child.fork_seq.is_none() {
                    total += child.cost_usd;
                    next.push(child.id);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    Ok(total)
}

/// The result of a sub-agent call, and what its stored result keeps about the child.
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

/// A call that may run: its child agent, ready.
struct Planned {
    index: usize,
    call_id: String,
    /// `delegate`, or the named agent's name.
    agent_name: String,
    task_title: String,
    message: String,
    model: ModelRef,
    child: Agent,
}

/// What a child's task hands back.
struct Finished {
    index: usize,
    session: String,
    session_id: Ulid,
    agent_name: String,
    model: ModelRef,
    /// The agent's `max_turns` / `max_spending`, for the stop message.
    role: Option<Arc<AgentDef>>,
    outcome: Result<Outcome, AgentError>,
    report: Report,
    cost_usd: f64,
    title: Option<String>,
    limit: Option<LimitHit>,
    /// The store failed while closing the child.
    closing: Result<(), AgentError>,
}

/// What a child's face sends to the parent's.
enum ToParent {
    Event(AgentEvent),
    Ask(Question, oneshot::Sender<bool>),
}

/// Run the sub-agent calls `calls` (`(id, tool, input)`) of `parent`'s last answer
/// side by side, and return their results in call order. Bad input and a sub-agent
/// that fails are results the model reads; only what stops the parent too (the
/// store, a lost lease) is an `Err`, after every child has stopped.
pub(crate) async fn run_batch(
    parent: &mut Agent,
    calls: Vec<(String, String, Value)>,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> Result<Vec<Delegated>, AgentError> {
    let mut results: Vec<Option<Delegated>> = calls.iter().map(|_| None).collect();
    let siblings = SiblingSpend::new(calls.len());
    let spent_before = parent.spent_since_checkpoint();
    let mut planned = Vec::new();
    for (index, (call_id, tool, input)) in calls.into_iter().enumerate() {
        match plan(
            parent,
            index,
            call_id,
            &tool,
            &input,
            &siblings,
            spent_before,
        )
        .await?
        {
            Ok(p) => planned.push(p),
            Err(refused) => results[index] = Some(refused),
        }
    }

    let slots = Arc::new(Semaphore::new(
        parent.options.settings.delegation.max_parallel.max(1),
    ));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let interactive = ui.is_interactive();
    let mut tasks = JoinSet::new();
    let mut task_index = HashMap::new();
    for p in planned {
        let index = p.index;
        let handle = tasks.spawn(run_child(
            p,
            tx.clone(),
            interactive,
            slots.clone(),
            cancel.clone(),
        ));
        task_index.insert(handle.id(), index);
    }
    drop(tx);

    // The parent's face serves every child until all have answered; a question
    // holds only the child that asked (the others run on in their tasks).
    let mut finished = Vec::new();
    loop {
        tokio::select! {
            Some(message) = rx.recv() => deliver(ui, message).await,
            joined = tasks.join_next_with_id() => match joined {
                None => break,
                Some(Ok((_, done))) => finished.push(done),
                Some(Err(e)) => {
                    if let Some(index) = task_index.get(&e.id()) {
                        results[*index] = Some(Delegated::refused(format!(
                            "the sub-agent stopped unexpectedly: {e}"
                        )));
                    }
                }
            },
        }
    }
    while let Ok(message) = rx.try_recv() {
        deliver(ui, message).await;
    }

    let mut failure = None;
    finished.sort_by_key(|f| f.index);
    for done in finished {
        // Whatever happened, the parent's totals and limits follow what the child spent.
        parent.budget.subagent_spent(ChildCost {
            session: done.session.clone(),
            title: done.title.clone(),
            cost_usd: done.cost_usd,
        });
        if let Some(limit) = done.limit {
            // The parent's next gate raises the limit the child stopped at.
            parent.budget.hold_limit(limit);
        }
        let index = done.index;
        match result_of(done) {
            Ok(delegated) => results[index] = Some(delegated),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Delegated::refused("the sub-agent did not run")))
        .collect())
}

async fn deliver(ui: &mut dyn Frontend, message: ToParent) {
    match message {
        ToParent::Event(event) => ui.event(event),
        ToParent::Ask(question, reply) => {
            let answer = ui.ask(&question).await;
            let _ = reply.send(answer);
        }
    }
}

/// Check a call and set its child up (session created, lease taken); `Ok(Err(_))` is
/// a refusal the model reads.
async fn plan(
    parent: &mut Agent,
    index: usize,
    call_id: String,
    tool: &str,
    input: &Value,
    siblings: &SiblingSpend,
    spent_before: f64,
) -> Result<Result<Planned, Delegated>, AgentError> {
    if let Some(refusal) = crate::toolset::refusal(parent, tool) {
        return Ok(Err(Delegated::refused(refusal)));
    }
    let role = if tool == DELEGATE {
        None
    } else {
        match agents::find(&parent.options.settings, tool) {
            Some(def) => Some(Arc::new(def)),
            None => {
                return Ok(Err(Delegated::refused(format!(
                    "unknown agent tool {tool:?}"
                ))));
            }
        }
    };
    let args = match Args::parse_as(tool, input) {
        Ok(args) => args,
        Err(message) => return Ok(Err(Delegated::refused(message))),
    };
    // A named agent's model comes from its definition; `delegate` may name one.
    let asked = match &role {
        Some(role) => role.model.clone(),
        None => args.model.clone(),
    };
    let model = match asked.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        None => parent.model.clone(),
        Some(name) => match parent.options.llm.resolve(name) {
            Ok(model) => model,
            Err(e) => {
                return Ok(Err(Delegated::refused(format!(
                    "{tool}: model {name:?} cannot be used ({e}); {}",
                    if role.is_some() {
                        "fix the agent's model in config.toml".to_owned()
                    } else {
                        format!("leave model out to use {}", parent.model)
                    }
                ))));
            }
        },
    };
    let task_title = crate::resume::shorten(args.task.trim(), TITLE_CHARS);
    let session = create_child(parent, &task_title, &model).await?;
    parent.budget.subagent_started();
    let mut child = child_agent(parent, session, model.clone(), spent_before).await?;
    child.budget.run_beside(siblings.member(index));
    if let Some(role) = &role {
        if let Some(turns) = role.max_turns {
            child.max_requests = (turns as usize).min(crate::turn::MAX_REQUESTS_PER_TURN);
        }
        child.role = Some(role.clone());
    }
    Ok(Ok(Planned {
        index,
        call_id,
        agent_name: role
            .as_ref()
            .map_or_else(|| DELEGATE.to_owned(), |r| r.name.clone()),
        task_title,
        message: args.message(),
        model,
        child,
    }))
}

/// One child, in its own task: wait for a slot, run its turn, close it.
async fn run_child(
    planned: Planned,
    to_parent: mpsc::UnboundedSender<ToParent>,
    interactive: bool,
    slots: Arc<Semaphore>,
    cancel: CancellationToken,
) -> Finished {
    let Planned {
        index,
        call_id,
        agent_name,
        task_title,
        message,
        model,
        mut child,
    } = planned;
    let session = child.conversation.session().name.as_str().to_owned();
    let mut face = SubagentFace::new(to_parent, interactive, &call_id, &session);
    let permit = tokio::select! {
        permit = slots.acquire_owned() => permit.ok(),
        _ = cancel.cancelled() => None,
    };
    let outcome = match permit {
        Some(_permit) => {
            face.send(AgentEvent::SubAgentStarted {
                id: call_id.clone(),
                session: session.clone(),
                agent: agent_name.clone(),
                model: model.to_string(),
                task: task_title,
            });
            let outcome = child_turn(&mut child, message, &mut face, &cancel).await;
            drop(_permit);
            outcome
        }
        // Cancelled while waiting for a slot: it never started.
        None => {
            face.stop_reason = Some("interrupted".to_owned());
            Ok(Outcome::Interrupted)
        }
    };
    let report = face.report();
    let refreshed = child.refresh_session().await;
    let cost_usd = child.budget.own_spend(child.conversation.session());
    let title = child.conversation.session().title.clone();
    let limit = child.budget.take_limit();
    let session_id = child.conversation.session().id;
    let role = child.role.clone();
    let closing = child.close().await;
    face.send(AgentEvent::SubAgentFinished {
        id: call_id,
        session: session.clone(),
        stop_reason: report.stop_reason.clone(),
        requests: report.requests,
        usage: report.usage,
        cost_usd,
    });
    Finished {
        index,
        session,
        session_id,
        agent_name,
        model,
        role,
        outcome,
        report,
        cost_usd,
        title,
        limit,
        closing: refreshed.and(closing),
    }
}

/// The call's result from what its child did.
fn result_of(done: Finished) -> Result<Delegated, AgentError> {
    let Finished {
        session: name,
        session_id,
        agent_name,
        model,
        role,
        outcome,
        report,
        cost_usd,
        closing,
        ..
    } = done;
    let outcome = outcome?;
    closing?;
    let answer = report.answer.trim();
    let who = if agent_name == DELEGATE {
        "sub-agent".to_owned()
    } else {
        format!("{agent_name} agent")
    };
    let footer = format!(
        "[cairn: {who} session {name}, {} request{}, {}; its whole work is stored there]",
        report.requests,
        if report.requests == 1 { "" } else { "s" },
        dollars(cost_usd),
    );
    let output = match &outcome {
        Outcome::Answered if !answer.is_empty() => ToolOutput::ok(format!(
            "{answer}

{footer}"
        )),
        Outcome::Answered => ToolOutput::error(format!(
            "the {who} finished without an answer.

{footer}"
        )),
        Outcome::Interrupted => ToolOutput::error(with_partial(
            &format!("interrupted: the user stopped the {who}"),
            answer,
            &footer,
        )),
        Outcome::Failed { kind } => ToolOutput::error(with_partial(
            &format!(
                "the {who} failed ({kind}): {}",
                report.error.as_deref().unwrap_or("no details")
            ),
            answer,
            &footer,
        )),
        Outcome::Stopped {
            reason: StopCause::SpendingLimit,
        } => ToolOutput::error(with_partial(
            &format!("the {who} was stopped: a spending limit of this session was reached"),
            answer,
            &footer,
        )),
        Outcome::Stopped {
            reason: StopCause::MaxTurns,
        } => ToolOutput::error(with_partial(
            &format!(
                "the {who} was stopped: it made its max_turns of {} requests without \
                 finishing",
                role.as_ref().and_then(|r| r.max_turns).unwrap_or_default()
            ),
            answer,
            &footer,
        )),
        Outcome::Stopped {
            reason: StopCause::MaxSpending,
        } => ToolOutput::error(with_partial(
            &format!(
                "the {who} was stopped: it spent {} of its max_spending of {}",
                dollars(cost_usd),
                dollars(
                    role.as_ref()
                        .and_then(|r| r.max_spending)
                        .unwrap_or_default()
                )
            ),
            answer,
            &footer,
        )),
        Outcome::Stopped { reason } => ToolOutput::error(with_partial(
            &format!("the {who} stopped ({reason})"),
            answer,
            &footer,
        )),
        Outcome::Command | Outcome::Exit => ToolOutput::error(footer.clone()),
    };
    let mut extra = serde_json::Map::new();
    if agent_name != DELEGATE {
        extra.insert("agent".to_owned(), Value::String(agent_name));
    }
    Ok(Delegated {
        output,
        record: Some(SubagentRecord {
            session: name,
            session_id: session_id.to_string(),
            model: model.to_string(),
            stop_reason: report.stop_reason,
            requests: report.requests,
            usage: report.usage,
            cost_usd,
            extra,
        }),
    })
}

/// A named agent's `max_spending`, checked before each of its requests: `Some` when
/// the call has spent it (the turn stops with this outcome).
pub(crate) fn over_call_limit(agent: &Agent, ui: &mut dyn Frontend) -> Option<Outcome> {
    let role = agent.role.as_ref()?;
    let limit = role.max_spending?;
    let spent = agent.budget.own_spend(agent.conversation.session());
    if spent < limit {
        return None;
    }
    ui.event(AgentEvent::Notice {
        message: format!(
            "agent {} stopped: it spent {} of its max_spending of {}",
            role.name,
            dollars(spent),
            dollars(limit)
        ),
    });
    ui.event(AgentEvent::Done {
        stop_reason: StopCause::MaxSpending.as_str().to_owned(),
    });
    Some(Outcome::Stopped {
        reason: StopCause::MaxSpending,
    })
}

/// The child's turn, boxed: a turn runs tools, one of which runs a turn.
fn child_turn<'a>(
    child: &'a mut Agent,
    message: String,
    face: &'a mut SubagentFace,
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
    spent_before: f64,
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
        spent_before,
    );
    child.lease = Some(lease);
    child.mcp = parent.mcp.clone();
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
/// this shell command?) go to the same person, through the parent's task.
struct SubagentFace {
    to_parent: mpsc::UnboundedSender<ToParent>,
    interactive: bool,
    call_id: String,
    session: String,
    requests: u64,
    usage: Usage,
    stop_reason: Option<String>,
    answer: String,
    error: Option<String>,
}

impl SubagentFace {
    fn new(
        to_parent: mpsc::UnboundedSender<ToParent>,
        interactive: bool,
        call_id: &str,
        session: &str,
    ) -> Self {
        SubagentFace {
            to_parent,
            interactive,
            call_id: call_id.to_owned(),
            session: session.to_owned(),
            requests: 0,
            usage: Usage::default(),
            stop_reason: None,
            answer: String::new(),
            error: None,
        }
    }

    /// To the parent's face; when the parent is gone there is nobody to tell.
    fn send(&self, event: AgentEvent) {
        let _ = self.to_parent.send(ToParent::Event(event));
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
        self.send(AgentEvent::Notice {
            message: format!("sub-agent {}: {message}", self.session),
        });
    }
}

#[async_trait]
impl Frontend for SubagentFace {
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
                self.send(AgentEvent::SubAgentToolUse {
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
            | AgentEvent::SubAgentFinished { .. }) => self.send(event),
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
        self.interactive
    }

    async fn ask(&mut self, question: &Question) -> bool {
        let (reply, answer) = oneshot::channel();
        if self
            .to_parent
            .send(ToParent::Ask(question.clone(), reply))
            .is_err()
        {
            return false;
        }
        answer.await.unwrap_or(false)
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
