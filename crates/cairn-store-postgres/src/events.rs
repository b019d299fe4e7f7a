//! The event log: appends and imports (which keep the session's running totals in
//! step in the same transaction) and the reads that resume and `context` need.

use cairn_core::accounting::{self, EventEffect, TotalsDelta};
use cairn_core::event::{decode_payload, encode_payload};
use cairn_core::lineage::{self, Boundary, Chain, LiveState};
use cairn_core::store::SizedEvent;
use cairn_core::{Error, Event, LiveContext, NewEvent, NewSession, Payload, Session, Timestamp};
use deadpool_postgres::Transaction;
use serde_json::{Map, Value};
use tokio_postgres::Row;
use ulid::Ulid;

use crate::fail::{R, unreadable};
use crate::media::without_inline_media;
use crate::payloads;
use crate::rows::{at_us, big, get, get_u64, micros, parse_ts};
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
    let words = crate::search_text::event_words(payload);
    let bytes = body.len() as i64;
    let stored = payloads::store(tx, body).await?;
    // The vector without positions (`strip`): phrases are checked on each
    // candidate's text when searching (see `search.rs`).
    let statement = tx
        .prepare_cached(
            "INSERT INTO events (session, seq, kind, role, bytes, request_id, ts, body, \
             search, author, payload, payload_at, at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                     strip(to_tsvector('cairn_search', $9::TEXT)), $10, $11, $12, $13)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &session_key,
            &big(seq, "seq")?,
            &payload.kind(),
            &role,
            &bytes,
            &request_id,
            &ts.to_string(),
            &stored.body,
            &words,
            &cairn_core::author::current(),
            &stored.payload,
            &stored.payload_at,
            &at_us(ts),
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
                "INSERT INTO knowledge (session, seq, kind, pinned, project_wide) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await?;
        tx.execute(
            &statement,
            &[
                &session_key,
                &big(seq, "seq")?,
                &row.kind.as_str(),
                &row.pinned,
                &row.project_wide,
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
    let mut live = Boundaries::new(&stored);
    for event in events {
        seq += 1;
        let ts = event.ts.unwrap_or_else(Timestamp::now);
        insert_event(tx, stored.key, seq, ts, &event.payload, &mut totals).await?;
        live.follow(tx, &stored, seq, &event.payload).await?;
        seqs.push(seq);
    }
    apply_totals(tx, stored.key, &totals).await?;
    crate::authors::record(tx, stored.key, events.len() as u64, seq).await?;
    live.finish(tx, stored.key).await?;
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

    async fn follow(
        &mut self,
        tx: &Transaction<'_>,
        stored: &StoredSession,
        seq: u64,
        payload: &Payload,
    ) -> R<()> {
        self.state = match lineage::boundary(seq, payload)? {
            None => return Ok(()),
            Some(Boundary::Compaction { replaces }) => self.state.after_compaction(seq, replaces),
            Some(Boundary::Rewind { to }) => {
                let before = crate::lineage::state_as_of(tx, stored, to - 1).await?;
                LiveState::after_rewind(&before, to, seq)
            }
        };
        crate::lineage::record(tx, stored.key, seq, &self.state).await?;
        self.moved = true;
        Ok(())
    }

    async fn finish(self, tx: &Transaction<'_>, key: i64) -> R<()> {
        if self.moved {
            crate::lineage::write_state(tx, key, &self.state).await?;
        }
        Ok(())
    }
}

/// Writes a whole history read from `events` into a new session, inside the
/// caller's transaction: an error anywhere rolls everything back.
pub(crate) async fn import(
    tx: &Transaction<'_>,
    new: &NewSession,
    events: impl Iterator<Item = cairn_core::Result<Event>>,
) -> R<Session> {
    if new.fork_seq.is_some() {
        return Err(Error::invalid(format!(
            "session {}: an import is a standalone session; it cannot be a fork",
            new.name
        ))
        .into());
    }
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
    let mut live = Boundaries::new(&stored);
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
        live.follow(tx, &stored, event.seq, &event.payload).await?;
    }
    apply_totals(tx, stored.key, &totals).await?;
    crate::authors::record(tx, stored.key, written, written).await?;
    live.finish(tx, stored.key).await?;
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

/// The columns [`decode`] reads, from `events e` joined with [`PAYLOAD_JOIN`];
/// the session's id follows them.
pub(crate) const EVENT_COLUMNS: &str = "e.seq, e.ts, e.kind, e.body, e.payload_at, p.data";

/// The payload row of an event, if it has one.
pub(crate) const PAYLOAD_JOIN: &str = "LEFT JOIN payloads p ON p.id = e.payload";

/// A row of [`EVENT_COLUMNS`] and the session's id back to an event; a damaged
/// row is an error naming the session and the event.
pub(crate) fn decode(row: &Row) -> R<Event> {
    let seq = get_u64(row, 0)?;
    let ts: String = get(row, 1)?;
    let kind: String = get(row, 2)?;
    let payload = payloads::restore(get(row, 3)?, get(row, 4)?, get(row, 5)?)
        .and_then(|body| decode_body(kind, &body))
        .map_err(|e| {
            let session = get::<String>(row, 6).unwrap_or_default();
            unreadable(format!("session {session}, event seq {seq}: {e}"))
        })?;
    Ok(Event {
        seq,
        ts: parse_ts(&ts)?,
        payload,
    })
}

/// Reads the events of `ranges` of a history, across its fork chain, oldest first:
/// every kind, or (`live_only`) none of the boundaries; only events of at least
/// `min_bytes`; at most `page` (0: no limit). Each event comes with its size.
async fn read_ranges(
    tx: &Transaction<'_>,
    chain: &Chain<i64>,
    ranges: &[[u64; 2]],
    live_only: bool,
    min_bytes: u64,
    page: u32,
) -> R<Vec<(Event, u64)>> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS}, (SELECT ulid FROM sessions WHERE id = $1), e.bytes \
             FROM events e {PAYLOAD_JOIN} \
             WHERE e.session = $1 AND e.seq >= $2 AND e.seq <= $3 AND e.bytes >= $4 \
             AND (NOT $5 OR e.kind NOT IN ('compaction', 'rewind')) ORDER BY e.seq LIMIT $6"
        ))
        .await?;
    let min_bytes = i64::try_from(min_bytes).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for (key, [from, to]) in chain.pieces(ranges) {
        let left = if page == 0 {
            None
        } else {
            let left = i64::from(page) - out.len() as i64;
            if left <= 0 {
                break;
            }
            Some(left)
        };
        let rows = tx
            .query(
                &statement,
                &[
                    &key,
                    &big(from, "seq")?,
                    &big(to, "seq")?,
                    &min_bytes,
                    &live_only,
                    &left,
                ],
            )
            .await?;
        for row in &rows {
            out.push((decode(row)?, get_u64(row, 7)?));
        }
    }
    Ok(out)
}

fn events_only(sized: Vec<(Event, u64)>) -> Vec<Event> {
    sized.into_iter().map(|(event, _)| event).collect()
}

async fn event_at(tx: &Transaction<'_>, chain: &Chain<i64>, seq: u64) -> R<Option<Event>> {
    Ok(read_ranges(tx, chain, &[[seq, seq]], false, 0, 1)
        .await?
        .into_iter()
        .next()
        .map(|(event, _)| event))
}

/// The events at `rows` (session key, seq), in their order, one query per run of
/// rows of one session (a fork chain's pieces): a resume reads its retained
/// knowledge items in a round trip or two, not one round trip each.
async fn events_at(tx: &Transaction<'_>, rows: &[(i64, u64)]) -> R<Vec<Event>> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS}, (SELECT ulid FROM sessions WHERE id = $1) \
             FROM events e {PAYLOAD_JOIN} \
             WHERE e.session = $1 AND e.seq = ANY($2) ORDER BY e.seq"
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for run in rows.chunk_by(|a, b| a.0 == b.0) {
        let Some(&(key, _)) = run.first() else {
            continue;
        };
        let seqs = run
            .iter()
            .map(|(_, seq)| big(*seq, "seq"))
            .collect::<R<Vec<i64>>>()?;
        for row in tx.query(&statement, &[&key, &seqs]).await? {
            out.push(decode(&row)?);
        }
    }
    Ok(out)
}

/// The knowledge index rows of a history (its fork chain's), oldest first:
/// (session key, seq, pinned).
async fn knowledge_rows(
    tx: &Transaction<'_>,
    chain: &Chain<i64>,
    head: u64,
) -> R<Vec<(i64, u64, bool)>> {
    let statement = tx
        .prepare_cached(
            "SELECT seq, pinned FROM knowledge WHERE session = $1 AND seq >= $2 \
             AND seq <= $3 ORDER BY seq",
        )
        .await?;
    let mut out = Vec::new();
    for (key, [from, to]) in chain.pieces(&[[1, head]]) {
        for row in tx
            .query(&statement, &[&key, &big(from, "seq")?, &big(to, "seq")?])
            .await?
        {
            out.push((key, get_u64(&row, 0)?, get::<bool>(&row, 1)?));
        }
    }
    Ok(out)
}

/// The newest `retention` knowledge items and every pinned one, oldest first;
/// items a rewind took back are not retained.
async fn retained_knowledge(
    tx: &Transaction<'_>,
    chain: &Chain<i64>,
    stored: &StoredSession,
    retention: usize,
) -> R<Vec<Event>> {
    let state = LiveState::of(&stored.session);
    let mut rows = knowledge_rows(tx, chain, stored.session.head_seq).await?;
    rows.retain(|(_, seq, _)| !state.gaps.iter().any(|g| g[0] <= *seq && *seq <= g[1]));
    let newest_from = rows.len().saturating_sub(retention);
    let kept: Vec<(i64, u64)> = rows
        .into_iter()
        .enumerate()
        .filter(|(index, (_, _, pinned))| *index >= newest_from || *pinned)
        .map(|(_, (key, seq, _))| (key, seq))
        .collect();
    events_at(tx, &kept).await
}

pub(crate) async fn live_context(
    tx: &Transaction<'_>,
    session: Ulid,
    retention: usize,
) -> R<LiveContext> {
    let stored = sessions::by_id(tx, session).await?;
    let chain = crate::lineage::chain(tx, &stored).await?;
    let state = LiveState::of(&stored.session);
    let compaction = match state.compaction_seq {
        Some(seq) => event_at(tx, &chain, seq).await?,
        None => None,
    };
    let spans = state.spans(stored.session.head_seq);
    let events = events_only(read_ranges(tx, &chain, &spans, true, 0, 0).await?);
    let knowledge = retained_knowledge(tx, &chain, &stored, retention).await?;
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
    let stored = sessions::by_id(tx, session).await?;
    let chain = crate::lineage::chain(tx, &stored).await?;
    let range = [after_seq.saturating_add(1), stored.session.head_seq];
    Ok(events_only(
        read_ranges(tx, &chain, &[range], false, 0, page).await?,
    ))
}

pub(crate) async fn large_events(
    tx: &Transaction<'_>,
    session: Ulid,
    min_bytes: u64,
    whole_history: bool,
) -> R<Vec<SizedEvent>> {
    let stored = sessions::by_id(tx, session).await?;
    let chain = crate::lineage::chain(tx, &stored).await?;
    let head = stored.session.head_seq;
    let ranges = if whole_history {
        vec![[1, head]]
    } else {
        LiveState::of(&stored.session).spans(head)
    };
    Ok(
        read_ranges(tx, &chain, &ranges, !whole_history, min_bytes, 0)
            .await?
            .into_iter()
            .map(|(event, bytes)| SizedEvent { event, bytes })
            .collect(),
    )
}

pub(crate) async fn knowledge(tx: &Transaction<'_>, session: Ulid) -> R<Vec<Event>> {
    let stored = sessions::by_id(tx, session).await?;
    let chain = crate::lineage::chain(tx, &stored).await?;
    let rows: Vec<(i64, u64)> = knowledge_rows(tx, &chain, stored.session.head_seq)
        .await?
        .into_iter()
        .map(|(key, seq, _)| (key, seq))
        .collect();
    events_at(tx, &rows).await
}

/// Flips the pinned flag in the index and in the event itself, so an export
/// carries it; the text (and so the full-text index) is unchanged.
pub(crate) async fn set_knowledge_pinned(
    tx: &Transaction<'_>,
    session: Ulid,
    seq: u64,
    pinned: bool,
) -> R<()> {
    // A fork's inherited item is pinned where it is stored (in its parent).
    let stored = sessions::by_id(tx, session).await?;
    let chain = crate::lineage::chain(tx, &stored).await?;
    let key = chain.owner(seq).map_or(stored.key, |link| link.key);
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
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS}, (SELECT ulid FROM sessions WHERE id = $1), e.payload \
             FROM events e {PAYLOAD_JOIN} WHERE e.session = $1 AND e.seq = $2 FOR UPDATE OF e"
        ))
        .await?;
    let row = tx.query_one(&statement, &[&key, &seq_key]).await?;
    let old_payload: Option<i64> = get(&row, 7)?;
    let body = payloads::restore(get(&row, 3)?, get(&row, 4)?, get(&row, 5)?).map_err(|e| {
        let session = get::<String>(&row, 6).unwrap_or_default();
        unreadable(format!("session {session}, event seq {seq}: {e}"))
    })?;
    let mut fields: Map<String, Value> = serde_json::from_str(&body)
        .map_err(|e| unreadable(format!("event seq {seq}: body is not a JSON object: {e}")))?;
    fields.insert("pinned".into(), Value::Bool(pinned));
    let body = Value::Object(fields).to_string();
    rewrite_body(tx, key, seq_key, body).await?;
    payloads::release(tx, &Vec::from_iter(old_payload)).await?;
    Ok(())
}

/// Stores `body` as the body of one event the way [`insert_event`] does (the
/// caller releases the payload it referred to before).
async fn rewrite_body(tx: &Transaction<'_>, key: i64, seq: i64, body: String) -> R<()> {
    let bytes = body.len() as i64;
    let stored = payloads::store(tx, body).await?;
    let statement = tx
        .prepare_cached(
            "UPDATE events SET body = $1, bytes = $2, payload = $3, payload_at = $4 \
             WHERE session = $5 AND seq = $6",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &stored.body,
            &bytes,
            &stored.payload,
            &stored.payload_at,
            &key,
            &seq,
        ],
    )
    .await?;
    Ok(())
}

/// Moves the large literals of the session's own bodies written before
/// `payloads` existed out to it, as [`insert_event`] does now (the text each
/// event gives back, and its search text, are unchanged). How many were
/// rewritten.
pub(crate) async fn compact(tx: &Transaction<'_>, session: Ulid) -> R<u64> {
    let key = sessions::lock_by_id(tx, session).await?.key;
    let statement = tx
        .prepare_cached(
            "SELECT seq, body FROM events WHERE session = $1 AND payload IS NULL \
             AND octet_length(body) >= $2::BIGINT ORDER BY seq",
        )
        .await?;
    let large = i64::try_from(cairn_core::body_codec::LARGE).unwrap_or(i64::MAX);
    let mut rewritten = 0;
    for row in tx.query(&statement, &[&key, &large]).await? {
        let seq: i64 = get(&row, 0)?;
        let body: String = get(&row, 1)?;
        let split = cairn_core::body_codec::split(body);
        let Some((literal, at)) = split.literal else {
            continue;
        };
        let payload = payloads::put(tx, &literal).await?;
        let statement = tx
            .prepare_cached(
                "UPDATE events SET body = $1, payload = $2, payload_at = $3 \
                 WHERE session = $4 AND seq = $5",
            )
            .await?;
        let at = big(at, "payload offset")?;
        tx.execute(&statement, &[&split.skeleton, &payload, &at, &key, &seq])
            .await?;
        rewritten += 1;
    }
    Ok(rewritten)
}
