//! Checkpoints, the agent pool and writer leases.

use std::time::Duration;

use cairn_core::{Error, NewPoolSignal, PoolAction, Timestamp};

use crate::Fixture;
use crate::support::*;

pub async fn checkpoints_number_their_rounds_per_session_id(t: Fixture) {
    let c1 = t
        .store
        .save_checkpoint(checkpoint("auth-v2", "/p/one", None))
        .await
        .unwrap();
    let c2 = t
        .store
        .save_checkpoint(checkpoint("auth-v2", "/p/one", None))
        .await
        .unwrap();
    let other = t
        .store
        .save_checkpoint(checkpoint("billing", "/p/two", None))
        .await
        .unwrap();
    let named = t
        .store
        .save_checkpoint(checkpoint("auth-v2", "/p/one", Some("design")))
        .await
        .unwrap();
    let c4 = t
        .store
        .save_checkpoint(checkpoint("auth-v2", "/p/one", None))
        .await
        .unwrap();
    assert_eq!(
        [&c1, &c2, &other, &named, &c4].map(|c| c.round_id.as_str()),
        ["1", "2", "1", "design", "3"]
    );
    assert_ne!(c1.checkpoint_id, c2.checkpoint_id);
    assert!(ulid::Ulid::from_string(&c1.checkpoint_id).is_ok());
    assert_eq!(c1.next_steps, vec!["tests".to_string(), "docs".to_string()]);
    assert_eq!(c1.client.as_deref(), Some("claude-code"));

    let all = t.store.checkpoints("auth-v2").await.unwrap();
    assert_eq!(all, vec![c1, c2, named, c4.clone()]);
    assert_eq!(
        t.store.latest_checkpoint("auth-v2").await.unwrap(),
        Some(c4.clone())
    );
    assert_eq!(t.store.latest_checkpoint("nobody").await.unwrap(), None);

    let recent = t.store.recent_checkpoints(None, 10).await.unwrap();
    assert_eq!(recent, vec![c4.clone(), other.clone()]);
    let recent = t
        .store
        .recent_checkpoints(Some(&project("/p/two")), 10)
        .await
        .unwrap();
    assert_eq!(recent, vec![other]);
    let recent = t.store.recent_checkpoints(None, 1).await.unwrap();
    assert_eq!(recent, vec![c4]);
}

pub async fn pool_signals_and_instances(t: Fixture) {
    let before = Timestamp::now() - jiff::SignedDuration::from_secs(1);
    let signal = |p: &str, topic: &str| NewPoolSignal {
        project: project(p),
        topic: topic.into(),
        action: PoolAction::Claimed,
        summary: format!("working on {topic}"),
        affects: vec!["src/auth.rs".into()],
        instance: "inst-1".into(),
        session_id: Some("auth-v2".into()),
        expires_at: Some("2030-01-01T00:00:00Z".parse().unwrap()),
    };
    let a = t
        .store
        .add_pool_signal(signal("/p/one", "auth"))
        .await
        .unwrap();
    let b = t
        .store
        .add_pool_signal(signal("/p/two", "billing"))
        .await
        .unwrap();
    assert!(b.id > a.id);
    assert_eq!(a.affects, vec!["src/auth.rs".to_string()]);
    assert_eq!(a.expires_at, Some("2030-01-01T00:00:00Z".parse().unwrap()));
    let all = t.store.pool_signals(None, before).await.unwrap();
    assert_eq!(all, vec![a.clone(), b.clone()]);
    let one = t
        .store
        .pool_signals(Some(&project("/p/one")), before)
        .await
        .unwrap();
    assert_eq!(one, vec![a.clone()]);
    let later = b.created_at + jiff::SignedDuration::from_micros(1);
    assert!(t.store.pool_signals(None, later).await.unwrap().is_empty());

    t.store
        .touch_instance(&project("/p/one"), "inst-1", Some("cursor"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    t.store
        .touch_instance(&project("/p/one"), "inst-2", None)
        .await
        .unwrap();
    t.store
        .touch_instance(&project("/p/two"), "inst-3", None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Touching again without a client keeps the known one and moves it first.
    t.store
        .touch_instance(&project("/p/one"), "inst-1", None)
        .await
        .unwrap();
    let seen = t
        .store
        .pool_instances(Some(&project("/p/one")), before)
        .await
        .unwrap();
    let names: Vec<&str> = seen.iter().map(|i| i.instance.as_str()).collect();
    assert_eq!(names, ["inst-1", "inst-2"]);
    assert_eq!(seen[0].client.as_deref(), Some("cursor"));
    assert_eq!(t.store.pool_instances(None, before).await.unwrap().len(), 3);
    let future = Timestamp::now() + jiff::SignedDuration::from_secs(60);
    assert!(
        t.store
            .pool_instances(None, future)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn leases_refuse_a_second_writer_unless_forced_or_stale(t: Fixture) {
    let s = t.store.create_session(new_session("leased")).await.unwrap();
    let first = holder(100, "aaa");
    let second = holder(200, "bbb");
    let minute = Duration::from_secs(60);
    let lease = t
        .store
        .acquire_lease(s.id, &first, minute, false)
        .await
        .unwrap();
    assert_eq!(lease.holder, first);
    // The holder may take it again.
    t.store
        .acquire_lease(s.id, &first, minute, false)
        .await
        .unwrap();
    let err = t
        .store
        .acquire_lease(s.id, &second, minute, false)
        .await
        .unwrap_err();
    let Error::LeaseHeld {
        session,
        holder: held_by,
        ..
    } = &err
    else {
        panic!("expected LeaseHeld, got {err}")
    };
    assert_eq!(session, "leased");
    assert_eq!(held_by, "pid 100@devbox");

    t.store.heartbeat_lease(s.id, &first).await.unwrap();
    // Forced takeover: the old holder's heartbeat now fails.
    t.store
        .acquire_lease(s.id, &second, minute, true)
        .await
        .unwrap();
    let err = t.store.heartbeat_lease(s.id, &first).await.unwrap_err();
    assert!(matches!(err, Error::LeaseHeld { .. }), "{err}");
    assert!(err.to_string().contains("pid 200@devbox"), "{err}");
    // Releasing someone else's lease changes nothing.
    t.store.release_lease(s.id, &first).await.unwrap();
    assert!(
        t.store
            .acquire_lease(s.id, &first, minute, false)
            .await
            .is_err()
    );
    t.store.release_lease(s.id, &second).await.unwrap();
    t.store
        .acquire_lease(s.id, &first, minute, false)
        .await
        .unwrap();

    // A stale lease is taken over without force.
    tokio::time::sleep(Duration::from_millis(30)).await;
    t.store
        .acquire_lease(s.id, &second, Duration::from_millis(10), false)
        .await
        .unwrap();
    // Same pid and host but another token is another holder (recycled pid).
    let recycled = holder(200, "ccc");
    assert!(
        t.store
            .acquire_lease(s.id, &recycled, minute, false)
            .await
            .is_err()
    );
    assert!(matches!(
        t.store
            .acquire_lease(ulid::Ulid::new(), &first, minute, false)
            .await
            .unwrap_err(),
        Error::NotFound { .. }
    ));
}
