//! Full-text search over message text, newest first.

use cairn_core::store::{SearchHit, SearchScope};
use cairn_core::{Project, Role, SessionName};
use rusqlite::{Connection, params};

use crate::fail::{R, unreadable};
use crate::search_text::literal_query;
use crate::time;

/// The FTS rowid is the event's insertion order, so walking it backwards yields
/// the newest matches first and `LIMIT` stops the walk early: no sort of all
/// matches. CROSS JOIN keeps the FTS index as the outer loop. The project scope
/// is part of the MATCH expression (see `literal_query`).
const SEARCH_SQL: &str = "SELECT s.name, s.project, s.project_key, e.seq, e.ts, e.role, \
         snippet(event_fts, 0, '[', ']', '…', 16) \
     FROM event_fts CROSS JOIN events e ON e.id = event_fts.rowid \
     CROSS JOIN sessions s ON s.id = e.session \
     WHERE event_fts MATCH ?1 \
     ORDER BY event_fts.rowid DESC LIMIT ?2";

type RawHit = (
    String,
    String,
    String,
    u64,
    String,
    Option<String>,
    Option<String>,
);

pub(crate) fn search(conn: &Connection, query: &str, scope: &SearchScope) -> R<Vec<SearchHit>> {
    let project = scope.project.as_ref().map(Project::key);
    let Some(fts_query) = literal_query(query, project) else {
        return Ok(Vec::new());
    };
    let limit = if scope.limit == 0 {
        -1
    } else {
        i64::from(scope.limit)
    };
    let raws = conn
        .prepare_cached(SEARCH_SQL)?
        .query_map(params![fts_query, limit], |row| RawHit::try_from(row))?
        .collect::<rusqlite::Result<Vec<RawHit>>>()?;
    raws.into_iter()
        .map(|(name, project, key, seq, ts, role, snippet)| {
            Ok(SearchHit {
                session: SessionName::parse(&name)
                    .map_err(|e| unreadable(format!("session name {name:?}: {e}")))?,
                project: Project::from_parts(project, key),
                seq,
                ts: time::parse(&ts)?,
                role: role.as_deref().and_then(Role::parse),
                snippet: snippet.unwrap_or_default(),
            })
        })
        .collect()
}
