//! `session/list`: a project's sessions, most recently active first, paged from the
//! sessions index (invariant 4: O(page), no event is decoded). The cursor is the
//! offset of the next page, opaque to clients.

use agent_client_protocol::v1::schema::{ListSessionsResponse, SessionId, SessionInfo};
use cairn_core::{Project, SessionFilter, Store};
use serde_json::json;

use crate::error::invalid;

/// Sessions per page.
pub(crate) const PAGE: u32 = 50;

pub(crate) async fn page(
    store: &dyn Store,
    project: Project,
    cursor: Option<&str>,
) -> Result<ListSessionsResponse, agent_client_protocol::Error> {
    let offset = match cursor {
        None => 0,
        Some(raw) => raw.parse::<u32>().map_err(|_| {
            invalid(format!(
                "cursor {raw:?} is not one this agent gave: pass nextCursor as it came"
            ))
        })?,
    };
    // One more than a page tells whether a next page exists.
    let filter = SessionFilter {
        project: Some(project),
        limit: PAGE + 1,
        offset,
    };
    let mut found = store
        .list_sessions(&filter)
        .await
        .map_err(|e| crate::error::engine_error(e.into()))?;
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let sessions = found
        .into_iter()
        .map(|s| {
            SessionInfo::new(
                SessionId::new(s.name.as_str().to_owned()),
                s.project.path().to_path_buf(),
            )
            .title(s.title.clone())
            .updated_at(s.updated_at.to_string())
            .meta(
                json!({"cairn": {
                    "model": s.model,
                    "messages": s.message_count,
                    "tokens": s.tokens,
                    "costUsd": s.cost_usd,
                    "createdAt": s.created_at.to_string(),
                }})
                .as_object()
                .cloned(),
            )
        })
        .collect();
    let next = more.then(|| (offset + PAGE).to_string());
    Ok(ListSessionsResponse::new(sessions).next_cursor(next))
}
