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
        message.contains(&format!("pid {}@", std::process::id())) && message.contains("--force"),
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
        matches!(err, cairn_agent::AgentError::Core(Error::LeaseHeld { .. })),
        "{err}"
    );
    assert_eq!(world.history("shared").await.len(), before);
    second.close().await.unwrap();
    first.close().await.unwrap();

    // Released: anyone may open it again without --force.
    let again = world
        .open(SessionTarget::Resume(named("shared")), &mut ui)
        .await;
    again.close().await.unwrap();
}
