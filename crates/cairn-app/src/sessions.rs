//! Every session in one list, and one search over them: cairn chat sessions and
//! checkpoint session ids (`save_progress`) together, newest first by their
//! timestamps (not by the text of the times).

use cairn_core::store::SessionAuthor;
use cairn_core::{
    Checkpoint, Project, Result, SearchScope, Session, SessionFilter, SessionName, SessionStatus,
    SessionSummary, Store, Timestamp,
};
use serde::Serialize;

use cairn_core::display::first_line;

/// What a listed session or a search hit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A cairn chat session.
    Chat,
    /// A save_progress session id.
    Checkpoint,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Chat => "chat",
            Kind::Checkpoint => "checkpoint",
        }
    }
}

/// One row of the listing.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionEntry {
    pub kind: Kind,
    /// The chat session name or the checkpoint session id.
    pub id: String,
    pub project: Project,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub updated_at: Timestamp,
    /// The chat title, or the latest checkpoint's summary (first line).
    pub title: Option<String>,
    pub status: Option<SessionStatus>,
    pub message_count: Option<u64>,
    pub round_id: Option<String>,
}

impl From<&SessionSummary> for SessionEntry {
    fn from(s: &SessionSummary) -> Self {
        SessionEntry {
            kind: Kind::Chat,
            id: s.name.as_str().to_owned(),
            project: s.project.clone(),
            updated_at: s.updated_at,
            title: s.title.clone(),
            status: Some(s.status),
            message_count: Some(s.message_count),
            round_id: None,
        }
    }
}

impl From<&Checkpoint> for SessionEntry {
    fn from(c: &Checkpoint) -> Self {
        SessionEntry {
            kind: Kind::Checkpoint,
            id: c.session_id.clone(),
            project: c.project.clone(),
            updated_at: c.created_at,
            title: Some(first_line(&c.summary)),
            status: None,
            message_count: None,
            round_id: Some(c.round_id.clone()),
        }
    }
}

/// The listing.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionList {
    /// Project filter applied; null for every project.
    pub project: Option<Project>,
    /// Newest activity first.
    pub sessions: Vec<SessionEntry>,
}

/// Chat sessions and checkpoint session ids together, newest first.
pub async fn list(store: &dyn Store, project: Option<&Project>, limit: u32) -> Result<SessionList> {
    let chats = store
        .list_sessions(&SessionFilter {
            project: project.cloned(),
            limit,
            offset: 0,
        })
        .await?;
    let checkpoints = store.recent_checkpoints(project, limit).await?;
    let mut sessions: Vec<SessionEntry> = chats
        .iter()
        .map(SessionEntry::from)
        .chain(checkpoints.iter().map(SessionEntry::from))
        .collect();
    sessions.sort_by_key(|s| std::cmp::Reverse(s.updated_at));
    sessions.truncate(limit as usize);
    Ok(SessionList {
        project: project.cloned(),
        sessions,
    })
}

/// One search hit.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Hit {
    pub kind: Kind,
    pub id: String,
    pub project: Project,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
    /// The matching text, hits wrapped in `[` and `]` for chat messages.
    pub snippet: String,
    /// The chat event's seq, for chat hits.
    pub seq: Option<u64>,
    pub role: Option<String>,
}

/// The search's answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SearchResult {
    pub query: String,
    /// Newest first.
    pub hits: Vec<Hit>,
}

/// Full-text search over chat messages and over checkpoints (session id,
/// summary, decisions, next steps, files), both through the store's full-text
/// index, in `project` or every project, merged newest first by the time of each
/// (an event's own time, a checkpoint's save time). `limit` 0: every hit.
pub async fn search(
    store: &dyn Store,
    query: &str,
    project: Option<&Project>,
    limit: u32,
) -> Result<SearchResult> {
    let scope = SearchScope {
        project: project.cloned(),
        limit,
    };
    let chat_hits = store.search(query, &scope).await?;
    let checkpoint_hits = store.search_checkpoints(query, &scope).await?;
    let mut hits: Vec<Hit> = chat_hits
        .iter()
        .map(|h| Hit {
            kind: Kind::Chat,
            id: h.session.as_str().to_owned(),
            project: h.project.clone(),
            at: h.ts,
            snippet: h.snippet.clone(),
            seq: Some(h.seq),
            role: h.role.map(|r| r.as_str().to_owned()),
        })
        .chain(checkpoint_hits.into_iter().map(|c| Hit {
            kind: Kind::Checkpoint,
            id: c.session_id,
            project: c.project,
            at: c.created_at,
            snippet: format!("round {}: {}", c.round_id, c.snippet),
            seq: None,
            role: None,
        }))
        .collect();
    newest_first(&mut hits);
    if limit > 0 {
        hits.truncate(limit as usize);
    }
    Ok(SearchResult {
        query: query.to_owned(),
        hits,
    })
}

/// Order hits by their instants: the text of two times does not sort like the
/// times (`…:00Z` sorts after `…:00.5Z`).
fn newest_first(hits: &mut [Hit]) {
    hits.sort_by_key(|h| std::cmp::Reverse(h.at));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, at: &str) -> Hit {
        Hit {
            kind: Kind::Chat,
            id: id.to_owned(),
            project: Project::from_stored("/work/app"),
            at: at.parse().unwrap(),
            snippet: String::new(),
            seq: None,
            role: None,
        }
    }

    #[test]
    fn hits_sort_by_instant_not_by_the_text_of_the_time() {
        // As text, "10:00:00Z" sorts after "10:00:00.500Z" though it is earlier.
        let mut hits = vec![
            hit("whole-second", "2026-12-06T10:00:00Z"),
            hit("half-second-later", "2026-12-06T10:00:00.5Z"),
            hit("a-minute-earlier", "2026-12-06T09:59:00Z"),
        ];
        newest_first(&mut hits);
        let order: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(
            order,
            ["half-second-later", "whole-second", "a-minute-earlier"]
        );
        let as_text = |h: &Hit| h.at.to_string();
        assert!(
            as_text(&hits[1]) > as_text(&hits[0]),
            "the text order differs"
        );
    }
}

/// One session in full, as `cairn sessions show --json` and `GET /api/sessions/{name}`
/// give it: the session as the store keeps it, its parent's name, its total tokens
/// and who wrote its events.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionDetail {
    #[serde(flatten)]
    pub session: Session,
    /// Name of the parent session (sub-agent or fork), when it still exists.
    pub parent_name: Option<String>,
    pub total_tokens: u64,
    /// Who wrote its events (`user@host`), the most recent writer first.
    pub authors: Vec<SessionAuthor>,
}

pub async fn detail(store: &dyn Store, name: &SessionName) -> Result<SessionDetail> {
    let session = store.session(name).await?;
    let parent_name = match session.parent_id {
        Some(id) => store
            .session_by_id(id)
            .await
            .ok()
            .map(|p| p.name.to_string()),
        None => None,
    };
    let authors = store.session_authors(session.id).await?;
    Ok(SessionDetail {
        total_tokens: session.usage.total(),
        session,
        parent_name,
        authors,
    })
}
