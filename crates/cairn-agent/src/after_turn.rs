//! What happens after every turn: the session's live-context size is brought up to
//! date: the provider's figure for the last request plus what came after it, bounded
//! without a tokenizer while that is far from every pressure level, else counted. This is also where compression plugs in: once `live_tokens` is known, the
//! pressure levels of `[compression]` are checked and, when one is reached, the live
//! context is compacted (see `crate::compression`).

use cairn_core::tokens::{self, TokenCounter};

use crate::agent::Agent;
use crate::context_manager::off_workers;
use crate::{AgentError, Frontend};

pub(crate) async fn after_turn(agent: &mut Agent, ui: &mut dyn Frontend) -> Result<(), AgentError> {
    agent.sync_context()?;
    if let Some(figure) = agent.context.uncounted_figure(agent.conversation.live())
        && agent.context.pressure_after_turn(figure).is_none()
    {
        agent.store_live_tokens(figure).await?;
        return crate::pressure::after_turn(agent, ui).await;
    }
    let counter = agent.model.token_counter();
    let reported = agent
        .last_request
        .as_ref()
        .map(|r| tokens::prompt_tokens(&r.usage));
    let since = agent
        .last_request
        .as_ref()
        .map_or(agent.conversation.live().events.len(), |r| {
            r.events_before_answer
                .min(agent.conversation.live().events.len())
        });
    let added: Vec<cairn_core::Message> = agent.conversation.live().events[since..]
        .iter()
        .filter_map(|e| e.payload.as_message())
        .cloned()
        .collect();
    let live = agent.conversation.live();
    let count = off_workers(|| {
        tokens::live_tokens_after_request(reported, &added, &counter, || {
            counter.count_live_context(live)
        })
    });
    agent.store_live_tokens(count.tokens).await?;
    // Hints and compression when a pressure level is reached.
    crate::pressure::after_turn(agent, ui).await
}

/// After a turn whose request failed before any size was reported in this process (a
/// refused key, a 400, an unreachable provider). The live context grew only by what
/// the turn added (the person's message), so the session's stored size plus a byte
/// bound of that is kept, as [`after_turn`] does after a reported request. Counting
/// exactly would build the tokenizer (about a second of CPU and 80 MB for o200k) for a
/// figure nobody waits on. Compression and hints wait for a turn that reaches the
/// provider, unless even this figure reaches a pressure level: then the turn is
/// accounted for as any other.
pub(crate) async fn after_failed_turn(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    last_seq_before: u64,
) -> Result<(), AgentError> {
    agent.sync_context()?;
    let live = agent.conversation.live();
    if agent.context.counter().is_ready() || agent.context.uncounted_figure(live).is_some() {
        return after_turn(agent, ui).await;
    }
    let added: u64 = live
        .events
        .iter()
        .filter(|e| e.seq > last_seq_before)
        .filter_map(|e| e.payload.as_message())
        .map(TokenCounter::message_bound)
        .sum();
    let figure = agent.conversation.session().live_tokens + added;
    if agent.context.pressure_after_turn(figure).is_some() {
        return after_turn(agent, ui).await;
    }
    agent.store_live_tokens(figure).await?;
    agent.context.turn_ended(agent.conversation.live());
    Ok(())
}
