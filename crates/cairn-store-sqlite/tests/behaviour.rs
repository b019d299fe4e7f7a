//! The SQLite backend: the store conformance suite, then what only SQLite has
//! (the file, its permissions, migrations, the full-text index, other processes).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cairn_core::event::Message;
use cairn_core::{
    Error, NewEvent, NewSession, Payload, Project, Role, SessionName, Store, StoreChange,
};
use cairn_store_conformance::Fixture;
use cairn_store_sqlite::{SqliteStore, Synchronous, open_store};

/// A fresh store in its own temp dir, for the conformance suite.
fn fresh() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("cairn.db");
    let store = open_store(&path, Synchronous::Normal).unwrap();
    Fixture::new(store, move || {
        let _keep = &dir;
        open_store(&path, Synchronous::Full).unwrap()
    })
}

cairn_store_conformance::store_conformance_tests!(fresh);

struct TempStore {
    dir: tempfile::TempDir,
    path: PathBuf,
    store: Arc<dyn Store>,
}

fn temp_store() -> TempStore {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("cairn.db");
    let store = open_store(&path, Synchronous::Normal).unwrap();
    TempStore { dir, path, store }
}

fn new_session(raw: &str) -> NewSession {
    NewSession::new(
        SessionName::parse(raw).unwrap(),
        Project::from_stored("/p/one"),
    )
}

fn text(role: Role, text: &str) -> NewEvent {
    NewEvent::now(Payload::Message(Message::text(role, text)))
}

/// Events without searchable text (a command here) are in the index's content
/// view too: FTS5's check counts them, so the index holds them, and deleting
/// their session takes them out again.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_session_keeps_the_file_and_its_full_text_index_consistent() {
    let t = temp_store();
    let a = t.store.create_session(new_session("gone")).await.unwrap();
    let b = t.store.create_session(new_session("kept")).await.unwrap();
    for id in [a.id, b.id] {
        let command = cairn_core::CommandRecord::new("/model", &["x"]);
        t.store
            .append_events(
                id,
                vec![
                    NewEvent::now(Payload::Command(command)),
                    text(Role::User, "unicorn words"),
                ],
            )
            .await
            .unwrap();
    }
    let checked = SqliteStore::open(&t.path, Synchronous::Normal).unwrap();
    checked.check_integrity().await.unwrap();
    t.store
        .delete_session(&SessionName::parse("gone").unwrap())
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&t.path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // The full-text index still matches the events exactly.
    checked.check_integrity().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_attachment_is_stored_once() {
    let t = temp_store();
    for _ in 0..2 {
        t.store
            .put_attachment("image/png", b"same bytes".to_vec())
            .await
            .unwrap();
    }
    let conn = rusqlite::Connection::open(&t.path).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM attachments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

/// Another `SqliteStore` on the same file has its own connections, exactly like
/// another process.
#[tokio::test(flavor = "multi_thread")]
async fn writes_of_another_process_arrive_as_external_changes() {
    let t = temp_store();
    let other = open_store(&t.path, Synchronous::Normal).unwrap();
    let mut rx = t.store.changes();
    let s = other
        .create_session(new_session("elsewhere"))
        .await
        .unwrap();
    let change = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("another process's write was not noticed within 5 s")
        .unwrap();
    assert_eq!(change, StoreChange::External);
    // Its own write is announced precisely, and not a second time as External.
    t.store
        .append_events(s.id, vec![text(Role::User, "here")])
        .await
        .unwrap();
    assert_eq!(
        rx.recv().await.unwrap(),
        StoreChange::SessionAppended {
            session: s.id,
            head_seq: 1
        }
    );
    tokio::time::sleep(cairn_store_sqlite::WATCH_INTERVAL * 3).await;
    assert!(rx.try_recv().is_err(), "own write reported as External");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_integrity_check_finds_a_damaged_full_text_index() {
    let t = temp_store();
    let s = t.store.create_session(new_session("ok")).await.unwrap();
    t.store
        .append_events(s.id, vec![text(Role::User, "indexed words")])
        .await
        .unwrap();
    let store = SqliteStore::open(&t.path, Synchronous::Normal).unwrap();
    store.check_integrity().await.unwrap();
    // Change an event behind the index's back.
    let conn = rusqlite::Connection::open(&t.path).unwrap();
    conn.execute(
        r#"UPDATE events SET body = '{"role":"user","content":[{"type":"text","text":"other"}]}'"#,
        [],
    )
    .unwrap();
    let err = store.check_integrity().await.unwrap_err();
    assert!(matches!(err, Error::StoreUnusable { .. }), "{err}");
}

/// A store written before the index was given each word once holds rows indexed
/// with their whole text. Opening it indexes them again (FTS5's check compares
/// the index's token count with the view's): the check passes, search finds
/// them (phrases and snippets from the whole text), and a delete, which tells
/// FTS5 the words only, removes every entry.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_indexed_with_whole_texts_is_indexed_again_on_open() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    // Long enough to be given as words (`search_text::WORDS_FROM`).
    let whole = "alpha beta alpha refresh-token; alpha(beta) token refresh\n".repeat(40);
    let whole = whole.as_str();
    {
        let store = open_store(&path, Synchronous::Normal).unwrap();
        for (name, said) in [("gone", whole), ("kept", "beta only")] {
            let s = store.create_session(new_session(name)).await.unwrap();
            store
                .append_events(s.id, vec![text(Role::User, said)])
                .await
                .unwrap();
        }
    }
    // As the previous version left it: every row indexed with its whole text.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let scope = format!("p{}", hex::encode(&sha2::Sha256::digest(b"/p/one")[..16]));
    let id: i64 = conn
        .query_row(
            "SELECT e.id FROM events e JOIN sessions s ON s.id = e.session WHERE s.name = 'gone'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO event_fts (event_fts, rowid, text, scope) \
             VALUES ('delete', {id}, 'alpha beta refresh token', '{scope}'); \
         INSERT INTO event_fts (rowid, text, scope) VALUES ({id}, '{whole}', '{scope}'); \
         PRAGMA user_version = 16;"
    ))
    .unwrap();

    let store = SqliteStore::open(&path, Synchronous::Normal).unwrap();
    store.check_integrity().await.unwrap();
    let all = cairn_core::store::SearchScope::default();
    let hits = store.search("refresh-token", &all).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(
        hits[0].snippet.contains("[refresh]-[token]"),
        "{}",
        hits[0].snippet
    );
    store
        .delete_session(&SessionName::parse("gone").unwrap())
        .await
        .unwrap();
    store.check_integrity().await.unwrap();
    let left: i64 = conn
        .query_row(
            "SELECT count(*) FROM event_fts WHERE event_fts MATCH 'alpha OR refresh'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
    let beta = store.search("beta", &all).await.unwrap();
    assert_eq!(beta.len(), 1, "{beta:?}");
    assert_eq!(beta[0].session.as_str(), "kept");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_is_private_to_the_user() {
    let t = temp_store();
    let s = t.store.create_session(new_session("p")).await.unwrap();
    t.store
        .append_events(s.id, vec![text(Role::User, "secret plans")])
        .await
        .unwrap();
    assert_eq!(mode(t.path.parent().unwrap()), 0o700);
    assert_eq!(mode(&t.path), 0o600);
    let wal = t.path.with_extension("db-wal");
    let shm = t.path.with_extension("db-shm");
    assert!(wal.exists() && shm.exists());
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(mode(&shm), 0o600);
    let _ = t.dir.path();
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let content: Vec<u8> = b"this is my diary, not a database\n"
        .iter()
        .copied()
        .cycle()
        .take(10_000)
        .collect();
    std::fs::write(&path, &content).unwrap();
    let err = match open_store(&path, Synchronous::Normal) {
        Ok(_) => panic!("opened a non-database"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::StoreUnusable { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a SQLite database"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), content);
    assert!(!path.with_extension("db-wal").exists());
}

#[tokio::test]
async fn a_newer_schema_or_a_foreign_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    drop(open_store(&path, Synchronous::Normal).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 999").unwrap();
    }
    let err = match open_store(&path, Synchronous::Normal) {
        Ok(_) => panic!("opened a newer schema"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::StoreUnusable { .. }), "{err}");
    assert!(err.to_string().contains("999"), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");

    let foreign = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch("CREATE TABLE moz_places (id INTEGER)")
            .unwrap();
    }
    let before = std::fs::read(&foreign).unwrap();
    let err = match open_store(&foreign, Synchronous::Normal) {
        Ok(_) => panic!("opened a foreign database"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::StoreUnusable { .. }), "{err}");
    assert_eq!(std::fs::read(&foreign).unwrap(), before);
}

#[tokio::test]
async fn an_empty_file_becomes_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    std::fs::write(&path, b"").unwrap();
    let store = open_store(&path, Synchronous::Normal).unwrap();
    store.create_session(new_session("fresh")).await.unwrap();
}

/// (payload rows, their stored bytes, events' stored body bytes) in the file.
fn stored_payload_sizes(path: &Path) -> (i64, i64, i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT (SELECT count(*) FROM payloads), \
         (SELECT coalesce(sum(length(CAST(data AS BLOB))), 0) FROM payloads), \
         (SELECT coalesce(sum(length(CAST(body AS BLOB))), 0) FROM events)",
        [],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_file_read_ten_times_is_stored_once_and_compressed() {
    use cairn_store_conformance::payloads::{source_text, tool_output};
    let t = temp_store();
    let output = source_text(2000, "x");
    let session = t.store.create_session(new_session("reads")).await.unwrap();
    let reads: Vec<NewEvent> = (0..10)
        .map(|i| NewEvent::now(tool_output(&format!("toolu_{i}"), &output)))
        .collect();
    t.store
        .append_events(session.id, reads.clone())
        .await
        .unwrap();
    let (rows, payload_bytes, body_bytes) = stored_payload_sizes(&t.path);
    assert_eq!(rows, 1, "ten identical outputs, one payload");
    let raw = serde_json::to_string(&output).unwrap().len() as i64;
    assert!(
        payload_bytes * 3 < raw,
        "compressed: {payload_bytes} of {raw} bytes"
    );
    assert!(
        body_bytes < 10 * 200,
        "the bodies keep only a reference: {body_bytes}"
    );
    let history = t.store.events_after(session.id, 0, 0).await.unwrap();
    let payloads: Vec<Payload> = history.into_iter().map(|e| e.payload).collect();
    let expected: Vec<Payload> = reads.into_iter().map(|e| e.payload).collect();
    assert_eq!(payloads, expected);
    // The full-text index reads the outputs back through the payload: what it
    // recomputes is what it indexed.
    let checked = SqliteStore::open(&t.path, Synchronous::Normal).unwrap();
    checked.check_integrity().await.unwrap();
    t.store
        .delete_session(&SessionName::parse("reads").unwrap())
        .await
        .unwrap();
    assert_eq!(
        stored_payload_sizes(&t.path),
        (0, 0, 0),
        "freed with its last event"
    );
}

/// A store from before the knowledge index knew scopes (schema 12) gets them from
/// the bodies when it opens: its project knowledge is found as before.
#[tokio::test(flavor = "multi_thread")]
async fn knowledge_scopes_of_an_older_store_are_read_from_the_bodies_once() {
    use cairn_core::{KnowledgeItem, KnowledgeKind, KnowledgeScope};
    let item = |text: &str, scope| {
        NewEvent::now(Payload::Knowledge(KnowledgeItem {
            knowledge_kind: KnowledgeKind::Decision,
            text: text.into(),
            pinned: false,
            scope,
            extra: Default::default(),
        }))
    };
    let t = temp_store();
    let s = t.store.create_session(new_session("older")).await.unwrap();
    t.store
        .append_events(
            s.id,
            vec![
                item("tabs, not spaces, in this repo", KnowledgeScope::Project),
                item("this session only", KnowledgeScope::Session),
            ],
        )
        .await
        .unwrap();
    drop(t.store);
    let conn = rusqlite::Connection::open(&t.path).unwrap();
    // Dropping a column re-reads the schema, whose views and triggers name cairn's
    // functions.
    cairn_store_sqlite::register_sql_functions(&conn).unwrap();
    conn.execute_batch("ALTER TABLE knowledge DROP COLUMN project_wide; PRAGMA user_version = 12;")
        .unwrap();
    drop(conn);

    let store = open_store(&t.path, Synchronous::Normal).unwrap();
    let found = store
        .project_knowledge(&Project::from_stored("/p/one"))
        .await
        .unwrap();
    let texts: Vec<String> = found
        .iter()
        .map(|k| match &k.event.payload {
            Payload::Knowledge(item) => item.text.clone(),
            other => panic!("not knowledge: {other:?}"),
        })
        .collect();
    assert_eq!(texts, ["tabs, not spaces, in this repo"]);
    let _keep = &t.dir;
}

/// An import prepares its events (bodies split and compressed, index text) on a
/// thread ahead of the writer, and compresses a literal once per import: the
/// repeats reach the writer plain and must find the stored copy. A failure on
/// that thread (a gap in the seqs) leaves nothing, payloads included.
#[tokio::test(flavor = "multi_thread")]
async fn an_import_prepared_ahead_stores_a_repeated_file_once_or_nothing() {
    use cairn_core::{Event, Timestamp};
    use cairn_store_conformance::payloads::{source_text, tool_output};
    let t = temp_store();
    let output = source_text(2000, "x");
    let history: Vec<Event> = (1..=40)
        .map(|seq| Event {
            seq,
            ts: Timestamp::UNIX_EPOCH,
            payload: tool_output(&format!("toolu_{seq}"), &output),
        })
        .collect();
    let mut gapped = history.clone();
    gapped[30].seq = 99;
    let err = t
        .store
        .import_session(new_session("gapped"), gapped)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("seq 99"), "{err}");
    assert_eq!(stored_payload_sizes(&t.path), (0, 0, 0), "nothing was kept");
    let err = t
        .store
        .session(&SessionName::parse("gapped").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");

    let session = t
        .store
        .import_session(new_session("reads"), history.clone())
        .await
        .unwrap();
    assert_eq!(session.head_seq, 40);
    let (rows, payload_bytes, _) = stored_payload_sizes(&t.path);
    assert_eq!(rows, 1, "forty identical outputs, one payload");
    let raw = serde_json::to_string(&output).unwrap().len() as i64;
    assert!(
        payload_bytes * 3 < raw,
        "compressed: {payload_bytes} of {raw}"
    );
    let back = t.store.events_after(session.id, 0, 0).await.unwrap();
    assert_eq!(back, history);
    let hits = t.store.search_session(session.id, "let", 0).await.unwrap();
    assert_eq!(hits.len(), 40, "every event indexed");
    let checked = SqliteStore::open(&t.path, Synchronous::Normal).unwrap();
    checked.check_integrity().await.unwrap();
}
