use cairn_agent::{Agent, SessionTarget};
use cairn_core::Error;
use cairn_testkit::fake_llm::Turn;

use crate::support::*;

#[tokio::test]
async fn a_second_writer_is_refused_naming_the_holder_and_force_takes_over() {
    let world = World::new([Turn::text("one"), Turn::text("two")]);
    let mut ui = ui();
    let mut first = world
        .open(SessionTarget::CreateOrResume(named("shared")), &mut ui)
        .await;
    let err = Agent::open(
        world.store.clone(),
        world.options(),
        SessionTarget::Resume(named("shared")),
        &mut ui,
    )
    .await
    .err()
    .unwrap();
    let message = err.to_string();
    assert!(
        matches!(err, cairn_agent::AgentError::Core(Error::LeaseHeld { .. })),
        "{message}"
    );
    assert!(
        message.contains(&format!("pid {}@", std::process::id())),
        "{message}"
    );

    let mut options = world.options();
    options.force = true;
    let mut second = Agent::open(
        world.store.clone(),
        options,
        SessionTarget::Resume(named("shared")),
        &mut ui,
    )
    .await
    .unwrap();
    say(&mut second, &mut ui, "mine now").await;

    // The first agent notices before it writes anything.
    let before = world.history("shared").await.len();
    let err = first
        .submit("still mine?", &mut ui, &Default::default())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, cairn_agent::AgentError::Core(Error::LeaseLost { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("taken over by pid "), "{err}");
    assert_eq!(world.history("shared").await.len(), before);
    second.close().await.unwrap();
    first.close().await.unwrap();

    // Released: anyone may open it again without --force.
    let again = world
        .open(SessionTarget::Resume(named("shared")), &mut ui)
        .await;
    again.close().await.unwrap();
}

/// Issue 8 item 16: two processes force the same session at the same time. Both get
/// the lease for a moment; the one that lost it is told the truth (another process
/// forced it at the same time, named), not "use --force", which it did.
#[tokio::test]
async fn the_loser_of_a_force_race_is_told_it_lost_a_race_and_who_won() {
    let world = World::new([Turn::text("one"), Turn::text("two")]);
    let mut ui = ui();
    world
        .open(SessionTarget::CreateOrResume(named("raced")), &mut ui)
        .await
        .close()
        .await
        .unwrap();
    let mut options = world.options();
    options.force = true;
    let mut early = Agent::open(
        world.store.clone(),
        options.clone(),
        SessionTarget::Resume(named("raced")),
        &mut ui,
    )
    .await
    .unwrap();
    let mut late = Agent::open(
        world.store.clone(),
        options,
        SessionTarget::Resume(named("raced")),
        &mut ui,
    )
    .await
    .unwrap();
    let before = world.history("raced").await.len();
    let err = early
        .submit("mine?", &mut ui, &Default::default())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("at the same time") && err.contains(&format!("pid {}@", std::process::id())),
        "{err}"
    );
    assert!(!err.contains("use --force"), "{err}");
    assert_eq!(world.history("raced").await.len(), before);
    say(&mut late, &mut ui, "the winner writes").await;
    late.close().await.unwrap();
    early.close().await.unwrap();
}

#[tokio::test]
async fn a_lease_left_by_a_dead_process_of_this_host_is_taken_over_without_force() {
    let world = World::new([Turn::text("one")]);
    let mut ui = ui();
    let agent = world
        .open(SessionTarget::CreateOrResume(named("orphan")), &mut ui)
        .await;
    let session = agent.session().clone();
    agent.close().await.unwrap();
    // A holder on this host whose pid cannot exist (pid_max is at most 2^22).
    let dead = cairn_core::LeaseHolder {
        pid: 9_999_999,
        ..cairn_agent::lease::this_process()
    };
    world
        .store
        .acquire_lease(session.id, &dead, std::time::Duration::from_secs(60), false)
        .await
        .unwrap();
    let stored = world.store.lease(session.id).await.unwrap().unwrap();
    assert_eq!(stored.holder, dead);

    let mut ui = self::ui();
    let agent = world
        .open(SessionTarget::Resume(named("orphan")), &mut ui)
        .await;
    let notices: Vec<String> = ui
        .events
        .iter()
        .filter_map(|e| match e {
            cairn_agent::AgentEvent::Notice { message } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("pid 9999999@") && n.contains("no longer running")),
        "{notices:?}"
    );
    let holder = world.store.lease(session.id).await.unwrap().unwrap().holder;
    assert_eq!(holder.pid, std::process::id());

    // A live holder of another host is not taken over.
    agent.close().await.unwrap();
    let elsewhere = cairn_core::LeaseHolder {
        pid: 9_999_999,
        host: "another-host.example".into(),
        token: "t".into(),
    };
    world
        .store
        .acquire_lease(
            session.id,
            &elsewhere,
            std::time::Duration::from_secs(60),
            false,
        )
        .await
        .unwrap();
    let err = Agent::open(
        world.store.clone(),
        world.options(),
        SessionTarget::Resume(named("orphan")),
        &mut ui,
    )
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("another-host.example"), "{err}");
    assert!(world.store.lease(session.id).await.unwrap().unwrap().holder == elsewhere);
}
