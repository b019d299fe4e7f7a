//! Remembering where an imported transcript came from, for incremental re-imports.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_core::store::{ImportEnd, SessionUpdate};
use cairn_core::{Error, ImportOrigin, KnownImport, NewEvent, Role, Store};

use crate::Fixture;
use crate::support::*;

fn origin(bytes: u64, lines: u64, events: u64, fingerprint: &str) -> ImportOrigin {
    ImportOrigin {
        source: "claude-code".into(),
        original_id: "4f1c-session".into(),
        consumed_bytes: bytes,
        consumed_lines: lines,
        imported_events: events,
        fingerprint: fingerprint.into(),
    }
}

/// What the store remembers of the test's transcript.
async fn recorded(store: &Arc<dyn Store>) -> Option<KnownImport> {
    store
        .import_origin("claude-code", "4f1c-session")
        .await
        .unwrap()
}

pub async fn import_origin_is_recorded_with_the_session_and_moves_with_appends(t: Fixture) {
    let store = &t.store;
    assert_eq!(recorded(store).await, None);
    let history = vec![
        imported(1, message(Role::User, "first")),
        imported(2, message(Role::Assistant, "second")),
    ];
    let first = origin(120, 3, 2, "tail-a");
    let s = store
        .import_stream_from(
            new_session("cc-one"),
            Box::new(history.into_iter().map(Ok)),
            ImportEnd::known(first.clone()),
        )
        .await
        .unwrap();
    let known = recorded(store).await.unwrap();
    assert_eq!((known.session, known.origin), (s.id, first));
    // Another source with the same id is another transcript.
    assert_eq!(
        store.import_origin("codex", "4f1c-session").await.unwrap(),
        None
    );

    let grown = origin(200, 5, 3, "tail-b");
    let seqs = store
        .append_imported(s.id, vec![text(Role::User, "third")], grown.clone())
        .await
        .unwrap();
    assert_eq!(seqs, vec![3]);
    let known = recorded(store).await.unwrap();
    assert_eq!(known.origin, grown);
    assert_eq!(full_history(store, s.id).await.len(), 3);
}

pub async fn a_failed_import_or_append_records_no_progress(t: Fixture) {
    let store = &t.store;
    let failing = vec![
        Ok(imported(1, message(Role::User, "first"))),
        Err(Error::invalid("line 2: broken")),
    ];
    let err = store
        .import_stream_from(
            new_session("cc-two"),
            Box::new(failing.into_iter()),
            ImportEnd::known(origin(9, 1, 1, "x")),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    assert_eq!(recorded(store).await, None);

    let s = store
        .import_stream_from(
            new_session("cc-two"),
            Box::new(vec![Ok(imported(1, message(Role::User, "first")))].into_iter()),
            ImportEnd::known(origin(9, 1, 1, "x")),
        )
        .await
        .unwrap();
    // An append to a session that is gone fails and leaves the record as it was.
    let missing = ulid::Ulid::new();
    let err = store
        .append_imported(
            missing,
            vec![NewEvent::now(message(Role::User, "x"))],
            origin(99, 9, 9, "y"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let known = recorded(store).await.unwrap();
    assert_eq!((known.session, known.origin), (s.id, origin(9, 1, 1, "x")));
}

pub async fn deleting_the_session_forgets_its_import_and_a_new_import_takes_over(t: Fixture) {
    let store = &t.store;
    let one = || Box::new(vec![Ok(imported(1, message(Role::User, "only")))].into_iter());
    store
        .import_stream_from(
            new_session("cc-three"),
            one(),
            ImportEnd::known(origin(5, 1, 1, "a")),
        )
        .await
        .unwrap();
    store.delete_session(&name("cc-three")).await.unwrap();
    assert_eq!(recorded(store).await, None);
    let again = store
        .import_stream_from(
            new_session("cc-three-again"),
            one(),
            ImportEnd::known(origin(5, 1, 1, "a")),
        )
        .await
        .unwrap();
    let known = recorded(store).await.unwrap();
    assert_eq!(known.session, again.id);
}

/// A stream of `n` messages that counts in `taken` the events it has given.
fn counted(n: u64, taken: &Arc<AtomicU64>) -> cairn_core::store::ImportStream {
    let taken = Arc::clone(taken);
    Box::new((1..=n).map(move |seq| {
        taken.fetch_add(1, Ordering::SeqCst);
        Ok(imported(seq, message(Role::User, &format!("line {seq}"))))
    }))
}

pub async fn the_origin_and_model_known_at_the_stream_end_are_recorded_with_the_session(
    t: Fixture,
) {
    let store = &t.store;
    let taken = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&taken);
    let finish: cairn_core::store::ImportFinish = Box::new(move |written| {
        // Called after the last event, with the number written.
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        Ok(ImportEnd {
            origin: origin(300, 7, written, "tail-end"),
            update: SessionUpdate {
                model: Some(Some("anthropic:claude-sonnet-4-5".into())),
                ..SessionUpdate::default()
            },
        })
    });
    let s = store
        .import_stream_from(new_session("cc-end"), counted(3, &taken), finish)
        .await
        .unwrap();
    assert_eq!(s.head_seq, 3);
    assert_eq!(s.model.as_deref(), Some("anthropic:claude-sonnet-4-5"));
    let stored = store.session_by_id(s.id).await.unwrap();
    assert_eq!(stored.model, s.model);
    assert_eq!(full_history(store, s.id).await.len(), 3);
    // What a later import compares the file with, to skip it when unchanged.
    let known = recorded(store).await.unwrap();
    assert_eq!(
        (known.session, known.origin),
        (s.id, origin(300, 7, 3, "tail-end"))
    );
}

pub async fn a_finish_that_fails_leaves_no_session_no_event_and_no_origin(t: Fixture) {
    let store = &t.store;
    let taken = Arc::new(AtomicU64::new(0));
    let finish: cairn_core::store::ImportFinish =
        Box::new(|_| Err(Error::invalid("branch at line 9: broken")));
    let err = store
        .import_stream_from(new_session("cc-late"), counted(2, &taken), finish)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 9"), "{err}");
    assert_eq!(taken.load(Ordering::SeqCst), 2, "the whole stream was read");
    assert!(matches!(
        store.session(&name("cc-late")).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(recorded(store).await, None);
    assert!(scope_all(store, "line").await.is_empty());
    // The name is free and the import can be run again.
    let again = store
        .import_stream_from(
            new_session("cc-late"),
            counted(2, &taken),
            ImportEnd::known(origin(20, 2, 2, "t")),
        )
        .await
        .unwrap();
    assert_eq!(again.head_seq, 2);
}
