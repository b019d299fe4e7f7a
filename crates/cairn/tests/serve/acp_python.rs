//! `cairn acp` driven by the official ACP Python SDK (PyPI `agent-client-protocol`)
//! over stdio, against the testkit's fake provider: what an editor does, checked from
//! both sides — the client's view in `tests/python/acp/scenario.py` (each check
//! printed as `CHECK …`), the provider's requests and the store here.

use cairn_core::{ContentBlock, Event, Role, SessionName};
use cairn_store_sqlite::Synchronous;
use cairn_testkit::cli::Cairn;
use cairn_testkit::external::run_acp_script;
use cairn_testkit::fake_llm::{FakeLlm, Reply, Turn};
use cairn_testkit::fake_llm::{contains_in_order, transcript};
use cairn_testkit::home::TestHome;
use serde_json::json;

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

/// Runs a scenario; asserts every named check ran and returns the script's stdout.
fn run_scenario(home: &TestHome, fake: &FakeLlm, args: &[&str], must_check: &[&str]) -> String {
    let base_url = fake.openai_base_url();
    let mut all = vec!["--openai-base-url", base_url.as_str()];
    all.extend_from_slice(args);
    let stdout = run_acp_script("scenario.py", CAIRN, home, &all);
    cairn_testkit::external::assert_checks(&stdout, must_check);
    stdout
}

/// The session's whole log, read from the store file.
fn history(home: &TestHome, name: &str) -> Vec<Event> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let store =
            cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap();
        let session = store
            .session(&SessionName::parse(name).unwrap())
            .await
            .unwrap();
        store.events_after(session.id, 0, 100_000).await.unwrap()
    })
}

#[test]
fn an_editor_tours_every_method() {
    let home = TestHome::with_git();
    let story = "Once upon a time ".repeat(40);
    let fake = FakeLlm::start([
        Turn::text("Hello from the fake provider."),
        Reply::new()
            .tool_call("call_1", "shell", json!({"command": "echo acp-ok"}))
            .into(),
        Turn::text("The command printed acp-ok."),
        Reply::new()
            .tool_call("call_2", "shell", json!({"command": "echo again"}))
            .into(),
        Reply::new()
            .tool_call("call_3", "shell", json!({"command": "echo again"}))
            .into(),
        Turn::text("Twice done."),
        Reply::new()
            .tool_call("call_4", "shell", json!({"command": "rm -rf build"}))
            .into(),
        Turn::text("Understood, not deleted."),
        Turn::text("A tiny image."),
        Reply::new().text(story).chunk_delay_ms(50).into(),
        Turn::text("Loaded and answered."),
    ])
    .unwrap();
    let stdout = run_scenario(
        &home,
        &fake,
        &["--scenario", "tour"],
        &[
            "initialize: loadSession",
            "prompt: the answer streamed in several chunks",
            "tool: one permission request",
            "tool: the result content reaches the client",
            "always: asked once for two calls",
            "reject: the call failed",
            "image: answered",
            "busy: a second prompt is refused",
            "cancel: stop reason cancelled",
            "command: /info answers as an agent message",
            "list: this project's sessions",
            "load: the same connection may load its open session again",
            "lease: a live holder refuses a second agent, named",
            "load: user messages replayed in order",
            "load: the tool call replayed with its result",
            "load: a prompt after load answers",
        ],
    );
    let name = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SESSION "))
        .expect("the script names the session")
        .to_owned();

    // The cancelled answer is stored, marked interrupted, exactly as Ctrl+C.
    let events = history(&home, &name);
    let interrupted: Vec<String> = events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .filter(|m| m.role == Role::Assistant && m.interrupted)
        .map(|m| m.plain_text())
        .collect();
    assert_eq!(interrupted.len(), 1, "{events:#?}");
    assert!(
        !interrupted[0].is_empty() && "Once upon a time ".repeat(40).starts_with(&interrupted[0]),
        "{interrupted:?}"
    );
    // The approved shell command ran and its output was stored as the result.
    let results: Vec<String> = events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .flat_map(|m| m.content.clone())
        .filter_map(|b| match b {
            ContentBlock::ToolResult { content, .. } => Some(content.as_text().to_owned()),
            _ => None,
        })
        .collect();
    assert!(results.iter().any(|r| r.contains("acp-ok")), "{results:?}");

    // The prompt after session/load, in a new process, sent the whole live context.
    let requests = fake.requests();
    assert_eq!(requests.len(), 11, "one request per scripted turn");
    // The image went to the model with its message.
    let image_request = requests[8].body.to_string();
    assert!(image_request.contains("image_url"), "{image_request}");
    let sent = transcript(&requests[10].body);
    contains_in_order(
        &sent,
        &[
            "system: You are cairn",
            "user: hello",
            "assistant: Hello from the fake provider.",
            "user: run the check",
            "tool_call shell",
            "tool: ",
            "assistant: The command printed acp-ok.",
            "user: twice",
            "assistant: Twice done.",
            "user: delete it",
            "assistant: Understood, not deleted.",
            "user: what is this",
            "assistant: A tiny image.",
            "user: tell a long story",
            "assistant: Once",
            "user: after load",
        ],
    );
}

#[test]
fn a_session_moves_from_terminal_to_editor_and_back() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([
        Turn::text("Answer one."),
        Turn::text("Answer two."),
        Turn::text("Answer three."),
    ])
    .unwrap();
    let c = Cairn::new(CAIRN, &home).with_fake_openai(&fake);
    c.run(["run", "--name", "handoff", "-p", "first from the terminal"])
        .success();
    run_scenario(
        &home,
        &fake,
        &["--scenario", "continue", "--session", "handoff"],
        &[
            "continue: the terminal's prompt replayed",
            "continue: the editor's prompt answered",
        ],
    );
    c.run([
        "run",
        "--resume",
        "handoff",
        "-p",
        "third from the terminal",
    ])
    .success()
    .stdout_has(&["Answer three."]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    contains_in_order(
        &transcript(&requests[1].body),
        &[
            "user: first from the terminal",
            "assistant: Answer one.",
            "user: second from the editor",
        ],
    );
    contains_in_order(
        &transcript(&requests[2].body),
        &[
            "user: first from the terminal",
            "assistant: Answer one.",
            "user: second from the editor",
            "assistant: Answer two.",
            "user: third from the terminal",
        ],
    );
}

#[test]
fn a_compacted_session_replays_its_summary_not_its_history() {
    let home = TestHome::with_git();
    let summary = json!({
        "goal": "choose the store",
        "progress": "agreed",
        "decisions": ["sqlite"],
        "constraints": [],
        "files": [],
        "open_problems": [],
        "next_steps": ["write the schema"],
        "knowledge": [],
    });
    let fake = FakeLlm::start([
        // Long enough that a summary is smaller than the context.
        Turn::text("Noted: sqlite, for its single file and its WAL. ".repeat(150)),
        Reply::new()
            .text(format!("```json\n{summary}\n```"))
            .chunk_size(1_000_000)
            .into(),
        Turn::text("SQLite."),
    ])
    .unwrap();
    run_scenario(
        &home,
        &fake,
        &["--scenario", "compacted"],
        &[
            "done: /done answers as an agent message",
            "compacted: replay opens with the summary, marked",
            "compacted: compacted messages are not replayed",
        ],
    );
    // The model, after the load, got the summary instead of the compacted turns.
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    let sent = transcript(&requests[2].body);
    assert!(
        !sent
            .iter()
            .any(|l| l == "user: we pick sqlite for the store"),
        "{sent:#?}"
    );
    assert!(
        sent.iter().any(|l| l.contains("choose the store")),
        "{sent:#?}"
    );
    contains_in_order(&sent, &["user: what did we pick?"]);
}
