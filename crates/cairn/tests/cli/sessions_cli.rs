//! `cairn sessions …` through the real binary, in a private CAIRN_HOME.

use crate::sessions_fixtures;

use cairn_testkit::home::TestHome;
use insta::assert_snapshot;
use serde_json::{Value, json};
use sessions_fixtures::*;

/// A table with its padding replaced by ` | `, for snapshots.
fn columns(table: &str) -> String {
    table
        .lines()
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn empty_list_says_how_to_start() {
    let home = TestHome::new();
    let c = cairn(&home);
    let out = c.run(["sessions", "list"]);
    out.success();
    assert_snapshot!(scrub(&home, &out.stdout), @r"
    No sessions in [ROOT]/project yet.
    Start one with `cairn run --name NAME`, or connect an agent with `cairn mcp`.
    `cairn sessions list --all` lists every project's sessions.
    ");
    let out = c.run(["sessions", "list", "--json"]);
    out.success();
    assert_eq!(out.json(), json!([]));
}

#[test]
fn list_is_per_project_newest_first_and_pages() {
    let home = TestHome::with_git();
    let c = cairn(&home);
    let here = home.project_key();
    let other_dir = home.dir("other");
    let other = other_dir.to_string_lossy().into_owned();
    import(
        &c,
        &home,
        "a.jsonl",
        &simple("alpha", &here, &["one", "two"]),
    );
    // Newer activity: three events, the last one later than alpha's.
    import(
        &c,
        &home,
        "b.jsonl",
        &simple("beta", &here, &["one", "two", "three"]),
    );
    import(&c, &home, "c.jsonl", &simple("gamma", &other, &["one"]));

    let out = c.run(["sessions", "list"]);
    out.success();
    // Column widths depend on the temp dir's path length; alignment itself is
    // checked in output.rs.
    assert_snapshot!(columns(&scrub(&home, &out.stdout)), @r"
    NAME | TITLE | PROJECT | MODEL | STATUS | MESSAGES | TOKENS | COST | LAST ACTIVE
    beta | Title of beta | [ROOT]/project | openai:gpt-4.1 | active | 3 | 0 | $0.00 | 2025-03-01
    alpha | Title of alpha | [ROOT]/project | openai:gpt-4.1 | active | 2 | 0 | $0.00 | 2025-03-01
    ");

    // From a subdirectory of the git repository it is the same project.
    let sub = home.project.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let out = c.run([
        "--project",
        sub.to_str().unwrap(),
        "sessions",
        "list",
        "--json",
    ]);
    out.success();
    let v = out.json();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["beta", "alpha"]);

    // --project picks another project; --all lists every one, newest first.
    let out = c.run(["sessions", "list", "--project", &other, "--json"]);
    out.success();
    assert_eq!(out.json()[0]["name"], "gamma");
    assert_eq!(out.json().as_array().unwrap().len(), 1);
    assert_eq!(listed(&c), ["beta", "alpha", "gamma"]);

    // Paging.
    let out = c.run([
        "sessions", "list", "--all", "--limit", "1", "--offset", "1", "--json",
    ]);
    out.success();
    let page = out.json();
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["name"], "alpha");
    let out = c.run(["sessions", "list", "--all", "--limit", "2"]);
    out.success()
        .stdout_has(&["Showing 1–2 of 3; next page: --offset 2"]);

    // --all and --project together are a usage error.
    c.run(["sessions", "list", "--all", "--project", &other])
        .code(2)
        .stderr_has(&["--all", "--project"]);
}

#[test]
fn list_json_shape() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(&c, &home, "r.jsonl", &rich("rich", &home.project_key()));
    let out = c.run(["sessions", "list", "--json"]);
    out.success();
    let row = &out.json()[0];
    assert_eq!(row["name"], "rich");
    assert_eq!(row["title"], "Title of rich");
    assert_eq!(row["project"], home.project_key());
    assert_eq!(row["model"], "openai:gpt-4.1");
    assert_eq!(row["status"], "active");
    assert_eq!(row["message_count"], 9);
    assert_eq!(row["tokens"], 3410);
    assert!((row["cost_usd"].as_f64().unwrap() - 0.0275).abs() < 1e-9);
    assert_eq!(row["created_at"], "2025-03-01T09:00:00Z");
    assert_eq!(row["updated_at"], "2025-03-01T09:00:14Z");
    assert!(row["live_tokens"].as_u64().unwrap() > 0, "{row}");
}

#[test]
fn show_gives_totals_text_and_json() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(&c, &home, "r.jsonl", &rich("rich", &home.project_key()));
    let out = c.run(["sessions", "show", "rich"]);
    out.success();
    let text = scrub(&home, &out.stdout);
    // The id and relative times vary; everything else is fixed.
    let stable: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.starts_with("id:")
                && !l.starts_with("created:")
                && !l.starts_with("last active:")
                && !l.starts_with("live context:")
                && !l.starts_with("written by:")
        })
        .collect();
    // Who imported it (`user@host` of the machine running the test) wrote every event.
    let written_by = text.lines().find(|l| l.starts_with("written by:"));
    assert!(
        written_by.is_some_and(|l| l.contains('@') && l.ends_with(" (14 events)")),
        "{text}"
    );
    assert_snapshot!(stable.join("\n"), @r"
    rich
    title:            Title of rich
    project:          [ROOT]/project
    model:            openai:gpt-4.1
    status:           active
    events:           14
    messages:         9
    tool calls:       2
    compactions:      2 (latest at seq 12; live context starts at seq 10)
    tokens:
      input:                   2,800
      output:                    170
      cache read:                300
      cache write:               100
      reasoning:                  40
      total:                   3,410
    cost:             $0.03
    ");
    assert!(
        text.contains("created:          2025-03-01 09:00:00Z"),
        "{text}"
    );
    assert!(
        text.contains("last active:      2025-03-01 09:00:14Z"),
        "{text}"
    );

    let out = c.run(["sessions", "show", "rich", "--json"]);
    out.success();
    let v = out.json();
    assert_eq!(v["name"], "rich");
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 2800, "output_tokens": 170,
        "cache_read_tokens": 300, "cache_write_tokens": 100, "reasoning_tokens": 40})
    );
    assert_eq!(v["total_tokens"], 3410);
    assert_eq!(v["message_count"], 9);
    assert_eq!(v["tool_call_count"], 2);
    assert_eq!(v["compaction_count"], 2);
    assert_eq!(v["compaction_seq"], 12);
    assert_eq!(v["context_start_seq"], 10);
    assert_eq!(v["head_seq"], 14);
    assert_eq!(v["parent_id"], serde_json::Value::Null);
    assert_eq!(v["parent_name"], serde_json::Value::Null);
    let live = v["live_tokens"].as_u64().unwrap();
    assert!(live > 0, "{v}");
    assert!(out.stdout.contains("\"id\": \""), "{}", out.stdout);
}

#[test]
fn show_names_the_parent_of_a_fork() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(
        &c,
        &home,
        "r.jsonl",
        &rich("main-line", &home.project_key()),
    );
    // A fork made through the store itself, as the chat engine would.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = home_store(&home);
        let parent = store
            .session(&cairn_core::SessionName::parse("main-line").unwrap())
            .await
            .unwrap();
        let mut fork = cairn_core::NewSession::new(
            cairn_core::SessionName::parse("side-quest").unwrap(),
            parent.project.clone(),
        );
        fork.parent_id = Some(parent.id);
        fork.fork_seq = Some(7);
        store.create_session(fork).await.unwrap();
    });
    let out = c.run(["sessions", "show", "side-quest"]);
    out.success()
        .stdout_has(&["parent:           main-line (", ") at seq 7"]);
    let v = c.run(["sessions", "show", "side-quest", "--json"]).json();
    assert_eq!(v["parent_name"], "main-line");
    assert_eq!(v["fork_seq"], 7);
}

#[test]
fn unknown_and_refused_names_exit_3_and_2() {
    let home = TestHome::new();
    let c = cairn(&home);
    for verb in [
        vec!["show", "nope"],
        vec!["context", "nope"],
        vec!["export", "nope"],
        vec!["rm", "nope", "--yes"],
        vec!["rename", "nope", "other"],
    ] {
        let args: Vec<&str> = ["sessions"].into_iter().chain(verb).collect();
        c.run(&args).code(3).stderr_has(&["not found", "nope"]);
    }
    for verb in [
        vec!["show", "a/b"],
        vec!["context", "../etc"],
        vec!["export", "with space"],
        vec!["rm", ".hidden", "--yes"],
        vec!["rename", "ok", "bad/name"],
    ] {
        let args: Vec<&str> = ["sessions"].into_iter().chain(verb).collect();
        c.run(&args)
            .code(2)
            .stderr_has(&["^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"]);
    }
}

#[test]
fn context_on_a_store_never_created_says_not_found_and_creates_nothing() {
    let home = TestHome::new();
    let c = cairn(&home);
    c.run(["sessions", "context", "nope"])
        .code(3)
        .stderr_has(&["not found", "nope"]);
    assert!(!home.store_file().exists(), "context created the store");
}

#[test]
fn context_is_the_live_context_as_sent() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(&c, &home, "r.jsonl", &rich("rich", &home.project_key()));
    let out = c.run(["sessions", "context", "rich"]);
    out.success();
    assert_snapshot!(out.stdout, @r#"
    ── preamble (user): compaction at seq 12 of seq 1–9, 7,000 → 600 tokens ──
    [cairn] Earlier parts of this session (events 1–9) were compressed into the summary below; the full history is kept on disk. The recall tool reads it back verbatim: recall(query="words") finds where something was said, recall(seq=N) reads event N whole.

    # Summary of earlier work
    JWT auth in place; refresh tokens started; write failed.

    ## Knowledge to respect
    Kept by cairn across context compressions; follow these unless the user changes them.
    - [constraint] Never log tokens
    - [decision] Use JWT with RS256

    ── live messages (3) ──
    #10 tool · 2025-03-01 09:00:10Z
    ← result of call_2 (error):
    permission denied

    #13 user · 2025-03-01 09:00:13Z
    Retry the write with sudo? No: fix permissions.

    #14 assistant · 2025-03-01 09:00:14Z · 730 tokens · $0.0050
    Fixed the permissions and wrote refresh.rs.
    "#);

    let out = c.run(["sessions", "context", "rich", "--json"]);
    out.success();
    let v = out.json();
    assert_eq!(v["session"], "rich");
    assert_eq!(v["mode"], "live");
    assert!(
        v["preamble"]
            .as_str()
            .unwrap()
            .contains("# Summary of earlier work")
    );
    assert_eq!(v["compaction"]["seq"], 12);
    assert_eq!(v["compaction"]["replaces"], json!([1, 9]));
    let knowledge: Vec<u64> = v["knowledge"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(knowledge, [5, 11]);
    let seqs: Vec<u64> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [10, 13, 14]);

    // --role filters the messages; the preamble is a user message.
    let v = c
        .run([
            "sessions",
            "context",
            "rich",
            "--role",
            "assistant",
            "--json",
        ])
        .json();
    assert_eq!(v["preamble"], serde_json::Value::Null);
    let seqs: Vec<u64> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [14]);
    let out = c.run(["sessions", "context", "rich", "--role", "user"]);
    out.success()
        .stdout_has(&["── preamble (user)", "#13 user", "── live messages (1) ──"]);
    assert!(!out.stdout.contains("#14"), "{}", out.stdout);
    c.run(["sessions", "context", "rich", "--role", "robot"])
        .code(2);
}

#[test]
fn context_all_marks_compaction_boundaries() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(&c, &home, "r.jsonl", &rich("rich", &home.project_key()));
    let out = c.run(["sessions", "context", "rich", "--all"]);
    out.success();
    let text = &out.stdout;
    for seq in 1..=14 {
        assert!(
            text.contains(&format!("#{seq} ")),
            "seq {seq} missing:\n{text}"
        );
    }
    out.stdout_has(&[
        "── #6 compaction · replaces seq 1–4 · 5,000 → 400 tokens ──",
        "── #12 compaction · replaces seq 1–9 · 7,000 → 600 tokens ──",
        "── live context starts here (seq 10) ──",
        "#8 command · 2025-03-01 09:00:08Z\n{\"name\":\"/model\",\"args\":[\"anthropic:claude\"]}",
        "→ read_file (call_1) {\"path\":\"src/auth.rs\"}",
        "(thinking) Look at auth.rs first.",
        "[image image/png sha256:",
        "[hologram] {\"type\":\"hologram\",\"frames\":3}",
        "#5 knowledge · 2025-03-01 09:00:05Z\ndecision: Use JWT with RS256 (pinned)",
    ]);
    // The boundary comes right before the first live event.
    let mark = text.find("live context starts here").unwrap();
    assert!(mark < text.find("#10 tool").unwrap() && mark > text.find("#9 assistant").unwrap());

    let v = c
        .run(["sessions", "context", "rich", "--all", "--json"])
        .json();
    assert_eq!(v["mode"], "all");
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 14);
    assert_eq!(events[5]["kind"], "compaction");
    assert_eq!(events[7]["kind"], "command");
    // Images are referenced by hash in the store, not carried inline.
    assert_eq!(
        events[1]["content"][1]["data_base64"],
        serde_json::Value::Null
    );
    assert_eq!(events[1]["content"][1]["sha256"], sha256_hex(PNG));

    let v = c
        .run([
            "sessions", "context", "rich", "--all", "--role", "tool", "--json",
        ])
        .json();
    let seqs: Vec<u64> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [4, 10]);
}

#[test]
fn context_large_lists_only_big_events() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(&c, &home, "r.jsonl", &rich("rich", &home.project_key()));
    // Only seq 4 (a ~1.7 KB tool result) is over the default 1000 bytes, and it is
    // not in the live context.
    let v = c
        .run(["sessions", "context", "rich", "--large", "--all", "--json"])
        .json();
    let hits = v["events"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{v}");
    assert_eq!(hits[0]["event"]["seq"], 4);
    assert!(hits[0]["bytes"].as_u64().unwrap() >= 1000);
    let v = c
        .run(["sessions", "context", "rich", "--large", "--json"])
        .json();
    assert_eq!(v["events"], json!([]));
    // A lower bar catches the live messages too.
    let v = c
        .run(["sessions", "context", "rich", "--large", "100", "--json"])
        .json();
    let seqs: Vec<u64> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["seq"].as_u64().unwrap())
        .collect();
    assert!(
        seqs.contains(&13) && seqs.contains(&14) && !seqs.contains(&4),
        "{seqs:?}"
    );
    let out = c.run(["sessions", "context", "rich", "--large", "--all"]);
    out.success().stdout_has(&[
        "── events of at least 1000 B in the history ──",
        "#4 tool ·",
        " KiB",
    ]);
    c.run(["sessions", "context", "rich", "--large", "lots"])
        .code(2);
}

#[test]
fn context_of_a_session_without_compaction_or_events() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(
        &c,
        &home,
        "e.jsonl",
        &jsonl(&header("empty", &home.project_key()), &[]),
    );
    let out = c.run(["sessions", "context", "empty"]);
    out.success();
    assert_eq!(out.stdout, "(no events)\n");
    let v = c.run(["sessions", "context", "empty", "--json"]).json();
    assert_eq!(v["events"], json!([]));
    assert_eq!(v["preamble"], serde_json::Value::Null);
    import(
        &c,
        &home,
        "s.jsonl",
        &simple("plain", &home.project_key(), &["hello", "hi there"]),
    );
    let out = c.run(["sessions", "context", "plain"]);
    out.success();
    assert_snapshot!(out.stdout, @r"
    #1 user · 2025-03-01 09:00:01Z
    hello

    #2 assistant · 2025-03-01 09:00:02Z
    hi there
    ");
}

#[test]
fn rename_moves_the_name_and_keeps_everything() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(&c, &home, "r.jsonl", &rich("old-name", &home.project_key()));
    import(
        &c,
        &home,
        "s.jsonl",
        &simple("taken", &home.project_key(), &["x"]),
    );
    let before = c
        .run(["sessions", "context", "old-name", "--all", "--json"])
        .json();
    c.run(["sessions", "rename", "old-name", "new-name"])
        .success()
        .stdout_has(&["renamed old-name → new-name"]);
    c.run(["sessions", "show", "old-name"]).code(3);
    let after = c
        .run(["sessions", "context", "new-name", "--all", "--json"])
        .json();
    assert_eq!(before["events"], after["events"]);
    // The new name must be free and valid; nothing changes otherwise.
    c.run(["sessions", "rename", "new-name", "taken"])
        .code(1)
        .stderr_has(&["already exists", "taken"]);
    c.run(["sessions", "rename", "new-name", "a b"]).code(2);
    assert_eq!(listed(&c), ["new-name", "taken"]);
    let v = c
        .run(["sessions", "rename", "new-name", "third", "--json"])
        .json();
    assert_eq!(v, json!({"renamed": {"from": "new-name", "to": "third"}}));
}

#[test]
fn rm_asks_or_needs_yes() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(
        &c,
        &home,
        "s.jsonl",
        &simple("doomed", &home.project_key(), &["x"]),
    );
    // Not at a terminal and no --yes: refused, nothing deleted.
    c.run(["sessions", "rm", "doomed"])
        .code(2)
        .stderr_has(&["pass --yes"]);
    assert_eq!(listed(&c), ["doomed"]);
    // Piped "y" is not a terminal either: still refused.
    c.run_with_stdin(["sessions", "rm", "doomed"], Some(b"y\n"))
        .code(2);
    assert_eq!(listed(&c), ["doomed"]);
    c.run(["sessions", "rm", "doomed", "--yes"])
        .success()
        .stdout_has(&["deleted doomed"]);
    assert!(listed(&c).is_empty());
    c.run(["sessions", "show", "doomed"]).code(3);
    import(
        &c,
        &home,
        "s.jsonl",
        &simple("again", &home.project_key(), &["x"]),
    );
    let v = c.run(["sessions", "rm", "again", "-y", "--json"]).json();
    assert_eq!(
        v,
        json!({"deleted": "again", "attachments_removed": {"count": 0, "bytes": 0}})
    );
}

#[test]
fn rm_on_a_terminal_asks_first() {
    // `script` gives the process a real terminal as stdin.
    let home = TestHome::new();
    let c = cairn(&home);
    import(
        &c,
        &home,
        "s.jsonl",
        &simple("asked", &home.project_key(), &["x"]),
    );
    let bin = env!("CARGO_BIN_EXE_cairn");
    let run_on_tty = |answer: &str| {
        let command = format!("{bin} sessions rm asked");
        let out = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(&home.project)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home.user_home)
            .env("CAIRN_HOME", &home.cairn_home)
            .envs(home.store_env())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(answer.as_bytes())
                    .unwrap();
                child.wait_with_output().unwrap()
            })
            .expect("`script` (util-linux) is needed for this test; run scripts/install-test-deps");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said_no = run_on_tty("n\n");
    assert!(
        said_no.contains("Delete session asked and its whole history"),
        "{said_no}"
    );
    assert!(said_no.contains("not deleted"), "{said_no}");
    assert_eq!(listed(&c), ["asked"]);
    let said_yes = run_on_tty("y\n");
    assert!(said_yes.contains("deleted asked"), "{said_yes}");
    assert!(listed(&c).is_empty());
}

#[test]
fn export_import_round_trip_is_byte_identical() {
    let home = TestHome::new();
    let c = cairn(&home);
    let original = rich("rich", &home.project_key());
    import(&c, &home, "r.jsonl", &original);
    let first = c.run(["sessions", "export", "rich"]);
    first.success();
    // What came in is what goes out: the image data is restored from the store.
    assert_eq!(first.stdout, original);

    // Import the export under a new name, export again: identical but the name.
    let path = home.write_file("export1.jsonl", &first.stdout_bytes);
    c.run([
        "sessions".as_ref(),
        "import".as_ref(),
        path.as_os_str(),
        "--name".as_ref(),
        "copy".as_ref(),
    ])
    .success()
    .stdout_has(&["imported copy (14 events, 1 attachments)"]);
    let second = c.run(["sessions", "export", "copy"]);
    second.success();
    let renamed = first
        .stdout
        .replacen("\"name\":\"rich\"", "\"name\":\"copy\"", 1);
    assert_eq!(second.stdout, renamed);

    // -o FILE writes the same bytes, and stdin ("-") imports them.
    let out_file = home.root().join("copy.jsonl");
    c.run([
        "sessions".as_ref(),
        "export".as_ref(),
        "copy".as_ref(),
        "-o".as_ref(),
        out_file.as_os_str(),
    ])
    .success();
    assert_eq!(std::fs::read(&out_file).unwrap(), second.stdout_bytes);
    c.run_with_stdin(
        ["sessions", "import", "-", "--name", "from-stdin"],
        Some(&second.stdout_bytes),
    )
    .success();
    let third = c.run(["sessions", "export", "from-stdin"]);
    assert_eq!(
        third.stdout,
        first
            .stdout
            .replacen("\"name\":\"rich\"", "\"name\":\"from-stdin\"", 1)
    );
    // Totals survive too.
    let a = c.run(["sessions", "show", "rich", "--json"]).json();
    let b = c.run(["sessions", "show", "from-stdin", "--json"]).json();
    for key in [
        "usage",
        "cost_usd",
        "message_count",
        "tool_call_count",
        "compaction_count",
        "head_seq",
        "context_start_seq",
        "live_tokens",
        "created_at",
        "updated_at",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
}

#[test]
fn import_refuses_a_taken_name_and_changes_nothing() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(
        &c,
        &home,
        "a.jsonl",
        &simple("same", &home.project_key(), &["first"]),
    );
    let before = c.run(["sessions", "export", "same"]).stdout;
    let path = home.write_file(
        "b.jsonl",
        simple("same", &home.project_key(), &["second", "x"]),
    );
    c.run(["sessions".as_ref(), "import".as_ref(), path.as_os_str()])
        .code(1)
        .stderr_has(&["already exists", "same", "--name NEW"]);
    assert_eq!(c.run(["sessions", "export", "same"]).stdout, before);
    let v = c
        .run([
            "sessions".as_ref(),
            "import".as_ref(),
            path.as_os_str(),
            "--name".as_ref(),
            "other".as_ref(),
            "--json".as_ref(),
        ])
        .json();
    assert_eq!(v["imported"], "other");
    assert_eq!(v["events"], 2);
    assert_eq!(listed(&c).len(), 2);
}

#[test]
fn import_checks_the_inline_image() {
    let home = TestHome::new();
    let c = cairn(&home);
    let bad = rich("rich", &home.project_key()).replacen(&sha256_hex(PNG), &"0".repeat(64), 1);
    let path = home.write_file("bad.jsonl", bad);
    c.run(["sessions".as_ref(), "import".as_ref(), path.as_os_str()])
        .code(2)
        .stderr_has(&["bad.jsonl: line 3: ", "sha256"]);
    assert!(listed(&c).is_empty());
}

#[test]
fn search_finds_text_newest_first() {
    let home = TestHome::new();
    let c = cairn(&home);
    // Imported oldest first, so that time order and storage order agree.
    let other = home.dir("elsewhere").to_string_lossy().into_owned();
    import(
        &c,
        &home,
        "o.jsonl",
        &simple("far-away", &other, &["permissions everywhere"]),
    );
    import(&c, &home, "r.jsonl", &rich("rich", &home.project_key()));

    let out = c.run(["sessions", "search", "permissions"]);
    out.success();
    // The rows, their order and the marked hit are the same on both stores; the
    // snippet's window is each store's own (FTS5 `snippet` keeps this short
    // message whole, PostgreSQL's `ts_headline` starts it at "…write").
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(lines[0], "SESSION  SEQ  ROLE       TIME        SNIPPET");
    assert_eq!(
        lines[1],
        "rich      14  assistant  2025-03-01  Fixed the [permissions] and wrote refresh.rs."
    );
    assert!(
        lines[2].starts_with("rich      13  user       2025-03-01  ")
            && lines[2].ends_with("write with sudo? No: fix [permissions]."),
        "{}",
        out.stdout
    );
    let v = c
        .run(["sessions", "search", "permissions", "--all", "--json"])
        .json();
    let hits = v.as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0]["session"], "rich");
    assert_eq!(hits[0]["seq"], 14);
    assert_eq!(hits[0]["role"], "assistant");
    assert_eq!(hits[0]["ts"], "2025-03-01T09:00:14Z");
    assert!(
        hits[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("[permissions]")
    );
    assert_eq!(hits[2]["session"], "far-away");
    let v = c
        .run([
            "sessions",
            "search",
            "permissions",
            "--all",
            "--limit",
            "1",
            "--json",
        ])
        .json();
    assert_eq!(v.as_array().unwrap().len(), 1);
    let out = c.run(["sessions", "search", "zebra"]);
    out.success()
        .stdout_has(&["No matches for \"zebra\"", "--all searches every project"]);
    c.run(["sessions", "search", "  "])
        .code(2)
        .stderr_has(&["empty"]);
}

/// Issue 14: hits come newest first by the time of the event (an imported
/// session keeps its own), and checkpoints are found too, by any of their fields.
#[test]
fn search_orders_by_event_time_and_finds_checkpoints() {
    let home = TestHome::new();
    let c = cairn(&home);
    let here = home.project_key();
    let at = |name: &str, ts: &str, text: &str| {
        let event = json!({"seq": 1, "ts": ts, "kind": "message", "role": "user",
                           "content": [{"type": "text", "text": text}]});
        jsonl(&header(name, &here), &[event])
    };
    // Imported newest first: insertion order is the reverse of event time.
    import(
        &c,
        &home,
        "n.jsonl",
        &at("newer", "2025-06-01T10:00:00Z", "okapi newer"),
    );
    import(
        &c,
        &home,
        "o.jsonl",
        &at("older", "2024-06-01T10:00:00Z", "okapi older"),
    );
    c.run([
        "progress",
        "save",
        "auth-v2",
        "--summary",
        "Login works",
        "--decisions",
        "okapi tokens rotate daily",
        "--next",
        "Write the refresh endpoint",
    ])
    .success();

    let v = c.run(["sessions", "search", "okapi", "--json"]).json();
    let found: Vec<(&str, &str)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["kind"].as_str().unwrap(), h["session"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("checkpoint", "auth-v2"),
            ("chat", "newer"),
            ("chat", "older")
        ]
    );
    assert_eq!(v[0]["seq"], Value::Null);
    assert!(v[0]["snippet"].as_str().unwrap().contains("[okapi]"), "{v}");
    assert_eq!(v[1]["ts"], "2025-06-01T10:00:00Z");

    // Next steps are searched too; the table marks the checkpoint.
    c.run(["sessions", "search", "refresh endpoint"])
        .success()
        .stdout_has(&["auth-v2", "checkpoint", "[refresh] [endpoint]"]);
    let v = c
        .run(["sessions", "search", "okapi", "--limit", "1", "--json"])
        .json();
    assert_eq!(v.as_array().unwrap().len(), 1);
}

#[test]
fn every_command_has_help_with_an_example() {
    let home = TestHome::new();
    let c = cairn(&home);
    for verb in [
        "list", "show", "context", "rename", "rm", "export", "import", "search", "gc", "prune",
    ] {
        let out = c.run(["sessions", verb, "--help"]);
        out.success();
        assert!(out.stdout.contains("Example"), "{verb}: {}", out.stdout);
        assert!(
            out.stdout.contains(&format!("cairn sessions {verb}")),
            "{verb}: {}",
            out.stdout
        );
    }
    for verb in ["path", "show"] {
        let out = c.run(["config", verb, "--help"]);
        out.success()
            .stdout_has(&["Example", &format!("cairn config {verb}")]);
    }
    c.run(["sessions", "frobnicate"]).code(2);
}

/// Issue 8 item 15: an export is as private as the store (0600), whatever was at the
/// target before (a wider file keeps no wider mode, a symlink is replaced, never
/// followed); titles with newlines or bidi controls are escaped in human output and
/// exact in JSON.
#[test]
fn export_is_private_and_hostile_titles_are_escaped() {
    use std::os::unix::fs::PermissionsExt;
    let home = TestHome::new();
    let c = cairn(&home);
    let title = "Fix \u{202E}exe.txt\nFAKE  ROW  OF  THE  TABLE";
    let mut head = header("tricky", &home.project_key());
    head["title"] = json!(title);
    import(
        &c,
        &home,
        "t.jsonl",
        &jsonl(&head, &[message(1, "user", "hi")]),
    );

    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let fresh = home.root().join("fresh.jsonl");
    let wide = home.root().join("wide.jsonl");
    std::fs::write(&wide, "old").unwrap();
    std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
    let victim = home.root().join("victim.txt");
    std::fs::write(&victim, "untouched").unwrap();
    let link = home.root().join("link.jsonl");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    for target in [&fresh, &wide, &link] {
        c.run([
            "sessions".as_ref(),
            "export".as_ref(),
            "tricky".as_ref(),
            "-o".as_ref(),
            target.as_os_str(),
        ])
        .success();
        assert_eq!(mode(target), 0o600, "{}", target.display());
    }
    assert!(
        !std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");

    for args in [vec!["sessions", "show", "tricky"], vec!["sessions", "list"]] {
        let out = c.run(&args);
        out.success();
        assert!(!out.stdout.contains('\u{202E}'), "{args:?}: {}", out.stdout);
        assert!(out.stdout.contains("\\u{202e}"), "{args:?}: {}", out.stdout);
        assert!(
            !out.stdout.lines().any(|l| l.starts_with("FAKE")),
            "{args:?}: {}",
            out.stdout
        );
    }
    let v = c.run(["sessions", "show", "tricky", "--json"]).json();
    assert_eq!(v["title"], title);
}
