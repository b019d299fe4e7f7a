//! Named agents (`[[agents]]`, the built-in `context_gatherer`) and sub-agents of one
//! answer running side by side: concurrency (seen at the fake provider), its bound,
//! per-agent limits, depth, Ctrl+C and `/info`'s per-child costs.

use std::time::Duration;

use cairn_agent::{AgentEvent, Outcome, SessionTarget};
use cairn_core::agent_def::AgentDef;
use cairn_testkit::fake_llm::{Reply, Turn};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::*;

/// How long the fake holds each child's answer back: two children that run one after
/// the other are at least this far apart at the fake.
const HOLD_MS: u64 = 800;

fn system_of(body: &Value) -> String {
    body["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn agent(name: &str) -> AgentDef {
    AgentDef {
        name: name.into(),
        description: format!("the {name} agent"),
        model: None,
        system: Some(format!("ROLE-{name}")),
        tools: None,
        max_turns: None,
        max_spending: None,
    }
}

/// A parent answer calling `agent_context_gatherer` twice, the children's held-back
/// answers, and the parent's last answer.
fn two_gatherers() -> Vec<Turn> {
    vec![
        Reply::new()
            .tool_call(
                "g1",
                "agent_context_gatherer",
                json!({"task": "analyze test coverage for src/auth/"}),
            )
            .tool_call(
                "g2",
                "agent_context_gatherer",
                json!({"task": "find the callers of expiry_minutes"}),
            )
            .into(),
        Reply::new()
            .text("REPORT-A")
            .headers_delay_ms(HOLD_MS)
            .into(),
        Reply::new()
            .text("REPORT-B")
            .headers_delay_ms(HOLD_MS)
            .into(),
        Turn::text("both reported"),
    ]
}

/// When the fake received each request, in ms from its start.
fn arrivals(world: &World) -> Vec<u128> {
    world
        .fake
        .requests()
        .iter()
        .map(|r| r.received_at.as_millis())
        .collect()
}

#[tokio::test]
async fn two_agents_of_one_answer_run_at_the_same_time_and_both_answers_return_in_order() {
    let world = World::new(two_gatherers());
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("cov")), &mut ui)
        .await;
    assert_eq!(
        say(
            &mut agent,
            &mut ui,
            "Use the context_gatherer agent to analyze test coverage for src/auth/"
        )
        .await,
        Outcome::Answered
    );
    // Both children's requests reached the fake before either was answered.
    let at = arrivals(&world);
    assert_eq!(at.len(), 4, "{at:?}");
    assert!(
        at[2].abs_diff(at[1]) < u128::from(HOLD_MS),
        "the children ran one after the other: {at:?}"
    );
    assert!(at[3] >= at[1].max(at[2]) + u128::from(HOLD_MS), "{at:?}");

    // The built-in agent works with no configuration: offered to the parent, run
    // with its own prompt and read-only tools.
    assert!(tool_names(&world.request(0)).contains(&"agent_context_gatherer".to_owned()));
    for n in [1, 2] {
        let body = world.request(n);
        assert!(
            system_of(&body).contains("You are the context_gatherer agent"),
            "{body}"
        );
        assert_eq!(
            tool_names(&body),
            ["read_file", "list_files", "search"],
            "{body}"
        );
    }

    // Results are stored in call order, each the answer of its own child.
    let results = tool_results(&world, "cov").await;
    assert_eq!(results.len(), 2);
    for (i, (text, is_error, message)) in results.iter().enumerate() {
        assert!(!is_error, "{text}");
        let child = format!("cov-sub-{}", i + 1);
        assert_eq!(message["subagent"]["session"], child.as_str());
        assert_eq!(message["subagent"]["agent"], "context_gatherer");
        let child_answer = world
            .history(&child)
            .await
            .iter()
            .filter_map(|e| e.payload.as_message())
            .filter(|m| m.role == cairn_core::Role::Assistant)
            .map(|m| m.plain_text())
            .collect::<String>();
        assert!(text.starts_with(&child_answer), "{text} / {child_answer}");
    }
    let child = world.store.session(&named("cov-sub-1")).await.unwrap();
    assert_eq!(
        child.title.as_deref(),
        Some("analyze test coverage for src/auth/")
    );
    let last = transcript(&world.request(3)).join("\n");
    assert!(
        last.contains("REPORT-A") && last.contains("REPORT-B"),
        "{last}"
    );

    // Each child's progress reaches the face, told apart by its call id.
    for id in ["g1", "g2"] {
        assert!(ui.events.iter().any(|e| matches!(e,
            AgentEvent::SubAgentStarted { id: i, agent, .. }
                if i == id && agent == "context_gatherer")));
        assert!(ui.events.iter().any(|e| matches!(e,
            AgentEvent::SubAgentFinished { id: i, stop_reason, .. }
                if i == id && stop_reason == "end_turn")));
    }
    assert!(matches!(ui.events.last(), Some(AgentEvent::Done { .. })));

    // /info breaks the cost down per child.
    let mut ui = self::ui();
    say(&mut agent, &mut ui, "/info").await;
    let (text, data) = crate::common::last_command_output(&ui);
    assert!(
        text.contains("Sub-agents 2 run")
            && text.contains("cov-sub-1 $")
            && text.contains("cov-sub-2 $"),
        "{text}"
    );
    assert_eq!(data["subagent_costs"][1]["session"], "cov-sub-2");
    agent.close().await.unwrap();
}

#[tokio::test]
async fn max_parallel_bounds_how_many_run_at_once() {
    let mut world = World::new(two_gatherers());
    world.settings.delegation.max_parallel = 1;
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("one")), &mut ui)
        .await;
    assert_eq!(say(&mut agent, &mut ui, "go").await, Outcome::Answered);
    let at = arrivals(&world);
    assert!(
        at[2].abs_diff(at[1]) >= u128::from(HOLD_MS),
        "the children overlapped: {at:?}"
    );
    agent.close().await.unwrap();
}

#[tokio::test]
async fn a_configured_agent_brings_its_prompt_tools_and_model_and_max_turns_stops_it() {
    let mut world = World::new([
        Reply::new()
            .tool_call("a1", "agent_lister", json!({"task": "list everything"}))
            .into(),
        Reply::new().tool_call("k1", "list_files", json!({})).into(),
        Turn::text("the lister ran out of turns; fine"),
    ]);
    let mut lister = agent("lister");
    lister.tools = Some(vec!["list_files".into()]);
    lister.max_turns = Some(1);
    lister.model = Some("openai:gpt-4.1-mini".into());
    world.settings.agents.push(lister);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("t")), &mut ui)
        .await;
    assert_eq!(say(&mut agent, &mut ui, "go").await, Outcome::Answered);
    // One request, then stopped: the parent got the next turn.
    assert_eq!(world.fake.requests().len(), 3);
    let child = world.request(1);
    assert_eq!(child["model"], "gpt-4.1-mini");
    assert_eq!(tool_names(&child), ["list_files"]);
    assert!(system_of(&child).contains("ROLE-lister"), "{child}");
    let results = tool_results(&world, "t").await;
    assert!(
        results[0].1 && results[0].0.contains("max_turns of 1"),
        "{results:?}"
    );
    assert_eq!(results[0].2["subagent"]["stop_reason"], "max_turns");
    // Its own tool did run.
    let child_results = tool_results(&world, "t-sub-1").await;
    assert!(
        child_results[0].0.contains("src/auth.rs"),
        "{child_results:?}"
    );
    agent.close().await.unwrap();
}

#[tokio::test]
async fn max_spending_stops_a_runaway_agent_and_its_spend_counts_for_the_parent() {
    let mut world = World::new([
        Reply::new()
            .tool_call("a1", "agent_spender", json!({"task": "read it all"}))
            .into(),
        two_dollars(Reply::new().tool_call("k1", "list_files", json!({}))),
        Turn::text("it was stopped"),
    ]);
    let mut spender = agent("spender");
    spender.max_spending = Some(0.5);
    world.settings.agents.push(spender);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut ui)
        .await;
    assert_eq!(say(&mut agent, &mut ui, "go").await, Outcome::Answered);
    assert_eq!(world.fake.requests().len(), 3);
    let results = tool_results(&world, "s").await;
    assert!(
        results[0].1 && results[0].0.contains("max_spending of $0.50"),
        "{results:?}"
    );
    assert!(agent.spent_since_checkpoint() >= 2.0);
    agent.close().await.unwrap();
}

#[tokio::test]
async fn depth_two_lets_a_sub_agent_delegate_once_and_no_further() {
    let world = World::new([
        Reply::new()
            .tool_call("d1", "delegate", json!({"task": "level one"}))
            .into(),
        Reply::new()
            .tool_call("d2", "delegate", json!({"task": "level two"}))
            .into(),
        Reply::new()
            .tool_call("d3", "delegate", json!({"task": "level three"}))
            .into(),
        Turn::text("did level two myself"),
        Turn::text("level one done"),
        Turn::text("all done"),
    ]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("deep")), &mut ui)
        .await;
    assert_eq!(say(&mut agent, &mut ui, "go").await, Outcome::Answered);
    assert!(tool_names(&world.request(1)).contains(&"delegate".to_owned()));
    let last_level = tool_names(&world.request(2));
    assert!(
        !last_level.contains(&"delegate".to_owned())
            && !last_level.iter().any(|t| t.starts_with("agent_")),
        "{last_level:?}"
    );
    let one = world.store.session(&named("deep-sub-1")).await.unwrap();
    let two = world
        .store
        .session(&named("deep-sub-1-sub-1"))
        .await
        .unwrap();
    assert_eq!(two.parent_id, Some(one.id));
    let refused = tool_results(&world, "deep-sub-1-sub-1").await;
    assert!(
        refused[0].1 && refused[0].0.contains("not available here"),
        "{refused:?}"
    );
    assert!(
        world
            .store
            .session(&named("deep-sub-1-sub-1-sub-1"))
            .await
            .is_err()
    );
    agent.close().await.unwrap();
}

#[tokio::test]
async fn cancelling_the_turn_stops_every_running_agent() {
    let slow = || -> Turn {
        Reply::new()
            .text("a long report that streams slowly ".repeat(40))
            .chunk_size(4)
            .chunk_delay_ms(20)
            .into()
    };
    let world = World::new([
        Reply::new()
            .tool_call("g1", "agent_context_gatherer", json!({"task": "one"}))
            .tool_call("g2", "delegate", json!({"task": "two"}))
            .into(),
        slow(),
        slow(),
    ]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("c")), &mut ui)
        .await;
    let cancel = CancellationToken::new();
    let later = cancel.clone();
    let fake = &world.fake;
    let outcome = tokio::join!(agent.submit("go", &mut ui, &cancel), async {
        // Once both children are streaming, press Ctrl+C.
        while fake.requests().len() < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        later.cancel();
    })
    .0
    .unwrap();
    assert_eq!(outcome, Outcome::Interrupted);
    assert_eq!(world.fake.requests().len(), 3);
    let results = tool_results(&world, "c").await;
    assert_eq!(results.len(), 2);
    for (text, is_error, message) in &results {
        assert!(*is_error && text.contains("interrupted"), "{text}");
        assert_eq!(message["interrupted"], true);
    }
    let stopped = ui
        .events
        .iter()
        .filter(|e| matches!(e, AgentEvent::SubAgentFinished { stop_reason, .. } if stop_reason == "interrupted"))
        .count();
    assert_eq!(stopped, 2, "{:?}", ui.events);
    agent.close().await.unwrap();
}
