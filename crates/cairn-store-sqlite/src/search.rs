//! Full-text search over message text and over checkpoints, newest first.

use cairn_core::store::{CheckpointHit, SearchHit, SearchScope};
use cairn_core::{Project, Role, SessionName, Timestamp};
use rusqlite::{Connection, params};
use ulid::Ulid;

use crate::event_codes;
use crate::fail::{R, unreadable};
use crate::phrases::snippet_if_holds;
use crate::search_text::{EventQuery, event_query, literal_query};
use crate::time::event_time_order;
use crate::{sessions, time};

/// Newest first by the event's own time (`time::event_time_order`: the integer
/// time, or a text one through `julianday`), not by insertion order, which is
/// wrong for imported sessions; the insertion order breaks ties. This sorts all
/// matches (a top-N sort under `LIMIT`), reading each match's row: the way for a
/// word with few matches. CROSS JOIN keeps the FTS index as the outer loop. The project scope
/// is part of the MATCH expression (see `event_query`). Only ids: a snippet is
/// made for the hits kept ([`HIT_SQL`]), not for every match.
const SEARCH_IDS_SQL: &str = concat!(
    "SELECT e.id \
     FROM event_fts CROSS JOIN events e ON e.id = event_fts.rowid \
     WHERE event_fts MATCH ?1 \
     ORDER BY ",
    event_time_order!(),
    " DESC, e.id DESC LIMIT ?2"
);

/// Every match's id, from the index alone, ascending (the walk's binary search
/// relies on the order).
const MATCH_IDS_SQL: &str = "SELECT rowid FROM event_fts WHERE event_fts MATCH ?1 ORDER BY rowid";

/// Every event newest first, in the order of [`SEARCH_IDS_SQL`], read from the
/// `events_by_time` index: the way for a word with many matches, whose newest
/// hits are found after a few of its entries.
pub(crate) const NEWEST_IDS_SQL: &str = concat!(
    "SELECT id FROM events ORDER BY ",
    event_time_order!(),
    " DESC, id DESC"
);

/// Above this many matches the walk of [`NEWEST_IDS_SQL`] wins: sorting reads
/// one row per match at random, the walk reads index entries in order, about
/// `events / matches` of them per hit kept.
const WALK_ABOVE_MATCHES: usize = 1_000;

/// Where a hit is: its session and place.
const HIT_SQL: &str = "SELECT s.name, s.project, s.project_key, e.seq, e.ts, e.role \
     FROM events e CROSS JOIN sessions s ON s.id = e.session WHERE e.id = ?1";

/// The whole searchable text of a candidate (the index was given its words).
const TEXT_SQL: &str = "SELECT cairn_event_text(e.kind, cairn_event_body(e.body, e.payload_at, p.data)) \
     FROM events e LEFT JOIN payloads p ON p.id = e.payload WHERE e.id = ?1";

/// Checkpoints are created by cairn (`created_us`), so their time sorts as it is.
const CHECKPOINT_SEARCH_SQL: &str = "SELECT c.session_id, c.project, c.project_key, \
         c.round_id, c.created_us, snippet(checkpoint_fts, 0, '[', ']', '…', 16) \
     FROM checkpoint_fts CROSS JOIN checkpoints c ON c.id = checkpoint_fts.rowid \
     WHERE checkpoint_fts MATCH ?1 \
     ORDER BY c.created_us DESC, c.id DESC LIMIT ?2";

/// The same walk, kept to the links of one session's fork chain (`[key, after,
/// upto]` as JSON): every event of its history, replaced or not.
const SESSION_SEARCH_IDS_SQL: &str = "SELECT e.id \
     FROM event_fts CROSS JOIN events e ON e.id = event_fts.rowid \
     WHERE event_fts MATCH ?1 AND EXISTS (SELECT 1 FROM json_each(?2) link \
         WHERE e.session = link.value ->> 0 AND e.seq > link.value ->> 1 \
         AND e.seq <= link.value ->> 2) \
     ORDER BY event_fts.rowid DESC LIMIT ?3";

/// A hit's session and place ([`HIT_SQL`]), its time and role read from what
/// the row stores (`time::event_time`, `event_codes::role_of`).
type HitPlace = (
    String,
    String,
    String,
    u64,
    Result<Timestamp, String>,
    Option<Role>,
);

type RawHit = (String, String, String, u64, Timestamp, Option<Role>, String);

pub(crate) fn search(conn: &Connection, query: &str, scope: &SearchScope) -> R<Vec<SearchHit>> {
    let project = scope.project.as_ref().map(Project::key);
    let Some(query) = event_query(query, project)? else {
        return Ok(Vec::new());
    };
    let matches = conn
        .prepare_cached(MATCH_IDS_SQL)?
        .query_map([&query.fts], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    if scope.limit > 0 && matches.len() > WALK_ABOVE_MATCHES {
        return newest_of(conn, &query, &matches, scope.limit);
    }
    // With phrases to check, some candidates may fail: no limit on them.
    let candidates = conn
        .prepare_cached(SEARCH_IDS_SQL)?
        .query_map(
            params![query.fts, candidate_limit(&query, scope.limit)],
            |row| row.get(0),
        )?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    hits(kept_hits(
        conn,
        &query,
        candidates.into_iter().map(Ok),
        scope.limit,
    )?)
}

/// The newest `limit` hits among `matches` (sorted ascending), walking every
/// event newest first until enough are kept.
fn newest_of(
    conn: &Connection,
    query: &EventQuery,
    matches: &[i64],
    limit: u32,
) -> R<Vec<SearchHit>> {
    let mut newest = conn.prepare_cached(NEWEST_IDS_SQL)?;
    let candidates = newest
        .query_map([], |row| row.get::<_, i64>(0))?
        .filter(|id| {
            id.as_ref()
                .map_or(true, |id| matches.binary_search(id).is_ok())
        });
    hits(kept_hits(conn, query, candidates, limit)?)
}
/// `LIMIT` of the candidates: the search's, or none when phrases are checked.
fn candidate_limit(query: &EventQuery, limit: u32) -> i64 {
    if query.phrases.is_empty() {
        sql_limit(limit)
    } else {
        -1
    }
}

/// The hits among `candidates` (in order, read as needed) whose text holds
/// every phrase of `query`, at most `limit` (0: all), each with its snippet.
fn kept_hits(
    conn: &Connection,
    query: &EventQuery,
    candidates: impl Iterator<Item = rusqlite::Result<i64>>,
    limit: u32,
) -> R<Vec<RawHit>> {
    let mut raws = Vec::new();
    for id in candidates {
        let id = id?;
        if limit > 0 && raws.len() >= limit as usize {
            break;
        }
        let text: String = conn
            .prepare_cached(TEXT_SQL)?
            .query_row([id], |row| row.get(0))?;
        let Some(snippet) = snippet_if_holds(&text, &query.phrases, &query.terms)? else {
            continue;
        };
        let (name, project, key, seq, ts, role): HitPlace =
            conn.prepare_cached(HIT_SQL)?.query_row([id], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    time::event_time(row.get_ref(4)?),
                    event_codes::role_of(row.get_ref(5)?),
                ))
            })?;
        let ts = ts.map_err(|e| unreadable(format!("event #{id}: {e}")))?;
        raws.push((name, project, key, seq, ts, role, snippet));
    }
    Ok(raws)
}

/// [`search`] over one session's whole history (its fork chain's part of it).
pub(crate) fn search_session(
    conn: &Connection,
    session: Ulid,
    query: &str,
    limit: u32,
) -> R<Vec<SearchHit>> {
    let stored = sessions::by_id(conn, session)?;
    let Some(query) = event_query(query, None)? else {
        return Ok(Vec::new());
    };
    let chain = crate::lineage::chain(conn, &stored)?;
    let links: Vec<[i64; 3]> = chain
        .links()
        .iter()
        .map(|l| {
            [
                l.key,
                i64::try_from(l.after).unwrap_or(i64::MAX),
                i64::try_from(l.upto).unwrap_or(i64::MAX),
            ]
        })
        .collect();
    let links = serde_json::to_string(&links)
        .map_err(|e| unreadable(format!("fork chain of session {session}: {e}")))?;
    let candidates = conn
        .prepare_cached(SESSION_SEARCH_IDS_SQL)?
        .query_map(
            params![query.fts, links, candidate_limit(&query, limit)],
            |row| row.get(0),
        )?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    hits(kept_hits(
        conn,
        &query,
        candidates.into_iter().map(Ok),
        limit,
    )?)
}

/// `LIMIT` of a search: 0 means none (-1 in SQLite).
fn sql_limit(limit: u32) -> i64 {
    if limit == 0 { -1 } else { i64::from(limit) }
}

fn hits(raws: Vec<RawHit>) -> R<Vec<SearchHit>> {
    raws.into_iter()
        .map(|(name, project, key, seq, ts, role, snippet)| {
            Ok(SearchHit {
                session: SessionName::parse(&name)
                    .map_err(|e| unreadable(format!("session name {name:?}: {e}")))?,
                project: Project::from_parts(project, key),
                seq,
                ts,
                role,
                snippet,
            })
        })
        .collect()
}

pub(crate) fn search_checkpoints(
    conn: &Connection,
    query: &str,
    scope: &SearchScope,
) -> R<Vec<CheckpointHit>> {
    let project = scope.project.as_ref().map(Project::key);
    let Some(fts_query) = literal_query(query, project) else {
        return Ok(Vec::new());
    };
    type Raw = (String, String, String, String, i64, Option<String>);
    let raws = conn
        .prepare_cached(CHECKPOINT_SEARCH_SQL)?
        .query_map(params![fts_query, sql_limit(scope.limit)], |row| {
            Raw::try_from(row)
        })?
        .collect::<rusqlite::Result<Vec<Raw>>>()?;
    raws.into_iter()
        .map(
            |(session_id, project, key, round_id, created_us, snippet)| {
                Ok(CheckpointHit {
                    session_id,
                    project: Project::from_parts(project, key),
                    round_id,
                    created_at: time::from_micros(created_us)?,
                    snippet: snippet.unwrap_or_default(),
                })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    /// What the ORDER BY relies on: SQLite reads RFC 3339 with any number of
    /// fractional digits and with offsets.
    #[test]
    fn julianday_orders_event_times_as_instants() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let order: String = conn
            .query_row(
                "SELECT group_concat(t, ' ') FROM (SELECT column1 AS t FROM (VALUES \
                 ('2025-03-01T10:00:00Z'), ('2025-03-01T10:00:00.5Z'), \
                 ('2025-03-01T11:30:00+02:00'), ('2025-03-01T09:59:59.123456789Z')) \
                 ORDER BY julianday(t) DESC)",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(
            order,
            "2025-03-01T10:00:00.5Z 2025-03-01T10:00:00Z 2025-03-01T09:59:59.123456789Z \
             2025-03-01T11:30:00+02:00"
        );
    }
}
