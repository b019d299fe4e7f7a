//! Schema 18 (issue 15): event times, kinds and roles as integers, payloads found
//! by 64 bits of their sha256. A store written by the version before (schema 16:
//! RFC 3339 text, kind and role names, the whole sha256 under a unique index)
//! opens with every session reading back byte for byte, and searches finding the
//! same hits in the same order.
//!
//! The older store is made the way the other migration tests make theirs: written
//! by this code, then taken back to the older form with plain SQL (the tables
//! rebuilt as schema 16 declared them, every value as the version before wrote it).

use std::path::Path;
use std::sync::Arc;

use cairn_core::event::{Message, decode_payload};
use cairn_core::store::SearchScope;
use cairn_core::{
    Compaction, Event, KnowledgeItem, KnowledgeKind, KnowledgeScope, NewEvent, NewSession, Payload,
    Project, Role, SessionName, Store, Timestamp,
};
use cairn_store_conformance::payloads::{source_text, tool_output};
use cairn_store_sqlite::{SqliteStore, Synchronous, open_store};
use cairn_testkit::chat_text::step;
use rusqlite::functions::FunctionFlags;
use sha2::Digest;

/// Enough appended events for the store to train its body dictionary (2,000).
const CHAT: usize = 2_100;

fn new_session(name: &str) -> NewSession {
    NewSession::new(
        SessionName::parse(name).unwrap(),
        Project::from_stored("/p/one"),
    )
}

fn typed(kind: &str, fields: serde_json::Value) -> Payload {
    let serde_json::Value::Object(fields) = fields else {
        unreachable!()
    };
    let payload = decode_payload(kind.into(), fields).unwrap();
    assert!(!matches!(payload, Payload::Other { .. }), "{kind}");
    payload
}

/// One event of every kind, a message of every role and an unknown kind.
fn every_kind() -> Vec<Payload> {
    let mut out: Vec<Payload> = [Role::System, Role::User, Role::Assistant, Role::Tool]
        .into_iter()
        .map(|role| Payload::Message(Message::text(role, format!("zebra says {role:?}"))))
        .collect();
    out.extend([
        Payload::Knowledge(KnowledgeItem {
            knowledge_kind: KnowledgeKind::Decision,
            text: "zebra crossings everywhere".into(),
            pinned: true,
            scope: KnowledgeScope::Project,
            extra: Default::default(),
        }),
        Payload::Compaction(Compaction::new([1, 2], "zebra summary")),
        Payload::Command(cairn_core::CommandRecord::new("/model", &["zebra"])),
        typed(
            "error",
            serde_json::json!({"error_kind": "rate_limit", "message": "zebra overload"}),
        ),
        typed(
            "hint",
            serde_json::json!({"threshold": 1000, "live_tokens": 5}),
        ),
        typed(
            "compression",
            serde_json::json!({"outcome": "not_applied", "reason": "zebra"}),
        ),
        Payload::Other {
            kind: "x-note".into(),
            fields: serde_json::from_value(serde_json::json!({"note": "zebra unknown"})).unwrap(),
        },
    ]);
    out
}

/// Tool outputs of about 25 KB, each a different file, one of them twice:
/// enough literal text for `compact` to train a payload dictionary (4 MiB).
fn tool_outputs(count: u64) -> Vec<Event> {
    (1..=count)
        .map(|seq| Event {
            seq,
            ts: Timestamp::from_second(1_700_000_000 + seq as i64).unwrap(),
            payload: tool_output(
                &format!("toolu_{seq}"),
                &source_text(250, &format!("file{}", seq.min(count - 1))),
            ),
        })
        .collect()
}

/// What a reader gets of every session: the exports and sessions' rows.
async fn export(store: &Arc<dyn Store>, ids: &[ulid::Ulid]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        let session = store.session_by_id(*id).await.unwrap();
        out.push(format!("{session:?}"));
        for event in store.events_after(*id, 0, 0).await.unwrap() {
            out.push(serde_json::to_string(&event).unwrap());
        }
        let live = store.live_context(*id, 5).await.unwrap();
        out.push(format!("{live:?}"));
    }
    out.push(format!(
        "{:?}",
        store
            .project_knowledge(&Project::from_stored("/p/one"))
            .await
            .unwrap()
    ));
    out
}

/// The searches whose hits must not change: a rare word (all its matches
/// sorted), a common one with a limit (the walk of `events_by_time`), and one
/// session's.
async fn searches(store: &Arc<dyn Store>, chat: ulid::Ulid) -> Vec<String> {
    let scope = |limit| SearchScope {
        project: None,
        limit,
    };
    let mut out = Vec::new();
    for (word, limit) in [("zebra", 0), ("step", 20), ("checksum", 20), ("let", 7)] {
        let hits = store.search(word, &scope(limit)).await.unwrap();
        assert!(!hits.is_empty(), "{word}");
        out.push(format!("{hits:?}"));
    }
    let hits = store.search_session(chat, "zebra", 0).await.unwrap();
    out.push(format!("{hits:?}"));
    out
}

/// Takes the store at `path` back to schema 16 as the version before wrote it.
fn back_to_schema_16(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    cairn_store_sqlite::register_sql_functions(&conn).unwrap();
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    // Event times as `Timestamp::to_string` wrote them.
    conn.create_scalar_function("test_rfc3339", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            rusqlite::types::ValueRef::Integer(nanos) => Timestamp::from_nanosecond(nanos.into())
                .unwrap()
                .to_string(),
            other => other.as_str().unwrap().to_owned(),
        })
    })
    .unwrap();
    conn.create_scalar_function("test_sha256", 1, flags, |ctx| {
        let text: String = ctx.get(0)?;
        Ok(sha2::Sha256::digest(text.as_bytes()).to_vec())
    })
    .unwrap();
    // The codes are the file format (`event_codes.rs`): spelled out here, so a
    // renumbering fails this test.
    conn.execute_batch(
        r#"
        DROP VIEW event_search_text;
        CREATE TABLE events_16 (
            id INTEGER PRIMARY KEY, session INTEGER NOT NULL, seq INTEGER NOT NULL,
            kind TEXT NOT NULL, role TEXT, bytes INTEGER NOT NULL, request_id TEXT,
            ts TEXT NOT NULL, body TEXT NOT NULL, author TEXT, payload INTEGER,
            payload_at INTEGER, zstd_level INTEGER);
        INSERT INTO events_16 SELECT id, session, seq,
            CASE kind WHEN 0 THEN 'message' WHEN 1 THEN 'knowledge' WHEN 2 THEN 'compaction'
                WHEN 3 THEN 'command' WHEN 4 THEN 'error' WHEN 5 THEN 'hint'
                WHEN 6 THEN 'compression' ELSE kind END,
            CASE role WHEN 0 THEN 'assistant' WHEN 1 THEN 'tool' WHEN 2 THEN 'user'
                WHEN 3 THEN 'system' ELSE role END,
            bytes, NULL, test_rfc3339(ts), body, author, payload, payload_at, zstd_level
            FROM events;
        DROP TABLE events;
        ALTER TABLE events_16 RENAME TO events;
        CREATE UNIQUE INDEX events_by_session_seq ON events (session, seq);
        CREATE INDEX events_by_payload ON events (payload) WHERE payload IS NOT NULL;
        CREATE INDEX events_by_time ON events (julianday(ts));
        CREATE TABLE payloads_16 (
            id INTEGER PRIMARY KEY, sha256 BLOB NOT NULL UNIQUE, size INTEGER NOT NULL,
            data BLOB NOT NULL, zstd_level INTEGER);
        INSERT INTO payloads_16
            SELECT id, test_sha256(cairn_event_body('""', 0, data)), size, data, zstd_level
            FROM payloads;
        DROP TABLE payloads;
        ALTER TABLE payloads_16 RENAME TO payloads;
        CREATE VIEW event_search_text AS
            SELECT e.id AS id, e.session AS session,
                   cairn_search_text(e.kind, cairn_event_body(e.body, e.payload_at, p.data)) AS text,
                   cairn_project_token(s.project_key) AS scope
            FROM events e JOIN sessions s ON s.id = e.session
            LEFT JOIN payloads p ON p.id = e.payload;
        -- An older writer's offset form of the same instant (09:30Z).
        UPDATE events SET ts = '2025-03-01T11:30:00+02:00'
            WHERE ts = '2025-03-01T09:30:00Z';
        -- The index still agrees with the rows in their old shape, so the check
        -- after the migration can only fail on what the migration did.
        INSERT INTO event_fts (event_fts, rank) VALUES ('integrity-check', 1);
        PRAGMA user_version = 16;
        "#,
    )
    .unwrap();
    let (texts, frames): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM events WHERE typeof(ts) = 'text' AND typeof(kind) = 'text'), \
             (SELECT count(*) FROM events WHERE typeof(body) = 'blob')",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let events: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        .unwrap();
    assert_eq!(texts, events, "every row as schema 16 kept it");
    assert!(frames > 1_000, "{frames} dictionary frames");
}

/// (events whose `ts` is text, whose `kind` is text, whose `role` is text).
fn text_columns(path: &Path) -> (i64, i64, i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT (SELECT count(*) FROM events WHERE typeof(ts) = 'text'), \
         (SELECT count(*) FROM events WHERE typeof(kind) = 'text'), \
         (SELECT count(*) FROM events WHERE typeof(role) = 'text')",
        [],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )
    .unwrap()
}

fn columns(path: &Path, table: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.prepare("SELECT name FROM pragma_table_info(?1)")
        .unwrap()
        .query_map([table], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schema_16_store_migrates_without_loss_and_searches_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let store = open_store(&path, Synchronous::Normal).unwrap();

    // Appended: enough for a body dictionary, every kind and role among them.
    let chat = store.create_session(new_session("chat")).await.unwrap();
    let mut payloads: Vec<Payload> = (0..CHAT)
        .map(|i| Payload::Message(Message::text(Role::User, step(i, 0))))
        .collect();
    payloads.splice(100..100, every_kind());
    for batch in payloads.chunks(100) {
        let batch = batch.iter().cloned().map(NewEvent::now).collect();
        store.append_events(chat.id, batch).await.unwrap();
    }
    // Imported: large payloads (one literal stored once for two events), then
    // compacted, which trains a payload dictionary.
    let files = store
        .import_session(new_session("files"), tool_outputs(180))
        .await
        .unwrap();
    store.compact_session(files.id).await.unwrap();
    // Times a version before wrote as text: far ones (outside i64 nanoseconds)
    // and one an older writer could have put with an offset.
    let far = |seq, ts: &str, text: &str| Event {
        seq,
        ts: ts.parse().unwrap(),
        payload: Payload::Message(Message::text(Role::User, text)),
    };
    let times = store
        .import_session(
            new_session("times"),
            vec![
                far(1, "1500-01-01T00:00:00Z", "zebra of old"),
                far(2, "2025-03-01T09:30:00Z", "zebra with an offset"),
                far(3, "2300-01-01T00:00:00.000000001Z", "zebra to come"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        text_columns(&path),
        (2, 1, 0),
        "far times and x-note as text"
    );
    let payload_dictionaries: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM payload_dictionaries", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(payload_dictionaries, 1, "compact trained one");
    let ids = [chat.id, files.id, times.id];
    let before = export(&store, &ids).await;
    let hits_before = searches(&store, chat.id).await;
    drop(store);

    back_to_schema_16(&path);
    let store = open_store(&path, Synchronous::Normal).unwrap();
    let free_pages: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA freelist_count", [], |row| row.get(0))
        .unwrap();
    assert_eq!(free_pages, 0, "the old tables' pages given back");
    assert_eq!(export(&store, &ids).await, before);
    assert_eq!(searches(&store, chat.id).await, hits_before);
    assert!(hits_before[0].contains("2300-01-01") && hits_before[0].contains("1500-01-01"));
    SqliteStore::open(&path, Synchronous::Normal)
        .unwrap()
        .check_integrity()
        .await
        .unwrap();
    // The far times and the offset form stayed text; everything else is coded.
    assert_eq!(text_columns(&path), (3, 1, 0));
    assert!(!columns(&path, "events").contains(&"request_id".to_owned()));
    assert_eq!(
        columns(&path, "payloads"),
        ["id", "hash", "size", "data", "zstd_level"]
    );

    // The migrated store takes new events as any: a repeat of a stored literal
    // reuses its row, and search finds what is new first.
    let again = store
        .import_session(new_session("again"), tool_outputs(3))
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let shared: i64 = conn
        .query_row(
            "SELECT count(DISTINCT payload) FROM events WHERE session = \
             (SELECT id FROM sessions WHERE name = 'again') AND payload IN \
             (SELECT payload FROM events WHERE session = (SELECT id FROM sessions WHERE name = 'files'))",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(shared, 2, "files 1 and 2 stored once");
    store
        .append_events(
            again.id,
            vec![NewEvent::now(Payload::Message(Message::text(
                Role::Assistant,
                "zebra newest",
            )))],
        )
        .await
        .unwrap();
    let hits = store
        .search(
            "zebra",
            &SearchScope {
                project: None,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(hits[0].session.as_str(), "times", "year 2300 first");
    assert_eq!(hits[1].session.as_str(), "again");
    assert_eq!(hits[1].role, Some(Role::Assistant));
}
