//! Compressing the live context: the shared pipeline behind the pressure levels
//! (`pressure.rs` decides when), `/summarize`, `/done` and `/run` commands with
//! `output = "replace"`.
//!
//! The decisions are cairn-core's (`crate::compression`): this module plans from
//! the context manager's measure, asks the compressor model, falls back to the extractive summary when the model
//! cannot help, and applies the result as events. Applying only appends (a
//! `compaction` event, then one `knowledge` event per new item), so the history keeps
//! every event (invariant 2).

use crate::compression::fallback::FallbackOutcome;
use crate::compression::summary::compaction_from_summary;
use crate::compression::{
    CompactionDraft, CompressionPlan, PressureHit, PromptLimits, StructuredSummary,
    SummaryRejected, check_summary, effective_levels, extractive_fallback, manual_target, plan_all,
    plan_to_target, summary_request,
};
use crate::run_commands::{check_command, commands_with_defaults};
use cairn_core::display::grouped;
use cairn_core::knowledge::KnowledgeRecord;
use cairn_core::live_messages::retained_knowledge;
use cairn_core::settings::Settings;
use cairn_core::{
    CompactionTotals, CompressionOutcome, CompressionRecord, Event, KnowledgeItem, Payload,
    RequestRecord, Usage,
};
use cairn_llm::{ChatRequest, ChatResponse, ModelRef, StreamEvent};
use futures::StreamExt;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::agent::Agent;
use crate::{AgentError, AgentEvent, Frontend, spending};

/// Window assumed for a model whose window is not known (prompt limits only).
const UNKNOWN_WINDOW: u64 = crate::compression::triggers::DEFAULT_CONTEXT_WINDOW;

/// Check `[compression]` and `[[commands]]` before a session is opened, so a bad
/// level or template is reported at once (the error names the key and the rule).
pub fn check_settings(settings: &Settings) -> Result<(), cairn_core::Error> {
    effective_levels(&settings.compression, None)?;
    for command in commands_with_defaults(&settings.commands) {
        check_command(&command)?;
    }
    Ok(())
}

/// Bring the context state up to date and return the live context's size now (for
/// commands, which run between turns, and compressions), counted off the async
/// workers.
pub(crate) async fn current_tokens(agent: &mut Agent) -> Result<u64, AgentError> {
    agent.sync_context()?;
    agent.context.refresh(&agent.conversation);
    Ok(agent.context.measure(&agent.conversation).total())
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
    /// Interrupted before the answer arrived; `estimate` when the provider had
    /// started answering (it bills what it read and wrote), with usage counted here.
    Cancelled { estimate: Option<Spent> },
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
    let tokens_now = current_tokens(agent).await?;
    let levels = agent.context.levels().to_vec();
    let target = match &mode {
        Mode::Pressure(hit) => hit.target_tokens,
        Mode::Summarize { .. } | Mode::Done => manual_target(tokens_now, &levels),
    };
    let automatic = matches!(mode, Mode::Pressure(_));
    let plan = {
        let measure = agent.context.measure(&agent.conversation);
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
    // Whether the model's summary was refused only for being larger than what it
    // replaces: the context is already small.
    let mut already_small = false;
    // The model's summary when it was well formed, and the draft made from it (or why
    // there is none).
    let (summary, spent, from_model) = match answer {
        Answer::Summary { summary, spent } => {
            let drafted = compaction_from_summary(
                &plan,
                &summary,
                &kept,
                retention,
                &counter,
                focus.as_deref(),
            )
            .map_err(|rejected| {
                already_small = matches!(rejected, SummaryRejected::NoGain { .. });
                rejected.to_string()
            });
            (Some(summary), Some(spent), drafted)
        }
        Answer::Failed { why, spent } => (None, spent, Err(why)),
        Answer::Cancelled { estimate } => {
            if let Some(estimate) = estimate {
                record_interrupted_estimate(agent, &estimate).await?;
            }
            return Ok(Compression::Cancelled);
        }
    };
    // The draft to apply, if any; why the extractive fallback ran, if it did.
    let (draft, fallback_why) = match from_model {
        Ok(draft) => (Ok(draft), None),
        Err(why) => {
            let outcome = extractive_fallback(
                agent.conversation.live(),
                &plan,
                &kept,
                retention,
                &counter,
                &why,
            );
            (fallback_draft(outcome), Some(why))
        }
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
    let sent = request.messages.clone();
    let chat = ChatRequest::new(model.to_string())
        .with_messages(request.messages)
        .with_max_tokens(max_tokens);
    let mut stream = agent.options.llm.stream(chat);
    // Set once the provider accepted the request (its request id, if any), with the
    // text it streamed so far: what an interruption is billed for.
    let mut started: Option<Option<String>> = None;
    let mut streamed = String::new();
    let answered = loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                let estimate = started.map(|request_id| {
                    estimate_interrupted(agent, &model, &sent, &streamed, request_id)
                });
                return Ok(Answer::Cancelled { estimate });
            }
            next = stream.next() => next,
        };
        match next {
            Some(Ok(StreamEvent::Started { request_id })) => started = Some(request_id),
            Some(Ok(StreamEvent::TextDelta(text) | StreamEvent::ThinkingDelta(text))) => {
                streamed.push_str(&text)
            }
            Some(Ok(StreamEvent::Finished(response))) => break Ok(response),
            Some(Ok(_)) => {}
            Some(Err(e)) => break Err(e),
            None => {
                break Err(cairn_llm::LlmError::new(
                    cairn_llm::ErrorKind::MalformedStream,
                    "",
                    "the answer ended without a final event",
                ));
            }
        }
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

/// The usage of a compressor request interrupted after the provider had started
/// answering, counted here (the provider never reported it): the request as sent
/// and the text streamed so far, priced like a reported usage.
fn estimate_interrupted(
    agent: &mut Agent,
    model: &ModelRef,
    sent: &[cairn_core::Message],
    streamed: &str,
    request_id: Option<String>,
) -> Spent {
    let counter = model.token_counter();
    let usage = Usage {
        input_tokens: counter.count_messages(sent),
        output_tokens: counter.count_text(streamed),
        ..Usage::default()
    };
    Spent {
        model: model.to_string(),
        usage,
        cost_usd: agent.budget.cost(model, &usage).usd,
        request_id,
    }
}

/// An interrupted compressor request the provider had started answering is billed
/// all the same: recorded (a `compression` event marked `usage_estimated`, since the
/// provider's own count never arrived) so it counts toward totals and limits.
async fn record_interrupted_estimate(agent: &mut Agent, spent: &Spent) -> Result<(), AgentError> {
    let mut extra = Map::new();
    extra.insert("usage_estimated".into(), Value::Bool(true));
    let record = CompressionRecord {
        outcome: CompressionOutcome::NotApplied,
        reason: "interrupted after the compressor had started answering; usage estimated"
            .to_owned(),
        request: RequestRecord {
            model: Some(spent.model.clone()),
            usage: Some(spent.usage),
            cost_usd: Some(spent.cost_usd),
            request_id: spent.request_id.clone(),
        },
        extra,
    };
    agent.append(vec![Payload::Compression(record)]).await?;
    agent.refresh_session().await?;
    Ok(())
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
    let record = CompressionRecord {
        outcome: CompressionOutcome::NotApplied,
        reason: reason.to_owned(),
        request: RequestRecord {
            model: Some(spent.model.clone()),
            usage: Some(spent.usage),
            cost_usd: Some(spent.cost_usd),
            request_id: spent.request_id.clone(),
        },
        extra: Map::new(),
    };
    agent.append(vec![Payload::Compression(record)]).await?;
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
            scope: Default::default(),
            extra,
        }));
    }
    let seqs = agent.append(payloads).await?;
    agent.reload_live().await?;
    agent.context.refresh(&agent.conversation);
    agent.context.compacted(&agent.conversation);
    agent.store_live_tokens(tokens_after).await?;
    Ok(seqs.first().copied().unwrap_or_default())
}

/// Running totals over the session's compactions, kept on the newest one so `/info`
/// reads them from the live context alone (no walk through the history).
fn add_running_totals(agent: &Agent, draft: &mut CompactionDraft) {
    let previous = compaction_totals(agent);
    let c = &draft.compaction;
    let cost = c.request.cost_usd.unwrap_or(0.0);
    let tokens = c.request.usage.map_or(0, |u| u.total());
    draft.compaction.totals = Some(CompactionTotals {
        compactions: agent.conversation.session().compaction_count + 1,
        tokens_saved: previous.tokens_saved + c.tokens_before.saturating_sub(c.tokens_after),
        compressor_tokens: previous.compressor_tokens + tokens,
        compressor_usd: previous.compressor_usd + cost,
        extra: Map::new(),
    });
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
    c.totals.clone().unwrap_or_else(|| CompactionTotals {
        compactions: agent.conversation.session().compaction_count,
        tokens_saved: c.tokens_before.saturating_sub(c.tokens_after),
        ..CompactionTotals::default()
    })
}

/// Plan replacing the whole live context (for `/run` with `output = "replace"`), with
/// the `/summarize` target.
pub(crate) async fn plan_whole(
    agent: &mut Agent,
) -> Result<Result<CompressionPlan, crate::compression::NoPlan>, AgentError> {
    let tokens_now = current_tokens(agent).await?;
    let target = manual_target(tokens_now, agent.context.levels());
    let measure = agent.context.measure(&agent.conversation);
    Ok(plan_all(agent.conversation.live(), measure, target))
}
