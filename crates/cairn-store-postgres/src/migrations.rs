//! Versioned schema migrations, embedded in the binary. `cairn_schema.version`
//! holds the number of steps applied; the first use of a store applies the missing
//! ones in one transaction under an advisory lock (two processes starting at once
//! apply each step exactly once). A store of a newer version is refused, untouched.
//! Append new steps at the end; never edit a released one.

use cairn_core::Error;
use deadpool_postgres::Transaction;
use tokio_postgres::SimpleQueryMessage;

use crate::fail::R;

/// Schema v1: the data model of the SQLite store (ARCHITECTURE.md), in PostgreSQL.
///
/// - `sessions` carries every running total so listing and `show` never touch
///   events; listing walks `sessions_by_activity` (invariant 4).
/// - `events.body` is the payload as JSON text (exactly as encoded, key order
///   kept); `id` grows with every insert, so search returns newest first by it.
/// - `events.search` is the full-text vector of the event's searchable text
///   (`search_text`, kept for `ts_headline` snippets), under the `cairn_search`
///   configuration: every word as written, lower-cased and without diacritics.
/// - Rows that belong to a session go with it (`ON DELETE CASCADE`).
const V1: &str = r#"
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION cairn_search (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION cairn_search
    ALTER MAPPING FOR asciiword, word, numword, hword_asciipart, hword_part, hword_numpart,
        int, uint, float, sfloat, version
    WITH unaccent, simple;
ALTER TEXT SEARCH CONFIGURATION cairn_search
    DROP MAPPING IF EXISTS FOR asciihword, hword, numhword, email, url, host, url_path, file;

CREATE TABLE sessions (
    id BIGSERIAL PRIMARY KEY,
    ulid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL CONSTRAINT sessions_name_key UNIQUE,
    title TEXT,
    project TEXT NOT NULL,
    parent_ulid TEXT,
    fork_seq BIGINT,
    model TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_us BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens BIGINT NOT NULL DEFAULT 0,
    cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens BIGINT NOT NULL DEFAULT 0,
    cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
    spend_checkpoint_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
    live_tokens BIGINT NOT NULL DEFAULT 0,
    head_seq BIGINT NOT NULL DEFAULT 0,
    context_start_seq BIGINT NOT NULL DEFAULT 1,
    compaction_seq BIGINT,
    message_count BIGINT NOT NULL DEFAULT 0,
    tool_call_count BIGINT NOT NULL DEFAULT 0,
    compaction_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_activity ON sessions (updated_us DESC, id DESC);
CREATE INDEX sessions_by_project_activity ON sessions (project, updated_us DESC, id DESC);
CREATE INDEX sessions_by_parent ON sessions (parent_ulid) WHERE parent_ulid IS NOT NULL;

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    session BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT,
    bytes BIGINT NOT NULL,
    request_id TEXT,
    ts TEXT NOT NULL,
    body TEXT NOT NULL,
    search_text TEXT,
    search TSVECTOR,
    UNIQUE (session, seq)
);
CREATE INDEX events_search ON events USING GIN (search);

CREATE TABLE request_ids (
    session BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    request_id TEXT NOT NULL,
    PRIMARY KEY (session, request_id)
);

CREATE TABLE knowledge (
    session BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    pinned BOOLEAN NOT NULL,
    PRIMARY KEY (session, seq)
);

CREATE TABLE attachments (
    sha256 TEXT PRIMARY KEY,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    bytes BYTEA NOT NULL
);

CREATE TABLE checkpoints (
    id BIGSERIAL PRIMARY KEY,
    checkpoint_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    project TEXT NOT NULL,
    summary TEXT NOT NULL,
    files_touched TEXT NOT NULL,
    decisions_made TEXT NOT NULL,
    next_steps TEXT NOT NULL,
    round_id TEXT NOT NULL,
    round_no BIGINT,
    client TEXT,
    instance TEXT,
    created_us BIGINT NOT NULL
);
CREATE INDEX checkpoints_by_session ON checkpoints (session_id, id);
CREATE INDEX checkpoints_by_project ON checkpoints (project, id);
CREATE INDEX checkpoints_by_round ON checkpoints (session_id, round_no);

CREATE TABLE pool_signals (
    id BIGSERIAL PRIMARY KEY,
    project TEXT NOT NULL,
    topic TEXT NOT NULL,
    action TEXT NOT NULL,
    summary TEXT NOT NULL,
    affects TEXT NOT NULL,
    instance TEXT NOT NULL,
    session_id TEXT,
    created_us BIGINT NOT NULL,
    expires_us BIGINT
);
CREATE INDEX pool_signals_by_time ON pool_signals (created_us);
CREATE INDEX pool_signals_by_project_time ON pool_signals (project, created_us);

CREATE TABLE pool_instances (
    project TEXT NOT NULL,
    instance TEXT NOT NULL,
    client TEXT,
    last_seen_us BIGINT NOT NULL,
    PRIMARY KEY (project, instance)
);
CREATE INDEX pool_instances_by_time ON pool_instances (last_seen_us);
CREATE INDEX pool_instances_by_project_time ON pool_instances (project, last_seen_us);

CREATE TABLE leases (
    session BIGINT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    pid BIGINT NOT NULL,
    host TEXT NOT NULL,
    token TEXT NOT NULL,
    acquired_us BIGINT NOT NULL,
    heartbeat_us BIGINT NOT NULL
);
"#;

/// Sessions imported from another tool's transcript remember where they came from
/// and how far they were read, so that a re-import appends only what is new.
const V2: &str = r#"
CREATE TABLE import_origins (
    source TEXT NOT NULL,
    original_id TEXT NOT NULL,
    session_ulid TEXT NOT NULL,
    consumed_bytes BIGINT NOT NULL,
    consumed_lines BIGINT NOT NULL,
    imported_events BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (source, original_id)
);
"#;

/// A team on one store. Projects across machines: every row that names a project also keeps its key
/// (the same for every checkout of one repository), and filters use it. Rows start
/// with their path as key, and events, checkpoints and pool signals say who
/// wrote them (`author`, `user@host`); [`crate::project_keys::backfill`] then computes the
/// real keys of the projects whose directories exist on the migrating machine.
const V3_PROJECT_KEYS: &str = r#"
ALTER TABLE sessions ADD COLUMN project_key TEXT NOT NULL DEFAULT '';
UPDATE sessions SET project_key = project;
CREATE INDEX sessions_by_project_key_activity ON sessions (project_key, updated_us DESC, id DESC);
ALTER TABLE checkpoints ADD COLUMN project_key TEXT NOT NULL DEFAULT '';
UPDATE checkpoints SET project_key = project;
CREATE INDEX checkpoints_by_project_key ON checkpoints (project_key, id);
ALTER TABLE pool_signals ADD COLUMN project_key TEXT NOT NULL DEFAULT '';
UPDATE pool_signals SET project_key = project;
CREATE INDEX pool_signals_by_project_key_time ON pool_signals (project_key, created_us);
ALTER TABLE pool_instances ADD COLUMN project_key TEXT NOT NULL DEFAULT '';
UPDATE pool_instances SET project_key = project;
CREATE INDEX pool_instances_by_project_key_time ON pool_instances (project_key, last_seen_us);
-- Who wrote each event, checkpoint and pool signal (`user@host`); NULL before.
ALTER TABLE events ADD COLUMN author TEXT;
ALTER TABLE checkpoints ADD COLUMN author TEXT;
ALTER TABLE pool_signals ADD COLUMN author TEXT;
-- How many events of each session each author wrote: `sessions show` in O(authors).
CREATE TABLE session_authors (
    session BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    author TEXT NOT NULL,
    events BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (session, author)
);
"#;

/// Forks and rewinds (`cairn_core::lineage`): the ranges rewinds took out of a
/// session's live context, and the live state after every compaction and rewind
/// (and a fork's at its fork point), so "the live context as of seq N" is one
/// index probe. Existing compactions get theirs.
const V4_LINEAGE: &str = r#"
ALTER TABLE sessions ADD COLUMN live_gaps TEXT NOT NULL DEFAULT '[]';
CREATE TABLE live_bounds (
    session BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    compaction_seq BIGINT,
    context_start_seq BIGINT NOT NULL,
    gaps TEXT NOT NULL,
    PRIMARY KEY (session, seq)
);
INSERT INTO live_bounds (session, seq, compaction_seq, context_start_seq, gaps)
    SELECT session, seq, seq, ((body::json) -> 'replaces' ->> 1)::BIGINT + 1, '[]'
    FROM events
    WHERE kind = 'compaction' AND json_typeof((body::json) -> 'replaces' -> 1) = 'number';
"#;

/// Garbage collection and checkpoint search (as SQLite's step 8).
///
/// - `attachments.put_us`: when `put_attachment` last stored the bytes ahead of the
///   event that will refer to them (NULL when they came inline with their event).
/// - `checkpoints.search_text` / `search`: the id, summary, decisions, next steps
///   and files, set by a trigger on every insert (existing rows by the UPDATE
///   below), searched through a GIN index like `events.search`.
const V5_GC_AND_CHECKPOINT_SEARCH: &str = r#"
ALTER TABLE attachments ADD COLUMN put_us BIGINT;
ALTER TABLE checkpoints ADD COLUMN search_text TEXT;
ALTER TABLE checkpoints ADD COLUMN search TSVECTOR;
CREATE FUNCTION cairn_checkpoint_search() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    NEW.search_text := concat_ws(E'\n', NEW.session_id, NEW.summary,
        (SELECT string_agg(v, E'\n') FROM json_array_elements_text(NEW.decisions_made::json) v),
        (SELECT string_agg(v, E'\n') FROM json_array_elements_text(NEW.next_steps::json) v),
        (SELECT string_agg(v, E'\n') FROM json_array_elements_text(NEW.files_touched::json) v));
    -- Punctuation splits words, as `search_text::index_words` does for events.
    NEW.search := to_tsvector('cairn_search',
        regexp_replace(NEW.search_text, '[^[:alnum:]]+', ' ', 'g'));
    RETURN NEW;
END
$body$;
CREATE TRIGGER checkpoints_search BEFORE INSERT OR UPDATE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION cairn_checkpoint_search();
UPDATE checkpoints SET search_text = NULL;
CREATE INDEX checkpoints_search ON checkpoints USING GIN (search);
"#;

/// Search statistics: with the default target (100) ANALYZE keeps so few of the
/// `tsvector`'s lexemes that every word outside them is estimated at about 0.1 % of
/// the events; for a word in a dozen of a million events the planner then walks
/// the newest-first index through the whole table (0.5 s over 1M messages) instead
/// of asking the GIN index (5 ms). A larger sample knows rare words for rare.
const V6_SEARCH_STATISTICS: &str = r#"
ALTER TABLE events ALTER COLUMN search SET STATISTICS 1000;
"#;

/// A project's knowledge is found from the knowledge index alone (the SQLite
/// store's step 13): no knowledge event's body is read for its scope.
const V7_PROJECT_WIDE_KNOWLEDGE: &str = r#"
ALTER TABLE knowledge ADD COLUMN project_wide BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE knowledge k SET project_wide = TRUE FROM events e
    WHERE e.session = k.session AND e.seq = k.seq AND (e.body::jsonb) ->> 'scope' = 'project';
"#;

/// Large literals of event bodies stored once, zstd-compressed by the client
/// (`crate::payloads`): TOAST's pglz compresses a tool output about a third less
/// than zstd, and stores every copy of it (BENCHMARKS.md, "Payload compression
/// (issue 15)"). `data` is compressed already: TOAST moves it out of line
/// without compressing it again. Existing rows stay as they are and read as
/// before; `cairn store compact` converts them.
const V8_PAYLOADS: &str = r#"
CREATE TABLE payloads (
    id BIGSERIAL PRIMARY KEY,
    sha256 BYTEA NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    data BYTEA NOT NULL
);
ALTER TABLE payloads ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE events ADD COLUMN payload BIGINT REFERENCES payloads (id);
ALTER TABLE events ADD COLUMN payload_at BIGINT;
CREATE INDEX events_by_payload ON events (payload) WHERE payload IS NOT NULL;
"#;

/// Search columns of a proportionate size (BENCHMARKS.md, "PostgreSQL: search
/// without a copy of the text"): the searchable text was kept only for
/// `ts_headline`, and it is in the bodies already (the client reads it from
/// there); the vector keeps no positions (`strip`): phrases are checked on each
/// candidate's text. `ALTER … TYPE … USING` rewrites the table, so the space of
/// both comes back at once; the rewrite resets nothing of migration 6, which is
/// set again to be sure.
const V9_SEARCH_WITHOUT_TEXT: &str = r#"
ALTER TABLE events DROP COLUMN search_text,
    ALTER COLUMN search TYPE TSVECTOR USING strip(search);
ALTER TABLE events ALTER COLUMN search SET STATISTICS 1000;
"#;

/// Search newest first walks events by time (BENCHMARKS.md, "PostgreSQL: search
/// newest first by walking events by time"): `at_us` is the event's own time as
/// `ts::timestamptz` reads it, in microseconds since the epoch (written by the
/// client, `rows::at_us`), and `events_by_time` gives a common word's newest
/// matches after a few entries instead of reading and sorting every match. A time
/// the server cannot read (year 0 or before, which cairn never writes itself)
/// sorts as the oldest. `ALTER … TYPE … USING` fills the column by rewriting the
/// table (an `UPDATE` would leave a dead copy of every row); `ANALYZE` gives the
/// planner the new column's order, which it weighs against the GIN index.
const V10_EVENTS_BY_TIME: &str = r#"
ALTER TABLE events ADD COLUMN at_us BIGINT;
ALTER TABLE events ALTER COLUMN at_us TYPE BIGINT USING CASE
        WHEN ts ~ '^(-|0000)' THEN -9223372036854775808
        ELSE (extract(epoch FROM ts::TIMESTAMPTZ) * 1000000)::BIGINT END,
    ALTER COLUMN at_us SET NOT NULL;
CREATE INDEX events_by_time ON events (at_us, id);
ANALYZE events;
"#;

/// Every step, in order; `cairn_schema.version` = how many are applied.
pub(crate) const MIGRATIONS: &[&str] = &[
    V1,
    V2,
    V3_PROJECT_KEYS,
    V4_LINEAGE,
    V5_GC_AND_CHECKPOINT_SEARCH,
    V6_SEARCH_STATISTICS,
    V7_PROJECT_WIDE_KNOWLEDGE,
    V8_PAYLOADS,
    V9_SEARCH_WITHOUT_TEXT,
    V10_EVENTS_BY_TIME,
];

/// The step after which the project keys are computed (it needs Rust, not SQL).
const PROJECT_KEYS_VERSION: i64 = 3;

pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Any constant: the key of the advisory lock migrations run under.
const MIGRATION_LOCK: i64 = 0x6361_6972_6e00_0001;

/// The version the database is at (0 for an empty database).
pub(crate) async fn version(tx: &Transaction<'_>) -> R<i64> {
    let exists: bool = tx
        .query_one("SELECT to_regclass('cairn_schema') IS NOT NULL", &[])
        .await?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    let row = tx
        .query_opt("SELECT version FROM cairn_schema", &[])
        .await?;
    Ok(match row {
        Some(row) => row.try_get(0)?,
        None => 0,
    })
}

/// Whether the database is at `LATEST_VERSION` already, asked in one round trip
/// without a transaction or the lock: all that a process needs once the store is
/// set up (the locked check of [`apply_missing`] takes eight round trips, a large
/// part of a short command's time: BENCHMARKS.md, "PostgreSQL: search newest
/// first by walking events by time"). Any error (no `cairn_schema` yet) says no,
/// and [`apply_missing`] decides.
pub(crate) async fn is_current(client: &tokio_postgres::Client) -> bool {
    let Ok(messages) = client
        .simple_query("SELECT version FROM cairn_schema")
        .await
    else {
        return false;
    };
    let versions: Vec<Option<i64>> = messages
        .iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row.get(0).and_then(|v| v.parse().ok())),
            _ => None,
        })
        .collect();
    versions == [Some(LATEST_VERSION)]
}

/// Brings the database up to `LATEST_VERSION`, or refuses one that is newer.
pub(crate) async fn apply_missing(tx: &Transaction<'_>, redacted: &str) -> R<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let current = version(tx).await?;
    if current > LATEST_VERSION {
        return Err(Error::StoreUnusable {
            path: redacted.into(),
            message: format!(
                "the store is at schema version {current}, written by a newer cairn; this \
                 cairn knows up to version {LATEST_VERSION} and leaves it untouched (upgrade cairn)"
            ),
        }
        .into());
    }
    if current == LATEST_VERSION {
        return Ok(());
    }
    tx.batch_execute("CREATE TABLE IF NOT EXISTS cairn_schema (version BIGINT NOT NULL)")
        .await?;
    for (index, step) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version > current {
            tx.batch_execute(step).await?;
            if version == PROJECT_KEYS_VERSION {
                crate::project_keys::backfill(tx).await?;
            }
        }
    }
    tx.execute("DELETE FROM cairn_schema", &[]).await?;
    tx.execute(
        "INSERT INTO cairn_schema (version) VALUES ($1)",
        &[&LATEST_VERSION],
    )
    .await?;
    Ok(())
}
