//! `cairn where` and `cairn progress save|get` against a real store: the same
//! checkpoints MCP agents save, read and written from the command line.

use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;
use serde_json::Value;

fn cairn(home: &TestHome) -> Cairn {
    Cairn::new(env!("CARGO_BIN_EXE_cairn"), home)
}

#[test]
fn save_then_get_and_where() {
    let home = TestHome::new();
    let c = cairn(&home);
    let saved = c
        .run([
            "progress",
            "save",
            "auth-v2",
            "--summary",
            "Token refresh works",
            "--files",
            "src/auth.rs,src/token.rs",
            "--files",
            "src/mw.rs",
            "--decisions",
            "rotate refresh tokens",
            "--next",
            "write tests",
            "--next",
            "open PR",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(saved["status"], "saved");
    assert_eq!(saved["round_id"], "1");
    assert_eq!(saved["project"], home.project_key());

    c.run([
        "progress",
        "save",
        "auth-v2",
        "-s",
        "Tests pass",
        "--next",
        "open PR",
    ])
    .success()
    .stdout_has(&["Saved checkpoint", "auth-v2, round 2"]);

    let latest = c
        .run(["progress", "get", "auth-v2", "--json"])
        .success()
        .json();
    assert_eq!(latest["round_id"], "2");
    assert_eq!(latest["summary"], "Tests pass");
    assert_eq!(latest["client"], "cairn-cli");

    let all = c
        .run(["progress", "get", "auth-v2", "--all", "--json"])
        .success()
        .json();
    let rounds: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["round_id"].as_str().unwrap())
        .collect();
    assert_eq!(rounds, ["1", "2"]);
    assert_eq!(
        all[0]["files_touched"],
        serde_json::json!(["src/auth.rs", "src/token.rs", "src/mw.rs"])
    );
    let one = c
        .run(["progress", "get", "auth-v2", "--round", "1", "--json"])
        .success()
        .json();
    assert_eq!(one[0]["summary"], "Token refresh works");

    c.run(["progress", "get", "auth-v2"])
        .success()
        .stdout_has(&["auth-v2 round 2", "Tests pass", "Next steps:", "open PR"]);

    let here = c.run(["where", "--json"]).success().json();
    assert_eq!(here["session_id"], "auth-v2");
    assert_eq!(here["source"], "checkpoint");
    assert_eq!(here["latest_checkpoint"]["round_id"], "2");
    let brief = here["resume_brief"].as_str().unwrap();
    assert!(brief.contains("Next: open PR"), "{brief}");
    c.run(["where", "auth-v2"]).success().stdout_has(&[
        "# Where was I: `auth-v2`",
        "## Resume brief",
        "open PR",
    ]);
}

#[test]
fn where_is_the_most_recent_across_projects_and_filters_by_client() {
    let home = TestHome::new();
    let other = home.dir("other-project");
    cairn(&home)
        .run(["progress", "save", "here-work", "--summary", "first"])
        .success();
    cairn(&home)
        .current_dir(&other)
        .run(["progress", "save", "there-work", "--summary", "second"])
        .success();
    let here = cairn(&home).run(["where", "--json"]).success().json();
    assert_eq!(here["session_id"], "there-work");
    assert_eq!(here["project"], other.to_string_lossy().as_ref());
    cairn(&home)
        .run(["where", "--client", "claude-code"])
        .code(3)
        .stderr_has(&["not found"]);
    let by_cli = cairn(&home)
        .run(["where", "--client", "cairn-cli", "--json"])
        .success()
        .json();
    assert_eq!(by_cli["session_id"], "there-work");
}

#[test]
fn where_covers_chat_sessions() {
    let home = TestHome::new();
    let file = home.write_file(
        "chat.jsonl",
        concat!(
            r#"{"format":"cairn.session","version":1,"name":"chat-one","title":"Fix login","project":"/x","model":"openai:gpt-4.1","created_at":"2026-11-20T09:00:00Z"}"#, "\n",
            r#"{"seq":1,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"user","content":[{"type":"text","text":"Please fix the login bug"}]}"#, "\n",
            r#"{"seq":2,"ts":"2026-11-20T09:00:02Z","kind":"knowledge","knowledge_kind":"decision","text":"keep sessions in cookies","pinned":false}"#, "\n",
            r#"{"seq":3,"ts":"2026-11-20T09:00:03Z","kind":"message","role":"assistant","content":[{"type":"text","text":"The bug is in the cookie parser"}]}"#, "\n",
        ),
    );
    cairn(&home)
        .run([
            std::ffi::OsStr::new("sessions"),
            "import".as_ref(),
            file.as_os_str(),
        ])
        .success();
    let found = cairn(&home)
        .run(["where", "chat-one", "--json"])
        .success()
        .json();
    assert_eq!(found["source"], "chat");
    assert_eq!(found["chat"]["title"], "Fix login");
    assert_eq!(
        found["chat"]["resume_command"],
        "cairn run --resume chat-one"
    );
    let knowledge: Vec<Value> = found["chat"]["knowledge"].as_array().unwrap().clone();
    assert_eq!(
        knowledge,
        [Value::from("decision: keep sessions in cookies")]
    );
    assert!(
        found["resume_brief"]
            .as_str()
            .unwrap()
            .contains("cookie parser"),
        "{found}"
    );
    // Checkpoints under the chat's name join it.
    cairn(&home)
        .run([
            "progress",
            "save",
            "chat-one",
            "--summary",
            "parser rewritten",
        ])
        .success();
    let both = cairn(&home)
        .run(["where", "chat-one", "--json"])
        .success()
        .json();
    assert_eq!(both["source"], "both");
    assert_eq!(both["latest_checkpoint"]["summary"], "parser rewritten");
}

#[test]
fn summary_from_stdin() {
    let home = TestHome::new();
    cairn(&home)
        .run_with_stdin(
            ["progress", "save", "piped", "--summary", "-"],
            Some(b"from a pipe\n"),
        )
        .success();
    let got = cairn(&home)
        .run(["progress", "get", "piped", "--json"])
        .success()
        .json();
    assert_eq!(got["summary"], "from a pipe");
}

#[test]
fn bad_input_is_refused_and_nothing_written() {
    let home = TestHome::new();
    let c = cairn(&home);
    let big = "s".repeat(64 * 1024 + 1);
    c.run(["progress", "save", "x", "--summary", &big])
        .code(2)
        .stderr_has(&["--summary", "64 KiB"]);
    let long_item = "f".repeat(4 * 1024 + 1);
    c.run([
        "progress",
        "save",
        "x",
        "--summary",
        "ok",
        "--files",
        &long_item,
    ])
    .code(2)
    .stderr_has(&["--files", "4 KiB"]);
    let many: String = (0..1001)
        .map(|i| format!("f{i}"))
        .collect::<Vec<_>>()
        .join(",");
    c.run(["progress", "save", "x", "--summary", "ok", "--next", &many])
        .code(2)
        .stderr_has(&["--next", "1000 items"]);
    c.run(["progress", "save", "x", "--summary", "  "])
        .code(2)
        .stderr_has(&["--summary"]);
    c.run(["progress", "save", "a\nb", "--summary", "ok"])
        .code(2)
        .stderr_has(&["SESSION_ID"]);
    c.run(["progress", "save", "x"])
        .code(2)
        .stderr_has(&["--summary"]);
    c.run(["progress", "get", "x"])
        .code(3)
        .stderr_has(&["progress not found: x"]);
    c.run(["where", "x"]).code(3).stderr_has(&["not found"]);
}

/// The README's first `where` on a fresh store: nothing saved is not an error.
#[test]
fn where_on_an_empty_store_succeeds_with_a_hint() {
    let home = TestHome::new();
    let c = cairn(&home);
    c.run(["where"])
        .success()
        .stdout_has(&["Nothing to resume yet", "cairn progress save"]);
    let json = c.run(["where", "--json"]).success().json();
    assert_eq!(json, Value::Null);
    c.run(["where", "unknown"])
        .code(3)
        .stderr_has(&["not found"]);
}

/// One notion of "session" for the person: a save_progress id is listed and shown.
#[test]
fn checkpoint_sessions_are_listed_and_shown() {
    let home = TestHome::new();
    let c = cairn(&home);
    for summary in ["first step", "Token refresh works"] {
        c.run(["progress", "save", "auth-v2", "--summary", summary])
            .success();
    }
    c.run(["sessions", "list", "--all"]).success().stdout_has(&[
        "Checkpoint sessions",
        "auth-v2",
        "Token refresh works",
    ]);
    c.run(["sessions", "show", "auth-v2"])
        .success()
        .stdout_has(&["auth-v2", "checkpoints", "Token refresh works", "--all"]);
    let shown = c
        .run(["sessions", "show", "auth-v2", "--json"])
        .success()
        .json();
    assert_eq!(shown["kind"], "checkpoint");
    assert_eq!(shown["checkpoint_count"], 2);
    assert_eq!(shown["latest"]["summary"], "Token refresh works");
    c.run(["sessions", "show", "nobody"])
        .code(3)
        .stderr_has(&["not found"]);
}

/// Reading commands on a machine where cairn never stored anything leave no store behind.
#[test]
fn reading_a_missing_store_does_not_create_it() {
    let home = TestHome::new();
    let c = cairn(&home);
    c.run(["sessions", "list", "--all"])
        .success()
        .stdout_has(&["No sessions in any project yet"]);
    c.run(["where"])
        .success()
        .stdout_has(&["Nothing to resume yet"]);
    assert!(
        !home.store_file().exists(),
        "a read created {}",
        home.store_file().display()
    );
}
