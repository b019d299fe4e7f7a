//! Project knowledge in the engine: the items of scope `project` (any session of
//! the project's key, so every checkout shares them) join the knowledge the live
//! context carries, within `knowledge_retention`, as the session's own do. A new
//! session of the project therefore starts with them, and since a compaction records
//! the knowledge block it kept, they survive compression too.

use std::sync::Arc;

use cairn_core::knowledge::retained_events;
use cairn_core::store::ProjectKnowledge;
use cairn_core::{Error, LiveContext, Project, Store};
use ulid::Ulid;

/// The session's live context with the project's retained knowledge added (first,
/// so the session's own statements count as newer).
pub(crate) async fn live_with_project_knowledge(
    store: &Arc<dyn Store>,
    session: Ulid,
    project: &Project,
    retention: usize,
) -> Result<LiveContext, Error> {
    let mut live = store.live_context(session, retention).await?;
    let shared = project_events(store, project).await?;
    if !shared.is_empty() {
        let mut knowledge = retained_events(shared, retention);
        knowledge.append(&mut live.knowledge);
        live.knowledge = knowledge;
    }
    Ok(live)
}

async fn project_events(
    store: &Arc<dyn Store>,
    project: &Project,
) -> Result<Vec<cairn_core::Event>, Error> {
    Ok(store
        .project_knowledge(project)
        .await?
        .into_iter()
        .map(|k: ProjectKnowledge| k.event)
        .collect())
}
