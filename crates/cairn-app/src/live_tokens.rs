//! The live-context size an imported session gets in the index, counted a page at
//! a time: `Store::live_context` would hold a never-compacted history in memory
//! whole, and an import must stay O(largest event).

use cairn_core::tokens::TokenCounter;
use cairn_core::{LiveContext, Payload, Session, Store};
use cairn_llm::ModelRef;

/// Events per page; a page holds at most this many events in memory.
const PAGE: u32 = 32;

/// The same count as `TokenCounter::count_live_context(store.live_context(..))`.
pub async fn live_tokens(
    store: &dyn Store,
    session: &Session,
    knowledge_retention: usize,
) -> cairn_core::Result<u64> {
    // A model name cairn cannot parse is counted with the estimate, as on resume.
    let counter = session
        .model
        .as_deref()
        .and_then(|m| ModelRef::parse(m).ok())
        .map_or_else(TokenCounter::estimate, |m| m.token_counter());
    let compaction = match session.compaction_seq {
        Some(seq) => store
            .events_after(session.id, seq.saturating_sub(1), 1)
            .await?
            .into_iter()
            .next(),
        None => None,
    };
    // The store keeps the newest `knowledge_retention` knowledge events and every
    // pinned one (knowledge items are short; a session has few).
    let all = store.knowledge(session.id).await?;
    let newest_from = all.len().saturating_sub(knowledge_retention);
    let knowledge = all
        .into_iter()
        .enumerate()
        .filter(|(i, e)| {
            *i >= newest_from || matches!(&e.payload, Payload::Knowledge(k) if k.pinned)
        })
        .map(|(_, e)| e)
        .collect();
    let head = LiveContext {
        session: session.clone(),
        compaction,
        events: Vec::new(),
        knowledge,
    };
    let mut tokens = counter.count_live_context(&head).tokens;
    let mut after = session.context_start_seq.saturating_sub(1);
    loop {
        let mut page = store.events_after(session.id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let full = page.len() == PAGE as usize;
        page.retain(|e| !matches!(e.payload, Payload::Compaction(_)));
        tokens += counter.count_each_event(&page).iter().sum::<u64>();
        if !full {
            break;
        }
    }
    Ok(tokens)
}
