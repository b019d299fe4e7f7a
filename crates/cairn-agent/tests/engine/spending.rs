use cairn_agent::{
    Agent, AgentEvent, Outcome, Question, SessionTarget, SpendingLimitKind, StopCause,
};
use cairn_testkit::fake_llm::{Reply, Turn};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::*;

#[tokio::test]
async fn non_interactive_runs_stop_at_the_session_limit_with_spending_limit() {
    let mut world = World::new([
        two_dollars(Reply::new().tool_call("c1", "list_files", json!({}))),
        Turn::text("never sent"),
    ]);
    world.settings.max_session_spending_threshold = Some(1.0);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut ui)
        .await;
    let message = spending_limit_message(
        agent
            .submit("list", &mut ui, &CancellationToken::new())
            .await,
    );
    assert!(
        message.contains("max_session_spending_threshold") && message.contains("$1.00"),
        "{message}"
    );
    // One request went out; the tool ran and its result is stored; no second request.
    assert_eq!(world.fake.requests().len(), 1);
    assert_eq!(world.history("s").await.len(), 3);
    // The next run stops before sending anything.
    let err = agent
        .submit("again", &mut ui, &CancellationToken::new())
        .await
        .err()
        .unwrap();
    assert_eq!(err.exit_code(), 4);
    assert_eq!(world.fake.requests().len(), 1);
    agent.close().await.unwrap();
}

#[tokio::test]
async fn interactive_yes_resets_the_checkpoint_and_no_stops() {
    let mut world = World::new([
        two_dollars(Reply::new().text("first")),
        two_dollars(Reply::new().text("second")),
    ]);
    world.settings.max_session_spending_threshold = Some(1.0);
    let mut no = interactive(false);
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut no)
        .await;
    assert_eq!(say(&mut agent, &mut no, "one").await, Outcome::Answered);
    assert_eq!(
        say(&mut agent, &mut no, "two").await,
        Outcome::Stopped {
            reason: StopCause::SpendingLimit
        }
    );
    assert_eq!(world.fake.requests().len(), 1);
    assert!(matches!(
        no.questions[0],
        Question::ContinuePastSpendingLimit {
            limit: SpendingLimitKind::Session,
            ..
        }
    ));

    let mut yes = interactive(true);
    assert_eq!(say(&mut agent, &mut yes, "three").await, Outcome::Answered);
    assert_eq!(world.fake.requests().len(), 2);
    let session = world.store.session(&named("s")).await.unwrap();
    assert!(
        (session.spend_checkpoint_usd - 2.0).abs() < 1e-9,
        "{}",
        session.spend_checkpoint_usd
    );
    assert!((session.cost_usd - 4.0).abs() < 1e-9);
    agent.close().await.unwrap();
}

#[tokio::test]
async fn the_request_limit_asks_before_the_next_request_of_a_turn() {
    let mut world = World::new([
        two_dollars(Reply::new().tool_call("c1", "list_files", json!({}))),
        Turn::text("done"),
    ]);
    world.settings.max_request_spending_threshold = Some(1.5);
    let mut yes = interactive(true);
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut yes)
        .await;
    assert_eq!(say(&mut agent, &mut yes, "go").await, Outcome::Answered);
    assert!(matches!(
        yes.questions.as_slice(),
        [Question::ContinuePastSpendingLimit {
            limit: SpendingLimitKind::Request,
            ..
        }]
    ));
    agent.close().await.unwrap();
}

#[tokio::test]
async fn unknown_models_cost_zero_with_one_note() {
    let world = World::new([Turn::text("a"), Turn::text("b")]);
    let options = world.options_with_model_flag("openai:house-model-7b");
    let mut ui = ui();
    let mut agent = Agent::open(world.store.clone(), options, SessionTarget::New, &mut ui)
        .await
        .unwrap();
    say(&mut agent, &mut ui, "one").await;
    say(&mut agent, &mut ui, "two").await;
    let notes = ui
        .events
        .iter()
        .filter(|e| matches!(e, AgentEvent::Notice { message } if message.contains("no price")))
        .count();
    assert_eq!(notes, 1);
    assert_eq!(agent.session().cost_usd, 0.0);
    agent.close().await.unwrap();
}

/// About 75k tokens of text: ~$0.15 of input on gpt-4.1 ($2 per 1M input tokens).
fn long_message() -> String {
    (0..15_000)
        .map(|i| format!("item {i} alpha beta "))
        .collect()
}

#[tokio::test]
async fn a_request_whose_input_would_pass_the_request_limit_is_not_sent() {
    let mut world = World::new([Turn::text("sent after yes")]);
    world.settings.max_request_spending_threshold = Some(0.10);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("big")), &mut ui)
        .await;
    let message = spending_limit_message(
        agent
            .submit(&long_message(), &mut ui, &CancellationToken::new())
            .await,
    );
    assert!(
        message.contains("was not sent")
            && message.contains("input tokens")
            && message.contains("max_request_spending_threshold")
            && message.contains("$0.10"),
        "{message}"
    );
    assert_eq!(world.fake.requests().len(), 0);

    // Interactively: asked once with the estimate; no sends nothing, yes sends it.
    let mut no = interactive(false);
    assert_eq!(
        say(&mut agent, &mut no, "and now?").await,
        Outcome::Stopped {
            reason: StopCause::SpendingLimit
        }
    );
    assert_eq!(world.fake.requests().len(), 0);
    let Question::ContinuePastSpendingLimit {
        limit,
        spent_usd,
        estimated,
        ..
    } = &no.questions[0]
    else {
        panic!("{:?}", no.questions);
    };
    assert_eq!((*limit, *estimated), (SpendingLimitKind::Request, true));
    assert!(*spent_usd > 0.10 && *spent_usd < 0.5, "{spent_usd}");
    assert!(no.questions[0].prompt().contains("next request would cost"));
    let mut yes = interactive(true);
    assert_eq!(say(&mut agent, &mut yes, "go on").await, Outcome::Answered);
    assert_eq!(yes.questions.len(), 1);
    assert_eq!(world.fake.requests().len(), 1);
    agent.close().await.unwrap();
}

#[tokio::test]
async fn small_requests_are_not_held_by_the_estimate() {
    let mut world = World::new([Turn::text("fine")]);
    world.settings.max_request_spending_threshold = Some(0.10);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("small")), &mut ui)
        .await;
    assert_eq!(say(&mut agent, &mut ui, "hello").await, Outcome::Answered);
    assert_eq!(world.fake.requests().len(), 1);
    agent.close().await.unwrap();
}
