//! The knowledge commands: `/remember [--project] [KIND:] TEXT` pins an item to every
//! future context (of the session, or with `--project` of every session of the
//! project), `/knowledge` lists both kinds (numbered, labelled), `/forget N` unpins
//! one. Items are events: remembering appends one (or pins the existing one),
//! forgetting only unpins (the item stays in the history, and in the live context
//! while it is among the newest `knowledge_retention`).

use cairn_core::knowledge::{
    KnowledgeListing, RememberAction, forget_target, is_project_item, listing, parse_remember,
    records, remember_action, render_listing,
};
use cairn_core::{KnowledgeItem, KnowledgeScope};
use serde::Serialize;
use serde_json::json;
use ulid::Ulid;

use super::{CommandResult, Failure, Output};
use crate::AgentError;
use crate::agent::Agent;

/// The flag of `/remember` that makes an item the project's.
const PROJECT_FLAG: &str = "--project";

/// What remembering an item did, in words for the person (or the model).
pub(crate) async fn remember_item(
    agent: &mut Agent,
    item: KnowledgeItem,
) -> Result<String, AgentError> {
    let project = item.scope == KnowledgeScope::Project;
    let (known, owners) = if project {
        let shared = project_items(agent).await?;
        let events: Vec<_> = shared.iter().map(|(_, e)| e.clone()).collect();
        (records(&events), shared)
    } else {
        let own = session_items(agent).await?;
        (records(&own), Vec::new())
    };
    let label = format!("[{}] {}", item.knowledge_kind.as_str(), item.text);
    let whose = if project {
        "every session of this project"
    } else {
        "every context of this session"
    };
    let said = match remember_action(&known, item) {
        RememberAction::Append(item) => {
            agent
                .append(vec![cairn_core::Payload::Knowledge(item)])
                .await?;
            format!("remembered {label}: it stays in {whose}")
        }
        RememberAction::Pin { seqs } => {
            let session = agent.conversation.session().id;
            for seq in seqs {
                // A project item is pinned in the session that stated it.
                let owner = if project {
                    owners
                        .iter()
                        .find(|(_, e)| e.seq == seq)
                        .map_or(session, |(id, _)| *id)
                } else {
                    session
                };
                agent.store.set_knowledge_pinned(owner, seq, true).await?;
            }
            format!("already known, now pinned: {label}")
        }
        RememberAction::AlreadyKnown => format!("already remembered: {label}"),
    };
    // The knowledge block changed: the next request carries the new set.
    agent.reload_live().await?;
    Ok(said)
}

/// The session's own knowledge events (not the project items stated in it).
async fn session_items(agent: &Agent) -> Result<Vec<cairn_core::Event>, AgentError> {
    let mut events = agent
        .store
        .knowledge(agent.conversation.session().id)
        .await?;
    events.retain(|e| !is_project_item(e));
    Ok(events)
}

/// The project's knowledge events with the session holding each, oldest first.
/// Seqs of different sessions may be equal, so each is kept with its session.
async fn project_items(agent: &Agent) -> Result<Vec<(Ulid, cairn_core::Event)>, AgentError> {
    let project = agent.conversation.session().project.clone();
    Ok(agent
        .store
        .project_knowledge(&project)
        .await?
        .into_iter()
        .map(|k| (k.session_id, k.event))
        .collect())
}

/// `--project` at the start of `/remember`'s argument, and the rest.
fn project_flag(rest: &str) -> (bool, &str) {
    let trimmed = rest.trim_start();
    match trimmed.strip_prefix(PROJECT_FLAG) {
        Some(after) if after.is_empty() || after.starts_with(char::is_whitespace) => (true, after),
        _ => (false, rest),
    }
}

pub(super) async fn remember(agent: &mut Agent, rest: &str) -> CommandResult {
    let (project, rest) = project_flag(rest);
    let mut item = parse_remember(rest)?;
    if project {
        item.scope = KnowledgeScope::Project;
    }
    let kind = item.knowledge_kind;
    let text = item.text.clone();
    let scope = item.scope.as_str().to_owned();
    let said = remember_item(agent, item).await?;
    Ok(Output::new(
        said,
        json!({"kind": kind, "text": text, "pinned": true, "scope": scope}),
    ))
}

/// One project item of `/knowledge`: a listing line and where its statements are.
#[derive(Serialize)]
struct ProjectListing {
    #[serde(flatten)]
    item: KnowledgeListing,
    /// (session, seq) of each statement; `/forget` unpins them there.
    #[serde(skip)]
    owners: Vec<(Ulid, u64)>,
}

/// The session's and the project's knowledge as `/knowledge` numbers them (the
/// project's after the session's), and the retention in force.
async fn numbered_knowledge(
    agent: &Agent,
) -> Result<(usize, Vec<KnowledgeListing>, Vec<ProjectListing>), AgentError> {
    let retention = agent.options.settings.compression.knowledge_retention;
    let own = listing(&session_items(agent).await?, retention);
    let shared = project_items(agent).await?;
    // Numbered by position: seqs of different sessions may be equal.
    let positioned: Vec<cairn_core::Event> = shared
        .iter()
        .enumerate()
        .map(|(i, (_, e))| cairn_core::Event {
            seq: i as u64,
            ..e.clone()
        })
        .collect();
    let project = listing(&positioned, retention)
        .into_iter()
        .map(|mut item| {
            let owners: Vec<(Ulid, u64)> = item
                .seqs
                .iter()
                .filter_map(|&i| shared.get(i as usize).map(|(id, e)| (*id, e.seq)))
                .collect();
            item.number += own.len();
            item.seqs = owners.iter().map(|(_, seq)| *seq).collect();
            ProjectListing { item, owners }
        })
        .collect();
    Ok((retention, own, project))
}

pub(super) async fn list(agent: &mut Agent) -> CommandResult {
    let (retention, items, project) = numbered_knowledge(agent).await?;
    let mut text = String::new();
    if items.is_empty() && project.is_empty() {
        text = render_listing(&items);
    } else {
        if !items.is_empty() {
            text.push_str("session knowledge:\n");
            text.push_str(&render_listing(&items));
        }
        if !project.is_empty() {
            let listed: Vec<KnowledgeListing> = project.iter().map(|p| p.item.clone()).collect();
            text.push_str("project knowledge (every session of this project):\n");
            text.push_str(&render_listing(&listed));
        }
        text.push_str(&format!(
            "pinned items and the newest {retention} (knowledge_retention) of the session's \
             and of the project's are in every context; /forget N unpins item N"
        ));
    }
    Ok(Output::new(
        text.trim_end(),
        json!({"retention": retention, "items": items, "project_items": project}),
    ))
}

pub(super) async fn forget(agent: &mut Agent, rest: &str) -> CommandResult {
    if rest.trim().is_empty() {
        return Err(Failure::Usage(
            "usage: /forget N (the number /knowledge shows)".into(),
        ));
    }
    let (retention, items, project) = numbered_knowledge(agent).await?;
    let mut all: Vec<KnowledgeListing> = items.clone();
    all.extend(project.iter().map(|p| p.item.clone()));
    let seqs = forget_target(&all, rest)?;
    let number: usize = rest.trim().parse().unwrap_or_default();
    let session = agent.conversation.session().id;
    let owners: Vec<(Ulid, u64)> = match project.iter().find(|p| p.item.number == number) {
        Some(p) => p.owners.clone(),
        None => seqs.iter().map(|&seq| (session, seq)).collect(),
    };
    for (owner, seq) in &owners {
        agent
            .store
            .set_knowledge_pinned(*owner, *seq, false)
            .await?;
    }
    agent.reload_live().await?;
    let item = all.iter().find(|i| i.number == number);
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
