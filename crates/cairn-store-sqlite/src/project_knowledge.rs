//! The knowledge of a project: knowledge events of scope `project` in any session
//! of the project's key, found through the knowledge index (a project holds few).

use cairn_core::store::ProjectKnowledge;
use cairn_core::{Project, SessionName};
use rusqlite::{Connection, params};
use ulid::Ulid;

use crate::events::decode;
use crate::fail::{R, unreadable};

/// Oldest first: the events' insertion order. `CROSS JOIN` fixes the order of the
/// loops: left to itself SQLite walked every event of the project's sessions and
/// parsed each body for `scope` before looking the event up in the index (O(history):
/// 40,000 events, a third of a second, on every `cairn run` of a long session).
/// The scope is the index's (`project_wide`): only project-wide events are read.
const PROJECT_KNOWLEDGE_SQL: &str = "SELECT s.ulid, s.name, e.seq, e.ts, e.kind, \
         cairn_event_body(e.body, e.payload_at, p.data) \
     FROM sessions s CROSS JOIN knowledge k ON k.session = s.id \
     CROSS JOIN events e ON e.session = k.session AND e.seq = k.seq \
     LEFT JOIN payloads p ON p.id = e.payload \
     WHERE s.project_key = ?1 AND k.project_wide \
     ORDER BY e.id";

pub(crate) fn project_knowledge(conn: &Connection, project: &Project) -> R<Vec<ProjectKnowledge>> {
    let mut statement = conn.prepare_cached(PROJECT_KNOWLEDGE_SQL)?;
    let mut rows = statement.query(params![project.key()])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let ulid: String = row.get(0)?;
        let name: String = row.get(1)?;
        let body: String = row.get(5)?;
        out.push(ProjectKnowledge {
            session_id: Ulid::from_string(&ulid)
                .map_err(|e| unreadable(format!("session id {ulid:?}: {e}")))?,
            session: SessionName::parse(&name)
                .map_err(|e| unreadable(format!("session name {name:?}: {e}")))?,
            event: decode(row.get(2)?, row.get_ref(3)?, row.get_ref(4)?, &body)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each knowledge event is looked up by its key: the plan never walks a session's
    /// events (parsing every body on the way), so the cost follows the project's
    /// knowledge, not its history.
    #[test]
    fn project_knowledge_looks_up_only_the_indexed_events() {
        let conn = Connection::open_in_memory().unwrap();
        crate::register_sql_functions(&conn).unwrap();
        assert!(crate::migrations::apply_missing(&conn).is_ok());
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {PROJECT_KNOWLEDGE_SQL}"))
            .unwrap()
            .query_map(["key"], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let events = plan
            .iter()
            .find(|step| step.starts_with("SEARCH e "))
            .unwrap_or_else(|| panic!("no step reads events: {plan:?}"));
        assert!(events.contains("seq=?"), "{plan:?}");
    }
}
