use cairn_agent::{AgentEvent, Outcome, SessionTarget};
use cairn_core::{ContentBlock, Payload, Role};
use cairn_testkit::fake_llm::{FakeUsage, Reply, Turn};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn day_one_with_tools_then_resume_sends_the_whole_history() {
    let world = World::new([
        Reply::new()
            .text("Let me look.")
            .tool_call("call_1", "read_file", json!({"path": "README.md"}))
            .into(),
        Turn::text("It uses JWT with a 15 minute expiry. Decision: keep 15 minutes."),
        Turn::text("Yesterday we agreed to keep the 15 minute JWT expiry."),
    ]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("auth")), &mut ui)
        .await;
    assert!(matches!(
        &ui.events[0],
        AgentEvent::SessionOpened {
            created: true,
            recap: None,
            ..
        }
    ));
    let outcome = say(&mut agent, &mut ui, "What does the auth module use?").await;
    assert_eq!(outcome, Outcome::Answered);
    assert!(texts(&ui).contains("15 minute expiry"));
    agent.close().await.unwrap();

    // What was stored, in order: user, assistant with the tool call, the tool result,
    // the final answer — each with its role, the answers with usage and model.
    let history = world.history("auth").await;
    let messages: Vec<_> = history
        .iter()
        .filter_map(|e| e.payload.as_message())
        .collect();
    let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::Tool, Role::Assistant]
    );
    assert!(
        matches!(&messages[1].content[1], ContentBlock::ToolUse { name, .. } if name == "read_file")
    );
    let ContentBlock::ToolResult {
        content, is_error, ..
    } = &messages[2].content[0]
    else {
        panic!("expected a tool result: {:?}", messages[2]);
    };
    assert!(!is_error && content.as_text().contains("JWT with 15 minute expiry"));
    assert_eq!(messages[3].model.as_deref(), Some(MODEL));
    assert!(messages[3].usage.is_some() && messages[3].cost_usd.is_some());

    // The second request of day 1 carried the tool result back to the model.
    let second = transcript(&world.request(1));
    assert!(
        second.iter().any(|l| l.starts_with("tool: # Fixture")),
        "{second:#?}"
    );

    // Day 2: a new agent (a new process, as far as the store knows) resumes.
    let mut ui2 = crate::support::ui();
    let mut agent = world
        .open(SessionTarget::Resume(named("auth")), &mut ui2)
        .await;
    let AgentEvent::SessionOpened {
        created: false,
        recap: Some(recap),
        ..
    } = &ui2.events[0]
    else {
        panic!("expected a recap: {:?}", ui2.events);
    };
    assert_eq!(recap.messages, 4);
    assert_eq!(
        recap.last_user.as_deref(),
        Some("What does the auth module use?")
    );
    assert!(
        recap
            .last_assistant
            .as_deref()
            .unwrap()
            .contains("keep 15 minutes")
    );
    say(&mut agent, &mut ui2, "What did we agree yesterday?").await;
    let day2 = transcript(&world.request(2));
    let expected_order = [
        "user: What does the auth module use?",
        "assistant: Let me look.",
        "tool_call read_file {\"path\":\"README.md\"}",
        "tool: # Fixture",
        "assistant: It uses JWT with a 15 minute expiry. Decision: keep 15 minutes.",
        "user: What did we agree yesterday?",
    ];
    let mut at = 0;
    for wanted in expected_order {
        let found = day2[at..]
            .iter()
            .position(|l| l.starts_with(wanted))
            .unwrap_or_else(|| panic!("{wanted:?} missing (in order) from {day2:#?}"));
        at += found + 1;
    }
    assert!(day2[0].starts_with("system: You are cairn"), "{day2:#?}");
    agent.close().await.unwrap();
}

#[tokio::test]
async fn a_new_session_gets_a_generated_name_and_totals() {
    let world = World::new([Reply::new()
        .text("hi")
        .usage(FakeUsage {
            input: 1000,
            output: 100,
            cache_read: 500,
            ..FakeUsage::default()
        })
        .into()]);
    let mut ui = ui();
    let mut agent = world.open(SessionTarget::New, &mut ui).await;
    let name = agent.session().name.as_str().to_owned();
    let pattern = regex::Regex::new(r"^\d{8}-project-\d{4}-[0-9a-f]{4}$").unwrap();
    assert!(pattern.is_match(&name), "{name}");
    say(&mut agent, &mut ui, "hello").await;
    let session = agent.session().clone();
    assert_eq!(session.usage.input_tokens, 1000);
    assert_eq!(session.usage.cache_read_tokens, 500);
    // gpt-4.1: $2 in, $8 out, $0.5 cached per 1M.
    let expected = (1000.0 * 2.0 + 100.0 * 8.0 + 500.0 * 0.5) / 1e6;
    assert!(
        (session.cost_usd - expected).abs() < 1e-12,
        "{}",
        session.cost_usd
    );
    assert!(session.live_tokens > 0);
    // The first message titles the session (listings show it).
    assert_eq!(session.title.as_deref(), Some("hello"));
    assert!(
        ui.events
            .iter()
            .any(|e| matches!(e, AgentEvent::Cost { priced: true, .. }))
    );
    agent.close().await.unwrap();
}

#[tokio::test]
async fn anthropic_tool_results_go_back_in_one_user_turn() {
    let world = World::new([
        Reply::new()
            .tool_call("toolu_1", "read_file", json!({"path": "README.md"}))
            .tool_call("toolu_2", "list_files", json!({"pattern": "*.rs"}))
            .into(),
        Turn::text("Done."),
    ]);
    let options = world.options_with_model_flag("anthropic:claude-sonnet-4-5");
    let mut ui = ui();
    let mut agent = cairn_agent::Agent::open(
        world.store.clone(),
        options,
        SessionTarget::CreateOrResume(named("a")),
        &mut ui,
    )
    .await
    .unwrap();
    assert_eq!(
        say(&mut agent, &mut ui, "look around").await,
        Outcome::Answered
    );
    let requests = world.fake.requests();
    assert_eq!(requests[1].wire(), "anthropic");
    let messages = requests[1].body["messages"].as_array().unwrap().clone();
    let last = messages.last().unwrap();
    assert_eq!(last["role"], "user");
    let results: Vec<_> = last["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| b["tool_use_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(results, ["toolu_1", "toolu_2"]);
    assert_eq!(
        agent.session().model.as_deref(),
        Some("anthropic:claude-sonnet-4-5")
    );
    agent.close().await.unwrap();
    // Every message was stored as its own event.
    let kinds: Vec<_> = world
        .history("a")
        .await
        .iter()
        .map(|e| match &e.payload {
            Payload::Message(m) => m.role.as_str().to_owned(),
            other => other.kind().to_owned(),
        })
        .collect();
    assert_eq!(kinds, ["user", "assistant", "tool", "tool", "assistant"]);
}

#[tokio::test]
async fn resume_recent_and_missing_sessions() {
    let world = World::new([Turn::text("one"), Turn::text("two")]);
    let mut ui = ui();
    let err = cairn_agent::Agent::open(
        world.store.clone(),
        world.options(),
        SessionTarget::ResumeRecent,
        &mut ui,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(err.exit_code(), 3, "{err}");
    let err = cairn_agent::Agent::open(
        world.store.clone(),
        world.options(),
        SessionTarget::Resume(named("nope")),
        &mut ui,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("nope"));

    for name in ["older", "newer"] {
        let mut agent = world
            .open(SessionTarget::CreateOrResume(named(name)), &mut ui)
            .await;
        say(&mut agent, &mut ui, name).await;
        agent.close().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let agent = world.open(SessionTarget::ResumeRecent, &mut ui).await;
    assert_eq!(agent.session().name.as_str(), "newer");
    agent.close().await.unwrap();
}

#[tokio::test]
async fn no_provider_configured_names_the_variables() {
    let mut world = World::new([]);
    world.settings.providers = Default::default();
    world.settings.model = None;
    let mut ui = ui();
    let err = cairn_agent::Agent::open(
        world.store.clone(),
        world.options(),
        SessionTarget::CreateOrResume(named("x")),
        &mut ui,
    )
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("ANTHROPIC_API_KEY") && err.contains("OPENAI_API_KEY"),
        "{err}"
    );
    // Nothing was created.
    assert!(world.store.session(&named("x")).await.is_err());
}

/// `-m` is the settings' last layer and wins over a resumed session's own model; a
/// configured model (config file, `CAIRN_MODEL`) does not move a session off its model.
#[tokio::test]
async fn a_model_flag_moves_a_resumed_session_and_configuration_does_not() {
    let mut world = World::new(Vec::<Turn>::new());
    let mut ui = ui();
    let agent = world
        .open(SessionTarget::CreateOrResume(named("m")), &mut ui)
        .await;
    assert_eq!(agent.model().to_string(), MODEL);
    agent.close().await.unwrap();

    world.settings.model = Some("anthropic:claude-sonnet-4-5".into());
    let agent = world.open(SessionTarget::Resume(named("m")), &mut ui).await;
    assert_eq!(
        agent.model().to_string(),
        MODEL,
        "the session keeps its model"
    );
    agent.close().await.unwrap();

    let options = world.options_with_model_flag("anthropic:claude-haiku-4-5");
    let agent = cairn_agent::Agent::open(
        world.store.clone(),
        options,
        SessionTarget::Resume(named("m")),
        &mut ui,
    )
    .await
    .unwrap();
    assert_eq!(agent.model().to_string(), "anthropic:claude-haiku-4-5");
    assert_eq!(
        agent.session().model.as_deref(),
        Some("anthropic:claude-haiku-4-5"),
        "the switch is stored"
    );
    agent.close().await.unwrap();
}
