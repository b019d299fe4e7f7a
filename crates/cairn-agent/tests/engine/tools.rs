use cairn_agent::{Agent, AgentEvent, Outcome, Question, SessionTarget};
use cairn_core::ContentBlock;
use cairn_testkit::fake_llm::{Reply, Turn};
use serde_json::{Value, json};

use crate::support::*;

fn call(tool: &str, input: Value) -> Turn {
    Reply::new().tool_call("call_1", tool, input).into()
}

/// The tool results of the frontend's events: (is_error, content).
fn results(ui: &cairn_agent::frontend::Collect) -> Vec<(bool, String)> {
    ui.events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolResult {
                is_error, content, ..
            } => Some((*is_error, content.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn file_tools_refuse_escapes_from_the_project() {
    let world = World::new([
        call("read_file", json!({"path": "../outside.txt"})),
        call("read_file", json!({"path": "link.txt"})),
        call(
            "write_file",
            json!({"path": "../planted.txt", "content": "x"}),
        ),
        Turn::text("ok"),
    ]);
    let outside = world.project_dir.parent().unwrap().join("outside.txt");
    std::fs::write(&outside, "TOP SECRET").unwrap();
    std::os::unix::fs::symlink(&outside, world.path("link.txt")).unwrap();
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut ui)
        .await;
    say(&mut agent, &mut ui, "try").await;
    let results = results(&ui);
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|(err, _)| *err), "{results:?}");
    assert!(
        results[0].1.contains("`..` is not allowed"),
        "{}",
        results[0].1
    );
    assert!(
        results[1].1.contains("outside the project root"),
        "{}",
        results[1].1
    );
    assert!(
        !world
            .project_dir
            .parent()
            .unwrap()
            .join("planted.txt")
            .exists()
    );
    for request in world.fake.requests() {
        assert!(!request.body.to_string().contains("TOP SECRET"));
    }
    agent.close().await.unwrap();
}

#[tokio::test]
async fn edits_and_writes_change_the_project() {
    let world = World::new([
        call(
            "edit_file",
            json!({"path": "src/auth.rs", "old_string": "15", "new_string": "30"}),
        ),
        call(
            "write_file",
            json!({"path": "docs/notes.md", "content": "expiry is 30\n"}),
        ),
        Turn::text("done"),
    ]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut ui)
        .await;
    assert_eq!(
        say(&mut agent, &mut ui, "change it").await,
        Outcome::Answered
    );
    assert!(
        std::fs::read_to_string(world.path("src/auth.rs"))
            .unwrap()
            .contains("    30\n")
    );
    assert_eq!(
        std::fs::read_to_string(world.path("docs/notes.md")).unwrap(),
        "expiry is 30\n"
    );
    agent.close().await.unwrap();
}

#[tokio::test]
async fn shell_needs_approval_unless_allowed() {
    let cmd = |file: &str| json!({"command": format!("touch {file}")});
    let world = World::new([
        call("shell", cmd("refused-noninteractive")),
        Turn::text("1"),
        call("shell", cmd("declined")),
        Turn::text("2"),
        call("shell", cmd("approved")),
        Turn::text("3"),
        call("shell", cmd("allowed-by-list")),
        Turn::text("4"),
        call("shell", json!({"command": "touch chained; touch sneaky"})),
        Turn::text("5"),
    ]);
    let mut quiet = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut quiet)
        .await;
    say(&mut agent, &mut quiet, "1").await;
    assert!(!world.path("refused-noninteractive").exists());
    assert!(results(&quiet)[0].1.contains("not interactive"));

    let mut no = interactive(false);
    say(&mut agent, &mut no, "2").await;
    assert!(!world.path("declined").exists());
    assert!(
        matches!(&no.questions[0], Question::ApproveShell { command, .. } if command == "touch declined")
    );

    let mut yes = interactive(true);
    say(&mut agent, &mut yes, "3").await;
    assert!(world.path("approved").exists());
    agent.close().await.unwrap();

    // An allowlist lets matching commands run unasked, even non-interactively (`touch *`
    // allows any arguments, as the user wrote the wildcard), but not a chained command
    // hiding behind an allowed entry.
    let mut settings = world.settings.clone();
    settings.shell_allow = vec!["touch *".into()];
    let mut options = world.options();
    options.settings = std::sync::Arc::new(settings);
    let mut quiet = ui();
    let mut agent = Agent::open(
        world.store.clone(),
        options,
        SessionTarget::Resume(named("s")),
        &mut quiet,
    )
    .await
    .unwrap();
    say(&mut agent, &mut quiet, "4").await;
    assert!(world.path("allowed-by-list").exists());
    say(&mut agent, &mut quiet, "5").await;
    assert!(!world.path("chained").exists() && !world.path("sneaky").exists());
    agent.close().await.unwrap();
}

#[tokio::test]
async fn yes_runs_shell_commands_without_asking() {
    let world = World::new([
        call("shell", json!({"command": "echo hi > made-by-yes"})),
        Turn::text("ok"),
    ]);
    let mut options = world.options();
    options.auto_approve_shell = true;
    let mut quiet = ui();
    let mut agent = Agent::open(world.store.clone(), options, SessionTarget::New, &mut quiet)
        .await
        .unwrap();
    say(&mut agent, &mut quiet, "go").await;
    assert_eq!(
        std::fs::read_to_string(world.path("made-by-yes")).unwrap(),
        "hi\n"
    );
    agent.close().await.unwrap();
}

#[tokio::test]
async fn large_outputs_are_cut_for_the_model_and_stored_whole() {
    let world = World::new([
        call("read_file", json!({"path": "big.txt"})),
        Turn::text("ok"),
    ]);
    let big: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(world.path("big.txt"), &big).unwrap();
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut ui)
        .await;
    say(&mut agent, &mut ui, "read").await;
    agent.close().await.unwrap();
    let stored = world
        .history("s")
        .await
        .iter()
        .filter_map(|e| e.payload.as_message())
        .flat_map(|m| m.content.clone())
        .find_map(|b| match b {
            ContentBlock::ToolResult { content, .. } => Some(content.as_text().to_owned()),
            _ => None,
        })
        .unwrap();
    assert_eq!(stored, big);
    let sent = world.request(1);
    let tool = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap()["content"]
        .to_string();
    assert!(tool.len() < 40_000, "{}", tool.len());
    assert!(tool.contains("left out") && tool.contains("line 19999"));
}
