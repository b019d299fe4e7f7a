//! `cairn run` end to end: the real binary, a private CAIRN_HOME, a fixture project
//! and the scripted fake LLM server standing in for the provider.

use crate::sessions_fixtures;

use cairn_testkit::fake_llm::{contains_in_order, transcript};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cairn_core::{ContentBlock, Event, Role, SessionName};
use cairn_testkit::cli::Cairn;
use cairn_testkit::fake_llm::{ErrorReply, FakeLlm, FakeUsage, Fault, Reply, Turn};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cairn");

fn fixture(home: &TestHome) {
    let p = &home.project;
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(
        p.join("README.md"),
        "# Fixture\nThe auth module uses JWT with a 15 minute expiry.\n",
    )
    .unwrap();
    std::fs::write(
        p.join("src/auth.rs"),
        "pub const EXPIRY_MINUTES: u32 = 15;\n",
    )
    .unwrap();
}

/// `cairn` pointed at the fake provider (OpenAI wire format).
fn cairn(home: &TestHome, fake: &FakeLlm) -> Cairn {
    Cairn::new(BIN, home).with_fake_openai(fake)
}

/// The same environment for a process the test controls (kill, signals).
fn spawn(home: &TestHome, fake: &FakeLlm, cwd: &Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home.user_home)
        .env("CAIRN_HOME", &home.cairn_home)
        .env("OPENAI_API_KEY", "test-key")
        .env("OPENAI_BASE_URL", fake.openai_base_url())
        .env("CAIRN_MODEL", "openai:gpt-4.1")
        .envs(home.store_env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill_9(mut child: Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap(); // reap it, so its pid is really gone
}

/// The session's whole log, read from the home's store.
fn history(home: &TestHome, name: &str) -> Vec<Event> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = sessions_fixtures::home_store(home);
        let session = store
            .session(&SessionName::parse(name).unwrap())
            .await
            .unwrap();
        store.events_after(session.id, 0, 100_000).await.unwrap()
    })
}

/// `(is_error, text)` of every tool result of a session, in order.
fn tool_results(home: &TestHome, name: &str) -> Vec<(bool, String)> {
    history(home, name)
        .iter()
        .filter_map(|e| e.payload.as_message())
        .flat_map(|m| m.content.clone())
        .filter_map(|b| match b {
            ContentBlock::ToolResult {
                is_error, content, ..
            } => Some((is_error, content.as_text().to_owned())),
            _ => None,
        })
        .collect()
}

#[test]
fn day_one_then_resume_sends_the_whole_history() {
    let home = TestHome::with_git();
    fixture(&home);
    let fake = FakeLlm::start([
        Reply::new()
            .text("Let me read it.")
            .tool_call("call_1", "read_file", json!({"path": "README.md"}))
            .into(),
        Turn::text("It uses JWT with a 15 minute expiry. Decision: we keep 15 minutes."),
        Turn::text("Yesterday we agreed to keep the 15 minute expiry."),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    let day1 = c.run([
        "run",
        "--name",
        "auth-refactor",
        "-p",
        "What does the auth module use?",
    ]);
    day1.success()
        .stdout_has(&["Let me read it.", "Decision: we keep 15 minutes."])
        .stderr_has(&["new session auth-refactor", "→ read_file", "session cost"]);

    // Day 2: a new process resumes; the model receives everything from day 1.
    let day2 = c.run([
        "run",
        "--resume",
        "auth-refactor",
        "-p",
        "What did we agree yesterday?",
    ]);
    day2.success()
        .stdout_has(&["Yesterday we agreed"])
        .stderr_has(&["session auth-refactor", "4 messages"]);
    let sent = transcript(&fake.requests()[2].body);
    contains_in_order(
        &sent,
        &[
            "system: You are cairn",
            "user: What does the auth module use?",
            "assistant: Let me read it.",
            "tool_call read_file",
            "tool: # Fixture",
            "assistant: It uses JWT with a 15 minute expiry.",
            "user: What did we agree yesterday?",
        ],
    );

    // What the store holds: every message, in order, with its role.
    let roles: Vec<Role> = history(&home, "auth-refactor")
        .iter()
        .filter_map(|e| e.payload.as_message().map(|m| m.role))
        .collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Assistant,
            Role::User,
            Role::Assistant
        ]
    );

    c.run(["run", "--resume", "nope", "-p", "hi"])
        .code(3)
        .stderr_has(&["nope"]);
    c.run(["run", "--resume", "-p", "hi"])
        .code(2)
        .stderr_has(&["--resume NAME"]);
    c.run(["run", "--name", "../etc", "-p", "hi"])
        .code(2)
        .stderr_has(&["invalid session name"]);
}

#[test]
fn resume_recent_picks_this_projects_session_even_with_the_same_folder_name() {
    let home = TestHome::new();
    let one = home.dir("one/api");
    let two = home.dir("two/api");
    let fake = FakeLlm::start([
        Turn::text("first in one/api"),
        Turn::text("first in two/api"),
        Turn::text("first in project"),
        Turn::text("back in one/api"),
    ])
    .unwrap();
    for (dir, name) in [
        (&one, "api-one"),
        (&two, "api-two"),
        (&home.project, "main"),
    ] {
        cairn(&home, &fake)
            .current_dir(dir)
            .run(["run", "--name", name, "-p", &format!("hello from {name}")])
            .success();
        std::thread::sleep(Duration::from_millis(20));
    }
    // Newest overall is `main`, newest named `api` is api-two; one/api must get api-one.
    cairn(&home, &fake)
        .current_dir(&one)
        .run(["run", "--resume-recent", "-p", "where was I?"])
        .success()
        .stderr_has(&["session api-one"]);
    let sent = transcript(&fake.requests()[3].body);
    assert!(
        sent.contains(&"user: hello from api-one".to_owned()),
        "{sent:#?}"
    );
    assert!(
        !sent
            .iter()
            .any(|l| l.contains("api-two") || l.contains("main")),
        "{sent:#?}"
    );

    let empty = home.dir("empty");
    cairn(&home, &fake)
        .current_dir(&empty)
        .run(["run", "--resume-recent", "-p", "x"])
        .code(3)
        .stderr_has(&["cairn run --name NAME"]);
}

#[test]
fn jsonl_prints_one_event_per_line() {
    let home = TestHome::new();
    fixture(&home);
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("call_1", "list_files", json!({"pattern": "*.rs"}))
            .into(),
        Turn::text("One Rust file."),
    ])
    .unwrap();
    let out = cairn(&home, &fake).run([
        "run",
        "--name",
        "j",
        "--format",
        "jsonl",
        "-p",
        "which files?",
    ]);
    out.success();
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for wanted in [
        "session_opened",
        "text_delta",
        "tool_use",
        "tool_result",
        "usage",
        "cost",
        "done",
    ] {
        assert!(types.contains(&wanted), "{wanted} missing from {types:?}");
    }
    assert_eq!(types.last(), Some(&"done"));
    let result = events.iter().find(|e| e["type"] == "tool_result").unwrap();
    assert_eq!(result["content"], "src/auth.rs\n");
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "text_delta")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "One Rust file.");
}

#[test]
fn a_prompt_on_stdin_runs_one_turn() {
    let home = TestHome::new();
    let fake = FakeLlm::start([Turn::text("from stdin")]).unwrap();
    let out = cairn(&home, &fake).run_with_stdin(["run", "--name", "s"], Some(b"piped question\n"));
    out.success().stdout_has(&["from stdin"]);
    assert!(transcript(&fake.requests()[0].body).contains(&"user: piped question".to_owned()));
    cairn(&home, &fake)
        .run_with_stdin(["run", "--name", "s"], Some(b""))
        .code(2)
        .stderr_has(&["no prompt"]);
}

#[test]
fn no_provider_configured_names_the_variables() {
    let home = TestHome::new();
    Cairn::new(BIN, &home)
        .run(["run", "--name", "x", "-p", "hi"])
        .code(1)
        .stderr_has(&["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]);
    // Nothing was created.
    Cairn::new(BIN, &home)
        .run(["sessions", "list", "--json"])
        .success();
}

#[test]
fn spending_limit_stops_with_exit_code_4() {
    let home = TestHome::new();
    fixture(&home);
    home.write_config("max_session_spending_threshold = 0.5\n");
    let expensive = FakeUsage {
        input: 1_000_000,
        ..FakeUsage::default()
    };
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("call_1", "read_file", json!({"path": "README.md"}))
            .usage(expensive)
            .into(),
        Turn::text("never sent"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "--name", "costly", "-p", "read it"])
        .code(4)
        .stderr_has(&[
            "spending limit reached",
            "max_session_spending_threshold",
            "$0.50",
        ]);
    assert_eq!(fake.requests().len(), 1);
    c.run(["run", "--resume", "costly", "-p", "more"]).code(4);
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn provider_errors_are_plain_and_the_session_stays_usable() {
    let home = TestHome::new();
    let failing = Turn::Error(ErrorReply {
        status: 500,
        message: "upstream exploded".into(),
        retry_after: Some("0".into()),
        ..ErrorReply::default()
    });
    let fake = FakeLlm::start(
        vec![failing; 4]
            .into_iter()
            .chain([Turn::text("working again")]),
    )
    .unwrap();
    let c = cairn(&home, &fake);
    let out = c.run(["run", "--name", "s", "-p", "first"]);
    out.code(1).stderr_has(&["500"]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    c.run(["run", "--resume", "s", "-p", "second"])
        .success()
        .stdout_has(&["working again"]);
    let sent = transcript(&fake.requests().last().unwrap().body);
    assert!(sent.contains(&"user: first".to_owned()) && sent.contains(&"user: second".to_owned()));

    fake.require_api_key("another-key");
    c.run(["run", "--resume", "s", "-p", "third"])
        .code(1)
        .stderr_has(&["OPENAI_API_KEY"]);
}

#[test]
fn a_second_process_is_refused_naming_the_holder_and_force_takes_over() {
    let home = TestHome::new();
    let fake = FakeLlm::start([
        Turn::text("created"),
        Reply::new()
            .text("slow answer")
            .fault(Fault::Stall {
                after_events: 1,
                ms: 30_000,
            })
            .into(),
        Turn::text("forced"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "--name", "busy", "-p", "create"]).success();
    let holder = spawn(
        &home,
        &fake,
        &home.project,
        &["run", "--resume", "busy", "-p", "hold it"],
    );
    let pid = holder.id();
    wait_until("the first process's request", || fake.requests().len() == 2);
    c.run(["run", "--resume", "busy", "-p", "me too"])
        .code(1)
        .stderr_has(&[&format!("in use by pid {pid}@"), "--force"]);
    c.run(["run", "--resume", "busy", "--force", "-p", "mine now"])
        .success()
        .stdout_has(&["forced"])
        .stderr_has(&["took session busy over"]);
    kill_9(holder);
}

#[test]
fn kill_9_mid_stream_then_resume_loses_nothing_acknowledged() {
    let home = TestHome::new();
    let fake = FakeLlm::start([
        Reply::new()
            .text("this answer never completes")
            .chunk_size(3)
            .fault(Fault::Stall {
                after_events: 3,
                ms: 60_000,
            })
            .into(),
        Turn::text("resumed fine"),
    ])
    .unwrap();
    let child = spawn(
        &home,
        &fake,
        &home.project,
        &["run", "--name", "crash", "-p", "an important question"],
    );
    wait_until("the request", || fake.requests().len() == 1);
    std::thread::sleep(Duration::from_millis(200));
    kill_9(child);
    // No --force needed: the holder is gone.
    cairn(&home, &fake)
        .run(["run", "--resume", "crash", "-p", "are you there?"])
        .success()
        .stdout_has(&["resumed fine"]);
    let sent = transcript(&fake.requests()[1].body);
    contains_in_order(
        &sent,
        &["user: an important question", "user: are you there?"],
    );
}

#[test]
fn kill_9_during_a_tool_call_gets_an_interrupted_result_on_resume() {
    let home = TestHome::new();
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call(
                "call_slow",
                "shell",
                json!({"command": "touch started && sleep 60"}),
            )
            .into(),
        Turn::text("noted"),
    ])
    .unwrap();
    let child = spawn(
        &home,
        &fake,
        &home.project,
        &["run", "--name", "tool-crash", "--yes", "-p", "run it"],
    );
    let started = home.project.join("started");
    wait_until("the shell command", || started.exists());
    kill_9(child);
    cairn(&home, &fake)
        .run(["run", "--resume", "tool-crash", "-p", "what happened?"])
        .success()
        .stderr_has(&["interrupted"]);
    let body = &fake.requests()[1].body;
    let tool = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap_or_else(|| panic!("no tool message in {body}"));
    assert_eq!(tool["tool_call_id"], "call_slow");
    assert!(tool["content"].to_string().contains("interrupted"));
}

#[test]
fn ctrl_c_during_a_stream_keeps_the_partial_answer_marked_interrupted() {
    let home = TestHome::new();
    let fake = FakeLlm::start([Reply::new()
        .text("Partial words arrive slowly and the rest never does.")
        .chunk_size(4)
        .chunk_delay_ms(150)
        .into()])
    .unwrap();
    let child = spawn(
        &home,
        &fake,
        &home.project,
        &["run", "--name", "intr", "-p", "talk"],
    );
    wait_until("the request", || fake.requests().len() == 1);
    std::thread::sleep(Duration::from_millis(700));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.starts_with("Part"), "{stdout}");
    let events = history(&home, "intr");
    let last = events.last().unwrap().payload.as_message().unwrap();
    assert_eq!(last.role, Role::Assistant);
    assert!(last.interrupted);
    let kept = last.plain_text();
    assert!(
        kept.starts_with("Part") && !kept.contains("never does"),
        "{kept}"
    );
    assert!(stdout.trim_end().starts_with(kept.trim_end()) || kept.starts_with(stdout.trim_end()));
}

#[test]
fn file_tools_cannot_leave_the_project() {
    let home = TestHome::new();
    fixture(&home);
    let secret = home.write_file("secret.txt", "TOP SECRET");
    std::os::unix::fs::symlink(&secret, home.project.join("escape")).unwrap();
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("c1", "read_file", json!({"path": "../secret.txt"}))
            .tool_call("c2", "read_file", json!({"path": "escape"}))
            .tool_call("c3", "read_file", json!({"path": secret.to_string_lossy()}))
            .into(),
        Turn::text("refused, fine"),
    ])
    .unwrap();
    cairn(&home, &fake)
        .run(["run", "--name", "esc", "-p", "read outside"])
        .success();
    let body = fake.requests()[1].body.to_string();
    assert!(!body.contains("TOP SECRET"), "{body}");
    let results = tool_results(&home, "esc");
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|(err, _)| *err), "{results:?}");
}

#[test]
fn file_tools_cannot_plant_commands_in_git_or_config() {
    let home = TestHome::new();
    fixture(&home);
    let p = &home.project;
    std::fs::create_dir_all(p.join(".git/hooks")).unwrap();
    let git_config = "[core]\n\trepositoryformatversion = 0\n";
    std::fs::write(p.join(".git/config"), git_config).unwrap();
    std::os::unix::fs::symlink(p.join(".git"), p.join("gitlink")).unwrap();
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call(
                "c1",
                "edit_file",
                json!({"path": ".git/config", "old_string": "[core]\n",
                       "new_string": "[core]\n\tfsmonitor = \"touch pwned\"\n"}),
            )
            .tool_call(
                "c2",
                "write_file",
                json!({"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\ntouch pwned\n"}),
            )
            .tool_call(
                "c3",
                "write_file",
                json!({"path": ".GIT/config", "content": "[core]\nfsmonitor = x\n"}),
            )
            .tool_call(
                "c4",
                "write_file",
                json!({"path": "gitlink/config", "content": "[core]\nfsmonitor = x\n"}),
            )
            .tool_call(
                "c5",
                "write_file",
                json!({"path": "sub/.git", "content": "gitdir: ../elsewhere\n"}),
            )
            .tool_call(
                "c6",
                "write_file",
                json!({"path": ".cairn.toml", "content": "model = \"x\"\n"}),
            )
            .tool_call(
                "c7",
                "write_file",
                json!({"path": ".mcp.json", "content": "{}"}),
            )
            .tool_call(
                "c8",
                "write_file",
                json!({"path": "src/ok.rs", "content": "// fine\n"}),
            )
            .into(),
        Turn::text("done"),
    ])
    .unwrap();
    cairn(&home, &fake)
        .run(["run", "--name", "plant", "-p", "set up git"])
        .success();
    let results = tool_results(&home, "plant");
    assert_eq!(results.len(), 8, "{results:?}");
    for (is_error, text) in &results[..7] {
        assert!(*is_error, "{text}");
        assert!(
            text.contains("protected path") || text.contains("symlink refused"),
            "{text}"
        );
    }
    assert!(results[0].1.contains("rule: .git"), "{}", results[0].1);
    assert!(!results[7].0, "{}", results[7].1);
    assert_eq!(
        std::fs::read_to_string(p.join(".git/config")).unwrap(),
        git_config
    );
    assert!(!p.join(".git/hooks/pre-commit").exists());
    assert!(!p.join("sub").exists());
    assert!(!p.join(".cairn.toml").exists());
    assert!(!p.join(".mcp.json").exists());
    assert!(p.join("src/ok.rs").exists());
}

#[test]
fn read_file_refuses_fifos_at_once_and_streams_big_files() {
    let home = TestHome::new();
    fixture(&home);
    let p = &home.project;
    let fifo = p.join("pipe");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path only.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
    // 10 KiB of text, then a 700 MB hole: sparse, so it costs no disk.
    let big = p.join("big.log");
    let text: String = (1..=1000).map(|i| format!("line {i:04}\n")).collect();
    std::fs::write(&big, &text).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(700 * 1024 * 1024)
        .unwrap();
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("c1", "read_file", json!({"path": "pipe"}))
            .tool_call(
                "c2",
                "read_file",
                json!({"path": "big.log", "start_line": 2, "end_line": 3}),
            )
            .into(),
        Turn::text("done"),
    ])
    .unwrap();
    // Should a read wait for a writer (the bug), a watchdog opens the FIFO after a
    // deadline, so the test fails on the time check instead of hanging.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(20));
        let _ = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo);
    });
    let started = Instant::now();
    let out = cairn(&home, &fake).run(["run", "--name", "big", "-p", "read them"]);
    out.success();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    let peak = out.peak_rss_bytes;
    assert!(peak < 200 * 1024 * 1024, "cairn peaked at {peak} bytes");
    let results = tool_results(&home, "big");
    assert!(results[0].0, "{}", results[0].1);
    assert!(results[0].1.contains("FIFO"), "{}", results[0].1);
    assert!(!results[1].0, "{}", results[1].1);
    assert!(
        results[1]
            .1
            .starts_with("[big.log lines 2-3 of 1001]\nline 0002\nline 0003\n"),
        "{}",
        results[1].1
    );
}

#[test]
fn shell_output_is_capped_while_it_is_read() {
    let home = TestHome::new();
    fixture(&home);
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call(
                "c1",
                "shell",
                json!({"command": "yes | head -c 300000000; echo the-end"}),
            )
            .into(),
        // 8 MiB of kept output is past the compression threshold: the compressor's
        // summary comes first.
        Turn::text("summary: the command printed y lines"),
        Turn::text("done"),
    ])
    .unwrap();
    let out = cairn(&home, &fake).run(["run", "--yes", "--name", "loud", "-p", "be loud"]);
    out.success();
    // Reading the whole 300 MB first peaked at 407 MB; capped, the process stays near
    // its baseline (tokenizer tables, the 8 MiB kept) plus one copy for the store:
    // 195–214 MB measured on 2026-12-06.
    let peak = out.peak_rss_bytes;
    assert!(peak < 256 * 1024 * 1024, "cairn peaked at {peak} bytes");
    let results = tool_results(&home, "loud");
    let (is_error, text) = &results[0];
    assert!(!is_error, "{text}");
    assert!(text.starts_with("exit code 0\n--- stdout ---\ny\ny\n"));
    assert!(
        text.ends_with("y\nthe-end\n"),
        "{}",
        &text[text.len() - 100..]
    );
    let dropped = 300_000_000 + "the-end\n".len() - 8 * 1024 * 1024;
    assert!(
        text.contains(&format!("[cairn: {dropped} bytes of stdout dropped here")),
        "{}",
        text.len()
    );
}

#[test]
fn allowed_shell_commands_take_no_smuggled_arguments() {
    let home = TestHome::new();
    fixture(&home);
    let outside = home.write_file("outside-secret.txt", "TOP SECRET\n");
    home.write_config("[shell]\nallow = [\"git diff\", \"ls *\"]\n");
    let stolen = format!("git diff --no-index {} /dev/null", outside.display());
    let planted = format!(
        "git diff --no-index --output={} README.md src/auth.rs",
        home.root().join("planted").display()
    );
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("c1", "shell", json!({"command": stolen}))
            .tool_call("c2", "shell", json!({"command": planted}))
            .tool_call("c3", "shell", json!({"command": "ls src; touch chained"}))
            .tool_call("c4", "shell", json!({"command": "ls -1 src"}))
            .into(),
        Turn::text("done"),
    ])
    .unwrap();
    cairn(&home, &fake)
        .run(["run", "--name", "smuggle", "-p", "look around"])
        .success();
    let body = fake.requests()[1].body.to_string();
    assert!(!body.contains("TOP SECRET"), "{body}");
    assert!(!home.root().join("planted").exists());
    assert!(!home.project.join("chained").exists());
    let results = tool_results(&home, "smuggle");
    assert_eq!(results.len(), 4, "{results:?}");
    for (is_error, text) in &results[..3] {
        assert!(*is_error && text.contains("refused"), "{text}");
    }
    assert_eq!(
        results[3],
        (false, "exit code 0\n--- stdout ---\nauth.rs\n".to_owned())
    );
}

/// Issue 8 item 2: resuming a session of another project does not silently make that
/// project (which an imported file may have set to anything) the tools' root: it is
/// refused, naming both projects and the flag that confirms it.
#[test]
fn a_session_of_another_project_is_refused_unless_confirmed() {
    let home = TestHome::new();
    fixture(&home);
    let fake = FakeLlm::start([Turn::text("created"), Turn::text("confirmed")]).unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "--name", "elsewhere", "-p", "hello"])
        .success();
    let other = home.dir("other");
    let from_other = cairn(&home, &fake).current_dir(&other);
    let out = from_other.run(["run", "--resume", "elsewhere", "-p", "read /etc/passwd"]);
    out.code(2).stderr_has(&[
        &home.project_key(),
        other.to_str().unwrap(),
        "--allow-other-project",
    ]);
    assert_eq!(
        fake.requests().len(),
        1,
        "nothing was sent for the refused run"
    );
    from_other
        .run([
            "run",
            "--resume",
            "elsewhere",
            "--allow-other-project",
            "-p",
            "go on",
        ])
        .success()
        .stdout_has(&["confirmed"]);
}
