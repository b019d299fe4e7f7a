//! What happens after every turn: the session's live-context size is brought up to
//! date. This is also where compression plugs in: once `live_tokens` is known, the
//! pressure levels of `[compression]` are checked and, when one is reached, the live
//! context is compacted (see `cairn_core::compression`).

use cairn_core::tokens;

use crate::agent::Agent;
use crate::context_manager::off_workers;
use crate::{AgentError, Frontend};

pub(crate) async fn after_turn(agent: &mut Agent, ui: &mut dyn Frontend) -> Result<(), AgentError> {
    let _ = &ui;
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
    // Without a reported figure the whole live context is counted: a copy of it goes
    // to the blocking pool with the added messages, off the async workers.
    let live = reported
        .is_none_or(|r| r == 0)
        .then(|| agent.conversation.live().clone());
    let count = off_workers(move || {
        tokens::live_tokens_after_request(reported, &added, &counter, || match &live {
            Some(live) => counter.count_live_context(live),
            None => tokens::TokenCount {
                tokens: 0,
                accuracy: counter.accuracy(),
            },
        })
    })
    .await?;
    agent.store_live_tokens(count.tokens).await?;
    // Hints and compression when a pressure level is reached.
    crate::pressure::after_turn(agent, ui).await
}
