//! Small event bodies compressed with a zstd dictionary trained on the store's
//! own bodies (`payloads.rs`, `dictionary.rs`): trained once the store has grown,
//! read back unchanged, searchable, and never left out of the file while a
//! frame names it. (Other processes reading them: `cairn`'s
//! `tests/store_dictionary_cli.rs`.)

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
