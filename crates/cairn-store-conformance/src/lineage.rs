//! Forks and rewinds (`cairn_core::lineage`): a fork shares its parent's history
//! without copying it; a rewind moves the live context back and keeps the history.
//! The oracle for every live context is `live_view` of the session's full history.

use std::sync::Arc;

use cairn_core::context::live_view;
use cairn_core::{Error, NewSession, Role, Session, Store};
use ulid::Ulid;

use crate::Fixture;
use crate::support::*;

fn fork_of(name: &str, parent: &Session) -> NewSession {
    NewSession::new(self::name(name), parent.project.clone())
}

/// The store's live context of `id` is `live_view` of its full history, and the
/// full history is dense from 1 to the head.
async fn assert_live_is_the_view(store: &Arc<dyn Store>, id: Ulid) -> Vec<u64> {
    let full = full_history(store, id).await;
    let live = store.live_context(id, 10).await.unwrap();
    assert_eq!(
        seqs(&full),
        (1..=live.session.head_seq).collect::<Vec<_>>(),
        "history of {}",
        live.session.name
    );
    let (latest, tail) = live_view(&full);
    assert_eq!(live.compaction.as_ref(), latest, "{}", live.session.name);
    assert_eq!(
        live.events,
        tail.into_iter().cloned().collect::<Vec<_>>(),
        "{}",
        live.session.name
    );
    seqs(&live.events)
}

fn texts(events: &[cairn_core::Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .map(|m| m.plain_text())
        .collect()
}

pub async fn a_fork_shares_its_parents_history_and_counts_only_its_own(t: Fixture) {
    let parent = t.store.create_session(new_session("main")).await.unwrap();
    t.store
        .append_events(
            parent.id,
            vec![
                text(Role::User, "one"),
                with_usage("two", Some("req-2"), 100, 0.5),
                text(Role::User, "three"),
                with_usage("four", Some("req-4"), 200, 1.0),
            ],
        )
        .await
        .unwrap();
    let fork = t
        .store
        .fork_session(parent.id, Some(3), fork_of("side", &parent))
        .await
        .unwrap();
    assert_eq!(fork.parent_id, Some(parent.id));
    assert_eq!(fork.fork_seq, Some(3));
    assert_eq!(fork.head_seq, 3);
    // Nothing of the shared part is counted again.
    assert_eq!((fork.message_count, fork.cost_usd), (0, 0.0));
    assert_eq!(fork.usage.total(), 0);
    let seqs_appended = t
        .store
        .append_events(
            fork.id,
            vec![
                text(Role::User, "fork question"),
                with_usage("fork answer", Some("req-5"), 7, 0.25),
            ],
        )
        .await
        .unwrap();
    assert_eq!(seqs_appended, vec![4, 5]);
    // The parent moves on; the fork does not see it.
    t.store
        .append_events(parent.id, vec![text(Role::User, "parent five")])
        .await
        .unwrap();

    let fork = t.store.session_by_id(fork.id).await.unwrap();
    assert_eq!((fork.head_seq, fork.message_count), (5, 2));
    assert_eq!(fork.cost_usd, 0.25);
    assert_eq!(fork.usage.input_tokens, 7);
    let parent = t.store.session_by_id(parent.id).await.unwrap();
    assert_eq!((parent.head_seq, parent.message_count), (5, 5));
    assert_eq!(parent.cost_usd, 1.5);

    let live = t.store.live_context(fork.id, 10).await.unwrap();
    assert_eq!(
        texts(&live.events),
        ["one", "two", "three", "fork question", "fork answer"]
    );
    assert_live_is_the_view(&t.store, fork.id).await;
    // A page of the history crosses the fork point.
    let page = t.store.events_after(fork.id, 2, 2).await.unwrap();
    assert_eq!(seqs(&page), vec![3, 4]);
    // The whole history of the fork imports as a standalone session.
    let history = full_history(&t.store, fork.id).await;
    let copy = t
        .store
        .import_session(new_session("side-copy"), history)
        .await
        .unwrap();
    assert_eq!((copy.parent_id, copy.fork_seq), (None, None));
    let copied = t.store.live_context(copy.id, 10).await.unwrap();
    assert_eq!(copied.events, live.events);
    // Search finds the shared text once, in the session that stores it.
    let hits = scope_all(&t.store, "three").await;
    let names: Vec<&str> = hits.iter().map(|h| h.session.as_str()).collect();
    assert_eq!(names, vec!["side-copy", "main"]);
    // The fork survives a reopen.
    let reopened = t.reopen.open();
    let again = reopened.live_context(fork.id, 10).await.unwrap();
    assert_eq!(again.events, live.events);
}

pub async fn forks_of_forks_and_compactions_on_both_sides_of_a_fork_point(t: Fixture) {
    let root = t.store.create_session(new_session("root")).await.unwrap();
    let batch = (1..=6)
        .map(|i| text(Role::User, &format!("root {i}")))
        .collect();
    t.store.append_events(root.id, batch).await.unwrap();
    // Compaction at 7 replaces 1..4; the parent's live context is 5, 6.
    t.store
        .append_events(root.id, vec![compaction(1, 4), text(Role::User, "root 8")])
        .await
        .unwrap();
    // A fork before the compaction sees no compaction; one after sees it.
    let early = t
        .store
        .fork_session(root.id, Some(5), fork_of("early", &root))
        .await
        .unwrap();
    assert_eq!(early.compaction_seq, None);
    assert_eq!(
        assert_live_is_the_view(&t.store, early.id).await,
        [1, 2, 3, 4, 5]
    );
    let late = t
        .store
        .fork_session(root.id, None, fork_of("late", &root))
        .await
        .unwrap();
    assert_eq!(late.fork_seq, Some(8));
    assert_eq!(late.compaction_seq, Some(7));
    assert_eq!(assert_live_is_the_view(&t.store, late.id).await, [5, 6, 8]);
    // The late fork compacts across its fork point, then is forked again.
    t.store
        .append_events(
            late.id,
            vec![
                text(Role::User, "late 9"),
                compaction(1, 6),
                text(Role::User, "late 11"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(assert_live_is_the_view(&t.store, late.id).await, [8, 9, 11]);
    let grandchild = t
        .store
        .fork_session(late.id, Some(9), fork_of("grandchild", &late))
        .await
        .unwrap();
    assert_eq!(grandchild.compaction_seq, Some(7));
    t.store
        .append_events(grandchild.id, vec![text(Role::User, "grandchild 10")])
        .await
        .unwrap();
    assert_eq!(
        assert_live_is_the_view(&t.store, grandchild.id).await,
        [5, 6, 8, 9, 10]
    );
    let history = full_history(&t.store, grandchild.id).await;
    assert_eq!(texts(&history)[6..], ["root 8", "late 9", "grandchild 10"]);
    // A fork of the fork at a point before the fork's own fork point reads the root.
    let back = t
        .store
        .fork_session(late.id, Some(3), fork_of("back", &late))
        .await
        .unwrap();
    assert_eq!(assert_live_is_the_view(&t.store, back.id).await, [1, 2, 3]);
    // Knowledge is inherited up to the fork point.
    t.store
        .append_events(root.id, vec![knowledge("root decision", true)])
        .await
        .unwrap();
    t.store
        .append_events(grandchild.id, vec![knowledge("own decision", false)])
        .await
        .unwrap();
    let k = t.store.knowledge(grandchild.id).await.unwrap();
    assert_eq!(seqs(&k), vec![11]);
    let forked_after = t
        .store
        .fork_session(root.id, None, fork_of("after-knowledge", &root))
        .await
        .unwrap();
    let live = t.store.live_context(forked_after.id, 10).await.unwrap();
    assert_eq!(seqs(&live.knowledge), vec![9]);
}

pub async fn a_fork_point_must_be_in_the_parents_history(t: Fixture) {
    let parent = t.store.create_session(new_session("p")).await.unwrap();
    t.store
        .append_events(parent.id, vec![text(Role::User, "only")])
        .await
        .unwrap();
    let err = t
        .store
        .fork_session(parent.id, Some(2), fork_of("f", &parent))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    assert!(err.to_string().contains("fork point 2"), "{err}");
    assert!(matches!(
        t.store.session(&name("f")).await,
        Err(Error::NotFound { .. })
    ));
    let err = t
        .store
        .fork_session(Ulid::new(), None, new_session("g"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    // An import is standalone: it cannot claim a fork point.
    let mut claimed = new_session("claimed");
    claimed.parent_id = Some(parent.id);
    claimed.fork_seq = Some(1);
    let err = t.store.import_session(claimed, vec![]).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
}

pub async fn a_session_with_forks_is_deleted_only_together_with_them(t: Fixture) {
    let parent = t.store.create_session(new_session("p")).await.unwrap();
    t.store
        .append_events(parent.id, vec![text(Role::User, "shared words")])
        .await
        .unwrap();
    let fork = t
        .store
        .fork_session(parent.id, None, fork_of("f", &parent))
        .await
        .unwrap();
    let fork_of_fork = t
        .store
        .fork_session(fork.id, None, fork_of("ff", &fork))
        .await
        .unwrap();
    // A sub-agent child (no fork point) does not hold its parent.
    let mut sub = new_session("p-sub-1");
    sub.parent_id = Some(parent.id);
    t.store.create_session(sub).await.unwrap();
    let err = t.store.delete_session(&name("p")).await.unwrap_err();
    match &err {
        Error::HasForks { session, forks } => {
            assert_eq!(session, "p");
            assert_eq!(forks, &vec!["f".to_owned()]);
        }
        other => panic!("expected HasForks, got {other}"),
    }
    assert!(matches!(
        t.store.delete_session(&name("f")).await,
        Err(Error::HasForks { .. })
    ));
    // Nothing was deleted; the fork of the fork still reads the shared history.
    let live = t.store.live_context(fork_of_fork.id, 10).await.unwrap();
    assert_eq!(texts(&live.events), ["shared words"]);
    let gone = t.store.delete_session_with_forks(&name("p")).await.unwrap();
    let gone: Vec<&str> = gone.iter().map(|n| n.as_str()).collect();
    assert_eq!(gone, vec!["ff", "f", "p"]);
    assert!(scope_all(&t.store, "shared").await.is_empty());
    assert_eq!(t.store.count_sessions(None).await.unwrap(), 1);
}

pub async fn a_rewind_moves_the_live_context_back_and_keeps_the_history(t: Fixture) {
    let s = t.store.create_session(new_session("r")).await.unwrap();
    t.store
        .append_events(
            s.id,
            vec![
                text(Role::User, "q1"),
                text(Role::Assistant, "a1"),
                text(Role::User, "q2"),
                text(Role::Assistant, "a2"),
                text(Role::User, "q3"),
                text(Role::Assistant, "a3"),
            ],
        )
        .await
        .unwrap();
    // Back to just before q3 (seq 5).
    let rewind = t.store.rewind_session(s.id, 5).await.unwrap();
    assert_eq!(rewind, 7);
    assert_eq!(assert_live_is_the_view(&t.store, s.id).await, [1, 2, 3, 4]);
    t.store
        .append_events(s.id, vec![text(Role::User, "q3 again")])
        .await
        .unwrap();
    let live = t.store.live_context(s.id, 10).await.unwrap();
    assert_eq!(texts(&live.events), ["q1", "a1", "q2", "a2", "q3 again"]);
    assert_live_is_the_view(&t.store, s.id).await;
    // Lossless: the rewound events are in the history.
    let full = full_history(&t.store, s.id).await;
    assert_eq!(
        texts(&full),
        ["q1", "a1", "q2", "a2", "q3", "a3", "q3 again"]
    );
    // A compaction, then a rewind to before it: the compaction is undone too.
    t.store
        .append_events(
            s.id,
            vec![text(Role::Assistant, "a3 again"), compaction(1, 4)],
        )
        .await
        .unwrap();
    assert_eq!(assert_live_is_the_view(&t.store, s.id).await, [8, 9]);
    t.store.rewind_session(s.id, 3).await.unwrap();
    let s_now = t.store.session_by_id(s.id).await.unwrap();
    assert_eq!(s_now.compaction_seq, None);
    assert_eq!(assert_live_is_the_view(&t.store, s.id).await, [1, 2]);
    // The rewound turns can still be forked: at seq 6 the live context held q3/a3.
    let fork = t
        .store
        .fork_session(s.id, Some(6), fork_of("retry", &s_now))
        .await
        .unwrap();
    let live = t.store.live_context(fork.id, 10).await.unwrap();
    assert_eq!(texts(&live.events), ["q1", "a1", "q2", "a2", "q3", "a3"]);
    // It survives a reopen, and a rewind inside the fork reaches into the parent.
    let reopened = t.reopen.open();
    let again = reopened.live_context(s.id, 10).await.unwrap();
    assert_eq!(seqs(&again.events), vec![1, 2]);
    reopened.rewind_session(fork.id, 2).await.unwrap();
    assert_eq!(assert_live_is_the_view(&reopened, fork.id).await, [1]);
    // Knowledge recorded in a rewound turn leaves the live context.
    let k = t.store.create_session(new_session("k")).await.unwrap();
    t.store
        .append_events(
            k.id,
            vec![
                text(Role::User, "q"),
                knowledge("kept", false),
                text(Role::User, "q2"),
                knowledge("taken back", false),
            ],
        )
        .await
        .unwrap();
    t.store.rewind_session(k.id, 3).await.unwrap();
    let live = t.store.live_context(k.id, 10).await.unwrap();
    assert_eq!(seqs(&live.knowledge), vec![2]);
}

pub async fn a_rewind_must_point_into_the_history_and_a_bad_one_writes_nothing(t: Fixture) {
    let s = t.store.create_session(new_session("r")).await.unwrap();
    t.store
        .append_events(s.id, vec![text(Role::User, "q1"), text(Role::User, "q2")])
        .await
        .unwrap();
    for to in [0, 3, 4] {
        let err = t.store.rewind_session(s.id, to).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
        assert!(err.to_string().contains("to_seq"), "{err}");
    }
    let s = t.store.session_by_id(s.id).await.unwrap();
    assert_eq!(s.head_seq, 2);
    assert!(s.live_gaps.is_empty());
}

pub async fn imported_progress_keeps_ids_rounds_and_times_and_imports_once(t: Fixture) {
    let saved = t
        .store
        .save_checkpoint(checkpoint("moved", "/p/one", None))
        .await
        .unwrap();
    let signal = t
        .store
        .add_pool_signal(cairn_core::NewPoolSignal {
            project: project("/p/one"),
            topic: "auth".into(),
            action: cairn_core::PoolAction::Claimed,
            summary: "taking auth".into(),
            affects: vec!["src/auth.rs".into()],
            instance: "i-1".into(),
            session_id: Some("moved".into()),
            expires_at: None,
        })
        .await
        .unwrap();
    let mut second = saved.clone();
    second.checkpoint_id = "01J00000000000000000000002".into();
    second.round_id = "2".into();
    // Into a store that has the first checkpoint and the signal already.
    let done = t
        .store
        .import_progress(vec![saved.clone(), second.clone()], vec![signal.clone()])
        .await
        .unwrap();
    assert_eq!(
        (
            done.checkpoints_added,
            done.checkpoints_present,
            done.signals_added,
            done.signals_present
        ),
        (1, 1, 0, 1)
    );
    let again = t
        .store
        .import_progress(vec![second.clone()], vec![signal])
        .await
        .unwrap();
    assert_eq!((again.checkpoints_added, again.signals_added), (0, 0));
    let rounds = t.store.checkpoints("moved").await.unwrap();
    assert_eq!(rounds, vec![saved, second]);
    // The next round is numbered after the imported ones.
    let next = t
        .store
        .save_checkpoint(checkpoint("moved", "/p/one", None))
        .await
        .unwrap();
    assert_eq!(next.round_id, "3");
    assert_eq!(
        t.store
            .pool_signals(None, cairn_core::Timestamp::UNIX_EPOCH)
            .await
            .unwrap()
            .len(),
        1
    );
}
