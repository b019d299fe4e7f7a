//! `/fork` and `/rewind` in the engine: the fork goes on from the shared history;
//! a rewind moves the live context back, restores the agent's file changes when
//! the person says yes, and the next request no longer carries the rewound turns.

use cairn_agent::frontend::Question;
use cairn_agent::{Outcome, SessionTarget};
use cairn_testkit::fake_llm::{Reply, Turn};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn rewind_restores_files_and_the_next_request_forgets_the_rewound_turns() {
    let world = World::new([
        Reply::new()
            .text("Updating the notes.")
            .tool_call(
                "call_1",
                "write_file",
                json!({"path": "notes.txt", "content": "v2\n"}),
            )
            .into(),
        Turn::text("written"),
        Turn::text("second answer"),
        Turn::text("after rewind"),
    ]);
    std::fs::write(world.path("notes.txt"), "v1\n").unwrap();
    let mut ui = interactive(true);
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("work")), &mut ui)
        .await;
    say(&mut agent, &mut ui, "first question").await;
    say(&mut agent, &mut ui, "second question").await;
    assert_eq!(
        std::fs::read_to_string(world.path("notes.txt")).unwrap(),
        "v2\n"
    );
    // The snapshot of the file before the change is in the tool result.
    let history = world.history("work").await;
    let snapshot = history
        .iter()
        .filter_map(|e| e.payload.as_message())
        .find_map(|m| m.extra.get("file_snapshot"))
        .expect("the write_file result records a snapshot");
    assert_eq!(snapshot["path"], "notes.txt");
    assert!(snapshot["before"].is_string() && snapshot["after"].is_string());

    assert_eq!(say(&mut agent, &mut ui, "/rewind").await, Outcome::Command);
    let listed = command_output(&ui);
    assert!(listed.contains("1  seq"), "{listed}");
    assert!(
        listed.find("second question") < listed.find("first question"),
        "{listed}"
    );
    say(&mut agent, &mut ui, "/rewind 2").await;
    let said = command_output(&ui);
    assert!(said.contains("restored notes.txt"), "{said}");
    assert!(said.contains("not tracked"), "{said}");
    assert!(matches!(
        ui.questions.last(),
        Some(Question::RestoreFiles { files, overwrite: false }) if files == &["notes.txt"]
    ));
    assert_eq!(
        std::fs::read_to_string(world.path("notes.txt")).unwrap(),
        "v1\n"
    );

    say(&mut agent, &mut ui, "start again").await;
    let sent = transcript(&world.request(3));
    assert!(sent.contains(&"user: start again".to_owned()), "{sent:#?}");
    assert!(
        !sent
            .iter()
            .any(|l| l.contains("first question") || l.contains("second question")),
        "{sent:#?}"
    );
    // The history keeps every turn.
    let history = world.history("work").await;
    let kinds: Vec<&str> = history.iter().map(|e| e.payload.kind()).collect();
    assert!(kinds.contains(&"rewind"), "{kinds:?}");
    assert!(history.len() > 8);
}

#[tokio::test]
async fn fork_goes_on_in_the_fork_and_leaves_the_parent_as_it_was() {
    let world = World::new([Turn::text("parent answer"), Turn::text("fork answer")]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("main")), &mut ui)
        .await;
    say(&mut agent, &mut ui, "shared question").await;
    say(&mut agent, &mut ui, "/fork side").await;
    assert_eq!(agent.session().name.as_str(), "side");
    assert!(command_output(&ui).contains("forked side from main"));
    say(&mut agent, &mut ui, "fork question").await;
    let sent = transcript(&world.request(1));
    assert!(
        sent.contains(&"user: shared question".to_owned()),
        "{sent:#?}"
    );
    assert!(
        sent.contains(&"user: fork question".to_owned()),
        "{sent:#?}"
    );
    let parent = world.history("main").await;
    assert!(!parent.iter().any(|e| {
        e.payload
            .as_message()
            .is_some_and(|m| m.plain_text().contains("fork question"))
    }));
    say(&mut agent, &mut ui, "/fork side").await;
    assert!(
        errors(&ui)
            .iter()
            .any(|(_, m)| m.contains("already exists")),
        "{:?}",
        errors(&ui)
    );
}
