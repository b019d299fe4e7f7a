//! Remembering where an imported transcript came from, for incremental re-imports.

use cairn_core::{Error, ImportOrigin, NewEvent, Role};

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

pub async fn import_origin_is_recorded_with_the_session_and_moves_with_appends(t: Fixture) {
    let store = &t.store;
    assert_eq!(
        store
            .import_origin("claude-code", "4f1c-session")
            .await
            .unwrap(),
        None
    );
    let history = vec![
        imported(1, message(Role::User, "first")),
        imported(2, message(Role::Assistant, "second")),
    ];
    let first = origin(120, 3, 2, "tail-a");
    let s = store
        .import_stream_from(
            new_session("cc-one"),
            Box::new(history.into_iter().map(Ok)),
            first.clone(),
        )
        .await
        .unwrap();
    let known = store
        .import_origin("claude-code", "4f1c-session")
        .await
        .unwrap()
        .unwrap();
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
    let known = store
        .import_origin("claude-code", "4f1c-session")
        .await
        .unwrap()
        .unwrap();
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
            origin(9, 1, 1, "x"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    assert_eq!(
        store
            .import_origin("claude-code", "4f1c-session")
            .await
            .unwrap(),
        None
    );

    let s = store
        .import_stream_from(
            new_session("cc-two"),
            Box::new(vec![Ok(imported(1, message(Role::User, "first")))].into_iter()),
            origin(9, 1, 1, "x"),
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
    let known = store
        .import_origin("claude-code", "4f1c-session")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((known.session, known.origin), (s.id, origin(9, 1, 1, "x")));
}

pub async fn deleting_the_session_forgets_its_import_and_a_new_import_takes_over(t: Fixture) {
    let store = &t.store;
    let one = || Box::new(vec![Ok(imported(1, message(Role::User, "only")))].into_iter());
    store
        .import_stream_from(new_session("cc-three"), one(), origin(5, 1, 1, "a"))
        .await
        .unwrap();
    store.delete_session(&name("cc-three")).await.unwrap();
    assert_eq!(
        store
            .import_origin("claude-code", "4f1c-session")
            .await
            .unwrap(),
        None
    );
    let again = store
        .import_stream_from(new_session("cc-three-again"), one(), origin(5, 1, 1, "a"))
        .await
        .unwrap();
    let known = store
        .import_origin("claude-code", "4f1c-session")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(known.session, again.id);
}
