//! Small event bodies compressed with a zstd dictionary trained on the store's
//! own bodies (`payloads.rs`, `dictionary.rs`): trained once the store has grown,
//! read back unchanged, searchable, and never left out of the file while a
//! frame names it. (Other processes reading them: `cairn`'s
//! `tests/store/store_dictionary_cli.rs`.)

use cairn_core::event::Message;
use cairn_core::store::SearchScope;
use cairn_core::{NewEvent, NewSession, Payload, Project, Role, SessionName, Store};
use cairn_store_sqlite::{SqliteStore, Synchronous, open_store};
use cairn_testkit::chat_text::step;
use cairn_testkit::store_bodies::forms;

/// More than the store holds before it trains its dictionary (2,000).
const EVENTS: usize = 2_200;

fn message(i: usize) -> NewEvent {
    let role = if i.is_multiple_of(2) {
        Role::User
    } else {
        Role::Assistant
    };
    NewEvent::now(Payload::Message(Message::text(role, step(i, 0))))
}

#[tokio::test(flavor = "multi_thread")]
async fn appends_train_a_dictionary_once_the_store_has_grown_and_read_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let store = open_store(&path, Synchronous::Normal).unwrap();
    let session = store
        .create_session(NewSession::new(
            SessionName::parse("long-chat").unwrap(),
            Project::from_stored("/p/one"),
        ))
        .await
        .unwrap();
    let written: Vec<NewEvent> = (0..EVENTS).map(message).collect();
    for batch in written.chunks(100) {
        store
            .append_events(session.id, batch.to_vec())
            .await
            .unwrap();
    }
    let (dictionaries, plain, with_dictionary) = forms(&path);
    assert_eq!(dictionaries, 1);
    // The bodies written before the dictionary were rewritten with it, up to
    // the samples it was trained on.
    assert!(
        plain < 300 && with_dictionary as usize > EVENTS - 300,
        "{plain} plain, {with_dictionary} with the dictionary"
    );
    let expected: Vec<Payload> = written.into_iter().map(|e| e.payload).collect();
    let read = |store: &std::sync::Arc<dyn Store>| {
        let store = store.clone();
        async move {
            let events = store.events_after(session.id, 0, 0).await.unwrap();
            events.into_iter().map(|e| e.payload).collect::<Vec<_>>()
        }
    };
    assert_eq!(read(&store).await, expected);
    let scope = SearchScope {
        project: None,
        limit: 5,
    };
    let hits = store.search("checksum", &scope).await.unwrap();
    assert_eq!(hits.len(), 5, "{hits:?}");
    SqliteStore::open(&path, Synchronous::Normal)
        .unwrap()
        .check_integrity()
        .await
        .unwrap();

    // The dictionary's row gone from the file while this process still uses it
    // (as when the transaction that stored it rolled back): the next write
    // that names it puts it back.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM dictionaries", [])
        .unwrap();
    store
        .append_events(session.id, vec![message(EVENTS)])
        .await
        .unwrap();
    assert_eq!(forms(&path).0, 1);
    assert_eq!(read(&store).await.len(), EVENTS + 1);
}

/// An import's bodies: the writer trains the dictionary at 2,000 events, the
/// preparing thread compresses the later ones with it, and a second import
/// uses it from the start. Every body reads back the same.
#[tokio::test(flavor = "multi_thread")]
async fn imports_compress_bodies_with_the_dictionary_and_read_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let store = open_store(&path, Synchronous::Normal).unwrap();
    let history = |first: usize| -> Vec<cairn_core::Event> {
        (first..first + EVENTS)
            .enumerate()
            .map(|(at, i)| cairn_core::Event {
                seq: at as u64 + 1,
                ts: cairn_core::Timestamp::from_second(1_700_000_000 + i as i64).unwrap(),
                payload: message(i).payload,
            })
            .collect()
    };
    for (name, first) in [("first", 0), ("second", EVENTS)] {
        let events = history(first);
        let session = store
            .import_session(new_session(name), events.clone())
            .await
            .unwrap();
        let read: Vec<Payload> = store
            .events_after(session.id, 0, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.payload)
            .collect();
        let expected: Vec<Payload> = events.into_iter().map(|e| e.payload).collect();
        assert_eq!(read, expected, "{name}");
    }
    let (dictionaries, plain, with_dictionary) = forms(&path);
    assert_eq!(dictionaries, 1);
    assert!(
        plain < 600 && with_dictionary as usize > 2 * EVENTS - 600,
        "{plain} plain, {with_dictionary} with the dictionary"
    );
    SqliteStore::open(&path, Synchronous::Normal)
        .unwrap()
        .check_integrity()
        .await
        .unwrap();
}

/// The ids the store lists as payload dictionaries, and its payloads as (made
/// with one of them, not).
fn payload_forms(path: &std::path::Path) -> (Vec<u32>, usize, usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let listed: Vec<u32> = conn
        .prepare("SELECT id FROM payload_dictionaries")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let (mut with, mut without) = (0, 0);
    let mut statement = conn.prepare("SELECT data FROM payloads").unwrap();
    let mut rows = statement.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        match row.get_ref(0).unwrap() {
            rusqlite::types::ValueRef::Blob(frame)
                if listed.contains(&cairn_testkit::store_bodies::dictionary_of(frame)) =>
            {
                with += 1
            }
            _ => without += 1,
        }
    }
    (listed, with, without)
}

fn new_session(name: &str) -> NewSession {
    NewSession::new(
        SessionName::parse(name).unwrap(),
        Project::from_stored("/p/one"),
    )
}

/// Tool outputs of about 25 KB, each a different file (more than the 4 MiB of
/// literals a payload dictionary is trained on, over the lot).
fn tool_outputs(first: u64, count: u64) -> Vec<cairn_core::Event> {
    use cairn_store_conformance::payloads::{source_text, tool_output};
    (1..=count)
        .map(|seq| cairn_core::Event {
            seq,
            ts: cairn_core::Timestamp::UNIX_EPOCH,
            payload: tool_output(
                &format!("toolu_{seq}"),
                &source_text(250, &format!("file{}", first + seq)),
            ),
        })
        .collect()
}

/// Issue 15: payloads get a dictionary of their own. An import into a store
/// without one does not train it; `cairn store compact` does, and converts
/// every payload made without it; the next import uses it from its first
/// literal.
/// Every event reads back as written, and stays searchable.
#[tokio::test(flavor = "multi_thread")]
async fn payloads_get_a_dictionary_of_their_own_and_read_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let store = open_store(&path, Synchronous::Normal).unwrap();
    let first = tool_outputs(0, 220);
    let one = store
        .import_session(new_session("one"), first.clone())
        .await
        .unwrap();
    assert_eq!(payload_forms(&path), (Vec::new(), 0, 220));

    let compacted = store.compact_session(one.id).await.unwrap();
    let (listed, with, without) = payload_forms(&path);
    assert_eq!(
        listed.len(),
        1,
        "compact trained one when the import had not"
    );
    assert_eq!((with, without), (220, 0), "{compacted} rewritten");
    assert_eq!(store.events_after(one.id, 0, 0).await.unwrap(), first);

    let second = tool_outputs(1_000, 30);
    let two = store
        .import_session(new_session("two"), second.clone())
        .await
        .unwrap();
    let (again, with, without) = payload_forms(&path);
    assert_eq!(again, listed, "the store keeps one payload dictionary");
    assert_eq!((with, without), (250, 0));
    assert_eq!(store.events_after(two.id, 0, 0).await.unwrap(), second);
    // A body dictionary is not taken for the payloads' one, nor the reverse.
    let (bodies, _, _) = forms(&path);
    assert_eq!(bodies, 1, "only the payload dictionary is stored");

    let hits = store.search_session(two.id, "let", 0).await.unwrap();
    assert_eq!(hits.len(), 30, "every event indexed");
    SqliteStore::open(&path, Synchronous::Normal)
        .unwrap()
        .check_integrity()
        .await
        .unwrap();
}

/// Bytes of the payloads the store holds, and how many of them `cairn store
/// compact` has brought to its level (`zstd_level` set).
fn payload_bytes(path: &std::path::Path) -> (i64, i64) {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT sum(length(data)), count(zstd_level) FROM payloads",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap()
}

/// Issue 15: `cairn store compact` recompresses the payloads an import wrote
/// with the store's payload dictionary (at the writers' fast level) at a
/// stronger level: they get smaller and read back the same, and a second run
/// has nothing left to do.
#[tokio::test(flavor = "multi_thread")]
async fn compact_recompresses_payloads_written_with_the_dictionary_smaller() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let store = open_store(&path, Synchronous::Normal).unwrap();
    let one = store
        .import_session(new_session("one"), tool_outputs(0, 220))
        .await
        .unwrap();
    store.compact_session(one.id).await.unwrap();
    // The second import compresses its literals with the dictionary the first
    // compact trained, at the level of every write.
    let second = tool_outputs(1_000, 60);
    let two = store
        .import_session(new_session("two"), second.clone())
        .await
        .unwrap();
    assert_eq!(
        payload_forms(&path).1,
        280,
        "every payload uses the dictionary"
    );
    let (imported, _) = payload_bytes(&path);

    let rewritten = store.compact_session(two.id).await.unwrap();
    assert_eq!(rewritten, 60, "each of the second import's payloads");
    let (compacted, at_level) = payload_bytes(&path);
    assert!(
        compacted < imported - imported / 50,
        "{imported} → {compacted} bytes: a stronger level saves more than 2 %"
    );
    assert_eq!(at_level, 280);
    assert_eq!(payload_forms(&path).1, 280, "still with the dictionary");
    assert_eq!(store.events_after(two.id, 0, 0).await.unwrap(), second);

    assert_eq!(store.compact_session(two.id).await.unwrap(), 0);
    assert_eq!(store.compact_session(one.id).await.unwrap(), 0);
    assert_eq!(payload_bytes(&path), (compacted, at_level));
    let hits = store.search_session(two.id, "let", 0).await.unwrap();
    assert_eq!(hits.len(), 60, "every event still indexed");
    SqliteStore::open(&path, Synchronous::Normal)
        .unwrap()
        .check_integrity()
        .await
        .unwrap();
}

/// The bytes of each dictionary the store lists as a payload dictionary.
fn payload_dictionary_sizes(path: &std::path::Path) -> Vec<usize> {
    rusqlite::Connection::open(path)
        .unwrap()
        .prepare(
            "SELECT length(data) FROM dictionaries \
             WHERE id IN (SELECT id FROM payload_dictionaries) ORDER BY rowid",
        )
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Issue 15: once the store's literals have grown enough for a payload
/// dictionary twice the size of its own, `cairn store compact` trains a larger
/// one and converts every payload with it, those of sessions compacted before
/// too; the first dictionary stays stored, and everything reads back the same.
#[tokio::test(flavor = "multi_thread")]
async fn compact_trains_a_larger_payload_dictionary_once_the_store_has_grown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let store = open_store(&path, Synchronous::Normal).unwrap();
    // More than 4 MiB of literals: a dictionary of about 140 KiB.
    let first = tool_outputs(0, 180);
    let one = store
        .import_session(new_session("one"), first.clone())
        .await
        .unwrap();
    store.compact_session(one.id).await.unwrap();
    let small = payload_dictionary_sizes(&path);
    assert_eq!(small.len(), 1);
    assert_eq!(store.compact_session(one.id).await.unwrap(), 0);

    // More than as much again: enough for one twice the size.
    let second = tool_outputs(1_000, 200);
    let two = store
        .import_session(new_session("two"), second.clone())
        .await
        .unwrap();
    store.compact_session(two.id).await.unwrap();
    let sizes = payload_dictionary_sizes(&path);
    assert_eq!(sizes.len(), 2, "a second, larger dictionary: {sizes:?}");
    assert!(sizes[1] >= 2 * sizes[0], "{sizes:?}");
    // Larger than what a writer loads of it (its last 128 KiB): the third
    // import below is written with its tail and read with the whole of it.
    assert!(sizes[1] > 128 * 1024, "{sizes:?}");
    let (listed, with, without) = payload_forms(&path);
    assert_eq!((with, without), (380, 0));
    let newest = *listed
        .iter()
        .max_by_key(|id| {
            // The new one is the larger.
            rusqlite::Connection::open(&path)
                .unwrap()
                .query_row(
                    "SELECT length(data) FROM dictionaries WHERE id = ?1",
                    [**id],
                    |row| row.get::<_, i64>(0),
                )
                .unwrap()
        })
        .unwrap();
    // The second import's payloads are all made with the new one.
    let names = |session: &str| -> Vec<u32> {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut statement = conn
            .prepare(
                "SELECT p.data FROM payloads p WHERE p.id IN (SELECT e.payload FROM events e \
                 JOIN sessions s ON s.id = e.session WHERE s.name = ?1)",
            )
            .unwrap();
        statement
            .query_map([session], |row| {
                Ok(cairn_testkit::store_bodies::dictionary_of(
                    &row.get::<_, Vec<u8>>(0)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let two_names = names("two");
    assert_eq!(two_names.len(), 200);
    assert!(two_names.iter().all(|id| *id == newest), "{two_names:?}");
    // The first session's payloads, compacted before with the small one, wait
    // for the next compact to be tried with it; meanwhile their frames still
    // name the first one, which is still there to read them.
    let (before, at_level) = payload_bytes(&path);
    assert_eq!(at_level, 200, "the first session's levels cleared");
    assert_eq!(store.events_after(one.id, 0, 0).await.unwrap(), first);
    store.compact_session(one.id).await.unwrap();
    let (after, at_level) = payload_bytes(&path);
    assert!(after <= before, "{before} → {after} bytes");
    assert_eq!(at_level, 380);
    assert!(
        names("one").iter().all(|id| listed.contains(id)),
        "each with whichever dictionary made it smaller"
    );
    assert_eq!(store.compact_session(one.id).await.unwrap(), 0);
    assert_eq!(store.compact_session(two.id).await.unwrap(), 0);
    // A second handle on the store finds nothing to do and uses the larger one
    // (SQLite gives `dir/./cairn.db` the name `dir/cairn.db`, so it shares this
    // process's dictionary cache; the copy below is what a fresh process sees).
    let other = open_store(&dir.path().join(".").join("cairn.db"), Synchronous::Normal).unwrap();
    assert_eq!(other.compact_session(one.id).await.unwrap(), 0);
    assert_eq!(payload_dictionary_sizes(&path).len(), 2);
    assert_eq!(payload_bytes(&path), (after, 380));
    let third = tool_outputs(5_000, 1);
    let three = other
        .import_session(new_session("three"), third.clone())
        .await
        .unwrap();
    assert_eq!(
        names("three"),
        vec![newest],
        "new payloads use the larger one"
    );
    assert_eq!(other.events_after(three.id, 0, 0).await.unwrap(), third);
    assert_eq!(store.events_after(one.id, 0, 0).await.unwrap(), first);
    assert_eq!(store.events_after(two.id, 0, 0).await.unwrap(), second);
    assert_eq!(
        store.search_session(one.id, "let", 0).await.unwrap().len(),
        180
    );
    // The rowid of a dictionary is its random id, not its age: a smaller one
    // whose id sorts last (the first one again, under the highest id) is not
    // taken as the store's by a process that did not train either.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut copy: Vec<u8> = conn
        .query_row(
            "SELECT data FROM dictionaries WHERE id IN (SELECT id FROM payload_dictionaries) \
             ORDER BY length(data) LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let last_id = u32::MAX - 1;
    // A zstd dictionary's id is the 4 bytes after its magic number.
    copy[4..8].copy_from_slice(&last_id.to_le_bytes());
    conn.execute(
        "INSERT INTO dictionaries (id, data) VALUES (?1, ?2)",
        rusqlite::params![last_id, copy],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO payload_dictionaries (id) VALUES (?1)",
        [last_id],
    )
    .unwrap();
    // A copy is another file, so no dictionary of it is cached in this process
    // (SQLite names `dir/./cairn.db` as `dir/cairn.db`).
    let copy_path = dir.path().join("copy.db");
    conn.execute("VACUUM INTO ?1", [copy_path.to_str().unwrap()])
        .unwrap();
    drop(conn);
    let copy_store = open_store(&copy_path, Synchronous::Normal).unwrap();
    let fourth = tool_outputs(6_000, 1);
    let four = copy_store
        .import_session(new_session("four"), fourth.clone())
        .await
        .unwrap();
    let four_names: Vec<u32> = rusqlite::Connection::open(&copy_path)
        .unwrap()
        .prepare(
            "SELECT p.data FROM payloads p WHERE p.id IN (SELECT e.payload FROM events e \
             JOIN sessions s ON s.id = e.session WHERE s.name = 'four')",
        )
        .unwrap()
        .query_map([], |row| {
            Ok(cairn_testkit::store_bodies::dictionary_of(
                &row.get::<_, Vec<u8>>(0)?,
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(four_names, vec![newest], "the larger one, whatever its id");
    assert_eq!(
        copy_store.events_after(four.id, 0, 0).await.unwrap(),
        fourth
    );
    SqliteStore::open(&path, Synchronous::Normal)
        .unwrap()
        .check_integrity()
        .await
        .unwrap();
}
