use cairn_agent::{AgentEvent, COMMANDS, Outcome, SessionTarget};
use cairn_core::{ContentBlock, Payload, Role};
use cairn_testkit::fake_llm::Turn;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn session_switching_keeps_contexts_apart() {
    let world = World::new([
        Turn::text("alpha answer"),
        Turn::text("beta answer"),
        Turn::text("alpha again"),
    ]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("alpha")), &mut ui)
        .await;
    say(&mut agent, &mut ui, "alpha question").await;
    assert_eq!(
        say(&mut agent, &mut ui, "/new beta").await,
        Outcome::Command
    );
    assert_eq!(agent.session().name.as_str(), "beta");
    say(&mut agent, &mut ui, "beta question").await;
    say(&mut agent, &mut ui, "/session alpha").await;
    assert_eq!(agent.session().name.as_str(), "alpha");
    say(&mut agent, &mut ui, "alpha follow-up").await;

    let beta_request = transcript(&world.request(1));
    assert!(
        !beta_request.iter().any(|l| l.contains("alpha")),
        "{beta_request:#?}"
    );
    let alpha_again = transcript(&world.request(2));
    assert!(alpha_again.contains(&"user: alpha question".to_owned()));
    assert!(alpha_again.contains(&"user: alpha follow-up".to_owned()));
    assert!(
        !alpha_again.iter().any(|l| l.contains("beta")),
        "{alpha_again:#?}"
    );

    // Switching moves the lease: beta is free again, alpha is held.
    let mut other = crate::support::ui();
    let beta = world
        .open(SessionTarget::Resume(named("beta")), &mut other)
        .await;
    beta.close().await.unwrap();
    assert!(
        cairn_agent::Agent::open(
            world.store.clone(),
            world.options(),
            SessionTarget::Resume(named("alpha")),
            &mut other
        )
        .await
        .is_err()
    );
    // A failed switch changes nothing.
    say(&mut agent, &mut ui, "/session nowhere").await;
    assert!(
        errors(&ui)
            .last()
            .unwrap()
            .1
            .contains("no session named nowhere")
    );
    assert_eq!(agent.session().name.as_str(), "alpha");
    agent.close().await.unwrap();

    // Commands are recorded where they were typed.
    let alpha: Vec<String> = world
        .history("alpha")
        .await
        .iter()
        .filter(|e| e.payload.kind() == "command")
        .map(|e| match &e.payload {
            Payload::Command(c) => c.name.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(alpha, ["/new", "/session"]);
}

#[tokio::test]
async fn list_info_context_help_and_rename() {
    let world = World::new([Reply::tool_turn(), Turn::text("all read")]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("main")), &mut ui)
        .await;
    say(&mut agent, &mut ui, "read the readme").await;
    say(&mut agent, &mut ui, "/new side").await;
    say(&mut agent, &mut ui, "/session main").await;

    say(&mut agent, &mut ui, "/list").await;
    let list = command_output(&ui);
    assert!(
        list.contains("* ") && list.contains("main") && list.contains("side"),
        "{list}"
    );
    let current_line = list.lines().find(|l| l.starts_with('*')).unwrap();
    assert!(current_line.contains("main"), "{list}");

    say(&mut agent, &mut ui, "/info").await;
    let info = command_output(&ui);
    for needle in [
        "Tokens",
        "input",
        "cache-write",
        "reasoning",
        "Cost",
        "Context",
        "1,047,576",
        "Compactions 0",
    ] {
        assert!(info.contains(needle), "{needle} missing from {info}");
    }

    say(&mut agent, &mut ui, "/context").await;
    let context = command_output(&ui);
    assert!(
        context.contains("user") && context.contains("read the readme"),
        "{context}"
    );
    assert!(context.contains("→ read_file"), "{context}");
    // The /info just run is listed apart, after the conversation, as not sent.
    let (conversation, side) = context
        .split_once("── not sent to the model")
        .unwrap_or_else(|| panic!("no side section in {context}"));
    assert!(!conversation.contains("/info"), "{context}");
    assert!(
        side.contains("command") && side.contains("/info"),
        "{context}"
    );
    assert!(conversation.contains("read the readme"), "{context}");
    say(&mut agent, &mut ui, "/context tool").await;
    let tools = command_output(&ui);
    assert!(
        tools.contains("# Fixture") && !tools.contains("read the readme"),
        "{tools}"
    );
    say(&mut agent, &mut ui, "/context large 10").await;
    assert!(command_output(&ui).contains(" B]"));
    say(&mut agent, &mut ui, "/context all").await;
    assert!(command_output(&ui).contains("command"));
    say(&mut agent, &mut ui, "/context sideways").await;
    assert!(errors(&ui).last().unwrap().1.contains("unknown filter"));

    say(&mut agent, &mut ui, "/help").await;
    let help = command_output(&ui);
    for c in COMMANDS {
        assert!(help.contains(&format!("/{}", c.name)), "{help}");
    }

    say(&mut agent, &mut ui, "/rename renamed").await;
    assert_eq!(agent.session().name.as_str(), "renamed");
    say(&mut agent, &mut ui, "/rename side").await;
    assert!(errors(&ui).last().unwrap().1.contains("already exists"));
    say(&mut agent, &mut ui, "/rename ../bad").await;
    assert!(
        errors(&ui)
            .last()
            .unwrap()
            .1
            .contains("invalid session name")
    );
    say(&mut agent, &mut ui, "/frobnicate").await;
    assert!(
        errors(&ui)
            .last()
            .unwrap()
            .1
            .contains("unknown command /frobnicate")
    );
    assert_eq!(say(&mut agent, &mut ui, "/exit").await, Outcome::Exit);
    agent.close().await.unwrap();
}

#[tokio::test]
async fn model_switch_changes_where_requests_go() {
    let world = World::new([Turn::text("from openai"), Turn::text("from anthropic")]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("m")), &mut ui)
        .await;
    say(&mut agent, &mut ui, "one").await;
    say(&mut agent, &mut ui, "/model anthropic:claude-sonnet-4-5").await;
    assert_eq!(agent.model().to_string(), "anthropic:claude-sonnet-4-5");
    say(&mut agent, &mut ui, "two").await;
    let requests = world.fake.requests();
    assert_eq!(
        (requests[0].wire(), requests[1].wire()),
        ("openai", "anthropic")
    );
    // The Anthropic request carries the OpenAI part of the conversation.
    let body = requests[1].body.to_string();
    assert!(body.contains("from openai") && body.contains("one"));
    say(&mut agent, &mut ui, "/model gpt-4.1").await;
    assert!(errors(&ui).last().unwrap().1.contains("provider:model"));
    agent.close().await.unwrap();
    assert_eq!(
        world
            .store
            .session(&named("m"))
            .await
            .unwrap()
            .model
            .as_deref(),
        Some("anthropic:claude-sonnet-4-5")
    );
}

#[tokio::test]
async fn images_are_stored_and_sent_and_unsupported_media_is_refused() {
    let world = World::new([Turn::text("a cat")]);
    let png: Vec<u8> = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 64]].concat();
    let image = world.path("shot.png");
    std::fs::write(&image, &png).unwrap();
    std::fs::write(world.path("clip.mp4"), b"\0\0\0\x18ftypmp42....").unwrap();
    std::fs::write(world.path("fake.png"), b"not an image").unwrap();
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("img")), &mut ui)
        .await;
    say(
        &mut agent,
        &mut ui,
        &format!("/image {}", world.path("fake.png").display()),
    )
    .await;
    assert!(
        errors(&ui)
            .last()
            .unwrap()
            .1
            .contains("png, jpeg, gif, webp")
    );
    say(
        &mut agent,
        &mut ui,
        &format!("/video {}", world.path("clip.mp4").display()),
    )
    .await;
    assert!(
        errors(&ui).last().unwrap().1.contains("cannot take videos"),
        "{:?}",
        errors(&ui)
    );
    say(&mut agent, &mut ui, &format!("/image {}", image.display())).await;
    assert!(command_output(&ui).contains("image/png"));
    say(&mut agent, &mut ui, "what is this?").await;
    let body = world.request(0).to_string();
    assert!(body.contains("data:image/png;base64,"), "{body}");
    let history = world.history("img").await;
    let user = history
        .iter()
        .filter_map(|e| e.payload.as_message())
        .find(|m| m.role == Role::User)
        .unwrap();
    let ContentBlock::Image(media) = &user.content[0] else {
        panic!("{user:?}")
    };
    let stored = world.store.attachment(&media.sha256).await.unwrap();
    assert_eq!(stored.bytes, png);
    agent.close().await.unwrap();
}

/// Helpers for scripted turns used above.
struct Reply;
impl Reply {
    fn tool_turn() -> Turn {
        cairn_testkit::fake_llm::Reply::new()
            .tool_call("call_r", "read_file", json!({"path": "README.md"}))
            .into()
    }
}

#[test]
fn the_catalogue_is_complete() {
    let names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
    for wanted in [
        "list", "session", "new", "rename", "info", "context", "model", "image", "video", "help",
        "exit",
    ] {
        assert!(names.contains(&wanted), "{wanted}");
    }
    let _ = AgentEvent::Done {
        stop_reason: String::new(),
    };
}
