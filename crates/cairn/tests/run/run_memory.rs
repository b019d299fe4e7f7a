//! Project memory and recall through the real binary and the scripted fake provider:
//! AGENTS.md (CLAUDE.md where a folder has none) in the system prompt, cut at the
//! cap, recorded and shown by `/context`, recorded again when changed; project
//! knowledge from one session in the next session's first request; the brief of a
//! checkpoint in a new session's first request; `recall` finding a fact that only
//! compacted events hold, verbatim, for the model and for an MCP client (the
//! official Python SDK).

use cairn_testkit::cli::Cairn;
use cairn_testkit::external::run_mcp_script;
use cairn_testkit::fake_llm::{FakeLlm, Reply, Turn, notes};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cairn");

fn cairn(home: &TestHome, fake: &FakeLlm) -> Cairn {
    Cairn::new(BIN, home).with_fake_openai(fake)
}

/// The system prompt of a recorded OpenAI request.
fn system_of(body: &Value) -> String {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "system")
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every event line of `cairn sessions export NAME`.
fn export(c: &Cairn, name: &str) -> Vec<Value> {
    let out = c.run(["sessions", "export", name]);
    out.success();
    out.stdout
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The text of the tool result answering `call_id` in a recorded request.
fn tool_result(body: &Value, call_id: &str) -> String {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == call_id)
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("no tool result for {call_id} in {body}"))
}

#[test]
fn agents_md_is_loaded_cut_at_the_cap_recorded_shown_and_reloaded_when_changed() {
    let home = TestHome::with_git();
    home.write_config("[memory]\nproject_files_max_bytes = 100\n");
    let root_rules = "Root rule: indent with tabs, run `make check` before you finish.";
    std::fs::write(home.project.join("AGENTS.md"), root_rules).unwrap();
    std::fs::write(home.project.join("CLAUDE.md"), "shadowed by AGENTS.md").unwrap();
    let api = home.project.join("services/api");
    std::fs::create_dir_all(&api).unwrap();
    // No AGENTS.md in services/api: its CLAUDE.md is read, and cut at the cap.
    let api_rules = format!("API rule: every handler is async. {}", "detail ".repeat(40));
    std::fs::write(api.join("CLAUDE.md"), &api_rules).unwrap();

    let fake = FakeLlm::start([Turn::text("ok"), Turn::text("ok again")]).unwrap();
    let c = cairn(&home, &fake).current_dir(&api);
    c.run(["run", "--name", "mem", "-p", "hello"])
        .success()
        .stderr_has(&["services/api/CLAUDE.md was cut to"]);
    let system = system_of(&fake.requests()[0].body);
    assert!(system.contains("# Project instructions"), "{system}");
    assert!(system.contains(root_rules), "{system}");
    assert!(!system.contains("shadowed"), "{system}");
    assert!(
        system.contains("## services/api/CLAUDE.md\nAPI rule: every handler"),
        "{system}"
    );
    assert!(
        !system.contains(&api_rules),
        "the cap cuts the second file: {system}"
    );
    assert!(
        system.contains(&format!(
            "[cairn] cut: services/api/CLAUDE.md is {} bytes; only the first {} are shown",
            api_rules.len(),
            100 - root_rules.len()
        )),
        "{system}"
    );

    // Recorded: paths, sizes, cut or not, a hash of what was loaded.
    let events = export(&c, "mem");
    let recorded: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "project_files")
        .collect();
    assert_eq!(recorded.len(), 1, "{events:?}");
    let files = recorded[0]["files"].as_array().unwrap();
    assert_eq!(files[0]["path"], "AGENTS.md");
    assert_eq!(files[0]["cut"], false);
    assert_eq!(files[0]["bytes"], root_rules.len());
    assert_eq!(files[0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(files[1]["path"], "services/api/CLAUDE.md");
    assert_eq!(files[1]["cut"], true);

    // /context shows what was loaded; resuming an unchanged project records nothing.
    c.run(["run", "--resume", "mem", "-p", "/context"])
        .success()
        .stdout_has(&[
            "(project file) AGENTS.md",
            "(project file) services/api/CLAUDE.md",
            "cut to",
        ]);
    let count = |events: &[Value]| {
        events
            .iter()
            .filter(|e| e["kind"] == "project_files")
            .count()
    };
    assert_eq!(count(&export(&c, "mem")), 1);

    // A changed file is noticed: recorded again, and the next request has it.
    std::fs::write(home.project.join("AGENTS.md"), "Root rule: spaces now.").unwrap();
    c.run(["run", "--resume", "mem", "-p", "and now?"])
        .success()
        .stderr_has(&["instruction files changed since this session last read them"]);
    assert_eq!(count(&export(&c, "mem")), 2);
    let system = system_of(&fake.requests()[1].body);
    assert!(system.contains("Root rule: spaces now."), "{system}");
}

#[test]
fn hostile_instruction_files_are_refused_and_the_session_still_starts() {
    let home = TestHome::with_git();
    let outside = home.write_file("secret.md", "TOP SECRET outside the project");
    std::os::unix::fs::symlink(&outside, home.project.join("AGENTS.md")).unwrap();
    let sub = home.project.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("AGENTS.md"), b"valid start \xff\xfe not UTF-8").unwrap();
    // A 4 GiB sparse file (all NUL bytes), and 8 MiB of real text.
    let deep = sub.join("deep");
    let more = deep.join("more");
    std::fs::create_dir_all(&more).unwrap();
    std::fs::File::create(deep.join("AGENTS.md"))
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    std::fs::write(more.join("AGENTS.md"), "huge rule line\n".repeat(600_000)).unwrap();
    let fake = FakeLlm::start([Turn::text("ok")]).unwrap();
    let started = std::time::Instant::now();
    cairn(&home, &fake)
        .current_dir(&more)
        .run(["run", "--name", "hostile", "-p", "hello"])
        .success()
        .stderr_has(&[
            "AGENTS.md not loaded: a symlink leading out of the project",
            "sub/AGENTS.md not loaded: not UTF-8 text",
            "sub/deep/AGENTS.md not loaded: a binary file",
            "sub/deep/more/AGENTS.md was cut to 32768 of its 9000000 bytes",
        ]);
    // Reading at most the cap of each file: no 4 GiB read.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    let body = fake.requests()[0].body.to_string();
    assert!(!body.contains("TOP SECRET"), "{body}");
    assert!(!body.contains("valid start"), "{body}");
    assert!(body.contains("huge rule line"));
    assert!(body.contains("[cairn] cut: sub/deep/more/AGENTS.md is 9000000 bytes"));
    assert!(body.len() < 200_000, "{} bytes", body.len());
}

#[test]
fn project_knowledge_of_one_session_is_in_the_next_sessions_first_request() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([
        // Session 1: the model keeps a project decision with the remember tool.
        Reply::new()
            .tool_call(
                "call_1",
                "remember",
                json!({"kind": "constraint", "text": "never touch the legacy billing module", "scope": "project"}),
            )
            .into(),
        Turn::text("kept"),
        // Session 2's first answer.
        Turn::text("hello"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    c.run([
        "run",
        "--name",
        "first",
        "-p",
        "/remember --project decision: PostgreSQL 16 is the database",
    ])
    .success()
    .stdout_has(&["remembered [decision] PostgreSQL 16 is the database: it stays in every session of this project"]);
    c.run([
        "run",
        "--name",
        "first-b",
        "-p",
        "/remember only this session's note",
    ])
    .success();
    c.run(["run", "--resume", "first", "-p", "keep the billing rule"])
        .success();

    // A new session of the project starts with both project items, not the
    // other session's own item.
    c.run(["run", "--name", "second", "-p", "what do we use?"])
        .success();
    let requests = fake.requests();
    let first = requests.last().unwrap().body.to_string();
    assert!(first.contains("PostgreSQL 16 is the database"), "{first}");
    assert!(
        first.contains("never touch the legacy billing module"),
        "{first}"
    );
    assert!(!first.contains("only this session's note"), "{first}");

    // /knowledge shows the kinds apart.
    let listed = c.run(["run", "--resume", "second", "-p", "/knowledge"]);
    listed.success().stdout_has(&[
        "project knowledge (every session of this project):",
        "[decision] PostgreSQL 16 is the database (pinned)",
        "[constraint] never touch the legacy billing module",
    ]);
    // /forget unpins a project item in the session that stated it.
    c.run(["run", "--resume", "second", "-p", "/forget 1"])
        .success()
        .stdout_has(&["unpinned 1. [decision] PostgreSQL 16 is the database"]);
}

#[test]
fn a_new_session_starts_with_the_brief_of_a_recent_checkpoint() {
    let home = TestHome::with_git();
    Cairn::new(BIN, &home)
        .run([
            "progress",
            "save",
            "auth-handoff",
            "--summary",
            "token refresh half done; the retry path is untested",
            "--next",
            "write the retry test",
        ])
        .success();
    let fake = FakeLlm::start([Turn::text("picking it up"), Turn::text("ok")]).unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "--name", "next", "-p", "go on"])
        .success()
        .stderr_has(&["started with the where-was-I brief"]);
    let first = fake.requests()[0].body.to_string();
    assert!(
        first.contains("[cairn] Where this project stands"),
        "{first}"
    );
    assert!(first.contains("auth-handoff"), "{first}");
    assert!(first.contains("token refresh half done"), "{first}");
    assert!(first.contains("write the retry test"), "{first}");

    // Off by config: no brief.
    home.write_config("[memory]\ncheckpoint_brief = false\n");
    c.run(["run", "--name", "plain", "-p", "hi"]).success();
    let plain = fake.requests()[1].body.to_string();
    assert!(!plain.contains("Where this project stands"), "{plain}");
}

fn summary_turn() -> Turn {
    Turn::summary(&json!({
        "goal": "set up the staging deploy",
        "progress": "deploy script written",
        "decisions": [],
        "files": [],
        "next_steps": ["run the deploy"],
        "knowledge": [],
    }))
}

#[test]
fn recall_finds_a_compacted_fact_verbatim_and_reads_one_event_whole() {
    let home = TestHome::with_git();
    let fact = "The staging database listens on port 6543 behind the bastion zebra-7.";
    let fake = FakeLlm::start([
        Turn::text(format!("Noted. {}", notes(300))),
        Turn::text(format!("Deploy script written. {}", notes(300))),
        summary_turn(),
        // After the compaction the model searches the history, then reads the event.
        Reply::new()
            .tool_call("call_1", "recall", json!({"query": "bastion port"}))
            .into(),
        Reply::new()
            .tool_call("call_2", "recall", json!({"seq": 1}))
            .into(),
        Reply::new()
            .tool_call("call_3", "recall", json!({"seq": 999}))
            .into(),
        Turn::text("It is port 6543 behind zebra-7."),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "--name", "deploy", "-p", fact]).success();
    c.run(["run", "--resume", "deploy", "-p", "write the deploy script"])
        .success();
    c.run([
        "run",
        "--resume",
        "deploy",
        "-p",
        "/done deploy script ready",
    ])
    .success()
    .stdout_has(&["compressed the live context (/done)"]);
    c.run([
        "run",
        "--resume",
        "deploy",
        "-p",
        "which port was staging on?",
    ])
    .success();

    let requests = fake.requests();
    // The compressor was told that recall exists.
    let asked = requests[2].body.to_string();
    assert!(asked.contains("recall tool"), "{asked}");
    // The request after the compaction no longer holds the fact; its preamble says
    // how to get it back.
    let after = requests[3].body.to_string();
    assert!(!after.contains("bastion zebra-7"), "{after}");
    assert!(after.contains("recall(query="), "{after}");
    // The search found it in the replaced events, verbatim, with its seq and session.
    let found = tool_result(&requests[4].body, "call_1");
    assert!(found.contains(fact), "{found}");
    assert!(found.contains("seq 1 · "), "{found}");
    // recall(seq) returned the event whole.
    let one = tool_result(&requests[5].body, "call_2");
    assert!(one.starts_with("seq 1 of session deploy"), "{one}");
    assert!(one.contains(fact), "{one}");
    // An unknown seq is an error the model reads, naming the range.
    let missing = tool_result(&requests[6].body, "call_3");
    assert!(missing.contains("seq 999 of session deploy"), "{missing}");

    // An MCP client gets the same through the `recall` tool.
    let stdout = run_mcp_script(
        "recall.py",
        BIN,
        &home,
        &["--", "deploy", "bastion port", fact],
    );
    assert!(stdout.contains("PASSED"), "{stdout}");
}
