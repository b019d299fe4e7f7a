//! The engine's side of the pressure levels: after every turn and before every
//! request, ask the [`crate::context_manager::ContextManager`] whether the live
//! context must shrink, compress when it must, and show a hint when it nears the next
//! level.

use crate::compression::PressureHit;
use cairn_core::tokens;
use cairn_core::{HintRecord, Payload};
use serde_json::Map;
use tokio_util::sync::CancellationToken;

use crate::agent::Agent;
use crate::compress::{Compression, Mode, compress};
use crate::{AgentError, AgentEvent, Frontend};

/// Called at the end of every turn (and after `/run`), once `after_turn` has stored the
/// live-context size: learn the fixed part of the prompt from the provider's figure,
/// compress when a pressure level is reached, otherwise show a hint when the context
/// nears the next level.
pub(crate) async fn after_turn(agent: &mut Agent, ui: &mut dyn Frontend) -> Result<(), AgentError> {
    agent.sync_context()?;
    let live_tokens = match agent.context.uncounted_figure(agent.conversation.live()) {
        // Far from every level by the provider's figure: `after_turn` stored it, and
        // no tokenizer is needed.
        Some(figure) if agent.context.pressure_after_turn(figure).is_none() => {
            agent.context.warm_up_near(figure);
            figure
        }
        _ => {
            agent.context.refresh(&agent.conversation);
            let calibrated = agent
                .context
                .calibrate(last_sent(agent), &agent.conversation);
            // With a fresh provider figure, `after_turn` stored it plus what came
            // after it.
            if calibrated {
                agent.conversation.session().live_tokens
            } else {
                agent.context.measure(&agent.conversation).total()
            }
        }
    };
    agent.store_live_tokens(live_tokens).await?;
    agent.context.turn_ended(agent.conversation.live());

    if let Some(hit) = agent.context.pressure_after_turn(live_tokens) {
        // Between turns there is nothing to interrupt: the face's token belongs to the
        // turn that just ended.
        relieve_pressure(agent, ui, hit, &CancellationToken::new(), false).await?;
        return Ok(());
    }
    let enabled = agent.options.settings.compression.hints_enabled;
    let hint = agent
        .context
        .next_hint(agent.conversation.live(), live_tokens, enabled);
    if let Some(hint) = hint {
        // Stored, so a resumed session knows it was shown.
        agent
            .append(vec![Payload::Hint(HintRecord {
                threshold: hint.threshold,
                live_tokens: hint.live_tokens,
                extra: Map::new(),
            })])
            .await?;
        ui.event(AgentEvent::Notice { message: hint.text });
    }
    Ok(())
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
    agent.sync_context()?;
    if agent.context.defer_first_count(&agent.conversation) {
        return Ok(BeforeRequest::Send);
    }
    // The provider's figure for the last request plus a bound of what was added
    // since reaches no level: no count, no tokenizer.
    if let Some(figure) = agent.context.uncounted_figure(agent.conversation.live())
        && agent.context.pressure_before_request(figure).is_none()
    {
        agent.context.warm_up_near(figure);
        return Ok(BeforeRequest::Send);
    }
    agent.context.refresh(&agent.conversation);
    agent
        .context
        .calibrate(last_sent(agent), &agent.conversation);
    let live_tokens = agent.context.measure(&agent.conversation).total();
    let Some(hit) = agent.context.pressure_before_request(live_tokens) else {
        return Ok(BeforeRequest::Send);
    };
    match relieve_pressure(agent, ui, hit, cancel, true).await? {
        Relieved::Done => Ok(BeforeRequest::Send),
        Relieved::Cancelled => Ok(BeforeRequest::Cancelled),
    }
}

/// The newest request of this process for [`crate::context_manager::ContextManager::calibrate`]:
/// where its answer starts in the live context, and the prompt size reported.
fn last_sent(agent: &Agent) -> Option<(usize, u64)> {
    agent
        .last_request
        .as_ref()
        .map(|r| (r.events_before_answer, tokens::prompt_tokens(&r.usage)))
}

enum Relieved {
    /// Compressed, or tried to (what happened was reported).
    Done,
    Cancelled,
}

/// Compress under pressure, and tell the context manager how far it got.
async fn relieve_pressure(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    hit: PressureHit,
    cancel: &CancellationToken,
    in_turn: bool,
) -> Result<Relieved, AgentError> {
    let live_tokens = hit.live_tokens;
    let after = match compress(agent, ui, Mode::Pressure(hit), cancel).await? {
        Compression::Applied(applied) => applied.draft.tokens_after,
        Compression::NotApplied { .. } => live_tokens,
        Compression::Cancelled => return Ok(Relieved::Cancelled),
    };
    agent.context.relieved(after, in_turn);
    Ok(Relieved::Done)
}
