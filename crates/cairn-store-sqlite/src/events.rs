//! The event log: appends and imports (which keep the session's running totals in
//! step in the same transaction) and the reads that resume and `context` need.
//! What each event adds to the totals is computed by `cairn_core::accounting`; this
//! file only stores the event, its index rows and those figures.

use std::borrow::Cow;

use cairn_core::accounting::{self, TotalsDelta};
use cairn_core::event::decode_payload;
use cairn_core::lineage::{self, Boundary, Chain, LiveState};
use cairn_core::store::SizedEvent;
use cairn_core::{Error, Event, LiveContext, NewEvent, NewSession, Payload, Session, Timestamp};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use ulid::Ulid;

use crate::event_codes;
use crate::fail::{R, unreadable};
use crate::payloads;
use crate::prepared::{BodyDictionary, PreparedEvent, prepare, prepare_ahead};
use crate::search_text::project_token;
use crate::sessions::{self, StoredSession};
use crate::time;

/// Inserts one prepared event with its index rows and adds it to `totals`; gives
/// back its payload (as stored) for the caller's lineage step.
///
/// Two columns are kept smaller than the event (issue 15): `author` is written on
/// the first event of each append or import only, NULL on the others of the same
/// call (an event's author is that of the nearest earlier row of its session
/// that has one; `session_authors` keeps the counts), and `request_id` is no
/// longer written (nothing reads it; the body holds the message's request id,
/// and `request_ids` the session's set).
fn insert_event<'p>(
    conn: &Connection,
    session_key: i64,
    project_token: &str,
    event: PreparedEvent<'p>,
    first_of_call: bool,
    totals: &mut TotalsDelta,
) -> R<Cow<'p, Payload>> {
    let PreparedEvent {
        seq,
        ts,
        payload,
        media,
        bytes,
        text,
        body,
    } = event;
    for m in media {
        crate::attachments::put(conn, &m.mime, &m.bytes)?;
    }
    // What the event adds to the session is core's decision (and its checks); this
    // file stores the event and that effect.
    let effect = accounting::effect(seq, &payload, |request| -> R<bool> {
        Ok(conn
            .prepare_cached("SELECT 1 FROM request_ids WHERE session = ?1 AND request_id = ?2")?
            .query_row(params![session_key, request], |_| Ok(()))
            .optional()?
            .is_some())
    })?;
    let role = match payload.as_ref() {
        Payload::Message(m) => Some(event_codes::role_column(m.role)),
        _ => None,
    };
    let stored = payloads::write(conn, body)?;
    conn.prepare_cached(
        "INSERT INTO events (session, seq, kind, role, bytes, ts, body, author, \
         payload, payload_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        session_key,
        seq,
        event_codes::kind_column(payload.kind()),
        role,
        bytes,
        time::event_time_column(ts),
        stored.body,
        first_of_call.then(cairn_core::author::current),
        stored.payload,
        stored.payload_at,
    ])?;
    let row_id = conn.last_insert_rowid();
    // Every event, with text or not: the index's content view holds them all,
    // and FTS5's check counts its rows.
    conn.prepare_cached("INSERT INTO event_fts (rowid, text, scope) VALUES (?1, ?2, ?3)")?
        .execute(params![row_id, text, project_token])?;
    if let Some(request) = &effect.new_request_id {
        conn.prepare_cached("INSERT INTO request_ids (session, request_id) VALUES (?1, ?2)")?
            .execute(params![session_key, request])?;
    }
    if let Some(row) = effect.knowledge {
        conn.prepare_cached(
            "INSERT INTO knowledge (session, seq, kind, pinned, project_wide) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            session_key,
            seq,
            row.kind.as_str(),
            row.pinned,
            row.project_wide
        ])?;
    }
    totals.add(seq, ts, &effect);
    Ok(payload)
}

fn apply_totals(conn: &Connection, session_key: i64, totals: &TotalsDelta) -> R<()> {
    let Some(last_ts) = totals.last_ts else {
        return Ok(());
    };
    let (compaction_seq, context_start) = match totals.compaction {
        Some((seq, start)) => (Some(seq), Some(start)),
        None => (None, None),
    };
    conn.prepare_cached(
        "UPDATE sessions SET head_seq = ?1, updated_at = ?2, updated_us = ?3, \
         input_tokens = input_tokens + ?4, output_tokens = output_tokens + ?5, \
         cache_read_tokens = cache_read_tokens + ?6, cache_write_tokens = cache_write_tokens + ?7, \
         reasoning_tokens = reasoning_tokens + ?8, cost_usd = cost_usd + ?9, \
         message_count = message_count + ?10, tool_call_count = tool_call_count + ?11, \
         compaction_count = compaction_count + ?12, \
         compaction_seq = coalesce(?13, compaction_seq), \
         context_start_seq = coalesce(?14, context_start_seq) \
         WHERE id = ?15",
    )?
    .execute(params![
        totals.head_seq,
        last_ts.to_string(),
        time::micros(last_ts),
        totals.usage.input_tokens,
        totals.usage.output_tokens,
        totals.usage.cache_read_tokens,
        totals.usage.cache_write_tokens,
        totals.usage.reasoning_tokens,
        totals.cost_usd,
        totals.messages,
        totals.tool_calls,
        totals.compactions,
        compaction_seq,
        context_start,
        session_key,
    ])?;
    Ok(())
}

pub(crate) fn append(conn: &Connection, session: Ulid, events: &[NewEvent]) -> R<Vec<u64>> {
    let stored = sessions::by_id(conn, session)?;
    let mut totals = TotalsDelta::default();
    let mut seqs = Vec::with_capacity(events.len());
    let mut seq = stored.session.head_seq;
    let scope = project_token(stored.session.project.key());
    let mut live = Boundaries::new(&stored);
    for event in events {
        seq += 1;
        let ts = event.ts.unwrap_or_else(Timestamp::now);
        let prepared = prepare(seq, ts, Cow::Borrowed(&event.payload))?;
        let first = seq == stored.session.head_seq + 1;
        let payload = insert_event(conn, stored.key, &scope, prepared, first, &mut totals)?;
        live.follow(conn, &stored, seq, &payload)?;
        seqs.push(seq);
    }
    apply_totals(conn, stored.key, &totals)?;
    crate::authors::record(conn, stored.key, events.len() as u64, seq)?;
    live.finish(conn, stored.key)?;
    Ok(seqs)
}

/// The live state of a session as a batch of events moves it (compactions and
/// rewinds), each boundary's state remembered for later "as of" questions.
struct Boundaries {
    state: LiveState,
    moved: bool,
}

impl Boundaries {
    fn new(stored: &StoredSession) -> Self {
        Boundaries {
            state: LiveState::of(&stored.session),
            moved: false,
        }
    }

    fn follow(
        &mut self,
        conn: &Connection,
        stored: &StoredSession,
        seq: u64,
        payload: &Payload,
    ) -> R<()> {
        self.state = match lineage::boundary(seq, payload)? {
            None => return Ok(()),
            Some(Boundary::Compaction { replaces }) => self.state.after_compaction(seq, replaces),
            Some(Boundary::Rewind { to }) => {
                let before = crate::lineage::state_as_of(conn, stored, to - 1)?;
                LiveState::after_rewind(&before, to, seq)
            }
        };
        crate::lineage::record(conn, stored.key, seq, &self.state)?;
        self.moved = true;
        Ok(())
    }

    fn finish(self, conn: &Connection, key: i64) -> R<()> {
        if self.moved {
            crate::lineage::write_state(conn, key, &self.state)?;
        }
        Ok(())
    }
}

/// Writes a whole history read from `events` into a new session. Runs inside the
/// caller's transaction: an error anywhere (from the stream included) rolls back
/// the session, its events and the attachments its media blocks carried. The
/// events are prepared on a thread of their own ([`prepare_ahead`]).
pub(crate) fn import<I>(conn: &Connection, new: &NewSession, events: I) -> R<Session>
where
    I: Iterator<Item = cairn_core::Result<Event>> + Send + 'static,
{
    if new.fork_seq.is_some() {
        return Err(Error::invalid(format!(
            "session {}: an import is a standalone session; it cannot be a fork",
            new.name
        ))
        .into());
    }
    import_as(conn, new, Ulid::new(), events)
}

/// [`import`] under a given session id (a copy from another store).
pub(crate) fn import_as<I>(conn: &Connection, new: &NewSession, id: Ulid, events: I) -> R<Session>
where
    I: Iterator<Item = cairn_core::Result<Event>> + Send + 'static,
{
    let stored = sessions::create_as(conn, new, id)?;
    let mut totals = TotalsDelta::default();
    let scope = project_token(stored.session.project.key());
    let mut written = 0;
    let mut live = Boundaries::new(&stored);
    let dictionary = crate::dictionary::for_payloads(conn)?;
    let bodies = BodyDictionary::of(conn);
    for (expected, event) in (1..).zip(prepare_ahead(events, dictionary, bodies)) {
        let event = event?;
        written = expected;
        cairn_core::accounting::check_next_seq(event.seq, expected)?;
        let seq = event.seq;
        let payload = insert_event(conn, stored.key, &scope, event, expected == 1, &mut totals)?;
        live.follow(conn, &stored, seq, &payload)?;
    }
    apply_totals(conn, stored.key, &totals)?;
    crate::authors::record(conn, stored.key, written, written)?;
    live.finish(conn, stored.key)?;
    Ok(sessions::by_key(conn, stored.key)?.session)
}

/// A stored row back to an event: its `ts` and `kind` columns as stored
/// (`time::event_time`, `event_codes`) and its JSON body.
pub(crate) fn decode(seq: u64, ts: ValueRef<'_>, kind: ValueRef<'_>, body: &str) -> R<Event> {
    let payload = event_codes::kind_of(kind)
        .and_then(|kind| decode_body(kind.into_owned(), body))
        .map_err(|e| unreadable(format!("event seq {seq}: {e}")))?;
    Ok(Event {
        seq,
        ts: time::event_time(ts).map_err(|e| unreadable(format!("event seq {seq}: {e}")))?,
        payload,
    })
}

/// `decode_payload` of a stored body, parsed straight into the payload type of
/// the known kinds (resume decodes megabytes; one pass instead of two).
fn decode_body(kind: String, body: &str) -> Result<Payload, String> {
    let typed = match kind.as_str() {
        "message" => serde_json::from_str(body).map(Payload::Message),
        "compaction" => serde_json::from_str(body).map(Payload::Compaction),
        "knowledge" => serde_json::from_str(body).map(Payload::Knowledge),
        _ => {
            let fields: Map<String, Value> = serde_json::from_str(body)
                .map_err(|e| format!("body is not a JSON object: {e}"))?;
            return decode_payload(kind, fields);
        }
    };
    typed.map_err(|e| format!("{kind} event: {e}"))
}

/// The columns that give back an event's JSON body, for `events e LEFT JOIN
/// payloads p ON p.id = e.payload`; read with [`body_at`].
pub(crate) const BODY_COLUMNS: &str = "e.body, e.payload_at, p.data";

/// The JSON body of a row of session `key` whose [`BODY_COLUMNS`] start at
/// column `index`; an error names the session and the event.
pub(crate) fn body_at(
    conn: &Connection,
    row: &rusqlite::Row<'_>,
    index: usize,
    key: i64,
    seq: u64,
) -> R<String> {
    payloads::restore(
        conn,
        row.get_ref(index)?,
        row.get(index + 1)?,
        Some(row.get_ref(index + 2)?),
    )
    .map_err(|e| {
        let session = conn
            .query_row("SELECT ulid FROM sessions WHERE id = ?1", [key], |row| {
                row.get::<_, String>(0)
            })
            .unwrap_or_else(|_| format!("#{key}"));
        unreadable(format!("session {session}, event seq {seq}: {e}"))
    })
}

/// Reads the events of `ranges` of a history, across its fork chain, oldest first:
/// every kind, or (`live_only`) none of the boundaries; only events of at least
/// `min_bytes`; at most `limit` (0: no limit). Each event comes with its size.
fn read_ranges(
    conn: &Connection,
    chain: &Chain<i64>,
    ranges: &[[u64; 2]],
    live_only: bool,
    min_bytes: u64,
    limit: u32,
) -> R<Vec<(Event, u64)>> {
    let mut out = Vec::new();
    for (key, [from, to]) in chain.pieces(ranges) {
        let left = if limit == 0 {
            -1
        } else {
            let left = i64::from(limit) - out.len() as i64;
            if left <= 0 {
                break;
            }
            left
        };
        let mut statement = conn.prepare_cached(&format!(
            "SELECT e.seq, e.ts, e.kind, e.bytes, {BODY_COLUMNS} \
             FROM events e LEFT JOIN payloads p ON p.id = e.payload \
             WHERE e.session = ?1 AND e.seq >= ?2 AND e.seq <= ?3 AND e.bytes >= ?4 \
             AND (?5 = 0 OR e.kind NOT IN ({compaction}, '{rewind}')) \
             ORDER BY e.seq LIMIT ?6",
            compaction = event_codes::COMPACTION,
            rewind = lineage::REWIND_KIND,
        ))?;
        let mut rows = statement.query(params![key, from, to, min_bytes, live_only, left])?;
        while let Some(row) = rows.next()? {
            let seq: u64 = row.get(0)?;
            let body = body_at(conn, row, 4, key, seq)?;
            let event = decode(seq, row.get_ref(1)?, row.get_ref(2)?, &body)?;
            out.push((event, row.get(3)?));
        }
    }
    Ok(out)
}

fn events_only(sized: Vec<(Event, u64)>) -> Vec<Event> {
    sized.into_iter().map(|(event, _)| event).collect()
}

fn event_at(conn: &Connection, chain: &Chain<i64>, seq: u64) -> R<Option<Event>> {
    Ok(read_ranges(conn, chain, &[[seq, seq]], false, 0, 1)?
        .into_iter()
        .next()
        .map(|(event, _)| event))
}

/// The events at `rows` (session key, seq), in their order, one query per run of
/// rows of one session (a fork chain's pieces): a resume reads its retained
/// knowledge items at once, not one query each.
fn events_at(conn: &Connection, rows: &[(i64, u64)]) -> R<Vec<Event>> {
    let mut out = Vec::with_capacity(rows.len());
    for run in rows.chunk_by(|a, b| a.0 == b.0) {
        let Some(&(key, _)) = run.first() else {
            continue;
        };
        // A JSON array for `json_each`: one statement whatever the count.
        let seqs = run
            .iter()
            .map(|(_, seq)| seq.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let mut statement = conn.prepare_cached(&format!(
            "SELECT e.seq, e.ts, e.kind, {BODY_COLUMNS} \
             FROM events e LEFT JOIN payloads p ON p.id = e.payload \
             WHERE e.session = ?1 AND e.seq IN (SELECT value FROM json_each(?2)) \
             ORDER BY e.seq"
        ))?;
        let mut found = statement.query(params![key, format!("[{seqs}]")])?;
        while let Some(row) = found.next()? {
            let seq: u64 = row.get(0)?;
            let body = body_at(conn, row, 3, key, seq)?;
            out.push(decode(seq, row.get_ref(1)?, row.get_ref(2)?, &body)?);
        }
    }
    Ok(out)
}

/// The knowledge index rows of a history (its fork chain's), oldest first:
/// (session key, seq, pinned).
fn knowledge_rows(conn: &Connection, chain: &Chain<i64>, head: u64) -> R<Vec<(i64, u64, bool)>> {
    let mut out = Vec::new();
    for (key, [from, to]) in chain.pieces(&[[1, head]]) {
        let rows = conn
            .prepare_cached(
                "SELECT seq, pinned FROM knowledge WHERE session = ?1 AND seq >= ?2 \
                 AND seq <= ?3 ORDER BY seq",
            )?
            .query_map(params![key, from, to], |row| {
                Ok((key, row.get::<_, u64>(0)?, row.get::<_, bool>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.extend(rows);
    }
    Ok(out)
}

/// The newest `retention` knowledge items and every pinned one, oldest first;
/// items a rewind took back are not retained.
fn retained_knowledge(
    conn: &Connection,
    chain: &Chain<i64>,
    stored: &StoredSession,
    retention: usize,
) -> R<Vec<Event>> {
    let state = LiveState::of(&stored.session);
    let mut rows = knowledge_rows(conn, chain, stored.session.head_seq)?;
    rows.retain(|(_, seq, _)| !state.gaps.iter().any(|g| g[0] <= *seq && *seq <= g[1]));
    let newest_from = rows.len().saturating_sub(retention);
    let kept: Vec<(i64, u64)> = rows
        .into_iter()
        .enumerate()
        .filter(|(index, (_, _, pinned))| *index >= newest_from || *pinned)
        .map(|(_, (key, seq, _))| (key, seq))
        .collect();
    events_at(conn, &kept)
}

pub(crate) fn live_context(conn: &Connection, session: Ulid, retention: usize) -> R<LiveContext> {
    let stored = sessions::by_id(conn, session)?;
    let chain = crate::lineage::chain(conn, &stored)?;
    let state = LiveState::of(&stored.session);
    let compaction = match state.compaction_seq {
        Some(seq) => event_at(conn, &chain, seq)?,
        None => None,
    };
    let spans = state.spans(stored.session.head_seq);
    let events = events_only(read_ranges(conn, &chain, &spans, true, 0, 0)?);
    let knowledge = retained_knowledge(conn, &chain, &stored, retention)?;
    Ok(LiveContext {
        session: stored.session,
        compaction,
        events,
        knowledge,
    })
}

pub(crate) fn events_after(
    conn: &Connection,
    session: Ulid,
    after_seq: u64,
    limit: u32,
) -> R<Vec<Event>> {
    let stored = sessions::by_id(conn, session)?;
    let chain = crate::lineage::chain(conn, &stored)?;
    let range = [after_seq.saturating_add(1), stored.session.head_seq];
    Ok(events_only(read_ranges(
        conn,
        &chain,
        &[range],
        false,
        0,
        limit,
    )?))
}

pub(crate) fn large_events(
    conn: &Connection,
    session: Ulid,
    min_bytes: u64,
    whole_history: bool,
) -> R<Vec<SizedEvent>> {
    let stored = sessions::by_id(conn, session)?;
    let chain = crate::lineage::chain(conn, &stored)?;
    let head = stored.session.head_seq;
    let ranges = if whole_history {
        vec![[1, head]]
    } else {
        LiveState::of(&stored.session).spans(head)
    };
    Ok(
        read_ranges(conn, &chain, &ranges, !whole_history, min_bytes, 0)?
            .into_iter()
            .map(|(event, bytes)| SizedEvent { event, bytes })
            .collect(),
    )
}

pub(crate) fn knowledge(conn: &Connection, session: Ulid) -> R<Vec<Event>> {
    let stored = sessions::by_id(conn, session)?;
    let chain = crate::lineage::chain(conn, &stored)?;
    let rows: Vec<(i64, u64)> = knowledge_rows(conn, &chain, stored.session.head_seq)?
        .into_iter()
        .map(|(key, seq, _)| (key, seq))
        .collect();
    events_at(conn, &rows)
}

/// Flips the pinned flag in the index and in the event itself, so an export
/// carries it; the text (and so the full-text index) is unchanged.
pub(crate) fn set_knowledge_pinned(
    conn: &Connection,
    session: Ulid,
    seq: u64,
    pinned: bool,
) -> R<()> {
    // A fork's inherited item is pinned where it is stored (in its parent).
    let stored = sessions::by_id(conn, session)?;
    let chain = crate::lineage::chain(conn, &stored)?;
    let key = chain.owner(seq).map_or(stored.key, |link| link.key);
    let changed = conn
        .prepare_cached("UPDATE knowledge SET pinned = ?1 WHERE session = ?2 AND seq = ?3")?
        .execute(params![pinned, key, seq])?;
    if changed == 0 {
        return Err(
            Error::not_found("knowledge item", format!("seq {seq} of session {session}")).into(),
        );
    }
    let (body, old_payload) = {
        let mut statement = conn.prepare_cached(&format!(
            "SELECT e.payload, {BODY_COLUMNS} FROM events e \
             LEFT JOIN payloads p ON p.id = e.payload WHERE e.session = ?1 AND e.seq = ?2"
        ))?;
        let mut rows = statement.query(params![key, seq])?;
        let row = rows
            .next()?
            .ok_or_else(|| unreadable(format!("event seq {seq}: indexed but not stored")))?;
        (
            body_at(conn, row, 1, key, seq)?,
            row.get::<_, Option<i64>>(0)?,
        )
    };
    let mut fields: Map<String, Value> = serde_json::from_str(&body)
        .map_err(|e| unreadable(format!("event seq {seq}: body is not a JSON object: {e}")))?;
    fields.insert("pinned".into(), Value::Bool(pinned));
    let body = Value::Object(fields).to_string();
    if !rewrite_body(conn, key, seq, body.clone())? {
        conn.prepare_cached(
            "UPDATE events SET body = ?1, bytes = ?2, payload = NULL, payload_at = NULL, \
             zstd_level = NULL \
             WHERE session = ?3 AND seq = ?4",
        )?
        .execute(params![body, body.len() as u64, key, seq])?;
    }
    payloads::release(conn, &Vec::from_iter(old_payload))
}

/// Stores the session's own large bodies that are still plain text (written
/// before `payloads` existed) the way [`insert_event`] does now, then its bodies
/// and payloads with the store's dictionaries at `payloads::COMPACT_LEVEL` and
/// `PAYLOAD_COMPACT_LEVEL`, stronger levels than writes use. The text each gives back, and so the
/// full-text index, is unchanged. How many were rewritten.
pub(crate) fn compact(conn: &Connection, session: Ulid) -> R<u64> {
    let key = sessions::by_id(conn, session)?.key;
    let plain = conn
        .prepare_cached(
            "SELECT id, seq, body FROM events WHERE session = ?1 AND payload IS NULL \
             AND typeof(body) = 'text' AND length(CAST(body AS BLOB)) >= ?2",
        )?
        .query_map(params![key, payloads::LARGE as u64], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, u64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // An event is counted once, whichever of its parts was rewritten.
    let mut rewritten = std::collections::HashSet::new();
    for (id, seq, body) in plain {
        if rewrite_body(conn, key, seq, body)? {
            rewritten.insert(id);
        }
    }
    rewritten.extend(payloads::with_dictionary(conn, key)?);
    let mut referring =
        conn.prepare_cached("SELECT id FROM events WHERE session = ?1 AND payload = ?2")?;
    for payload in payloads::payloads_with_dictionary(conn, key)? {
        for id in referring.query_map(params![key, payload], |row| row.get::<_, i64>(0))? {
            rewritten.insert(id?);
        }
    }
    Ok(rewritten.len() as u64)
}

/// Replaces the stored body of one event (same text to the index); the caller
/// releases the payload it referred to before.
/// `false` (and nothing written) when the new form is the plain text it was.
pub(crate) fn rewrite_body(conn: &Connection, key: i64, seq: u64, body: String) -> R<bool> {
    let bytes = body.len() as u64;
    let stored = payloads::store(conn, body)?;
    if stored.payload.is_none() && matches!(stored.body, payloads::Column::Text(_)) {
        return Ok(false);
    }
    conn.prepare_cached(
        "UPDATE events SET body = ?1, bytes = ?2, payload = ?3, payload_at = ?4, \
         zstd_level = NULL \
         WHERE session = ?5 AND seq = ?6",
    )?
    .execute(params![
        stored.body,
        bytes,
        stored.payload,
        stored.payload_at,
        key,
        seq
    ])?;
    Ok(true)
}
