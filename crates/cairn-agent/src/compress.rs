//! Context compression in the engine: keeping the live context under the pressure
//! levels of `[compression]`, and the shared pipeline behind `/summarize`, `/done`
//! and `/run` commands with `output = "replace"`.
//!
//! The decisions are cairn-core's (`cairn_core::compression`): this module measures,
//! asks the compressor model, falls back to the extractive summary when the model
//! cannot help, and applies the result as events. Applying only appends (a
//! `compaction` event, then one `knowledge` event per new item), so the history keeps
//! every event (invariant 2).

use cairn_core::compression::fallback::FallbackOutcome;
use cairn_core::compression::summary::compaction_from_summary;
use cairn_core::compression::{
    CompactionDraft, CompressionPlan, ContextMeasure, Hint, HintState, PressureHit, PromptLimits,
    StructuredSummary, SummaryRejected, check_summary, effective_levels, extractive_fallback,
    manual_target, next_hint, plan_all, plan_to_target, pressure, summary_request,
};
use cairn_core::display::grouped;
use cairn_core::knowledge::KnowledgeRecord;
use cairn_core::live_messages::retained_knowledge;
use cairn_core::run_commands::{check_command, commands_with_defaults};
use cairn_core::settings::{PressureLevel, Settings};
use cairn_core::store::SessionUpdate;
use cairn_core::tokens::{self, TokenCounter};
use cairn_core::{Event, KnowledgeItem, LiveContext, Payload, Usage};
use cairn_llm::{ChatRequest, ChatResponse, ModelRef};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;
use ulid::Ulid;

use crate::agent::Agent;
use crate::{AgentError, AgentEvent, Frontend, spending};

/// Window assumed for a model whose window is not known (prompt limits only).
const UNKNOWN_WINDOW: u64 = cairn_core::compression::triggers::DEFAULT_CONTEXT_WINDOW;

/// What the engine keeps between turns to manage one session's context: the token
/// counter and pressure levels of the current model, the hints already shown, and the
/// size of the live context event by event (so planning never recounts it).
#[derive(Debug, Default)]
pub struct ContextState {
    /// The session and model the figures below belong to.
    session: Option<Ulid>,
    model: Option<ModelRef>,
    counter: Option<TokenCounter>,
    levels: Vec<PressureLevel>,
    window: Option<u64>,
    hints: HintState,
    /// `hints` was read from the live context's `hint` events (once per session, so a
    /// resumed session does not show a hint it already showed).
    hints_loaded: bool,
    measure: Option<ContextMeasure>,
    /// The knowledge block changed (remember, forget): measure again.
    stale: bool,
    /// Highest seq of the live context when the last turn was accounted for; an answer
    /// with a higher seq is a request this process has not counted yet.
    accounted_seq: u64,
    /// An automatic compression could not bring the context under the lowest level
    /// (knowledge and the turn in flight fill it): do not try again, and pay for
    /// another summary, until the context has grown past this size.
    retry_above: Option<u64>,
    /// The same, for a compression inside a turn: the turn's latest tool calls and
    /// results had to stay, so it may not reach the target. This holds only until the
    /// turn ends; after it those results can be summarized too.
    turn_retry_above: Option<u64>,
    /// The first request of this session in this process went without an exact count
    /// (see [`before_request`]); every later one is counted.
    first_count_deferred: bool,
}

/// Check `[compression]` and `[[commands]]` before a session is opened, so a bad
/// level or template is reported at once (the error names the key and the rule).
pub fn check_settings(settings: &Settings) -> Result<(), cairn_core::Error> {
    effective_levels(&settings.compression, None)?;
    for command in commands_with_defaults(&settings.commands) {
        check_command(&command)?;
    }
    Ok(())
}

impl ContextState {
    /// Bring the figures up to date with the agent's session and model; a new session
    /// starts a new cycle of hints, a new model a new count.
    fn sync(
        &mut self,
        session: Ulid,
        model: &ModelRef,
        settings: &Settings,
    ) -> Result<(), AgentError> {
        if self.session != Some(session) {
            *self = ContextState {
                session: Some(session),
                ..ContextState::default()
            };
        }
        if self.counter.is_none() || self.model.as_ref() != Some(model) {
            let counter = model.token_counter();
            tokens::warm_up(counter);
            self.window = model.context_window();
            self.levels = effective_levels(&settings.compression, self.window)?;
            self.counter = Some(counter);
            self.model = Some(model.clone());
            self.measure = None;
        }
        Ok(())
    }

    fn counter(&self) -> TokenCounter {
        self.counter.unwrap_or_else(TokenCounter::estimate)
    }

    /// How exact the last measure is (`None` before the first).
    pub(crate) fn accuracy(&self) -> Option<tokens::Accuracy> {
        self.measure.as_ref().map(|m| m.accuracy)
    }

    /// The knowledge block or the live context changed behind the measure's back.
    pub(crate) fn invalidate(&mut self) {
        self.stale = true;
    }

    /// The levels in force for the current model (sorted by threshold).
    pub fn levels(&self) -> &[PressureLevel] {
        &self.levels
    }
}

/// Measure the live context, or bring the measure up to date with the events added
/// since; the fixed part (system prompt, tools) learnt from the provider is kept.
fn measure_now<'a>(state: &'a mut ContextState, live: &LiveContext) -> &'a mut ContextMeasure {
    let counter = state.counter();
    let usable = !state.stale
        && state.measure.as_ref().is_some_and(|m| {
            m.events.len() <= live.events.len()
                && m.events
                    .iter()
                    .zip(&live.events)
                    .all(|(m, e)| m.seq == e.seq)
        });
    if !usable {
        let fixed = state.measure.as_ref().map_or(0, |m| m.fixed_tokens);
        let mut fresh = ContextMeasure::measure(&counter, live);
        fresh.fixed_tokens = fixed;
        state.measure = Some(fresh);
        state.stale = false;
    }
    let measure = state
        .measure
        .get_or_insert_with(|| ContextMeasure::measure(&counter, live));
    for event in &live.events[measure.events.len()..] {
        measure.push(&counter, event);
    }
    measure
}

/// Learn the fixed part of the prompt (system prompt, tool schemas) from the provider's
/// figure for the newest request not accounted for yet, if it reported one. Returns
/// true when it did (the request's figure then describes the context it carried).
fn calibrate_from_last_request(agent: &mut Agent) -> bool {
    let accounted = agent.context.accounted_seq;
    // The newest request, if its answer is newer than what was last accounted for. (An
    // older `last_request` may point into a context that has been compressed since;
    // its figure no longer describes anything.)
    let fresh = agent.last_request.as_ref().and_then(|r| {
        let answer = agent
            .conversation
            .live()
            .events
            .get(r.events_before_answer)?;
        (answer.seq > accounted).then(|| (r.events_before_answer, tokens::prompt_tokens(&r.usage)))
    });
    let measure = measure_now(&mut agent.context, agent.conversation.live());
    match fresh {
        Some((sent, reported)) if reported > 0 => {
            let sent_tokens: u64 = measure.events[..sent.min(measure.events.len())]
                .iter()
                .map(|e| e.tokens)
                .sum();
            measure.fixed_tokens = reported.saturating_sub(measure.preamble_tokens + sent_tokens);
            true
        }
        _ => false,
    }
}

/// Compress under pressure; when even that leaves the context above the lowest level
/// (knowledge and the turn in flight fill it), wait for a tenth more growth before
/// paying for another summary.
async fn relieve_pressure(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    hit: PressureHit,
    cancel: &CancellationToken,
    in_turn: bool,
) -> Result<Relieved, AgentError> {
    let live_tokens = hit.live_tokens;
    let lowest = agent
        .context
        .levels
        .first()
        .map_or(u64::MAX, |l| l.threshold);
    let after = match compress(agent, ui, Mode::Pressure(hit), cancel).await? {
        Compression::Applied(applied) => applied.draft.tokens_after,
        Compression::NotApplied { .. } => live_tokens,
        Compression::Cancelled => return Ok(Relieved::Cancelled),
    };
    let retry_above = (after >= lowest).then(|| after + after / 10);
    if in_turn {
        agent.context.turn_retry_above = retry_above;
    } else {
        agent.context.retry_above = retry_above;
    }
    Ok(Relieved::Done)
}

enum Relieved {
    /// Compressed, or tried to (what happened was reported).
    Done,
    Cancelled,
}

/// Called at the end of every turn (and after `/run`), once `after_turn` has stored the
/// live-context size: learn the fixed part of the prompt from the provider's figure,
/// compress when a pressure level is reached, otherwise show a hint when the context
/// nears the next level.
pub(crate) async fn after_turn(agent: &mut Agent, ui: &mut dyn Frontend) -> Result<(), AgentError> {
    let settings = agent.options.settings.clone();
    agent
        .context
        .sync(agent.conversation.session().id, &agent.model, &settings)?;
    // With a fresh provider figure, `after_turn` stored it plus what came after it.
    let live_tokens = if calibrate_from_last_request(agent) {
        agent.conversation.session().live_tokens
    } else {
        measure_now(&mut agent.context, agent.conversation.live()).total()
    };
    store_live_tokens(agent, live_tokens).await?;
    agent.context.accounted_seq = agent.conversation.live().events.last().map_or(0, |e| e.seq);
    // The turn is over: what its tool calls kept verbatim may be summarized now.
    agent.context.turn_retry_above = None;

    let waiting = agent
        .context
        .retry_above
        .is_some_and(|above| live_tokens < above);
    if let Some(hit) = pressure(live_tokens, &agent.context.levels).filter(|_| !waiting) {
        // Between turns there is nothing to interrupt: the face's token belongs to the
        // turn that just ended.
        relieve_pressure(agent, ui, hit, &CancellationToken::new(), false).await?;
        return Ok(());
    }
    if !agent.context.hints_loaded {
        agent.context.hints = hints_shown(agent.conversation.live());
        agent.context.hints_loaded = true;
    }
    let hint = next_hint(
        live_tokens,
        &agent.context.levels,
        settings.compression.hints_enabled,
        &agent.context.hints,
    );
    if let Some(hint) = hint {
        agent.context.hints.record(&hint);
        // Stored, so a resumed session knows it was shown (see `hints_shown`).
        let mut fields = Map::new();
        fields.insert("threshold".into(), Value::from(hint.threshold));
        fields.insert("live_tokens".into(), Value::from(hint.live_tokens));
        agent
            .append(vec![Payload::Other {
                kind: HINT_EVENT.into(),
                fields,
            }])
            .await?;
        ui.event(AgentEvent::Notice { message: hint.text });
    }
    Ok(())
}

/// The kind of the event that records a hint shown.
const HINT_EVENT: &str = "hint";

/// The hints shown since the latest compaction, which starts a new cycle: the `hint`
/// events appended after it. (Its verbatim tail may hold older ones.)
fn hints_shown(live: &LiveContext) -> HintState {
    let cycle_start = live.compaction.as_ref().map_or(0, |c| c.seq);
    let mut state = HintState::default();
    for event in live.events.iter().filter(|e| e.seq > cycle_start) {
        if let Payload::Other { kind, fields } = &event.payload
            && kind == HINT_EVENT
            && let Some(threshold) = fields.get("threshold").and_then(Value::as_u64)
        {
            state.record(&Hint {
                threshold,
                live_tokens: fields
                    .get("live_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or_default(),
                text: String::new(),
            });
        }
    }
    state
}

/// What the turn does after [`before_request`].
pub(crate) enum BeforeRequest {
    /// Build the request and send it.
    Send,
    /// The person interrupted the compressor; nothing was changed.
    Cancelled,
}

/// Called before every request of a turn, the first and each one after tool results:
/// a turn that reads many large files can outgrow the window before it ends, so the
/// pressure levels are checked here too. When one is reached (or the window itself),
/// the live context is compressed the same way as between turns; the plan's verbatim
/// tail keeps the turn's latest tool calls with their results, so the loop goes on
/// with a smaller context.
pub(crate) async fn before_request(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> Result<BeforeRequest, AgentError> {
    let settings = agent.options.settings.clone();
    agent
        .context
        .sync(agent.conversation.session().id, &agent.model, &settings)?;
    if defer_first_count(agent) {
        return Ok(BeforeRequest::Send);
    }
    calibrate_from_last_request(agent);
    let live_tokens = measure_now(&mut agent.context, agent.conversation.live()).total();
    let over_window = agent.context.window.is_some_and(|w| live_tokens >= w);
    let waiting = [agent.context.retry_above, agent.context.turn_retry_above]
        .iter()
        .flatten()
        .any(|&above| live_tokens < above);
    let hit = pressure(live_tokens, &agent.context.levels)
        .filter(|_| !waiting || over_window)
        .or_else(|| {
            over_window
                .then(|| window_hit(agent, live_tokens))
                .flatten()
        });
    let Some(hit) = hit else {
        return Ok(BeforeRequest::Send);
    };
    match relieve_pressure(agent, ui, hit, cancel, true).await? {
        Relieved::Done => Ok(BeforeRequest::Send),
        Relieved::Cancelled => Ok(BeforeRequest::Cancelled),
    }
}

/// Whether the first request of a resumed session may go before the exact count.
/// Loading an OpenAI tokenizer and counting a large context takes about a tenth of a
/// second, all of it before the first byte reaches the provider. When a bound made
/// without the tokenizer shows the request is far inside the window, it goes at once
/// and the count (which the tokenizer, loading meanwhile, makes cheap) happens when
/// the answer is in: a pressure level reached is then relieved after this first
/// request instead of before it. Once per session and process.
fn defer_first_count(agent: &mut Agent) -> bool {
    let state = &mut agent.context;
    if state.first_count_deferred || state.measure.is_some() {
        return false;
    }
    state.first_count_deferred = true;
    let Some(window) = state.window else {
        return false;
    };
    state.counter().accuracy() == tokens::Accuracy::Exact
        && FIXED_PART_ALLOWANCE + ContextMeasure::bound(agent.conversation.live()) < window / 10 * 9
}

/// Room left for the system prompt and tool schemas when the live context is bounded
/// before they are known.
const FIXED_PART_ALLOWANCE: u64 = 32_000;

/// A context past the window but under every level (levels set above the window):
/// compress to the top level's ratio anyway, the provider would refuse it.
fn window_hit(agent: &Agent, live_tokens: u64) -> Option<PressureHit> {
    let levels = &agent.context.levels;
    let level = levels.last()?.clone();
    Some(PressureHit {
        level_index: levels.len() - 1,
        target_tokens: manual_target(live_tokens, levels),
        level,
        live_tokens,
    })
}

/// `Some(message)` when `request` is larger than the model's window (when known):
/// sending it would only be refused. The measure counts tool outputs whole while the
/// request carries them cut, so the request itself is counted only when the measure
/// comes near the window.
pub(crate) fn window_overflow(agent: &Agent, request: &ChatRequest) -> Option<String> {
    let window = agent.model.context_window()?;
    let measured = match agent.context.measure.as_ref() {
        Some(measure) => measure.total(),
        // Not counted yet (see `defer_first_count`): bound the request itself.
        None => crate::request::token_bound(request),
    };
    if measured < window / 10 * 9 {
        return None;
    }
    let counter = agent.context.counter();
    let sent = crate::request::count(&counter, request);
    if sent < window {
        return None;
    }
    let estimated = if counter.accuracy() == tokens::Accuracy::Exact {
        ""
    } else {
        " (estimated)"
    };
    Some(format!(
        "the next request would carry {} tokens{estimated}, more than the {} tokens of \
         {}'s window, even after compressing the context; it was not sent. Nothing was \
         lost: the session keeps every event. Switch to a model with a larger window \
         (/model), or let /run reduce rewrite the context, then send a message to go on",
        grouped(sent),
        grouped(window),
        agent.model
    ))
}

async fn store_live_tokens(agent: &mut Agent, live_tokens: u64) -> Result<(), AgentError> {
    if agent.conversation.session().live_tokens != live_tokens {
        agent
            .update_session(SessionUpdate {
                live_tokens: Some(live_tokens),
                ..Default::default()
            })
            .await?;
    }
    Ok(())
}

/// Bring the context state up to date and return the live context's size now (for
/// commands, which run between turns).
pub(crate) fn current_tokens(agent: &mut Agent) -> Result<u64, AgentError> {
    let settings = agent.options.settings.clone();
    agent
        .context
        .sync(agent.conversation.session().id, &agent.model, &settings)?;
    Ok(measure_now(&mut agent.context, agent.conversation.live()).total())
}

/// Load the live context again from the store (after knowledge changed or a
/// compaction was appended) and measure it anew.
pub(crate) async fn reload_live(agent: &mut Agent) -> Result<(), AgentError> {
    let retention = agent.options.settings.compression.knowledge_retention;
    let live = agent
        .store
        .live_context(agent.conversation.session().id, retention)
        .await?;
    agent.conversation.set_live(live);
    agent.context.invalidate();
    Ok(())
}

/// Why a compression runs.
#[derive(Clone, Debug)]
pub(crate) enum Mode<'a> {
    /// A pressure level was reached after a turn.
    Pressure(PressureHit),
    /// `/summarize [FOCUS]`.
    Summarize { focus: Option<&'a str> },
    /// `/done [NOTE]`: the whole live context, no verbatim tail.
    Done,
}

impl Mode<'_> {
    fn focus(&self) -> Option<&str> {
        match self {
            Mode::Summarize { focus } => *focus,
            _ => None,
        }
    }
}

/// A compaction that was appended.
#[derive(Clone, Debug)]
pub(crate) struct Applied {
    pub seq: u64,
    pub draft: CompactionDraft,
    /// The model's checked summary, when it gave one (even if the extractive
    /// fallback made the compaction because that summary did not shrink the context).
    pub summary: Option<StructuredSummary>,
    /// The live events the compaction replaced.
    pub covered: Vec<Event>,
    /// One line for the person.
    pub message: String,
}

/// The result of a compression.
#[derive(Clone, Debug)]
pub(crate) enum Compression {
    Applied(Box<Applied>),
    /// Nothing was appended. `reason` says why, for the person; `summary` is the
    /// model's checked summary when there was one (a summary that does not shrink a
    /// small context is still a good record for `/done`).
    NotApplied {
        reason: String,
        summary: Option<Box<StructuredSummary>>,
    },
    /// The person interrupted the compressor (the face's cancel token): nothing was
    /// appended, the live context is as it was.
    Cancelled,
}

/// The compressor's answer, or why there is none.
enum Answer {
    Summary {
        summary: StructuredSummary,
        spent: Spent,
    },
    /// No usable summary (`why`); `spent` when a model answered anyway.
    Failed { why: String, spent: Option<Spent> },
    /// Interrupted before the answer arrived.
    Cancelled,
}

/// What a request to a model cost, to record on the event that results from it.
#[derive(Clone, Debug)]
pub(crate) struct Spent {
    pub model: String,
    pub usage: Usage,
    pub cost_usd: f64,
    pub request_id: Option<String>,
}

/// Compress the live context as `mode` asks, report what happened, and apply the
/// compaction when there is one. Provider trouble never fails: the extractive
/// fallback takes over, and when even that cannot reach the target nothing changes.
/// Cancelling `cancel` while the compressor works leaves everything as it was.
pub(crate) async fn compress(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    mode: Mode<'_>,
    cancel: &CancellationToken,
) -> Result<Compression, AgentError> {
    if cancel.is_cancelled() {
        return Ok(Compression::Cancelled);
    }
    let tokens_now = current_tokens(agent)?;
    let levels = agent.context.levels.clone();
    let target = match &mode {
        Mode::Pressure(hit) => hit.target_tokens,
        Mode::Summarize { .. } | Mode::Done => manual_target(tokens_now, &levels),
    };
    let automatic = matches!(mode, Mode::Pressure(_));
    let plan = {
        let measure = measure_now(&mut agent.context, agent.conversation.live());
        let planned = match mode {
            Mode::Done => plan_all(agent.conversation.live(), measure, target),
            _ => plan_to_target(agent.conversation.live(), measure, target),
        };
        match planned {
            Ok(plan) => plan,
            Err(no) => {
                return Ok(Compression::NotApplied {
                    reason: format!("nothing to compress: {}", no.reason),
                    summary: None,
                });
            }
        }
    };
    let kept = retained_knowledge(agent.conversation.live());
    let retention = agent.options.settings.compression.knowledge_retention;
    let counter = agent.context.counter();
    let focus = mode.focus().map(str::to_owned);
    let why_now = match &mode {
        Mode::Pressure(hit) => format!(
            "the live context reached {} tokens, threshold {}",
            grouped(hit.live_tokens),
            grouped(hit.level.threshold)
        ),
        Mode::Summarize { .. } => "/summarize".to_owned(),
        Mode::Done => "/done".to_owned(),
    };

    let answer =
        ask_compressor(agent, ui, &plan, &kept, focus.as_deref(), &why_now, cancel).await?;
    // The model's summary when it was well formed; the draft to apply, if any; why
    // the fallback ran, if it did.
    // Whether the model's summary was refused only for being larger than what it
    // replaces: the context is already small.
    let mut already_small = false;
    let (summary, spent, draft, fallback_why) = match answer {
        Answer::Summary { summary, spent } => {
            match compaction_from_summary(
                &plan,
                &summary,
                &kept,
                retention,
                &counter,
                focus.as_deref(),
            ) {
                Ok(draft) => (Some(summary), Some(spent), Ok(draft), None),
                Err(rejected) => {
                    already_small = matches!(rejected, SummaryRejected::NoGain { .. });
                    let why = rejected.to_string();
                    let outcome = extractive_fallback(
                        agent.conversation.live(),
                        &plan,
                        &kept,
                        retention,
                        &counter,
                        &why,
                    );
                    (
                        Some(summary),
                        Some(spent),
                        fallback_draft(outcome),
                        Some(why),
                    )
                }
            }
        }
        Answer::Failed { why, spent } => {
            let outcome = extractive_fallback(
                agent.conversation.live(),
                &plan,
                &kept,
                retention,
                &counter,
                &why,
            );
            (None, spent, fallback_draft(outcome), Some(why))
        }
        Answer::Cancelled => return Ok(Compression::Cancelled),
    };
    let mut draft = match draft {
        Ok(draft) => draft,
        Err(_) if already_small => {
            let reason = format!(
                "the context was not compressed ({why_now}): at {} tokens it is already \
                 smaller than a summary of it",
                grouped(plan.tokens_before)
            );
            if let Some(spent) = &spent {
                record_spend_without_compaction(agent, spent, &reason).await?;
            }
            return Ok(Compression::NotApplied {
                reason,
                summary: summary.map(Box::new),
            });
        }
        Err(unreachable) => {
            let reason = format!(
                "the context was not compressed ({why_now}): {}{unreachable}. Nothing was \
                 changed; /run reduce or a model with a larger window may help",
                fallback_why
                    .as_deref()
                    .map(|w| format!("{w}; and cairn's extractive summary fails too: "))
                    .unwrap_or_default(),
            );
            if let Some(spent) = &spent {
                record_spend_without_compaction(agent, spent, &reason).await?;
            }
            if automatic {
                ui.event(AgentEvent::Error {
                    kind: "compression".into(),
                    message: reason.clone(),
                });
            }
            return Ok(Compression::NotApplied {
                reason,
                summary: summary.map(Box::new),
            });
        }
    };
    if let Some(spent) = &spent {
        draft.record_compressor(
            &spent.model,
            &spent.usage,
            Some(spent.cost_usd),
            spent.request_id.as_deref(),
        );
    }
    let covered = plan.prefix(agent.conversation.live()).to_vec();
    let method = match (&fallback_why, &spent) {
        (None, Some(s)) => format!("summarized by {}", s.model),
        (Some(why), _) => format!("replaced by cairn's extractive summary, as {why}"),
        (None, None) => "replaced by cairn's extractive summary".to_owned(),
    };
    let [first, last] = draft.compaction.replaces;
    let mut message = format!(
        "compressed the live context ({why_now}): {} → {} tokens; events #{first}–#{last} \
         {method}; {} new knowledge item{}; the history keeps every event",
        grouped(draft.compaction.tokens_before),
        grouped(draft.tokens_after),
        draft.new_knowledge.len(),
        if draft.new_knowledge.len() == 1 {
            ""
        } else {
            "s"
        },
    );
    if !draft.reached_target {
        message.push_str(&format!(
            ". The target of {} tokens was not reached: the turn in progress and the \
             knowledge take most of the room",
            grouped(plan.target_tokens)
        ));
    }
    let seq = apply(agent, draft.clone()).await?;
    if automatic {
        ui.event(AgentEvent::Notice {
            message: message.clone(),
        });
    }
    Ok(Compression::Applied(Box::new(Applied {
        seq,
        draft,
        summary,
        covered,
        message,
    })))
}

fn fallback_draft(outcome: FallbackOutcome) -> Result<CompactionDraft, String> {
    match outcome {
        FallbackOutcome::Reached(draft) => Ok(draft),
        FallbackOutcome::Unreachable { reason, .. } => Err(reason),
    }
}

/// The model that writes summaries: `[compression] model` when it can be used, else
/// the session's.
fn compressor_model(agent: &Agent, ui: &mut dyn Frontend) -> ModelRef {
    match agent.options.settings.compression.model.as_deref() {
        Some(name) => match agent.options.llm.resolve(name) {
            Ok(model) => model,
            Err(e) => {
                ui.event(AgentEvent::Notice {
                    message: format!(
                        "[compression] model {name:?} cannot be used ({e}); summarizing with {}",
                        agent.model
                    ),
                });
                agent.model.clone()
            }
        },
        None => agent.model.clone(),
    }
}

async fn ask_compressor(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    plan: &CompressionPlan,
    kept: &[KnowledgeRecord],
    focus: Option<&str>,
    why_now: &str,
    cancel: &CancellationToken,
) -> Result<Answer, AgentError> {
    // The compressor's cost counts toward the limits: past one, no money is spent.
    if let Some(hit) = spending::check(
        &agent.options.settings,
        agent.spent_since_checkpoint(),
        None,
    ) {
        return Ok(Answer::Failed {
            why: format!("{} reached; no request was sent", hit.kind.setting()),
            spent: None,
        });
    }
    let model = compressor_model(agent, ui);
    let window = model.context_window().unwrap_or(UNKNOWN_WINDOW);
    let request = summary_request(
        agent.conversation.live(),
        plan,
        kept,
        focus,
        &PromptLimits::for_window(window),
    );
    ui.event(AgentEvent::Notice {
        message: format!(
            "compressing the context ({why_now}): summarizing events #{}–#{} with {model}…",
            plan.replaces[0], plan.replaces[1]
        ),
    });
    let max_tokens = u32::try_from(request.max_output_tokens).unwrap_or(u32::MAX);
    let chat = ChatRequest::new(model.to_string())
        .with_messages(request.messages)
        .with_max_tokens(max_tokens);
    let answered = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Ok(Answer::Cancelled),
        answered = agent.options.llm.complete(chat) => answered,
    };
    let response = match answered {
        Ok(response) => response,
        Err(e) => {
            return Ok(Answer::Failed {
                why: format!("the compressor {model} failed: {e}"),
                spent: None,
            });
        }
    };
    let spent = spend(agent, ui, &model, &response);
    match check_summary(&response.text()) {
        Ok(summary) => Ok(Answer::Summary { summary, spent }),
        Err(rejected) => Ok(Answer::Failed {
            why: rejected.to_string(),
            spent: Some(spent),
        }),
    }
}

/// Price a side request (compressor, `/run`) and report its usage and cost.
pub(crate) fn spend(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    model: &ModelRef,
    response: &ChatResponse,
) -> Spent {
    let cost = agent.budget.cost(model, &response.usage);
    if !response.usage.is_zero() {
        ui.event(AgentEvent::Usage {
            model: model.to_string(),
            usage: response.usage,
            request_id: response.request_id.clone(),
        });
        ui.event(AgentEvent::Cost {
            request_usd: cost.usd,
            session_usd: agent.conversation.session().cost_usd + cost.usd,
            priced: cost.priced,
        });
    }
    if let Some(note) = cost.note {
        ui.event(AgentEvent::Notice { message: note });
    }
    Spent {
        model: model.to_string(),
        usage: response.usage,
        cost_usd: cost.usd,
        request_id: response.request_id.clone(),
    }
}

/// A model answered but its answer could not be used: the request was still paid
/// for, so it is recorded (a `compression` event with its usage and cost) and counts
/// toward the session's totals and spending limits.
pub(crate) async fn record_spend_without_compaction(
    agent: &mut Agent,
    spent: &Spent,
    reason: &str,
) -> Result<(), AgentError> {
    if spent.usage.is_zero() && spent.cost_usd == 0.0 {
        return Ok(());
    }
    let mut fields = Map::new();
    fields.insert("outcome".into(), Value::from("not_applied"));
    fields.insert("reason".into(), Value::from(reason));
    fields.insert("model".into(), Value::from(spent.model.as_str()));
    fields.insert("usage".into(), json!(spent.usage));
    fields.insert("cost_usd".into(), Value::from(spent.cost_usd));
    if let Some(id) = &spent.request_id {
        fields.insert("request_id".into(), Value::from(id.as_str()));
    }
    agent
        .append(vec![Payload::Other {
            kind: "compression".into(),
            fields,
        }])
        .await?;
    agent.refresh_session().await?;
    Ok(())
}

/// Append a compaction and its new knowledge items, then make the result the live
/// context: loaded again from the store, measured, its size stored, hints reset.
/// Returns the compaction's seq.
pub(crate) async fn apply(
    agent: &mut Agent,
    mut draft: CompactionDraft,
) -> Result<u64, AgentError> {
    add_running_totals(agent, &mut draft);
    let tokens_after = draft.tokens_after;
    let mut payloads = vec![Payload::Compaction(draft.compaction)];
    for entry in draft.new_knowledge {
        let mut extra = Map::new();
        extra.insert("source".into(), Value::from("compaction"));
        payloads.push(Payload::Knowledge(KnowledgeItem {
            knowledge_kind: entry.kind,
            text: entry.text,
            pinned: false,
            extra,
        }));
    }
    let seqs = agent.append(payloads).await?;
    reload_live(agent).await?;
    measure_now(&mut agent.context, agent.conversation.live());
    agent.context.hints.reset();
    agent.context.retry_above = None;
    agent.context.turn_retry_above = None;
    agent.context.accounted_seq = agent.conversation.live().events.last().map_or(0, |e| e.seq);
    store_live_tokens(agent, tokens_after).await?;
    Ok(seqs.first().copied().unwrap_or_default())
}

/// Running totals over the session's compactions, kept on the newest one so `/info`
/// reads them from the live context alone (no walk through the history).
fn add_running_totals(agent: &Agent, draft: &mut CompactionDraft) {
    let previous = compaction_totals(agent);
    let c = &draft.compaction;
    let cost = c
        .extra
        .get("cost_usd")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let tokens = c
        .extra
        .get("usage")
        .and_then(|u| serde_json::from_value::<Usage>(u.clone()).ok())
        .map_or(0, |u| u.total());
    let totals = CompactionTotals {
        compactions: agent.conversation.session().compaction_count + 1,
        tokens_saved: previous.tokens_saved + c.tokens_before.saturating_sub(c.tokens_after),
        compressor_tokens: previous.compressor_tokens + tokens,
        compressor_usd: previous.compressor_usd + cost,
    };
    if let Ok(value) = serde_json::to_value(&totals) {
        draft.compaction.extra.insert("totals".into(), value);
    }
}

/// What the session's compactions did so far.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CompactionTotals {
    pub compactions: u64,
    /// Live-context tokens the compactions took away (before − after, summed).
    pub tokens_saved: u64,
    /// Tokens of the compressor's own requests.
    pub compressor_tokens: u64,
    /// What the compressor's requests cost (USD); part of the session's cost.
    pub compressor_usd: f64,
}

/// The totals recorded on the latest compaction (zero when there is none, or when it
/// was written by something that does not keep them, such as an import).
pub(crate) fn compaction_totals(agent: &Agent) -> CompactionTotals {
    let Some(Payload::Compaction(c)) = agent
        .conversation
        .live()
        .compaction
        .as_ref()
        .map(|e| &e.payload)
    else {
        return CompactionTotals::default();
    };
    c.extra
        .get("totals")
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_else(|| CompactionTotals {
            compactions: agent.conversation.session().compaction_count,
            tokens_saved: c.tokens_before.saturating_sub(c.tokens_after),
            ..CompactionTotals::default()
        })
}

/// Plan replacing the whole live context (for `/run` with `output = "replace"`), with
/// the `/summarize` target.
pub(crate) fn plan_whole(
    agent: &mut Agent,
) -> Result<Result<CompressionPlan, cairn_core::compression::NoPlan>, AgentError> {
    let tokens_now = current_tokens(agent)?;
    let target = manual_target(tokens_now, &agent.context.levels);
    let measure = measure_now(&mut agent.context, agent.conversation.live());
    Ok(plan_all(agent.conversation.live(), measure, target))
}

/// The token counter of the agent's current model.
pub(crate) fn counter_of(agent: &Agent) -> TokenCounter {
    agent.context.counter()
}
