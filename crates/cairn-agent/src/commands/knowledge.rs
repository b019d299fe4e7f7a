//! The knowledge commands: `/remember [KIND:] TEXT` pins an item to every future
//! context, `/knowledge` lists the items (numbered), `/forget N` unpins one. Items are
//! events: remembering appends one (or pins the existing one), forgetting only unpins
//! (the item stays in the history, and in the live context while it is among the
//! newest `knowledge_retention`).

use cairn_core::KnowledgeItem;
use cairn_core::knowledge::{
    KnowledgeListing, RememberAction, forget_target, listing, parse_remember, records,
    remember_action, render_listing,
};
use serde_json::json;

use super::{CommandResult, Failure, Output};
use crate::AgentError;
use crate::agent::Agent;

/// What remembering an item did, in words for the person (or the model).
pub(crate) async fn remember_item(
    agent: &mut Agent,
    item: KnowledgeItem,
) -> Result<String, AgentError> {
    let known = records(
        &agent
            .store
            .knowledge(agent.conversation.session().id)
            .await?,
    );
    let label = format!("[{}] {}", item.knowledge_kind.as_str(), item.text);
    let said = match remember_action(&known, item) {
        RememberAction::Append(item) => {
            agent
                .append(vec![cairn_core::Payload::Knowledge(item)])
                .await?;
            format!("remembered {label}: it stays in every context of this session")
        }
        RememberAction::Pin { seqs } => {
            for seq in seqs {
                agent
                    .store
                    .set_knowledge_pinned(agent.conversation.session().id, seq, true)
                    .await?;
            }
            format!("already known, now pinned: {label}")
        }
        RememberAction::AlreadyKnown => format!("already remembered: {label}"),
    };
    // The knowledge block changed: the next request carries the new set.
    agent.reload_live().await?;
    Ok(said)
}

pub(super) async fn remember(agent: &mut Agent, rest: &str) -> CommandResult {
    let item = parse_remember(rest)?;
    let kind = item.knowledge_kind;
    let text = item.text.clone();
    let said = remember_item(agent, item).await?;
    Ok(Output::new(
        said,
        json!({"kind": kind, "text": text, "pinned": true}),
    ))
}

/// The session's knowledge as `/knowledge` numbers it, and the retention in force.
async fn numbered_knowledge(agent: &Agent) -> Result<(usize, Vec<KnowledgeListing>), AgentError> {
    let retention = agent.options.settings.compression.knowledge_retention;
    let stored = agent
        .store
        .knowledge(agent.conversation.session().id)
        .await?;
    Ok((retention, listing(&stored, retention)))
}

pub(super) async fn list(agent: &mut Agent) -> CommandResult {
    let (retention, items) = numbered_knowledge(agent).await?;
    let mut text = render_listing(&items);
    if !items.is_empty() {
        text.push_str(&format!(
            "pinned and the newest {retention} items (knowledge_retention) are in every \
             context; /forget N unpins item N"
        ));
    }
    Ok(Output::new(
        text.trim_end(),
        json!({"retention": retention, "items": items}),
    ))
}

pub(super) async fn forget(agent: &mut Agent, rest: &str) -> CommandResult {
    if rest.trim().is_empty() {
        return Err(Failure::Usage(
            "usage: /forget N (the number /knowledge shows)".into(),
        ));
    }
    let (retention, items) = numbered_knowledge(agent).await?;
    let seqs = forget_target(&items, rest)?;
    for seq in &seqs {
        agent
            .store
            .set_knowledge_pinned(agent.conversation.session().id, *seq, false)
            .await?;
    }
    agent.reload_live().await?;
    let number: usize = rest.trim().parse().unwrap_or_default();
    let item = items.iter().find(|i| i.number == number);
    let text = match item {
        Some(i) => format!(
            "unpinned {number}. [{}] {} — it stays in the history, and in the context while \
             it is among the newest {retention} items",
            i.kind.as_str(),
            i.text
        ),
        None => format!("unpinned knowledge item {number}"),
    };
    Ok(Output::new(text, json!({"number": number, "seqs": seqs})))
}
