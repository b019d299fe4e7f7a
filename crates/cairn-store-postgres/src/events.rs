//! The event log: appends and imports (which keep the session's running totals in
//! step in the same transaction) and the reads that resume and `context` need.

use cairn_core::accounting::{self, EventEffect, TotalsDelta};
use cairn_core::event::{decode_payload, encode_payload};
use cairn_core::store::SizedEvent;
use cairn_core::{Error, Event, LiveContext, NewEvent, NewSession, Payload, Session, Timestamp};
use deadpool_postgres::Transaction;
use serde_json::{Map, Value};
use tokio_postgres::Row;
use ulid::Ulid;

use crate::fail::{R, unreadable};
use crate::media::without_inline_media;
use crate::rows::{big, get, get_u64, limit, micros, parse_ts};
use crate::search_text::index_words;
use crate::sessions::{self, StoredSession};

/// What the event adds to its session, asked of the accounting rules; a provider
/// request id is looked up in the store only when the event carries one.
async fn charge(
    tx: &Transaction<'_>,
    session_key: i64,
    seq: u64,
    payload: &Payload,
) -> R<EventEffect> {
    let mut asked = None;
    let first = accounting::effect(seq, payload, |id| {
        asked = Some(id.to_owned());
        Ok::<_, Error>(false)
    })?;
    let Some(request) = asked else {
        return Ok(first);
    };
    let statement = tx
        .prepare_cached("SELECT 1 FROM request_ids WHERE session = $1 AND request_id = $2")
        .await?;
    if tx
        .query_opt(&statement, &[&session_key, &request])
        .await?
        .is_none()
    {
        return Ok(first);
    }
    Ok(accounting::effect(seq, payload, |_| Ok::<_, Error>(true))?)
}

/// Inserts one event with its index rows and adds it to `totals`.
async fn insert_event(
    tx: &Transaction<'_>,
    session_key: i64,
    seq: u64,
    ts: Timestamp,
    payload: &Payload,
    totals: &mut TotalsDelta,
) -> R<()> {
    let payload = without_inline_media(tx, seq, payload).await?;
    let payload = payload.as_ref();
    let body = serde_json::to_string(&encode_payload(payload))
        .map_err(|e| Error::invalid(format!("event seq {seq}: cannot encode: {e}")))?;
    let (role, request_id) = match payload {
        Payload::Message(m) => (Some(m.role.as_str()), m.request_id.as_deref()),
        _ => (None, None),
    };
    let effect = charge(tx, session_key, seq, payload).await?;
    // PostgreSQL text cannot hold NUL; it separates words like any other control.
    let text = payload.searchable_text().replace('\0', " ");
    let search_text = (!text.is_empty()).then_some(text.as_str());
    let statement = tx
        .prepare_cached(
            "INSERT INTO events (session, seq, kind, role, bytes, request_id, ts, body, \
             search_text, search, author) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                     CASE WHEN $9::TEXT IS NULL THEN NULL \
                          ELSE to_tsvector('cairn_search', $10::TEXT) END, $11)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &session_key,
            &big(seq, "seq")?,
            &payload.kind(),
            &role,
            &(body.len() as i64),
            &request_id,
            &ts.to_string(),
            &body,
            &search_text,
            &index_words(&text),
            &cairn_core::author::current(),
        ],
    )
    .await?;
    if let Some(request) = &effect.new_request_id {
        let statement = tx
            .prepare_cached("INSERT INTO request_ids (session, request_id) VALUES ($1, $2)")
            .await?;
        tx.execute(&statement, &[&session_key, request]).await?;
    }
    if let Some(row) = &effect.knowledge {
        let statement = tx
            .prepare_cached(
                "INSERT INTO knowledge (session, seq, kind, pinned) VALUES ($1, $2, $3, $4)",
            )
            .await?;
        tx.execute(
            &statement,
            &[
                &session_key,
                &big(seq, "seq")?,
                &row.kind.as_str(),
                &row.pinned,
            ],
        )
        .await?;
    }
    totals.add(seq, ts, &effect);
    Ok(())
}

async fn apply_totals(tx: &Transaction<'_>, session_key: i64, totals: &TotalsDelta) -> R<()> {
    let Some(last_ts) = totals.last_ts else {
        return Ok(());
    };
    if !totals.cost_usd.is_finite() {
        return Err(
            Error::invalid("the events' cost_usd adds up to more than a number can hold").into(),
        );
    }
    let (compaction_seq, context_start) = match totals.compaction {
        Some((seq, start)) => (Some(big(seq, "seq")?), Some(big(start, "seq")?)),
        None => (None, None),
    };
    let usage = &totals.usage;
    let statement = tx
        .prepare_cached(
            "UPDATE sessions SET head_seq = $1, updated_at = $2, updated_us = $3, \
             input_tokens = input_tokens + $4, output_tokens = output_tokens + $5, \
             cache_read_tokens = cache_read_tokens + $6, \
             cache_write_tokens = cache_write_tokens + $7, \
             reasoning_tokens = reasoning_tokens + $8, cost_usd = cost_usd + $9, \
             message_count = message_count + $10, tool_call_count = tool_call_count + $11, \
             compaction_count = compaction_count + $12, \
             compaction_seq = coalesce($13, compaction_seq), \
             context_start_seq = coalesce($14, context_start_seq) \
             WHERE id = $15",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &big(totals.head_seq, "seq")?,
            &last_ts.to_string(),
            &micros(last_ts),
            &big(usage.input_tokens, "input_tokens")?,
            &big(usage.output_tokens, "output_tokens")?,
            &big(usage.cache_read_tokens, "cache_read_tokens")?,
            &big(usage.cache_write_tokens, "cache_write_tokens")?,
            &big(usage.reasoning_tokens, "reasoning_tokens")?,
            &totals.cost_usd,
            &big(totals.messages, "message count")?,
            &big(totals.tool_calls, "tool call count")?,
            &big(totals.compactions, "compaction count")?,
            &compaction_seq,
            &context_start,
            &session_key,
        ],
    )
    .await?;
    Ok(())
}

/// Appends under the session row's lock: concurrent appenders (other tasks, other
/// processes, other machines) take turns, so seqs are dense and never repeat.
pub(crate) async fn append(
    tx: &Transaction<'_>,
    session: Ulid,
    events: &[NewEvent],
) -> R<Vec<u64>> {
    let stored = sessions::lock_by_id(tx, session).await?;
    let mut totals = TotalsDelta::default();
    let mut seqs = Vec::with_capacity(events.len());
    let mut seq = stored.session.head_seq;
    for event in events {
        seq += 1;
        let ts = event.ts.unwrap_or_else(Timestamp::now);
        insert_event(tx, stored.key, seq, ts, &event.payload, &mut totals).await?;
        seqs.push(seq);
    }
    apply_totals(tx, stored.key, &totals).await?;
    crate::authors::record(tx, stored.key, events.len() as u64, seq).await?;
    Ok(seqs)
}

/// Writes a whole history read from `events` into a new session, inside the
/// caller's transaction: an error anywhere rolls everything back.
pub(crate) async fn import(
    tx: &Transaction<'_>,
    new: &NewSession,
    events: impl Iterator<Item = cairn_core::Result<Event>>,
) -> R<Session> {
    import_as(tx, new, Ulid::new(), events).await
}

/// [`import`] under a given session id (a copy from another store).
pub(crate) async fn import_as(
    tx: &Transaction<'_>,
    new: &NewSession,
    id: Ulid,
    events: impl Iterator<Item = cairn_core::Result<Event>>,
) -> R<Session> {
    let stored = sessions::create_as(tx, new, id).await?;
    let mut totals = TotalsDelta::default();
    let mut written = 0;
    for (expected, event) in (1..).zip(events) {
        let event = event?;
        written = expected;
        cairn_core::accounting::check_next_seq(event.seq, expected)?;
        insert_event(
            tx,
            stored.key,
            event.seq,
            event.ts,
            &event.payload,
            &mut totals,
        )
        .await?;
    }
    apply_totals(tx, stored.key, &totals).await?;
    crate::authors::record(tx, stored.key, written, written).await?;
    Ok(sessions::by_key(tx, stored.key).await?.session)
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

/// A row of `seq, ts, kind, body` back to an event.
fn decode(row: &Row) -> R<Event> {
    let seq = get_u64(row, 0)?;
    let ts: String = get(row, 1)?;
    let kind: String = get(row, 2)?;
    let body: String = get(row, 3)?;
    let payload =
        decode_body(kind, &body).map_err(|e| unreadable(format!("event seq {seq}: {e}")))?;
    Ok(Event {
        seq,
        ts: parse_ts(&ts)?,
        payload,
    })
}

async fn decode_query(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> R<Vec<Event>> {
    let statement = tx.prepare_cached(sql).await?;
    tx.query(&statement, params)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// Events of the live context: from the context start on, compactions excluded.
async fn live_tail(tx: &Transaction<'_>, stored: &StoredSession) -> R<Vec<Event>> {
    decode_query(
        tx,
        "SELECT seq, ts, kind, body FROM events \
         WHERE session = $1 AND seq >= $2 AND kind <> 'compaction' ORDER BY seq",
        &[&stored.key, &big(stored.session.context_start_seq, "seq")?],
    )
    .await
}

/// The newest `retention` knowledge items and every pinned one, oldest first.
async fn retained_knowledge(
    tx: &Transaction<'_>,
    session_key: i64,
    retention: usize,
) -> R<Vec<Event>> {
    let retention = i64::try_from(retention).unwrap_or(i64::MAX);
    decode_query(
        tx,
        "SELECT e.seq, e.ts, e.kind, e.body FROM events e \
         WHERE e.session = $1 AND e.seq IN ( \
             SELECT seq FROM knowledge WHERE session = $1 AND pinned \
             UNION \
             SELECT seq FROM (SELECT seq FROM knowledge WHERE session = $1 \
                              ORDER BY seq DESC LIMIT $2) newest) \
         ORDER BY e.seq",
        &[&session_key, &retention],
    )
    .await
}

pub(crate) async fn live_context(
    tx: &Transaction<'_>,
    session: Ulid,
    retention: usize,
) -> R<LiveContext> {
    let stored = sessions::by_id(tx, session).await?;
    let compaction = match stored.session.compaction_seq {
        Some(seq) => decode_query(
            tx,
            "SELECT seq, ts, kind, body FROM events WHERE session = $1 AND seq = $2",
            &[&stored.key, &big(seq, "seq")?],
        )
        .await?
        .into_iter()
        .next(),
        None => None,
    };
    let events = live_tail(tx, &stored).await?;
    let knowledge = retained_knowledge(tx, stored.key, retention).await?;
    Ok(LiveContext {
        session: stored.session,
        compaction,
        events,
        knowledge,
    })
}

pub(crate) async fn events_after(
    tx: &Transaction<'_>,
    session: Ulid,
    after_seq: u64,
    page: u32,
) -> R<Vec<Event>> {
    let key = sessions::key_of(tx, session).await?;
    decode_query(
        tx,
        "SELECT seq, ts, kind, body FROM events WHERE session = $1 AND seq > $2 \
         ORDER BY seq LIMIT $3",
        &[&key, &big(after_seq, "seq")?, &limit(page)],
    )
    .await
}

pub(crate) async fn large_events(
    tx: &Transaction<'_>,
    session: Ulid,
    min_bytes: u64,
    whole_history: bool,
) -> R<Vec<SizedEvent>> {
    let stored = sessions::by_id(tx, session).await?;
    let min_bytes = i64::try_from(min_bytes).unwrap_or(i64::MAX);
    // The whole history starts at seq 1 and keeps compactions.
    let (from, skip_kind) = if whole_history {
        (1, "")
    } else {
        (big(stored.session.context_start_seq, "seq")?, "compaction")
    };
    let statement = tx
        .prepare_cached(
            "SELECT seq, ts, kind, body, bytes FROM events \
             WHERE session = $1 AND seq >= $2 AND kind <> $3 AND bytes >= $4 ORDER BY seq",
        )
        .await?;
    tx.query(&statement, &[&stored.key, &from, &skip_kind, &min_bytes])
        .await?
        .iter()
        .map(|row| {
            Ok(SizedEvent {
                event: decode(row)?,
                bytes: get_u64(row, 4)?,
            })
        })
        .collect()
}

pub(crate) async fn knowledge(tx: &Transaction<'_>, session: Ulid) -> R<Vec<Event>> {
    let key = sessions::key_of(tx, session).await?;
    decode_query(
        tx,
        "SELECT e.seq, e.ts, e.kind, e.body FROM knowledge k \
         JOIN events e ON e.session = k.session AND e.seq = k.seq \
         WHERE k.session = $1 ORDER BY k.seq",
        &[&key],
    )
    .await
}

/// Flips the pinned flag in the index and in the event itself, so an export
/// carries it; the text (and so the full-text index) is unchanged.
pub(crate) async fn set_knowledge_pinned(
    tx: &Transaction<'_>,
    session: Ulid,
    seq: u64,
    pinned: bool,
) -> R<()> {
    let key = sessions::key_of(tx, session).await?;
    let seq_key = big(seq, "seq")?;
    let statement = tx
        .prepare_cached("UPDATE knowledge SET pinned = $1 WHERE session = $2 AND seq = $3")
        .await?;
    if tx.execute(&statement, &[&pinned, &key, &seq_key]).await? == 0 {
        return Err(
            Error::not_found("knowledge item", format!("seq {seq} of session {session}")).into(),
        );
    }
    let statement = tx
        .prepare_cached("SELECT body FROM events WHERE session = $1 AND seq = $2 FOR UPDATE")
        .await?;
    let row = tx.query_one(&statement, &[&key, &seq_key]).await?;
    let body: String = get(&row, 0)?;
    let mut fields: Map<String, Value> = serde_json::from_str(&body)
        .map_err(|e| unreadable(format!("event seq {seq}: body is not a JSON object: {e}")))?;
    fields.insert("pinned".into(), Value::Bool(pinned));
    let body = Value::Object(fields).to_string();
    let statement = tx
        .prepare_cached("UPDATE events SET body = $1, bytes = $2 WHERE session = $3 AND seq = $4")
        .await?;
    tx.execute(&statement, &[&body, &(body.len() as i64), &key, &seq_key])
        .await?;
    Ok(())
}
