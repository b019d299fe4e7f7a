//! Full-text search over message text with PostgreSQL's own text search: the
//! `events.search` vector (GIN index), `websearch_to_tsquery` over a literal form
//! of what the person typed, `ts_headline` snippets; newest first.

use cairn_core::store::{CheckpointHit, SearchHit, SearchScope};
use cairn_core::{Project, Role, SessionName};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;
use ulid::Ulid;

use crate::fail::{R, unreadable};
use crate::rows::{from_micros, get, get_u64, limit, parse_ts};
use crate::search_text::{literal_query, mark_cuts};
use crate::sessions;

/// Snippets: at most 16 words around the hits, hits in brackets as written.
const HEADLINE_OPTIONS: &str =
    "StartSel=[, StopSel=], MaxWords=16, MinWords=6, ShortWord=0, HighlightAll=false";

/// Newest first by the event's own time (the RFC 3339 text read as
/// `timestamptz`; an imported session's events keep theirs), insertion order
/// breaking ties; the snippet is computed only for the rows the limit keeps.
const SEARCH_SQL: &str = "SELECT s.name, s.project, hit.seq, hit.ts, hit.role, \
         ts_headline('cairn_search', hit.search_text, q.query, $3), hit.search_text, \
         s.project_key \
     FROM (SELECT websearch_to_tsquery('cairn_search', $1) AS query) q \
     CROSS JOIN LATERAL ( \
         SELECT e.session, e.seq, e.ts, e.role, e.search_text, e.id, \
                e.ts::timestamptz AS at FROM events e \
         JOIN sessions s2 ON s2.id = e.session \
         WHERE e.search @@ q.query AND ($2::TEXT IS NULL OR s2.project_key = $2) \
         ORDER BY at DESC, e.id DESC LIMIT $4) hit \
     JOIN sessions s ON s.id = hit.session \
     ORDER BY hit.at DESC, hit.id DESC";

/// Checkpoints are created by cairn (`created_us`), so their time sorts as it is.
const CHECKPOINT_SEARCH_SQL: &str = "SELECT hit.session_id, hit.project, hit.project_key, \
         hit.round_id, hit.created_us, \
         ts_headline('cairn_search', hit.search_text, q.query, $3), hit.search_text \
     FROM (SELECT websearch_to_tsquery('cairn_search', $1) AS query) q \
     CROSS JOIN LATERAL ( \
         SELECT c.* FROM checkpoints c \
         WHERE c.search @@ q.query AND ($2::TEXT IS NULL OR c.project_key = $2) \
         ORDER BY c.created_us DESC, c.id DESC LIMIT $4) hit \
     ORDER BY hit.created_us DESC, hit.id DESC";

pub(crate) async fn search_checkpoints(
    tx: &Transaction<'_>,
    query: &str,
    scope: &SearchScope,
) -> R<Vec<CheckpointHit>> {
    let Some(query) = literal_query(query) else {
        return Ok(Vec::new());
    };
    let project = scope.project.as_ref().map(Project::key);
    let statement = tx.prepare_cached(CHECKPOINT_SEARCH_SQL).await?;
    let rows = tx
        .query(
            &statement,
            &[&query, &project, &HEADLINE_OPTIONS, &limit(scope.limit)],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let headline: String = get(row, 5)?;
            let text: String = get(row, 6)?;
            Ok(CheckpointHit {
                session_id: get(row, 0)?,
                project: Project::from_parts(get::<String>(row, 1)?, get::<String>(row, 2)?),
                round_id: get(row, 3)?,
                created_at: from_micros(get::<i64>(row, 4)?)?,
                snippet: mark_cuts(&headline, &text),
            })
        })
        .collect()
}

/// The same search over the links of one session's fork chain: every event of its
/// history, replaced or not.
const SESSION_SEARCH_SQL: &str = "SELECT s.name, s.project, hit.seq, hit.ts, hit.role, \
         ts_headline('cairn_search', hit.search_text, q.query, $5), hit.search_text, \
         s.project_key \
     FROM (SELECT websearch_to_tsquery('cairn_search', $1) AS query) q \
     CROSS JOIN LATERAL ( \
         SELECT e.session, e.seq, e.ts, e.role, e.search_text, e.id FROM events e \
         JOIN unnest($2::BIGINT[], $3::BIGINT[], $4::BIGINT[]) AS link(key, after, upto) \
           ON e.session = link.key AND e.seq > link.after AND e.seq <= link.upto \
         WHERE e.search @@ q.query \
         ORDER BY e.id DESC LIMIT $6) hit \
     JOIN sessions s ON s.id = hit.session \
     ORDER BY hit.id DESC";

pub(crate) async fn search_session(
    tx: &Transaction<'_>,
    session: Ulid,
    query: &str,
    limit_to: u32,
) -> R<Vec<SearchHit>> {
    let stored = sessions::by_id(tx, session).await?;
    let Some(query) = literal_query(query) else {
        return Ok(Vec::new());
    };
    let chain = crate::lineage::chain(tx, &stored).await?;
    let keys: Vec<i64> = chain.links().iter().map(|l| l.key).collect();
    let afters: Vec<i64> = chain
        .links()
        .iter()
        .map(|l| i64::try_from(l.after).unwrap_or(i64::MAX))
        .collect();
    let uptos: Vec<i64> = chain
        .links()
        .iter()
        .map(|l| i64::try_from(l.upto).unwrap_or(i64::MAX))
        .collect();
    let statement = tx.prepare_cached(SESSION_SEARCH_SQL).await?;
    let rows = tx
        .query(
            &statement,
            &[
                &query,
                &keys,
                &afters,
                &uptos,
                &HEADLINE_OPTIONS,
                &limit(limit_to),
            ],
        )
        .await?;
    rows.iter().map(hit).collect()
}

pub(crate) async fn search(
    tx: &Transaction<'_>,
    query: &str,
    scope: &SearchScope,
) -> R<Vec<SearchHit>> {
    let Some(query) = literal_query(query) else {
        return Ok(Vec::new());
    };
    let project = scope.project.as_ref().map(Project::key);
    let statement = tx.prepare_cached(SEARCH_SQL).await?;
    let rows = tx
        .query(
            &statement,
            &[&query, &project, &HEADLINE_OPTIONS, &limit(scope.limit)],
        )
        .await?;
    rows.iter().map(hit).collect()
}

/// A row of `name, project, seq, ts, role, headline, text, project_key`.
fn hit(row: &Row) -> R<SearchHit> {
    let name: String = get(row, 0)?;
    let role: Option<String> = get(row, 4)?;
    let headline: String = get(row, 5)?;
    let text: String = get(row, 6)?;
    Ok(SearchHit {
        session: SessionName::parse(&name)
            .map_err(|e| unreadable(format!("session name {name:?}: {e}")))?,
        project: Project::from_parts(get::<String>(row, 1)?, get::<String>(row, 7)?),
        seq: get_u64(row, 2)?,
        ts: parse_ts(&get::<String>(row, 3)?)?,
        role: role.as_deref().and_then(Role::parse),
        snippet: mark_cuts(&headline, &text),
    })
}
