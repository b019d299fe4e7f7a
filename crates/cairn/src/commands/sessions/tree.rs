//! `cairn sessions list --tree`: the page of sessions with each one's sub-agents and
//! forks under it, depth first, however deep they go.

use std::collections::HashSet;
use std::sync::Arc;

use cairn_core::{Session, SessionSummary, Store};
use serde::Serialize;
use ulid::Ulid;

/// Levels shown below a session (a bound against a cycle in an imported store).
const MAX_LEVELS: usize = 16;

/// One session of the tree and its children.
#[derive(Debug, Serialize)]
pub(super) struct Node {
    #[serde(flatten)]
    pub session: Session,
    /// Sub-agents and forks started from this session, oldest first.
    pub children: Vec<Node>,
}

/// The roots of the page: listed sessions whose parent is not listed, each with every
/// session below it (listed or not), in the page's order.
pub(super) async fn build(
    store: &Arc<dyn Store>,
    page: &[SessionSummary],
) -> anyhow::Result<Vec<Node>> {
    let mut listed = Vec::with_capacity(page.len());
    for summary in page {
        listed.push(store.session(&summary.name).await?);
    }
    let ids: HashSet<Ulid> = listed.iter().map(|s| s.id).collect();
    let mut roots = Vec::new();
    for session in listed {
        if session.parent_id.is_some_and(|p| ids.contains(&p)) {
            continue;
        }
        roots.push(subtree(store, session, 0).await?);
    }
    Ok(roots)
}

async fn subtree(store: &Arc<dyn Store>, session: Session, level: usize) -> anyhow::Result<Node> {
    let mut children = Vec::new();
    if level < MAX_LEVELS {
        let mut below = store.child_sessions(session.id).await?;
        below.sort_by_key(|c| c.created_at);
        for child in below {
            children.push(Box::pin(subtree(store, child, level + 1)).await?);
        }
    }
    Ok(Node { session, children })
}

/// The tree as rows, depth first: (indent level, session).
pub(super) fn rows(roots: &[Node]) -> Vec<(usize, &Session)> {
    fn walk<'a>(node: &'a Node, level: usize, out: &mut Vec<(usize, &'a Session)>) {
        out.push((level, &node.session));
        for child in &node.children {
            walk(child, level + 1, out);
        }
    }
    let mut out = Vec::new();
    for root in roots {
        walk(root, 0, &mut out);
    }
    out
}
