//! Who wrote it: every event, checkpoint and pool signal records `user@host`.

use cairn_core::{NewPoolSignal, PoolAction, Role, Timestamp};

use crate::Fixture;
use crate::support::*;

pub async fn events_checkpoints_and_signals_record_their_author(t: Fixture) {
    let store = &t.store;
    let me = cairn_core::author::current().to_owned();
    let s = store.create_session(new_session("authored")).await.unwrap();
    assert_eq!(store.session_authors(s.id).await.unwrap(), []);
    store
        .append_events(
            s.id,
            vec![text(Role::User, "a"), text(Role::Assistant, "b")],
        )
        .await
        .unwrap();
    store
        .append_events(s.id, vec![text(Role::User, "c")])
        .await
        .unwrap();
    let authors = store.session_authors(s.id).await.unwrap();
    assert_eq!(authors.len(), 1);
    assert_eq!(
        (
            authors[0].author.as_str(),
            authors[0].events,
            authors[0].last_seq
        ),
        (me.as_str(), 3, 3)
    );

    let saved = store
        .save_checkpoint(checkpoint("auth", "/p/one", None))
        .await
        .unwrap();
    assert_eq!(saved.author.as_deref(), Some(me.as_str()));
    let signal = store
        .add_pool_signal(NewPoolSignal {
            project: project("/p/one"),
            topic: "auth".into(),
            action: PoolAction::Claimed,
            summary: "mine".into(),
            affects: vec![],
            instance: "i-1".into(),
            session_id: None,
            expires_at: None,
        })
        .await
        .unwrap();
    assert_eq!(signal.author.as_deref(), Some(me.as_str()));

    // Copied rows keep the author they had; a second copy adds nothing.
    let mut theirs = saved.clone();
    theirs.checkpoint_id = "01J0000000000000000000000B".into();
    theirs.author = Some("bob@desk".into());
    assert!(store.copy_checkpoint(&theirs).await.unwrap());
    assert!(!store.copy_checkpoint(&theirs).await.unwrap());
    let mut their_signal = signal.clone();
    their_signal.instance = "bob-1".into();
    their_signal.author = Some("bob@desk".into());
    assert!(store.copy_pool_signal(&their_signal).await.unwrap());
    assert!(!store.copy_pool_signal(&their_signal).await.unwrap());

    let again = t.reopen.open();
    let rounds = again.checkpoints("auth").await.unwrap();
    let authors: Vec<Option<&str>> = rounds.iter().map(|c| c.author.as_deref()).collect();
    assert_eq!(authors, [Some(me.as_str()), Some("bob@desk")]);
    let signals = again
        .pool_signals(None, Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    let authors: Vec<Option<&str>> = signals.iter().map(|s| s.author.as_deref()).collect();
    assert_eq!(authors, [Some(me.as_str()), Some("bob@desk")]);
}
