//! What happens after every turn: the session's live-context size is brought up to
//! date: the provider's figure for the last request plus what came after it, bounded
//! without a tokenizer while that is far from every pressure level, else counted. This is also where compression plugs in: once `live_tokens` is known, the
//! pressure levels of `[compression]` are checked and, when one is reached, the live
//! context is compacted (see `crate::compression`).

use cairn_core::tokens;

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
