//! Sub-agents: the `delegate` tool runs a task in a child session with its own
//! context; its answer is the call's result; its spend counts toward the parent.

use std::time::Duration;

use cairn_agent::{AgentEvent, Outcome, Question, SessionTarget, SpendingLimitKind};
use cairn_core::Role;
use cairn_testkit::fake_llm::{Reply, Turn};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::*;

#[tokio::test]
async fn a_delegated_task_runs_in_a_child_session_with_its_own_context() {
    let world = World::new([
        Turn::text("noted"),
        Reply::new()
            .tool_call(
                "c1",
                "delegate",
                json!({
                    "task": "Find the JWT expiry and say where it is set",
                    "context": "answer in minutes",
                    "files": ["src/auth.rs"]
                }),
            )
            .into(),
        Reply::new()
            .tool_call("k1", "read_file", json!({"path": "src/auth.rs"}))
            .into(),
        Turn::text("The expiry is 15 minutes, set in src/auth.rs line 2."),
        Turn::text("The sub-agent found it: 15 minutes."),
    ]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("auth")), &mut ui)
        .await;
    say(
        &mut agent,
        &mut ui,
        "PARENT-ONLY-HISTORY: the launch code is 1234",
    )
    .await;
    let mut ui = self::ui();
    assert_eq!(
        say(&mut agent, &mut ui, "how long do tokens live?").await,
        Outcome::Answered
    );
    assert_eq!(world.fake.requests().len(), 5);

    // The parent is offered delegate; the sub-agent gets a fresh context: its own
    // system prompt and the task, none of the parent's history. At depth 1 of the
    // default 2 it may delegate once more.
    assert!(tool_names(&world.request(1)).contains(&"delegate".to_owned()));
    let child_first = transcript(&world.request(2));
    let joined = child_first.join("\n");
    assert!(!joined.contains("PARENT-ONLY-HISTORY"), "{joined}");
    assert!(!joined.contains("how long do tokens live"), "{joined}");
    assert!(joined.contains("cairn sub-agent"), "{joined}");
    assert!(
        joined.contains("Task:\nFind the JWT expiry and say where it is set")
            && joined.contains("answer in minutes")
            && joined.contains("- src/auth.rs"),
        "{joined}"
    );
    assert_eq!(
        child_first
            .iter()
            .filter(|l| l.starts_with("user:"))
            .count(),
        1
    );
    let child_tools = tool_names(&world.request(2));
    assert!(
        child_tools.contains(&"delegate".to_owned()),
        "{child_tools:?}"
    );
    assert!(child_tools.contains(&"read_file".to_owned()));
    // The sub-agent's tool ran in the project.
    let child_second = transcript(&world.request(3)).join("\n");
    assert!(
        child_second.contains("pub fn expiry_minutes"),
        "{child_second}"
    );

    // Its answer is the parent's tool result in the next parent request.
    let parent_next = transcript(&world.request(4)).join("\n");
    assert!(
        parent_next.contains("tool: The expiry is 15 minutes, set in src/auth.rs line 2.")
            && parent_next.contains("PARENT-ONLY-HISTORY"),
        "{parent_next}"
    );

    // The child is a session of its own, with the parent set.
    let parent = world.store.session(&named("auth")).await.unwrap();
    let child = world.store.session(&named("auth-sub-1")).await.unwrap();
    assert_eq!(child.parent_id, Some(parent.id));
    assert_eq!(child.project, parent.project);
    assert_eq!(child.model.as_deref(), Some(MODEL));
    assert_eq!(
        child.title.as_deref(),
        Some("Find the JWT expiry and say where it is set")
    );
    let child_log = world.history("auth-sub-1").await;
    let roles: Vec<Role> = child_log
        .iter()
        .filter_map(|e| e.payload.as_message().map(|m| m.role))
        .collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::Tool, Role::Assistant]
    );
    // The parent's stored result names the child.
    let results = tool_results(&world, "auth").await;
    let (text, is_error, extra) = &results[0];
    assert!(!is_error);
    assert!(text.contains("auth-sub-1"), "{text}");
    assert_eq!(extra["subagent"]["session"], "auth-sub-1");
    assert_eq!(extra["subagent"]["requests"], 2);

    // The face saw it start, its tool call, and finish; done is the last event.
    let started = ui.events.iter().position(|e| {
        matches!(e, AgentEvent::SubAgentStarted { session, id, .. }
            if session == "auth-sub-1" && id == "c1")
    });
    let tool = ui
        .events
        .iter()
        .position(|e| matches!(e, AgentEvent::SubAgentToolUse { name, .. } if name == "read_file"));
    let finished = ui.events.iter().position(|e| {
        matches!(e, AgentEvent::SubAgentFinished { stop_reason, requests: 2, .. }
            if stop_reason == "end_turn")
    });
    assert!(
        started.unwrap() < tool.unwrap() && tool.unwrap() < finished.unwrap(),
        "{:?}",
        ui.events
    );
    // The sub-agent's text is not streamed as the parent's answer.
    assert_eq!(texts(&ui), "The sub-agent found it: 15 minutes.");
    assert!(matches!(ui.events.last(), Some(AgentEvent::Done { .. })));

    let mut ui = self::ui();
    say(&mut agent, &mut ui, "/info").await;
    assert!(
        command_output(&ui).contains("Sub-agents 1 run"),
        "{}",
        command_output(&ui)
    );
    agent.close().await.unwrap();
}

#[tokio::test]
async fn a_sub_agent_cannot_spend_past_the_parents_session_limit() {
    let mut world = World::new([
        Reply::new()
            .tool_call("c1", "delegate", json!({"task": "list the files"}))
            .into(),
        two_dollars(Reply::new().tool_call("k1", "list_files", json!({}))),
        Turn::text("never sent"),
    ]);
    world.settings.max_session_spending_threshold = Some(1.0);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("p")), &mut ui)
        .await;
    let message =
        spending_limit_message(agent.submit("go", &mut ui, &CancellationToken::new()).await);
    assert!(
        message.contains("max_session_spending_threshold"),
        "{message}"
    );
    // The child's first request was its last: nothing more went out.
    assert_eq!(world.fake.requests().len(), 2);
    let child = world.store.session(&named("p-sub-1")).await.unwrap();
    assert!((child.cost_usd - 2.0).abs() < 1e-9);
    // The parent's own requests cost next to nothing (the fake's default usage).
    let parent = world.store.session(&named("p")).await.unwrap();
    assert!(parent.cost_usd < 0.01, "{}", parent.cost_usd);
    // The parent's call got a result saying why.
    let results = tool_results(&world, "p").await;
    assert!(
        results[0].1 && results[0].0.contains("spending limit"),
        "{results:?}"
    );
    assert!(
        matches!(ui.events.last(), Some(AgentEvent::Done { stop_reason }) if stop_reason == "spending_limit")
    );
    agent.close().await.unwrap();

    // Another run of the parent counts the child's spend too (read from the store).
    let mut ui = self::ui();
    let mut agent = world.open(SessionTarget::Resume(named("p")), &mut ui).await;
    assert!((agent.spent_since_checkpoint() - 2.0 - parent.cost_usd).abs() < 1e-9);
    let err = agent
        .submit("again", &mut ui, &CancellationToken::new())
        .await
        .err()
        .unwrap();
    assert_eq!(err.exit_code(), 4);
    assert_eq!(world.fake.requests().len(), 2);
    agent.close().await.unwrap();
}

#[tokio::test]
async fn interactively_the_person_is_asked_once_and_yes_counts_the_child_in_the_checkpoint() {
    let mut world = World::new([
        Reply::new()
            .tool_call("c1", "delegate", json!({"task": "list the files"}))
            .into(),
        two_dollars(Reply::new().tool_call("k1", "list_files", json!({}))),
        Turn::text("the sub-agent was stopped; carrying on"),
    ]);
    world.settings.max_session_spending_threshold = Some(1.0);
    let mut yes = interactive(true);
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("p")), &mut yes)
        .await;
    assert_eq!(say(&mut agent, &mut yes, "go").await, Outcome::Answered);
    assert!(
        matches!(
            yes.questions.as_slice(),
            [Question::ContinuePastSpendingLimit {
                limit: SpendingLimitKind::Session,
                ..
            }]
        ),
        "{:?}",
        yes.questions
    );
    assert_eq!(world.fake.requests().len(), 3);
    // The checkpoint holds the child's $2 (and the parent's first request's cents):
    // only the parent's last request counts since.
    let parent = world.store.session(&named("p")).await.unwrap();
    assert!(
        parent.spend_checkpoint_usd > 2.0 && parent.spend_checkpoint_usd < 2.01,
        "{}",
        parent.spend_checkpoint_usd
    );
    assert!(agent.spent_since_checkpoint() < 0.01);
    agent.close().await.unwrap();
}

#[tokio::test]
async fn a_sub_agent_follows_the_parents_rules_and_cannot_delegate_past_max_depth() {
    let mut world = World::new([
        Reply::new()
            .tool_call("c1", "delegate", json!({"task": "run the tests"}))
            .into(),
        Reply::new()
            .tool_call("k1", "delegate", json!({"task": "deeper"}))
            .tool_call("k2", "shell", json!({"command": "echo hi"}))
            .tool_call("k3", "read_file", json!({"path": "../outside"}))
            .into(),
        Turn::text("could not do it"),
        Turn::text("ok"),
    ]);
    world.settings.delegation.max_depth = 1;
    // The person says no to the shell command the sub-agent wants to run.
    let mut no = interactive(false);
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("r")), &mut no)
        .await;
    assert_eq!(say(&mut agent, &mut no, "go").await, Outcome::Answered);
    assert!(
        matches!(no.questions.as_slice(), [Question::ApproveShell { command, .. }] if command == "echo hi"),
        "{:?}",
        no.questions
    );
    let results = tool_results(&world, "r-sub-1").await;
    assert_eq!(results.len(), 3);
    assert!(results[0].1 && results[0].0.contains("not available here"));
    assert!(results[1].1 && results[1].0.contains("declined"));
    assert!(results[2].1, "{results:?}");
    assert!(world.store.session(&named("r-sub-1-sub-1")).await.is_err());
    agent.close().await.unwrap();
}

#[tokio::test]
async fn cancelling_the_turn_interrupts_the_sub_agent() {
    let world = World::new([
        Reply::new()
            .tool_call("c1", "delegate", json!({"task": "write a long report"}))
            .into(),
        Reply::new()
            .text("a long report that streams slowly ".repeat(20))
            .chunk_size(4)
            .chunk_delay_ms(20)
            .into(),
    ]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("c")), &mut ui)
        .await;
    let cancel = CancellationToken::new();
    let later = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        later.cancel();
    });
    let outcome = agent.submit("go", &mut ui, &cancel).await.unwrap();
    assert_eq!(outcome, Outcome::Interrupted);
    assert_eq!(world.fake.requests().len(), 2);
    // The child kept what arrived, marked interrupted; the parent's call says so.
    let child_log = world.history("c-sub-1").await;
    let answer = child_log
        .iter()
        .filter_map(|e| e.payload.as_message())
        .find(|m| m.role == Role::Assistant)
        .unwrap();
    assert!(answer.interrupted);
    let results = tool_results(&world, "c").await;
    assert!(
        results[0].1 && results[0].0.contains("interrupted"),
        "{results:?}"
    );
    assert_eq!(results[0].2["interrupted"], true);
    assert!(ui.events.iter().any(|e| matches!(e,
        AgentEvent::SubAgentFinished { stop_reason, .. } if stop_reason == "interrupted")));
    agent.close().await.unwrap();
}
