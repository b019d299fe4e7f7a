//! Large literals of event bodies on PostgreSQL (`payloads`): stored once per
//! distinct text for the whole database, compressed; freed with the last session
//! that refers to them, never under a writer of another store; a store written
//! before they existed reads the same after its migration and after `compact`.

use std::sync::Arc;

use cairn_core::body_codec;
use cairn_core::event::Message;
use cairn_core::{NewEvent, NewSession, Payload, Project, Role, Session, SessionName, Store};
use cairn_store_postgres::PostgresStore;
use cairn_testkit::postgres::{cluster, fresh_database};

mod support;
use support::export;

fn new_session(raw: &str) -> NewSession {
    NewSession::new(
        SessionName::parse(raw).unwrap(),
        Project::from_stored("/p/one"),
    )
}

/// A tool output of real source code (this crate's), varied by `i`.
fn output(i: usize) -> String {
    format!("// read {i}\n{}", include_str!("../src/events.rs"))
}

fn message(role: Role, text: &str) -> NewEvent {
    NewEvent::now(Payload::Message(Message::text(role, text)))
}

/// A short chat reading outputs `ids` (each twice: the same file read again).
fn chat(ids: &[usize]) -> Vec<NewEvent> {
    let mut events = vec![message(Role::User, "read the files")];
    for &i in ids {
        events.push(message(Role::Tool, &output(i)));
        events.push(message(Role::Assistant, "noted"));
        events.push(message(Role::Tool, &output(i)));
    }
    events
}

/// Session "a" with outputs 1 and 2, session "b" with outputs 2 and 3.
async fn two_sessions_sharing_output_2(store: &dyn Store) -> (Session, Session) {
    let a = store.create_session(new_session("a")).await.unwrap();
    store.append_events(a.id, chat(&[1, 2])).await.unwrap();
    let b = store.create_session(new_session("b")).await.unwrap();
    store.append_events(b.id, chat(&[2, 3])).await.unwrap();
    (a, b)
}

fn count(database: &str, sql: &str) -> i64 {
    cluster().psql(database, sql).trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_outputs_are_stored_once_and_freed_with_their_last_session() {
    let database = fresh_database();
    let store = PostgresStore::open(&database.url).unwrap();
    let (a, b) = two_sessions_sharing_output_2(&store).await;
    let fork = store
        .fork_session(a.id, None, new_session("a-fork"))
        .await
        .unwrap();
    store.append_events(fork.id, chat(&[1])).await.unwrap();

    // Outputs 1, 2 and 3, each once, compressed; the events keep "" in their place.
    assert_eq!(count(&database.name, "SELECT count(*) FROM payloads"), 3);
    assert!(
        count(
            &database.name,
            "SELECT sum(octet_length(data)) * 3 FROM payloads"
        ) < count(&database.name, "SELECT sum(size) FROM payloads")
    );
    assert_eq!(
        count(
            &database.name,
            "SELECT count(*) FROM events WHERE body LIKE '%// read %'"
        ),
        0
    );
    let events = store.events_after(fork.id, 0, 0).await.unwrap();
    let Payload::Message(read) = &events[1].payload else {
        panic!("not a message: {:?}", events[1]);
    };
    assert_eq!(read.plain_text(), output(1));
    let live = store.live_context(b.id, 10).await.unwrap();
    assert_eq!(live.events.len(), 7);

    // Output 1 stays while the fork refers to it; 2 while b does.
    store
        .delete_session(&SessionName::parse("a-fork").unwrap())
        .await
        .unwrap();
    store
        .delete_session(&SessionName::parse("a").unwrap())
        .await
        .unwrap();
    assert_eq!(count(&database.name, "SELECT count(*) FROM payloads"), 2);
    assert!(export(&store, b.id).await.contains("// read 2"));
    store
        .delete_session(&SessionName::parse("b").unwrap())
        .await
        .unwrap();
    assert_eq!(count(&database.name, "SELECT count(*) FROM payloads"), 0);
}

/// One store deletes the last session holding an output while another imports a
/// session with the same output, over and over: the import never ends up
/// referring to a deleted payload, and neither write fails.
#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_never_frees_a_payload_another_store_is_starting_to_use() {
    let database = fresh_database();
    let deleter: Arc<dyn Store> = Arc::new(PostgresStore::open(&database.url).unwrap());
    let writer: Arc<dyn Store> = Arc::new(PostgresStore::open(&database.url).unwrap());
    const ROUNDS: usize = 60;
    for round in 0..ROUNDS {
        let old = deleter
            .create_session(new_session(&format!("old-{round}")))
            .await
            .unwrap();
        deleter.append_events(old.id, chat(&[round])).await.unwrap();
        let name = SessionName::parse(&format!("old-{round}")).unwrap();
        let delete = {
            let deleter = deleter.clone();
            tokio::spawn(async move { deleter.delete_session(&name).await })
        };
        let write = {
            let writer = writer.clone();
            tokio::spawn(async move {
                let new = writer
                    .create_session(new_session(&format!("new-{round}")))
                    .await?;
                writer.append_events(new.id, chat(&[round])).await?;
                Ok::<_, cairn_core::Error>(new.id)
            })
        };
        delete.await.unwrap().unwrap();
        let new = write.await.unwrap().unwrap();
        assert!(
            export(&*writer, new)
                .await
                .contains(&format!("// read {round}"))
        );
    }
    // Each output is kept once, for the session still using it; a sweep keeps it.
    writer.collect_attachments(true).await.unwrap();
    assert_eq!(
        count(&database.name, "SELECT count(*) FROM payloads"),
        ROUNDS as i64
    );
    for round in 0..ROUNDS {
        let name = SessionName::parse(&format!("new-{round}")).unwrap();
        let session = writer.session(&name).await.unwrap();
        assert!(
            export(&*writer, session.id)
                .await
                .contains(&format!("// read {round}"))
        );
    }
}

/// Rewrites the store to what cairn wrote before payloads (schema version 7):
/// every body whole in `events.body`.
async fn back_to_version_7(url: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT e.id, e.body, e.payload_at, p.data FROM events e \
             JOIN payloads p ON p.id = e.payload",
            &[],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let data: Vec<u8> = row.get(3);
        let literal = String::from_utf8(body_codec::decompress(&data).unwrap()).unwrap();
        let at: i64 = row.get(2);
        let body = body_codec::splice(row.get(1), at as u64, &literal).unwrap();
        client
            .execute(
                "UPDATE events SET body = $1, payload = NULL, payload_at = NULL WHERE id = $2",
                &[&body, &row.get::<_, i64>(0)],
            )
            .await
            .unwrap();
    }
    client
        .batch_execute(
            "DROP INDEX events_by_payload; \
             ALTER TABLE events DROP COLUMN payload, DROP COLUMN payload_at; \
             DROP TABLE payloads; ALTER TABLE events ADD COLUMN search_text TEXT; \
             ALTER TABLE events DROP COLUMN at_us; \
             UPDATE cairn_schema SET version = 7",
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_store_reads_the_same_after_its_migration_and_after_compact() {
    let database = fresh_database();
    let store = PostgresStore::open(&database.url).unwrap();
    let (a, b) = two_sessions_sharing_output_2(&store).await;
    let before = [export(&store, a.id).await, export(&store, b.id).await];
    back_to_version_7(&database.url).await;
    let old_bytes = count(&database.name, "SELECT sum(octet_length(body)) FROM events");

    let upgraded = PostgresStore::open(&database.url).unwrap();
    assert_eq!(
        upgraded.schema_version().await.unwrap(),
        cairn_store_postgres::migrations::LATEST_VERSION
    );
    let migrated = [export(&upgraded, a.id).await, export(&upgraded, b.id).await];
    assert_eq!(migrated, before);
    assert_eq!(count(&database.name, "SELECT count(*) FROM payloads"), 0);

    // Each output moves out once; the second run has nothing left to do.
    assert_eq!(upgraded.compact_session(a.id).await.unwrap(), 4);
    assert_eq!(upgraded.compact_session(b.id).await.unwrap(), 4);
    assert_eq!(upgraded.compact_session(a.id).await.unwrap(), 0);
    assert_eq!(count(&database.name, "SELECT count(*) FROM payloads"), 3);
    let compacted = [export(&upgraded, a.id).await, export(&upgraded, b.id).await];
    assert_eq!(compacted, before);
    assert!(count(&database.name, "SELECT sum(octet_length(body)) FROM events") * 10 < old_bytes);
    // Search still finds a moved-out output, with its snippet.
    let hits = upgraded
        .search_session(b.id, "without_inline_media", 0)
        .await
        .unwrap();
    assert_eq!(hits.len(), 4);
    assert!(
        hits[0].snippet.contains("[without]_[inline]_[media]"),
        "{hits:?}"
    );
}

/// Two stores append the same new outputs in opposite orders, at once: each may
/// wait for the other's insert of a payload (a deadlock PostgreSQL breaks by
/// cancelling one); both appends succeed and each output is stored once.
#[tokio::test(flavor = "multi_thread")]
async fn appends_storing_the_same_new_outputs_in_opposite_orders_both_succeed() {
    let database = fresh_database();
    let one: Arc<dyn Store> = Arc::new(PostgresStore::open(&database.url).unwrap());
    let two: Arc<dyn Store> = Arc::new(PostgresStore::open(&database.url).unwrap());
    let a = one.create_session(new_session("a")).await.unwrap();
    let b = two.create_session(new_session("b")).await.unwrap();
    const ROUNDS: usize = 6;
    for round in 0..ROUNDS {
        let (x, y) = (100 + 2 * round, 101 + 2 * round);
        let forward = {
            let one = one.clone();
            tokio::spawn(async move { one.append_events(a.id, chat(&[x, y])).await })
        };
        let backward = {
            let two = two.clone();
            tokio::spawn(async move { two.append_events(b.id, chat(&[y, x])).await })
        };
        forward.await.unwrap().unwrap();
        backward.await.unwrap().unwrap();
    }
    assert_eq!(
        count(&database.name, "SELECT count(*) FROM payloads"),
        2 * ROUNDS as i64
    );
    assert_eq!(
        export(&*one, a.id).await.matches("// read 1").count(),
        4 * ROUNDS
    );
}
