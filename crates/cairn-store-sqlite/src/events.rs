//! The event log: appends and imports (which keep the session's running totals in
//! step in the same transaction) and the reads that resume and `context` need.

use cairn_core::event::{decode_payload, encode_payload};
use cairn_core::store::SizedEvent;
use cairn_core::{
    Error, Event, LiveContext, NewEvent, NewSession, Payload, Session, Timestamp, Usage,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use ulid::Ulid;

use crate::fail::{R, unreadable};
use crate::media::without_inline_media;
use crate::search_text::{project_token, stored_event_text};
use crate::sessions::{self, StoredSession};
use crate::time;

/// What a batch of inserted events adds to its session's row.
#[derive(Default)]
struct Totals {
    usage: Usage,
    cost_usd: f64,
    messages: u64,
    tool_calls: u64,
    compactions: u64,
    /// (seq, context start) of the newest compaction in the batch.
    compaction: Option<(u64, u64)>,
    head_seq: u64,
    last_ts: Option<Timestamp>,
}

/// Per-request token counts beyond this are refused: they can only come from a
/// broken or hostile file, and would overflow the session's totals.
const MAX_TOKENS_PER_REQUEST: u64 = 1_000_000_000_000;

fn check_usage(seq: u64, usage: &Usage) -> R<()> {
    for (field, value) in [
        ("input_tokens", usage.input_tokens),
        ("output_tokens", usage.output_tokens),
        ("cache_read_tokens", usage.cache_read_tokens),
        ("cache_write_tokens", usage.cache_write_tokens),
        ("reasoning_tokens", usage.reasoning_tokens),
    ] {
        if value > MAX_TOKENS_PER_REQUEST {
            return Err(Error::invalid(format!(
                "event seq {seq}: usage field \"{field}\" is {value}, more than the \
                 {MAX_TOKENS_PER_REQUEST} tokens one request can use"
            ))
            .into());
        }
    }
    Ok(())
}

fn check_compaction(seq: u64, replaces: [u64; 2]) -> R<()> {
    let [first, last] = replaces;
    if first == 0 || first > last || last >= seq {
        return Err(Error::invalid(format!(
            "event seq {seq}: compaction field \"replaces\" must be [first, last] with \
             1 <= first <= last < {seq} (the compaction's own seq); got [{first}, {last}]"
        ))
        .into());
    }
    Ok(())
}

/// Inserts one event with its index rows and adds it to `totals`.
fn insert_event(
    conn: &Connection,
    session_key: i64,
    project_token: &str,
    seq: u64,
    ts: Timestamp,
    payload: &Payload,
    totals: &mut Totals,
) -> R<()> {
    let payload = without_inline_media(conn, seq, payload)?;
    let payload = payload.as_ref();
    let body = serde_json::to_string(&encode_payload(payload))
        .map_err(|e| Error::invalid(format!("event seq {seq}: cannot encode: {e}")))?;
    let (role, request_id) = match payload {
        Payload::Message(m) => (Some(m.role.as_str()), m.request_id.as_deref()),
        _ => (None, None),
    };
    conn.prepare_cached(
        "INSERT INTO events (session, seq, kind, role, bytes, request_id, ts, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        session_key,
        seq,
        payload.kind(),
        role,
        body.len() as u64,
        request_id,
        ts.to_string(),
        body,
    ])?;
    let row_id = conn.last_insert_rowid();
    // Computed from the stored row, exactly as the index's content view computes it
    // when FTS5 later reads it back (snippets, deletes).
    let text = stored_event_text(payload.kind(), &body);
    if !text.is_empty() {
        conn.prepare_cached("INSERT INTO event_fts (rowid, text, scope) VALUES (?1, ?2, ?3)")?
            .execute(params![row_id, text, project_token])?;
    }
    match payload {
        Payload::Message(message) => {
            totals.messages += 1;
            totals.tool_calls += message.tool_uses().count() as u64;
            if message.usage.is_some() || message.cost_usd.is_some() {
                let cost = message.cost_usd.unwrap_or(0.0);
                if !cost.is_finite() {
                    return Err(Error::invalid(format!(
                        "event seq {seq}: field \"cost_usd\" must be a finite number"
                    ))
                    .into());
                }
                // A provider request is counted once, however many events carry it.
                let first_time = match &message.request_id {
                    Some(request) => {
                        conn.prepare_cached(
                            "INSERT OR IGNORE INTO request_ids (session, request_id) \
                             VALUES (?1, ?2)",
                        )?
                        .execute(params![session_key, request])?
                            == 1
                    }
                    None => true,
                };
                if let Some(usage) = &message.usage {
                    check_usage(seq, usage)?;
                }
                if first_time {
                    if let Some(usage) = &message.usage {
                        totals.usage.add(usage);
                    }
                    totals.cost_usd += cost;
                }
            }
        }
        Payload::Compaction(compaction) => {
            check_compaction(seq, compaction.replaces)?;
            totals.compactions += 1;
            totals.compaction = Some((seq, compaction.replaces[1] + 1));
            count_side_request(conn, session_key, seq, &compaction.extra, totals)?;
        }
        Payload::Knowledge(item) => {
            conn.prepare_cached(
                "INSERT INTO knowledge (session, seq, kind, pinned) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                session_key,
                seq,
                item.knowledge_kind.as_str(),
                item.pinned
            ])?;
        }
        Payload::Other { fields, .. } => {
            count_side_request(conn, session_key, seq, fields, totals)?;
        }
    }
    totals.head_seq = seq;
    totals.last_ts = Some(ts);
    Ok(())
}

/// Usage and cost recorded on an event that is not a message: a compaction carries
/// its compressor's request (`usage`, `cost_usd`, `request_id`, as a message does), and
/// a compression whose answer could not be used records what it cost all the same.
/// They count toward the session's totals, and so toward its spending limits, once
/// per provider request.
fn count_side_request(
    conn: &Connection,
    session_key: i64,
    seq: u64,
    fields: &Map<String, Value>,
    totals: &mut Totals,
) -> R<()> {
    let usage = match fields.get("usage") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            serde_json::from_value::<Usage>(value.clone())
                .map_err(|e| Error::invalid(format!("event seq {seq}: field \"usage\": {e}")))?,
        ),
    };
    let cost = match fields.get("cost_usd") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_f64().filter(|c| c.is_finite()).ok_or_else(|| {
            Error::invalid(format!(
                "event seq {seq}: field \"cost_usd\" must be a finite number"
            ))
        })?),
    };
    if usage.is_none() && cost.is_none() {
        return Ok(());
    }
    if let Some(usage) = &usage {
        check_usage(seq, usage)?;
    }
    let first_time = match fields.get("request_id").and_then(Value::as_str) {
        Some(request) => {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO request_ids (session, request_id) VALUES (?1, ?2)",
            )?
            .execute(params![session_key, request])?
                == 1
        }
        None => true,
    };
    if first_time {
        if let Some(usage) = &usage {
            totals.usage.add(usage);
        }
        totals.cost_usd += cost.unwrap_or(0.0);
    }
    Ok(())
}

fn apply_totals(conn: &Connection, session_key: i64, totals: &Totals) -> R<()> {
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
    let mut totals = Totals::default();
    let mut seqs = Vec::with_capacity(events.len());
    let mut seq = stored.session.head_seq;
    let scope = project_token(stored.session.project.as_str());
    for event in events {
        seq += 1;
        let ts = event.ts.unwrap_or_else(Timestamp::now);
        insert_event(
            conn,
            stored.key,
            &scope,
            seq,
            ts,
            &event.payload,
            &mut totals,
        )?;
        seqs.push(seq);
    }
    apply_totals(conn, stored.key, &totals)?;
    Ok(seqs)
}

/// Seqs of an import must be dense from 1.
fn check_next_seq(seq: u64, expected: u64) -> cairn_core::Result<()> {
    if seq != expected {
        return Err(Error::invalid(format!(
            "event seq {seq}: expected seq {expected} (seqs must be dense from 1, \
             without gaps or duplicates)"
        )));
    }
    Ok(())
}

/// Writes a whole history read from `events` into a new session. Runs inside the
/// caller's transaction: an error anywhere (from the stream included) rolls back
/// the session, its events and the attachments its media blocks carried.
pub(crate) fn import(
    conn: &Connection,
    new: &NewSession,
    events: impl Iterator<Item = cairn_core::Result<Event>>,
) -> R<Session> {
    let stored = sessions::create(conn, new)?;
    let mut totals = Totals::default();
    let scope = project_token(stored.session.project.as_str());
    for (expected, event) in (1..).zip(events) {
        let event = event?;
        check_next_seq(event.seq, expected)?;
        insert_event(
            conn,
            stored.key,
            &scope,
            event.seq,
            event.ts,
            &event.payload,
            &mut totals,
        )?;
    }
    apply_totals(conn, stored.key, &totals)?;
    Ok(sessions::by_key(conn, stored.key)?.session)
}

/// A stored row back to an event.
fn decode(seq: u64, ts: &str, kind: String, body: &str) -> R<Event> {
    let payload =
        decode_body(kind, body).map_err(|e| unreadable(format!("event seq {seq}: {e}")))?;
    Ok(Event {
        seq,
        ts: time::parse(ts)?,
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

type RawEvent = (u64, String, String, String);

fn raw_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawEvent> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn decode_all(raws: Vec<RawEvent>) -> R<Vec<Event>> {
    raws.into_iter()
        .map(|(seq, ts, kind, body)| decode(seq, &ts, kind, &body))
        .collect()
}

fn event_at(conn: &Connection, session_key: i64, seq: u64) -> R<Option<Event>> {
    let raw = conn
        .prepare_cached("SELECT seq, ts, kind, body FROM events WHERE session = ?1 AND seq = ?2")?
        .query_row(params![session_key, seq], raw_event)
        .optional()?;
    raw.map(|(seq, ts, kind, body)| decode(seq, &ts, kind, &body))
        .transpose()
}

/// Events of the live context: from the context start on, compactions excluded.
fn live_tail(conn: &Connection, stored: &StoredSession) -> R<Vec<Event>> {
    let raws = conn
        .prepare_cached(
            "SELECT seq, ts, kind, body FROM events \
             WHERE session = ?1 AND seq >= ?2 AND kind <> 'compaction' ORDER BY seq",
        )?
        .query_map(
            params![stored.key, stored.session.context_start_seq],
            raw_event,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    decode_all(raws)
}

/// The newest `retention` knowledge items and every pinned one, oldest first.
fn retained_knowledge(conn: &Connection, session_key: i64, retention: usize) -> R<Vec<Event>> {
    let retention = i64::try_from(retention).unwrap_or(i64::MAX);
    let raws = conn
        .prepare_cached(
            "SELECT e.seq, e.ts, e.kind, e.body FROM events e \
             WHERE e.session = ?1 AND e.seq IN ( \
                 SELECT seq FROM knowledge WHERE session = ?1 AND pinned = 1 \
                 UNION \
                 SELECT seq FROM (SELECT seq FROM knowledge WHERE session = ?1 \
                                  ORDER BY seq DESC LIMIT ?2)) \
             ORDER BY e.seq",
        )?
        .query_map(params![session_key, retention], raw_event)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    decode_all(raws)
}

pub(crate) fn live_context(conn: &Connection, session: Ulid, retention: usize) -> R<LiveContext> {
    let stored = sessions::by_id(conn, session)?;
    let compaction = match stored.session.compaction_seq {
        Some(seq) => event_at(conn, stored.key, seq)?,
        None => None,
    };
    let events = live_tail(conn, &stored)?;
    let knowledge = retained_knowledge(conn, stored.key, retention)?;
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
    let key = sessions::key_of(conn, session)?;
    let limit = if limit == 0 { -1 } else { i64::from(limit) };
    let raws = conn
        .prepare_cached(
            "SELECT seq, ts, kind, body FROM events WHERE session = ?1 AND seq > ?2 \
             ORDER BY seq LIMIT ?3",
        )?
        .query_map(params![key, after_seq, limit], raw_event)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    decode_all(raws)
}

pub(crate) fn large_events(
    conn: &Connection,
    session: Ulid,
    min_bytes: u64,
    whole_history: bool,
) -> R<Vec<SizedEvent>> {
    let stored = sessions::by_id(conn, session)?;
    let rows = if whole_history {
        conn.prepare_cached(
            "SELECT seq, ts, kind, body, bytes FROM events \
             WHERE session = ?1 AND bytes >= ?2 ORDER BY seq",
        )?
        .query_map(params![stored.key, min_bytes], |row| {
            Ok((raw_event(row)?, row.get::<_, u64>(4)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
    } else {
        conn.prepare_cached(
            "SELECT seq, ts, kind, body, bytes FROM events \
             WHERE session = ?1 AND seq >= ?2 AND kind <> 'compaction' AND bytes >= ?3 \
             ORDER BY seq",
        )?
        .query_map(
            params![stored.key, stored.session.context_start_seq, min_bytes],
            |row| Ok((raw_event(row)?, row.get::<_, u64>(4)?)),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    rows.into_iter()
        .map(|((seq, ts, kind, body), bytes)| {
            Ok(SizedEvent {
                event: decode(seq, &ts, kind, &body)?,
                bytes,
            })
        })
        .collect()
}

pub(crate) fn knowledge(conn: &Connection, session: Ulid) -> R<Vec<Event>> {
    let key = sessions::key_of(conn, session)?;
    let raws = conn
        .prepare_cached(
            "SELECT e.seq, e.ts, e.kind, e.body FROM knowledge k \
             JOIN events e ON e.session = k.session AND e.seq = k.seq \
             WHERE k.session = ?1 ORDER BY k.seq",
        )?
        .query_map([key], raw_event)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    decode_all(raws)
}

/// Flips the pinned flag in the index and in the event itself, so an export
/// carries it; the text (and so the full-text index) is unchanged.
pub(crate) fn set_knowledge_pinned(
    conn: &Connection,
    session: Ulid,
    seq: u64,
    pinned: bool,
) -> R<()> {
    let key = sessions::key_of(conn, session)?;
    let changed = conn
        .prepare_cached("UPDATE knowledge SET pinned = ?1 WHERE session = ?2 AND seq = ?3")?
        .execute(params![pinned, key, seq])?;
    if changed == 0 {
        return Err(
            Error::not_found("knowledge item", format!("seq {seq} of session {session}")).into(),
        );
    }
    let body: String = conn
        .prepare_cached("SELECT body FROM events WHERE session = ?1 AND seq = ?2")?
        .query_row(params![key, seq], |row| row.get(0))?;
    let mut fields: Map<String, Value> = serde_json::from_str(&body)
        .map_err(|e| unreadable(format!("event seq {seq}: body is not a JSON object: {e}")))?;
    fields.insert("pinned".into(), Value::Bool(pinned));
    let body = Value::Object(fields).to_string();
    conn.prepare_cached("UPDATE events SET body = ?1, bytes = ?2 WHERE session = ?3 AND seq = ?4")?
        .execute(params![body, body.len() as u64, key, seq])?;
    Ok(())
}
