//! Versioned schema migrations. `PRAGMA user_version` holds the number of steps
//! applied; opening a store applies the missing ones in one IMMEDIATE transaction.
//! Append new steps at the end; never edit a released one.

use rusqlite::Connection;

use crate::fail::R;

/// Schema v1: the ARCHITECTURE.md data model.
///
/// - `sessions` carries every running total so listing and `show` never touch events.
/// - `events` keeps the payload as JSON (`body`, without seq/ts/kind); its integer
///   `id` grows with every insert, so the full-text index (whose rowid is `id`)
///   returns newest-first by walking rowids backwards, without sorting matches.
/// - `event_fts` is an external-content FTS5 index whose content is the view
///   `event_search_text`, computed by the `cairn_search_text` SQL function that every
///   connection registers: message text is not stored twice. Its `scope` column
///   holds one token per project, so a project-scoped search intersects posting
///   lists instead of filtering every match of a common word.
const V1: &str = r#"
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    ulid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    title TEXT,
    project TEXT NOT NULL,
    parent_ulid TEXT,
    fork_seq INTEGER,
    model TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_us INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    spend_checkpoint_usd REAL NOT NULL DEFAULT 0,
    live_tokens INTEGER NOT NULL DEFAULT 0,
    head_seq INTEGER NOT NULL DEFAULT 0,
    context_start_seq INTEGER NOT NULL DEFAULT 1,
    compaction_seq INTEGER,
    message_count INTEGER NOT NULL DEFAULT 0,
    tool_call_count INTEGER NOT NULL DEFAULT 0,
    compaction_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_activity ON sessions (updated_us DESC, id DESC);
CREATE INDEX sessions_by_project_activity ON sessions (project, updated_us DESC, id DESC);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    role TEXT,
    bytes INTEGER NOT NULL,
    request_id TEXT,
    ts TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX events_by_session_seq ON events (session, seq);

CREATE TABLE request_ids (
    session INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    PRIMARY KEY (session, request_id)
) WITHOUT ROWID;

CREATE TABLE knowledge (
    session INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    pinned INTEGER NOT NULL,
    PRIMARY KEY (session, seq)
) WITHOUT ROWID;

CREATE VIEW event_search_text AS
    SELECT e.id AS id, e.session AS session,
           cairn_search_text(e.kind, e.body) AS text,
           cairn_project_token(s.project) AS scope
    FROM events e JOIN sessions s ON s.id = e.session;
CREATE VIRTUAL TABLE event_fts USING fts5(
    text,
    scope,
    content = 'event_search_text',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
-- A larger in-memory buffer before FTS5 writes a segment: fewer segments and
-- merges during a big import (measured ~1.3-1.7x faster); appends never fill it.
INSERT INTO event_fts (event_fts, rank) VALUES ('hashsize', 8388608);

CREATE TABLE attachments (
    sha256 TEXT PRIMARY KEY,
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    bytes BLOB NOT NULL
);

CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY,
    checkpoint_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    project TEXT NOT NULL,
    summary TEXT NOT NULL,
    files_touched TEXT NOT NULL,
    decisions_made TEXT NOT NULL,
    next_steps TEXT NOT NULL,
    round_id TEXT NOT NULL,
    round_no INTEGER,
    client TEXT,
    instance TEXT,
    created_us INTEGER NOT NULL
);
CREATE INDEX checkpoints_by_session ON checkpoints (session_id, id);
CREATE INDEX checkpoints_by_project ON checkpoints (project, id);

CREATE TABLE pool_signals (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    topic TEXT NOT NULL,
    action TEXT NOT NULL,
    summary TEXT NOT NULL,
    affects TEXT NOT NULL,
    instance TEXT NOT NULL,
    session_id TEXT,
    created_us INTEGER NOT NULL,
    expires_us INTEGER
);
CREATE INDEX pool_signals_by_time ON pool_signals (created_us);
CREATE INDEX pool_signals_by_project_time ON pool_signals (project, created_us);

CREATE TABLE pool_instances (
    project TEXT NOT NULL,
    instance TEXT NOT NULL,
    client TEXT,
    last_seen_us INTEGER NOT NULL,
    PRIMARY KEY (project, instance)
) WITHOUT ROWID;
CREATE INDEX pool_instances_by_time ON pool_instances (last_seen_us);

CREATE TABLE leases (
    session INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    token TEXT NOT NULL,
    acquired_us INTEGER NOT NULL,
    heartbeat_us INTEGER NOT NULL
);
"#;

/// The next round of a checkpoint session id is `max(round_no) + 1`: with this
/// index that is one index probe instead of a walk over every earlier round.
const V2: &str = r#"
CREATE INDEX checkpoints_by_round ON checkpoints (session_id, round_no);
"#;

/// A session's sub-agents (children) are looked up by parent when a session opens,
/// to count their spend: an index probe instead of a scan of every session.
const V3: &str = r#"
CREATE INDEX sessions_by_parent ON sessions (parent_ulid) WHERE parent_ulid IS NOT NULL;
"#;

/// A new pool instance drops the least recently seen ones of its project beyond
/// the bound: a walk of this index instead of a sort of the project's rows.
const V4: &str = r#"
CREATE INDEX pool_instances_by_project_time ON pool_instances (project, last_seen_us);
"#;

/// Sessions imported from another tool's transcript remember where they came from
/// and how far they were read, so that a re-import appends only what is new.
const V5: &str = r#"
CREATE TABLE import_origins (
    source TEXT NOT NULL,
    original_id TEXT NOT NULL,
    session_ulid TEXT NOT NULL,
    consumed_bytes INTEGER NOT NULL,
    consumed_lines INTEGER NOT NULL,
    imported_events INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (source, original_id)
) WITHOUT ROWID;
"#;

/// A team on one store. Projects across machines: every row that names a project also keeps its key
/// (the same for every checkout of one repository), and filters use it. Rows start
/// with their path as key, and events, checkpoints and pool signals say who
/// wrote them (`author`, `user@host`); [`crate::project_keys::backfill`] then computes the
/// real keys of the projects whose directories exist here and re-scopes search.
const V6_PROJECT_KEYS: &str = r#"
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
    session INTEGER NOT NULL,
    author TEXT NOT NULL,
    events INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (session, author)
) WITHOUT ROWID;
"#;

/// Forks and rewinds (`cairn_core::lineage`): the ranges rewinds took out of a
/// session's live context, and the live state after every compaction and rewind
/// (and a fork's at its fork point), so "the live context as of seq N" is one
/// index probe. Existing compactions get theirs.
const V7_LINEAGE: &str = r#"
ALTER TABLE sessions ADD COLUMN live_gaps TEXT NOT NULL DEFAULT '[]';
CREATE TABLE live_bounds (
    session INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    compaction_seq INTEGER,
    context_start_seq INTEGER NOT NULL,
    gaps TEXT NOT NULL,
    PRIMARY KEY (session, seq)
) WITHOUT ROWID;
INSERT INTO live_bounds (session, seq, compaction_seq, context_start_seq, gaps)
    SELECT session, seq, seq, json_extract(body, '$.replaces[1]') + 1, '[]' FROM events
    WHERE kind = 'compaction' AND json_type(body, '$.replaces[1]') = 'integer';
"#;

/// Garbage collection and checkpoint search.
///
/// - `attachments.put_us`: when `put_attachment` last stored the bytes ahead of the
///   event that will refer to them (NULL when they came inline with their event),
///   so a collection running meanwhile leaves them alone for a grace period.
/// - `checkpoint_fts`: the checkpoints' id, summary, decisions, next steps and
///   files in a full-text index (its own copy of the text: checkpoints are small),
///   kept by triggers, with the same `scope` token per project as `event_fts`.
const V8_GC_AND_CHECKPOINT_SEARCH: &str = r#"
ALTER TABLE attachments ADD COLUMN put_us INTEGER;
CREATE VIRTUAL TABLE checkpoint_fts USING fts5(
    text,
    scope,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIEW checkpoint_search_text AS
    SELECT c.id AS id,
           c.session_id || char(10) || c.summary
             || coalesce(char(10) || (SELECT group_concat(value, char(10)) FROM json_each(c.decisions_made)), '')
             || coalesce(char(10) || (SELECT group_concat(value, char(10)) FROM json_each(c.next_steps)), '')
             || coalesce(char(10) || (SELECT group_concat(value, char(10)) FROM json_each(c.files_touched)), '')
             AS text,
           cairn_project_token(c.project_key) AS scope
    FROM checkpoints c;
CREATE TRIGGER checkpoints_into_fts AFTER INSERT ON checkpoints BEGIN
    INSERT INTO checkpoint_fts (rowid, text, scope)
        SELECT id, text, scope FROM checkpoint_search_text WHERE id = new.id;
END;
CREATE TRIGGER checkpoints_out_of_fts AFTER DELETE ON checkpoints BEGIN
    DELETE FROM checkpoint_fts WHERE rowid = old.id;
END;
INSERT INTO checkpoint_fts (rowid, text, scope) SELECT id, text, scope FROM checkpoint_search_text;
"#;

/// Event bodies stored smaller (`crate::payloads`): a large body's longest string
/// literal moves to `payloads`, content-addressed (sha256) so identical ones are
/// stored once, and compressed; what remains of a large body is compressed in
/// place (a BLOB in `events.body`). The index's content view reads bodies back
/// through `cairn_event_body`. Rows written before stay as they are (TEXT, no
/// payload) and read as before; `cairn store compact` converts them.
const V9_PAYLOADS: &str = r#"
CREATE TABLE payloads (
    id INTEGER PRIMARY KEY,
    sha256 BLOB NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);
ALTER TABLE events ADD COLUMN payload INTEGER;
ALTER TABLE events ADD COLUMN payload_at INTEGER;
CREATE INDEX events_by_payload ON events (payload) WHERE payload IS NOT NULL;
DROP VIEW event_search_text;
CREATE VIEW event_search_text AS
    SELECT e.id AS id, e.session AS session,
           cairn_search_text(e.kind, cairn_event_body(e.body, e.payload_at, p.data)) AS text,
           cairn_project_token(s.project_key) AS scope
    FROM events e JOIN sessions s ON s.id = e.session LEFT JOIN payloads p ON p.id = e.payload;
"#;

/// Issue 15, a proportionate message index. The index keeps which events
/// hold a token, not where (`detail=none`) nor how long each event is
/// (`columnsize=0`): 7.2 MB instead of 27.9 MB for the 100 MB benchmark history
/// (BENCHMARKS.md). Searches ask for every token and check the phrases of words
/// like `refresh-token` on each candidate (`phrases.rs`); snippets read the text
/// as before. Same content view, rebuilt from it.
const V10_PROPORTIONATE_SEARCH_INDEX: &str = r#"
DROP TABLE event_fts;
CREATE VIRTUAL TABLE event_fts USING fts5(
    text,
    scope,
    content = 'event_search_text',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    detail = none,
    columnsize = 0
);
INSERT INTO event_fts (event_fts, rank) VALUES ('hashsize', 8388608);
INSERT INTO event_fts (event_fts) VALUES ('rebuild');
"#;

/// Search, newest first, of a word with many matches walks events by time
/// (`search.rs`) instead of reading and sorting every match's row.
const V11_EVENTS_BY_TIME: &str = r#"
CREATE INDEX events_by_time ON events (julianday(ts));
"#;

/// Small bodies compressed with a zstd dictionary trained on the store's own
/// bodies (`crate::dictionary`), kept here under its zstd dictionary id, which
/// each frame made with it names. Rows written before stay as they are and read
/// as before; `cairn store compact` converts them.
const V12_BODY_DICTIONARIES: &str = r#"
CREATE TABLE dictionaries (
    id INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
"#;

/// Issue 14: a project's knowledge is found from the knowledge index alone; the
/// scope was read from each knowledge event's body, every one of a long session's
/// (376 page reads on the benchmark's 100 MB history, most of them session-scoped).
const V13_PROJECT_WIDE_KNOWLEDGE: &str = r#"
ALTER TABLE knowledge ADD COLUMN project_wide INTEGER NOT NULL DEFAULT 0;
UPDATE knowledge SET project_wide = 1 WHERE EXISTS (
    SELECT 1 FROM events e LEFT JOIN payloads p ON p.id = e.payload
    WHERE e.session = knowledge.session AND e.seq = knowledge.seq
      AND json_extract(cairn_event_body(e.body, e.payload_at, p.data), '$.scope') = 'project'
);
"#;

/// A save writes fewer pages (issue 14: each `save_progress` wrote about 15 pages
/// to the WAL). The checkpoints' index reads its text from the same view it is
/// built from instead of keeping a copy and each text's length, and the index by
/// project path goes: every query asks by project key. Checkpoints are never
/// updated, so the view gives a delete the values that were indexed. The view's
/// text comes from a function (`search_text::checkpoint_text`, the same lines as
/// before): FTS5 cannot read a content view that calls `json_each`. Running it
/// again (a test rewinding the version) rebuilds the same.
const V14_LEANER_CHECKPOINT_WRITES: &str = r#"
DROP INDEX IF EXISTS checkpoints_by_project;
DROP TRIGGER IF EXISTS checkpoints_into_fts;
DROP TRIGGER IF EXISTS checkpoints_out_of_fts;
DROP TABLE IF EXISTS checkpoint_fts;
DROP VIEW IF EXISTS checkpoint_search_text;
CREATE VIEW checkpoint_search_text AS
    SELECT c.id AS id,
           cairn_checkpoint_text(c.session_id, c.summary, c.decisions_made, c.next_steps,
                                 c.files_touched) AS text,
           cairn_project_token(c.project_key) AS scope
    FROM checkpoints c;
CREATE VIRTUAL TABLE checkpoint_fts USING fts5(
    text,
    scope,
    content = 'checkpoint_search_text',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    columnsize = 0
);
CREATE TRIGGER checkpoints_into_fts AFTER INSERT ON checkpoints BEGIN
    INSERT INTO checkpoint_fts (rowid, text, scope)
        SELECT id, text, scope FROM checkpoint_search_text WHERE id = new.id;
END;
CREATE TRIGGER checkpoints_out_of_fts BEFORE DELETE ON checkpoints BEGIN
    INSERT INTO checkpoint_fts (checkpoint_fts, rowid, text, scope)
        SELECT 'delete', id, text, scope FROM checkpoint_search_text WHERE id = old.id;
END;
INSERT INTO checkpoint_fts (checkpoint_fts) VALUES ('rebuild');
"#;

/// Issue 15: payloads (the long literals) get a zstd dictionary of their own,
/// kept in `dictionaries` beside the body dictionary (a frame names either by
/// id) and listed here (`crate::dictionary`). Dictionaries before are body
/// dictionaries; payloads written before stay as they are and read as before;
/// `cairn store compact` converts them. Running it again (a test rewinding the
/// version) changes nothing.
const V15_PAYLOAD_DICTIONARY: &str = r#"
CREATE TABLE IF NOT EXISTS payload_dictionaries (id INTEGER PRIMARY KEY);
"#;

/// Issue 15: `cairn store compact` recompresses payloads and bodies at a stronger
/// zstd level than writes use (`crate::payloads`) and records on each row the
/// level it last tried there, so that the next run skips the row; NULL on what a
/// write stored. The columns are added in Rust ([`add_zstd_level`]): SQLite has
/// no `ADD COLUMN IF NOT EXISTS`, and a test rewinding the version runs this step
/// again.
const V16_ZSTD_LEVEL: &str = "-- columns added by add_zstd_level";

/// Issues 14 and 15: the message index is given each word of an event's text
/// once (`search_text::index_words`), which its content view now computes too.
/// FTS5's check compares the index's count of tokens with the one the view
/// gives, so rows indexed with their whole text are indexed again (about 1 s per
/// 100 MB of history, BENCHMARKS.md "The index given each word once"). The
/// rebuild also indexes the events without text (commands, errors, hints),
/// which writes used to leave out although the view holds them: FTS5's check
/// counted the difference as damage.
const V17_INDEX_WORDS: &str = "INSERT INTO event_fts (event_fts) VALUES ('rebuild');";

/// Issue 15: leaner event rows and a shorter payload key. `events.ts` becomes
/// nanoseconds since the epoch, `kind` and `role` small integer codes
/// (`crate::event_codes`), `request_id` goes; `payloads` is found by 64 bits of
/// the sha256 instead of all 32 bytes; `events_by_time` orders the integer
/// times. The tables are rebuilt in Rust ([`crate::lean_rows`]), ids kept.
const V18_LEAN_ROWS: &str = "-- tables rebuilt by lean_rows::migrate";

/// Every step, in order; `user_version` = how many are applied.
pub(crate) const MIGRATIONS: &[&str] = &[
    V1,
    V2,
    V3,
    V4,
    V5,
    V6_PROJECT_KEYS,
    V7_LINEAGE,
    V8_GC_AND_CHECKPOINT_SEARCH,
    V9_PAYLOADS,
    V10_PROPORTIONATE_SEARCH_INDEX,
    V11_EVENTS_BY_TIME,
    V12_BODY_DICTIONARIES,
    V13_PROJECT_WIDE_KNOWLEDGE,
    V14_LEANER_CHECKPOINT_WRITES,
    V15_PAYLOAD_DICTIONARY,
    V16_ZSTD_LEVEL,
    V17_INDEX_WORDS,
    V18_LEAN_ROWS,
];

/// The step after which the project keys are computed (it needs Rust, not SQL).
const PROJECT_KEYS_VERSION: i64 = 6;
/// The step that adds the `zstd_level` columns ([`V16_ZSTD_LEVEL`]).
const ZSTD_LEVEL_VERSION: i64 = 16;
/// The step that rebuilds `events` and `payloads` ([`V18_LEAN_ROWS`]).
const LEAN_ROWS_VERSION: i64 = 18;
/// A store migrated from before this version had its largest tables rebuilt
/// (their old pages are free after).
pub(crate) const REBUILT_TABLES_VERSION: i64 = LEAN_ROWS_VERSION;

pub(crate) const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Applies the steps after `user_version`; the caller holds an IMMEDIATE transaction,
/// so two processes opening a new store at once apply each step exactly once.
pub(crate) fn apply_missing(conn: &Connection) -> R<()> {
    let current = user_version(conn)?;
    for (index, step) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version > current {
            apply_step(conn, version, step)?;
        }
    }
    Ok(())
}

/// Step `version`: its SQL, then its part in Rust, if any.
fn apply_step(conn: &Connection, version: i64, step: &str) -> R<()> {
    conn.execute_batch(step)?;
    if version == PROJECT_KEYS_VERSION {
        crate::project_keys::backfill(conn)?;
    }
    if version == ZSTD_LEVEL_VERSION {
        add_zstd_level(conn)?;
    }
    if version == LEAN_ROWS_VERSION {
        crate::lean_rows::migrate(conn)?;
    }
    conn.execute_batch(&format!("PRAGMA user_version = {version}"))?;
    Ok(())
}

/// `zstd_level` on `events` and `payloads`, unless there already.
fn add_zstd_level(conn: &Connection) -> R<()> {
    for table in ["events", "payloads"] {
        let present: i64 = conn.query_row(
            "SELECT count(*) FROM pragma_table_info(?1) WHERE name = 'zstd_level'",
            [table],
            |row| row.get(0),
        )?;
        if present == 0 {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN zstd_level INTEGER"
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_version(steps: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        crate::register_sql_functions(&conn).unwrap();
        for (index, step) in MIGRATIONS[..steps].iter().enumerate() {
            assert!(apply_step(&conn, index as i64 + 1, step).is_ok());
        }
        conn
    }

    /// A version-5 store with one session in `root` and one indexed message.
    fn v5_store_with_a_session_in(root: &str) -> Connection {
        let conn = at_version(5);
        conn.execute(
            "INSERT INTO sessions (ulid, name, project, created_at, updated_at, updated_us, \
             head_seq, message_count) VALUES ('01J0000000000000000000000A', 'old', ?1, \
             '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 0, 1, 1)",
            [root],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO events (session, seq, kind, role, bytes, ts, body) VALUES (1, 1, \
             'message', 'user', 10, '2026-01-01T00:00:00Z', \
             '{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"zebra migration\"}]}')",
            [],
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO event_fts (rowid, text, scope) SELECT id, text, scope FROM event_search_text",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO checkpoints (checkpoint_id, session_id, project, summary, files_touched, \
             decisions_made, next_steps, round_id, created_us) \
             VALUES ('c1', 'work', ?1, 's', '[]', '[]', '[]', '1', 0)",
            [root],
        )
        .unwrap();
        conn
    }

    fn hits(conn: &Connection, project_key: &str) -> i64 {
        let query = crate::search_text::event_query("zebra", Some(project_key))
            .unwrap()
            .unwrap()
            .fts;
        conn.query_row(
            "SELECT count(*) FROM event_fts WHERE event_fts MATCH ?1",
            [query],
            |row| row.get(0),
        )
        .unwrap()
    }

    #[test]
    fn existing_rows_get_the_key_of_their_checkout_and_stay_searchable() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("api");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::write(
            repo.join(".git/config"),
            "[remote \"origin\"]\n\turl = git@github.com:acme/api.git\n",
        )
        .unwrap();
        let root = repo.to_string_lossy().into_owned();
        let gone = "/definitely/gone/api";
        for (root, key) in [(root.as_str(), "github.com/acme/api"), (gone, gone)] {
            let conn = v5_store_with_a_session_in(root);
            assert!(apply_missing(&conn).is_ok());
            for table in ["sessions", "checkpoints"] {
                let stored: String = conn
                    .query_row(&format!("SELECT project_key FROM {table}"), [], |r| {
                        r.get(0)
                    })
                    .unwrap();
                assert_eq!(stored, key, "{table}");
            }
            assert_eq!(
                hits(&conn, key),
                1,
                "search scoped by the key finds the message"
            );
            // What a delete recomputes is what the index holds.
            conn.execute_batch(
                "INSERT INTO event_fts (event_fts, rank) VALUES ('integrity-check', 1)",
            )
            .unwrap();
        }
    }

    #[test]
    fn a_store_of_every_older_version_is_brought_up_to_date() {
        for steps in 1..MIGRATIONS.len() {
            let conn = at_version(steps);
            assert!(apply_missing(&conn).is_ok());
            assert_eq!(user_version(&conn).unwrap(), LATEST_VERSION);
            // Applying again changes nothing and does not fail.
            assert!(apply_missing(&conn).is_ok());
        }
    }

    #[test]
    fn existing_checkpoints_are_indexed_and_new_ones_follow() {
        let conn = at_version(7);
        let insert = |id: &str, summary: &str| {
            conn.execute(
                "INSERT INTO checkpoints (checkpoint_id, session_id, project, summary, \
                 files_touched, decisions_made, next_steps, round_id, created_us, project_key) \
                 VALUES (?1, 'work', '/p', ?2, '[\"src/lib.rs\"]', '[\"use okapi\"]', '[]', '1', 0, '/p')",
                [id, summary],
            )
            .unwrap();
        };
        insert("c1", "before the index");
        assert!(apply_missing(&conn).is_ok());
        insert("c2", "after the index");
        let count = |word: &str| -> i64 {
            let query = crate::search_text::literal_query(word, Some("/p")).unwrap();
            conn.query_row(
                "SELECT count(*) FROM checkpoint_fts WHERE checkpoint_fts MATCH ?1",
                [query],
                |row| row.get(0),
            )
            .unwrap()
        };
        assert_eq!(count("before"), 1);
        assert_eq!(count("after"), 1);
        assert_eq!(count("okapi"), 2);
        assert_eq!(count("lib.rs"), 2);
        conn.execute("DELETE FROM checkpoints WHERE checkpoint_id = 'c1'", [])
            .unwrap();
        assert_eq!(count("okapi"), 1);
    }

    /// Step 14 indexes the same text the view of step 8 gave (so snippets and
    /// searches read as before), keeps no copy of it, and a deleted checkpoint
    /// leaves the index.
    #[test]
    fn the_checkpoint_index_reads_the_same_text_without_a_copy() {
        let conn = at_version(13);
        for (id, decisions, next, files) in [
            (
                "c1",
                r#"["use okapi","keep \"quotes\""]"#,
                "[]",
                r#"["src/lib.rs"]"#,
            ),
            ("c2", "[]", r#"["write tests"]"#, "[]"),
            ("c3", "[]", "[]", "[]"),
        ] {
            conn.execute(
                "INSERT INTO checkpoints (checkpoint_id, session_id, project, summary, \
                 files_touched, decisions_made, next_steps, round_id, created_us, project_key) \
                 VALUES (?1, 'work', '/p', 'did ' || ?1, ?4, ?2, ?3, '1', 0, '/p')",
                [id, decisions, next, files],
            )
            .unwrap();
        }
        let texts = |conn: &Connection| -> Vec<String> {
            conn.prepare("SELECT text FROM checkpoint_search_text ORDER BY id")
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let before = texts(&conn);
        assert!(apply_missing(&conn).is_ok());
        assert_eq!(texts(&conn), before);
        let tables = |like: &str| -> i64 {
            conn.query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name LIKE ?1",
                [like],
                |row| row.get(0),
            )
            .unwrap()
        };
        assert_eq!(tables("checkpoint_fts_content"), 0);
        assert_eq!(tables("checkpoint_fts_docsize"), 0);
        assert_eq!(tables("checkpoints_by_project"), 0);
        let hits = |word: &str| -> Vec<String> {
            let query = crate::search_text::literal_query(word, Some("/p")).unwrap();
            conn.prepare(
                "SELECT snippet(checkpoint_fts, 0, '[', ']', '…', 16) FROM checkpoint_fts \
                 WHERE checkpoint_fts MATCH ?1 ORDER BY rowid",
            )
            .unwrap()
            .query_map([query], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
        };
        assert_eq!(hits("quotes").len(), 1);
        assert!(hits("okapi")[0].contains("[okapi]"), "{:?}", hits("okapi"));
        assert_eq!(hits("did").len(), 3);
        conn.execute("DELETE FROM checkpoints WHERE checkpoint_id = 'c2'", [])
            .unwrap();
        assert_eq!(hits("did").len(), 2);
        assert!(hits("tests").is_empty());
        conn.execute_batch(
            "INSERT INTO checkpoint_fts (checkpoint_fts) VALUES ('integrity-check')",
        )
        .unwrap();
    }

    /// Issue 15: a 200 KB tool output of a few words repeated costs the message
    /// index those few words, not a position per word (the positional index of
    /// step 1 took 53 KB here), and is still found.
    #[test]
    fn the_message_index_keeps_words_not_positions() {
        let conn = v5_store_with_a_session_in("/p");
        assert!(apply_missing(&conn).is_ok());
        let output = "fn parse(input) -> Result { token } ".repeat(6_000);
        let body = serde_json::json!({"role": "tool", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": output}]});
        conn.execute(
            "INSERT INTO events (session, seq, kind, role, bytes, ts, body) VALUES (1, 2, \
             'message', 'tool', 200000, '2026-01-01T00:00:01Z', ?1)",
            [body.to_string()],
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO event_fts (rowid, text, scope) \
             SELECT id, text, scope FROM event_search_text WHERE id = last_insert_rowid()",
        )
        .unwrap();
        let index_bytes: i64 = conn
            .query_row(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'event_fts%'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(index_bytes < 40_000, "{index_bytes} bytes of index");
        let query = crate::search_text::event_query("parse token", None)
            .unwrap()
            .unwrap()
            .fts;
        let found: i64 = conn
            .query_row(
                "SELECT count(*) FROM event_fts WHERE event_fts MATCH ?1",
                [query],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(found, 1);
    }

    #[test]
    fn children_of_a_session_are_found_through_the_parent_index() {
        let conn = at_version(MIGRATIONS.len());
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE parent_ulid = ?1",
                ["01J0000000000000000000000A"],
                |row| row.get(3),
            )
            .unwrap();
        assert!(plan.contains("sessions_by_parent"), "{plan}");
    }

    #[test]
    fn the_least_recent_instances_of_a_project_are_found_through_an_index() {
        let conn = at_version(MIGRATIONS.len());
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT instance FROM pool_instances WHERE project = ?1 \
                 ORDER BY last_seen_us DESC LIMIT -1 OFFSET 1000",
                ["/p"],
                |row| row.get(3),
            )
            .unwrap();
        assert!(plan.contains("pool_instances_by_project_time"), "{plan}");
    }

    #[test]
    fn events_are_walked_newest_first_through_the_time_index() {
        let conn = at_version(MIGRATIONS.len());
        let plan = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                crate::search::NEWEST_IDS_SQL
            ))
            .unwrap()
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
            .join("; ");
        assert!(plan.contains("events_by_time"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
