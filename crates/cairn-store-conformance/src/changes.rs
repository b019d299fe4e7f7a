//! The change feed: every write through a store is announced to its subscribers.

use std::time::Duration;

use cairn_core::{
    LeaseHolder, NewCheckpoint, NewPoolSignal, PoolAction, Role, SessionName, StoreChange,
};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::TryRecvError;

use crate::Fixture;
use crate::support::*;

/// The next change, waiting at most a few seconds.
async fn next(rx: &mut Receiver<StoreChange>) -> StoreChange {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("no change announced within 5 s")
        .expect("the feed closed")
}

/// Nothing more is waiting (own writes are announced before the write returns).
fn quiet(rx: &mut Receiver<StoreChange>) {
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
}

pub async fn every_write_is_announced_to_every_subscriber(t: Fixture) {
    let mut rx = t.store.changes();
    let mut second = t.store.changes();
    let s = t.store.create_session(new_session("fed")).await.unwrap();
    assert_eq!(next(&mut rx).await, StoreChange::SessionsChanged);
    assert_eq!(next(&mut second).await, StoreChange::SessionsChanged);
    drop(second);

    t.store
        .append_events(s.id, vec![text(Role::User, "a"), knowledge("k", false)])
        .await
        .unwrap();
    assert_eq!(
        next(&mut rx).await,
        StoreChange::SessionAppended {
            session: s.id,
            head_seq: 2
        }
    );
    t.store.set_knowledge_pinned(s.id, 2, true).await.unwrap();
    assert_eq!(
        next(&mut rx).await,
        StoreChange::KnowledgeChanged { session: s.id }
    );
    t.store
        .rename_session(&s.name, &SessionName::parse("renamed").unwrap())
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, StoreChange::SessionsChanged);
    t.store
        .save_checkpoint(NewCheckpoint {
            session_id: "fed".into(),
            project: project("/p/one"),
            summary: "s".into(),
            files_touched: vec![],
            decisions_made: vec![],
            next_steps: vec![],
            round_id: None,
            client: None,
            instance: None,
        })
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, StoreChange::CheckpointsChanged);
    t.store
        .add_pool_signal(NewPoolSignal {
            project: project("/p/one"),
            topic: "t".into(),
            action: PoolAction::Claimed,
            summary: "s".into(),
            affects: vec![],
            instance: "i".into(),
            session_id: None,
            expires_at: None,
        })
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, StoreChange::PoolChanged);
    t.store
        .touch_instance(&project("/p/one"), "i", None)
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, StoreChange::PoolChanged);
    let me = LeaseHolder {
        pid: 1,
        host: "h".into(),
        token: "x".into(),
    };
    let minute = Duration::from_secs(60);
    t.store
        .acquire_lease(s.id, &me, minute, false)
        .await
        .unwrap();
    assert_eq!(
        next(&mut rx).await,
        StoreChange::LeaseChanged { session: s.id }
    );
    // Heartbeats and reads are silent.
    t.store.heartbeat_lease(s.id, &me).await.unwrap();
    t.store.live_context(s.id, 10).await.unwrap();
    t.store.release_lease(s.id, &me).await.unwrap();
    assert_eq!(
        next(&mut rx).await,
        StoreChange::LeaseChanged { session: s.id }
    );
    t.store
        .delete_session(&SessionName::parse("renamed").unwrap())
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, StoreChange::SessionsChanged);
    quiet(&mut rx);
}

pub async fn failed_writes_are_not_announced_and_imports_are(t: Fixture) {
    let mut rx = t.store.changes();
    let s = t.store.create_session(new_session("one")).await.unwrap();
    assert_eq!(next(&mut rx).await, StoreChange::SessionsChanged);
    assert!(t.store.create_session(new_session("one")).await.is_err());
    assert!(
        t.store
            .append_events(s.id, vec![text(Role::User, "a"), compaction(5, 9)])
            .await
            .is_err()
    );
    quiet(&mut rx);

    let history = (1..=3)
        .map(|seq| imported(seq, message(Role::User, "imported")))
        .collect();
    let i = t
        .store
        .import_session(new_session("imported"), history)
        .await
        .unwrap();
    let mut seen = vec![next(&mut rx).await, next(&mut rx).await];
    seen.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        seen,
        vec![
            StoreChange::SessionAppended {
                session: i.id,
                head_seq: 3
            },
            StoreChange::SessionsChanged,
        ]
    );
    quiet(&mut rx);
}

pub async fn a_subscriber_sees_only_changes_after_it_subscribed(t: Fixture) {
    let s = t.store.create_session(new_session("early")).await.unwrap();
    t.store
        .append_events(s.id, vec![text(Role::User, "before")])
        .await
        .unwrap();
    let mut rx = t.store.changes();
    quiet(&mut rx);
    t.store
        .append_events(s.id, vec![text(Role::User, "after")])
        .await
        .unwrap();
    assert_eq!(
        next(&mut rx).await,
        StoreChange::SessionAppended {
            session: s.id,
            head_seq: 2
        }
    );
}
