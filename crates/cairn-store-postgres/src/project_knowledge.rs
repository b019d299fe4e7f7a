//! The knowledge of a project: knowledge events of scope `project` in any session
//! of the project's key, found through the knowledge index (a project holds few).

use cairn_core::store::ProjectKnowledge;
use cairn_core::{Project, SessionName};
use deadpool_postgres::Transaction;
use ulid::Ulid;

use crate::events::{EVENT_COLUMNS, PAYLOAD_JOIN, decode};
use crate::fail::{R, unreadable};
use crate::rows::get;

/// Oldest first: the events' insertion order. `decode` reads columns 0..=6.
fn project_knowledge_sql() -> String {
    format!(
        "SELECT {EVENT_COLUMNS}, s.ulid, s.name \
         FROM sessions s JOIN knowledge k ON k.session = s.id \
         JOIN events e ON e.session = k.session AND e.seq = k.seq {PAYLOAD_JOIN} \
         WHERE s.project_key = $1 AND k.project_wide \
         ORDER BY e.id"
    )
}

pub(crate) async fn project_knowledge(
    tx: &Transaction<'_>,
    project: &Project,
) -> R<Vec<ProjectKnowledge>> {
    let statement = tx.prepare_cached(&project_knowledge_sql()).await?;
    let rows = tx.query(&statement, &[&project.key()]).await?;
    rows.iter()
        .map(|row| {
            let ulid: String = get(row, 6)?;
            let name: String = get(row, 7)?;
            Ok(ProjectKnowledge {
                session_id: Ulid::from_string(&ulid)
                    .map_err(|e| unreadable(format!("session id {ulid:?}: {e}")))?,
                session: SessionName::parse(&name)
                    .map_err(|e| unreadable(format!("session name {name:?}: {e}")))?,
                event: decode(row)?,
            })
        })
        .collect()
}
