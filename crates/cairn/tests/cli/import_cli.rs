//! `cairn import claude-code|codex` through the real binary, on small transcripts
//! written in each tool's format (tests/fixtures/import): the live branch, split
//! responses with usage counted once, tool calls paired with results, compaction,
//! sub-agents, images, zstd, cumulative token counts, incremental re-import, and
//! hostile lines (each reported with file and line, the rest imported).

use std::fs;
use std::path::{Path, PathBuf};

use cairn_testkit::cli::Cairn;
use cairn_testkit::fake_llm::{FakeLlm, Turn};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cairn");
const CC_CWD: &str = "/nonexistent/cairn-cc-fixture-proj";
const CODEX_CWD: &str = "/nonexistent/cairn-codex-fixture";
const CC_MAIN: &str = "5c0ffee0-1111-4a4a-9b9b-000000000001.jsonl";
const ROLLOUT: &str =
    "sessions/2026/11/21/rollout-2026-11-21T10-00-00-0199aaaa-bbbb-7ccc-8ddd-eeeeffff0001.jsonl";

fn cairn(home: &TestHome) -> Cairn {
    Cairn::new(BIN, home)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

/// Copies a fixture folder into the test's home, with the transcripts' working
/// directory replaced by `cwd`.
fn copy_fixture(home: &TestHome, name: &str, cwd: &str) -> PathBuf {
    let target = home.dir(&format!("transcripts-{name}"));
    copy_tree(&fixtures().join(name), &target, cwd);
    target
}

fn copy_tree(from: &Path, to: &Path, cwd: &str) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, cwd);
        } else {
            let text = fs::read_to_string(entry.path()).unwrap();
            let text = text.replace(CC_CWD, cwd).replace(CODEX_CWD, cwd);
            fs::write(target, text).unwrap();
        }
    }
}

fn cc_main(dir: &Path) -> PathBuf {
    dir.join("-nonexistent-cairn-cc-fixture-proj").join(CC_MAIN)
}

/// The events of an exported session (the header dropped).
fn exported(c: &Cairn, name: &str) -> Vec<Value> {
    let out = c.run(["sessions", "export", name]);
    out.success();
    out.stdout
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn roles(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e["kind"].as_str().unwrap() {
            "message" => e["role"].as_str().unwrap().to_owned(),
            other => other.to_owned(),
        })
        .collect()
}

fn import_json(c: &Cairn, args: &[&str]) -> Value {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = c.run(&all);
    out.success();
    out.json()
}

fn actions(summary: &Value) -> Vec<(String, String)> {
    summary["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap().to_owned(),
                s["session"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

#[test]
fn claude_code_live_branch_split_responses_tool_results_compaction_and_sub_agents() {
    let home = TestHome::new();
    let c = cairn(&home);
    let dir = copy_fixture(&home, "claude-code", &home.project_key());
    let summary = import_json(&c, &["claude-code", dir.to_str().unwrap()]);
    assert_eq!(
        actions(&summary),
        [
            ("imported".into(), "login-handler-hunt".into()),
            ("imported".into(), "login-handler-hunt-branch-1".into()),
            ("imported".into(), "cc-2026-11-20-5c0ffee0-a1b2c3".into()),
            ("imported".into(), "cc-2026-11-20-5c0ffee0-d4e5f6".into()),
        ]
    );
    let skipped = &summary["lines_skipped"];
    assert_eq!(skipped["not JSON"], 1, "{skipped}");
    assert_eq!(skipped["unknown type hologram"], 1, "{skipped}");
    // The abandoned branch is a fork now (tests/cli/import_forks_cli.rs), not skipped.
    assert!(
        !skipped.to_string().contains("off the live branch"),
        "{skipped}"
    );
    assert_eq!(skipped["tool result without call"], 1);
    let main = cc_main(&dir).display().to_string();
    let problems = summary["problems"].to_string();
    assert!(
        problems.contains(&format!("{main}:9: not JSON")),
        "{problems}"
    );
    assert!(
        problems.contains(&format!("{main}:16: tool result without call")),
        "{problems}"
    );

    let events = exported(&c, "login-handler-hunt");
    assert_eq!(
        roles(&events),
        [
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
            "compaction",
            "user",
            "assistant",
            "user"
        ]
    );
    // The two lines of response msg_01 are one message; its usage counts once.
    let split = &events[1];
    assert_eq!(split["content"][0]["type"], "thinking");
    assert_eq!(split["content"][1]["type"], "tool_use");
    assert_eq!(split["request_id"], "msg_01");
    assert_eq!(
        split["usage"],
        json!({"input_tokens": 10, "output_tokens": 20, "cache_read_tokens": 0,
               "cache_write_tokens": 100, "reasoning_tokens": 0})
    );
    assert!(split["cost_usd"].as_f64().unwrap() > 0.0, "priced: {split}");
    assert_eq!(split["model"], "anthropic:claude-sonnet-4-5-20250929");
    assert_eq!(events[2]["content"][0]["tool_use_id"], "toolu_01");
    assert_eq!(
        events[2]["content"][0]["content"],
        "src/login.rs:12: fn login()"
    );
    assert_eq!(events[4]["content"][1]["type"], "image");
    assert_eq!(events[4]["content"][1]["mime"], "image/png");
    assert_eq!(events[5]["replaces"], json!([1, 5]));
    assert_eq!(events[5]["tokens_before"], 1234);
    assert!(events[5]["summary"].as_str().unwrap().contains("ALBATROSS"));
    // The orphan tool result is dropped, the text beside it kept.
    assert_eq!(
        events[8]["content"],
        json!([{"type": "text", "text": "and one more thing"}])
    );
    let whole = serde_json::to_string(&events).unwrap();
    assert!(
        !whole.contains("ZEBRA"),
        "the abandoned branch was imported into the live one"
    );
    let branch = serde_json::to_string(&exported(&c, "login-handler-hunt-branch-1")).unwrap();
    assert!(branch.contains("ZEBRA"), "{branch}");

    let show = c.run(["sessions", "show", "login-handler-hunt", "--json"]);
    show.success();
    let show = show.json();
    assert_eq!(show["title"], "Login handler hunt");
    assert_eq!(show["project"], home.project_key());
    // Usage over the session: msg_01 once, msg_03, msg_04 (not the abandoned msg_02).
    assert_eq!(show["usage"]["input_tokens"], 10 + 30 + 50);
    assert_eq!(show["usage"]["output_tokens"], 20 + 7 + 9);
    for agent in [
        "cc-2026-11-20-5c0ffee0-a1b2c3",
        "cc-2026-11-20-5c0ffee0-d4e5f6",
    ] {
        let child = c.run(["sessions", "show", agent, "--json"]);
        child.success();
        assert_eq!(child.json()["parent_name"], "login-handler-hunt", "{agent}");
    }

    // Search finds the imported text, in the main session and in a sub-agent.
    c.run(["sessions", "search", "OSPREY", "--all"])
        .success()
        .stdout_has(&["login-handler-hunt"]);
    c.run(["sessions", "search", "CORMORANT", "--all"])
        .success()
        .stdout_has(&["cc-2026-11-20-5c0ffee0-a1b2c3"]);
}

#[test]
fn re_import_skips_unchanged_transcripts_and_appends_only_what_grew() {
    let home = TestHome::new();
    let c = cairn(&home);
    let dir = copy_fixture(&home, "claude-code", &home.project_key());
    let path = dir.to_str().unwrap();
    import_json(&c, &["claude-code", path]);
    let before = exported(&c, "login-handler-hunt");

    let again = import_json(&c, &["claude-code", path]);
    assert_eq!(
        (again["imported"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(3)),
        "{again}"
    );
    assert!(
        actions(&again).iter().all(|(a, _)| a == "unchanged"),
        "{again}"
    );
    assert_eq!(exported(&c, "login-handler-hunt"), before);

    // Claude Code wrote one more response; only it is appended.
    let grown = fs::read_to_string(fixtures().join("claude-code-grown.jsonl")).unwrap();
    let main = cc_main(&dir);
    let mut text = fs::read_to_string(&main).unwrap();
    text.push_str(&grown.replace(CC_CWD, &home.project_key()));
    fs::write(&main, text).unwrap();
    let dry = import_json(&c, &["claude-code", path, "--dry-run"]);
    assert_eq!(dry["updated"], 1);
    assert_eq!(
        exported(&c, "login-handler-hunt"),
        before,
        "a dry run wrote"
    );
    let updated = import_json(&c, &["claude-code", path]);
    assert_eq!(
        (updated["updated"].as_u64(), updated["skipped"].as_u64()),
        (Some(1), Some(2))
    );
    let after = exported(&c, "login-handler-hunt");
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after[..before.len()], before[..]);
    assert!(after[before.len()].to_string().contains("GANNET"));

    let third = import_json(&c, &["claude-code", path]);
    assert_eq!(third["skipped"], 3, "{third}");
    assert_eq!(exported(&c, "login-handler-hunt").len(), after.len());
}

#[test]
fn dry_run_reports_and_writes_nothing() {
    let home = TestHome::new();
    let c = cairn(&home);
    let dir = copy_fixture(&home, "codex", &home.project_key());
    let out = c.run(["import", "codex", dir.to_str().unwrap(), "--dry-run"]);
    out.success().stdout_has(&[
        "dry run: sessions would be imported: 1",
        "codex-2026-11-21-0199aaaa",
    ]);
    let list = c.run(["sessions", "list", "--all", "--json"]);
    list.success();
    assert_eq!(list.json(), json!([]));
}

fn codex_checks(events: &[Value]) {
    assert_eq!(
        roles(events),
        [
            "user",
            "assistant",
            "tool",
            "assistant",
            "tool",
            "assistant",
            "compaction",
            "user",
            "user"
        ]
    );
    // First request: totals 1000 in (200 cached), 50 out (20 reasoning).
    assert_eq!(
        events[1]["usage"],
        json!({"input_tokens": 800, "output_tokens": 30, "cache_read_tokens": 200,
               "cache_write_tokens": 0, "reasoning_tokens": 20})
    );
    assert_eq!(events[1]["content"][0]["type"], "thinking");
    assert_eq!(
        events[1]["content"][1],
        json!({"type": "tool_use", "id": "call_1", "name": "shell",
               "input": {"command": ["cargo", "test"]}})
    );
    assert_eq!(events[1]["model"], "openai:gpt-5-codex");
    // Second request: the difference of the cumulative totals, not their sum.
    assert_eq!(
        events[5]["usage"],
        json!({"input_tokens": 500, "output_tokens": 60, "cache_read_tokens": 1000,
               "cache_write_tokens": 0, "reasoning_tokens": 20})
    );
    // The duplicate output of call_1 is dropped; the custom tool call is paired.
    assert_eq!(events[2]["content"].as_array().unwrap().len(), 1);
    assert_eq!(
        events[3]["content"][0]["input"],
        json!({"input": "*** Begin Patch\n*** End Patch"})
    );
    assert_eq!(events[4]["content"][0]["tool_use_id"], "call_2");
    assert_eq!(events[6]["replaces"], json!([1, 6]));
    // The replacement history is the new live context.
    assert_eq!(events[7]["content"][0]["text"], "Fix the flaky test HERON");
    assert_eq!(events[8]["content"][1]["type"], "image");
}

#[test]
fn codex_pairs_calls_counts_usage_as_differences_and_reads_zstd() {
    let home = TestHome::new();
    let c = cairn(&home);
    let dir = copy_fixture(&home, "codex", &home.project_key());
    let summary = import_json(&c, &["codex", dir.to_str().unwrap()]);
    assert_eq!(summary["imported"], 1);
    assert_eq!(summary["lines_skipped"]["token_count repeated"], 1);
    assert_eq!(summary["lines_skipped"]["duplicate tool result"], 1);
    assert_eq!(summary["lines_skipped"]["unknown type hologram"], 1);
    assert!(
        summary["problems"]
            .to_string()
            .contains(":15: tool result without call"),
        "{summary}"
    );
    let events = exported(&c, "codex-2026-11-21-0199aaaa");
    codex_checks(&events);
    let show = c.run(["sessions", "show", "codex-2026-11-21-0199aaaa", "--json"]);
    show.success();
    let show = show.json();
    assert_eq!(show["usage"]["input_tokens"], 1300);
    assert_eq!(show["usage"]["reasoning_tokens"], 40);
    assert_eq!(show["model"], "openai:gpt-5-codex");

    // The same rollout compressed, in another store, gives the same events.
    let zhome = TestHome::new();
    let zc = cairn(&zhome);
    let plain = fs::read(dir.join(ROLLOUT)).unwrap();
    let zdir = zhome.dir("archived_sessions");
    // Two frames, as a writer that flushes now and then makes.
    let half = plain.len() / 2;
    let frame = |bytes: &[u8]| {
        ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
    };
    let mut compressed = frame(&plain[..half]);
    compressed.extend(frame(&plain[half..]));
    fs::write(
        zdir.join("rollout-2026-11-21T10-00-00-0199aaaa-bbbb-7ccc-8ddd-eeeeffff0001.jsonl.zst"),
        compressed,
    )
    .unwrap();
    // The default folders: $CODEX_HOME/sessions and archived_sessions.
    let zc = zc.env("CODEX_HOME", zhome.root());
    let summary = import_json(&zc, &["codex"]);
    assert_eq!(summary["imported"], 1, "{summary}");
    assert_eq!(exported(&zc, "codex-2026-11-21-0199aaaa"), events);
    // And unchanged on a second run.
    assert_eq!(import_json(&zc, &["codex"])["skipped"], 1);
}

fn cc_line(uuid: &str, parent: Option<&str>, text: &str) -> String {
    json!({"type": "user", "uuid": uuid, "parentUuid": parent, "sessionId": "hostile",
           "timestamp": "2026-11-20T09:00:00Z", "message": {"role": "user", "content": text}})
    .to_string()
}

#[test]
fn hostile_transcripts_are_reported_with_file_and_line_and_the_rest_imports() {
    let home = TestHome::new();
    let c = cairn(&home);
    let dir = home.dir("hostile");
    let huge = format!("{{\"type\":\"user\",\"pad\":\"{}\"}}", "x".repeat(33 << 20));
    let bad_lines = [
        cc_line("h1", None, "first FULMAR"),
        "{\"type\":\"user\",\"uuid\":\"h2\",\"parentUuid\":\"h1\",\"mess".to_owned(),
        "this is not json".to_owned(),
        "[1,2,3]".to_owned(),
        "{\"type\":\"from-the-future\",\"x\":1}".to_owned(),
        huge,
        "{\"uuid\":\"no-type\"}".to_owned(),
        cc_line("h3", Some("h1"), "second SHEARWATER"),
        json!({"type": "user", "uuid": "h4", "parentUuid": "h3", "sessionId": "hostile",
               "message": {"role": "user", "content": [
                   {"type": "tool_result", "tool_use_id": "nope", "content": "x"},
                   {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                "data": "%%%not base64%%%"}}]}})
        .to_string(),
    ];
    fs::write(dir.join("hostile.jsonl"), bad_lines.join("\n") + "\n").unwrap();
    let missing = [cc_line("m2", Some("gone"), "orphan branch GREBE")];
    fs::write(dir.join("missing-parent.jsonl"), missing.join("\n") + "\n").unwrap();
    let cycle = [
        cc_line("c1", Some("c3"), "one"),
        cc_line("c2", Some("c1"), "two"),
        cc_line("c3", Some("c2"), "three LOON"),
    ];
    fs::write(dir.join("cycle.jsonl"), cycle.join("\n") + "\n").unwrap();

    let out = c.run(["import", "claude-code", dir.to_str().unwrap(), "--json"]);
    out.success();
    let summary = out.json();
    assert_eq!(summary["imported"], 3, "{summary}");
    let file = |name: &str| dir.join(name).display().to_string();
    let problems = summary["problems"].to_string();
    for expected in [
        format!("{}:2: not JSON", file("hostile.jsonl")),
        format!("{}:3: not JSON", file("hostile.jsonl")),
        format!("{}:4: not a JSON object", file("hostile.jsonl")),
        format!("{}:6: line too long", file("hostile.jsonl")),
        format!("{}:7: no \\\"type\\\" field", file("hostile.jsonl")),
        format!("{}:9: tool result without call", file("hostile.jsonl")),
        format!("{}:9: image is not base64", file("hostile.jsonl")),
        format!("{}:1: missing parent", file("missing-parent.jsonl")),
        format!("{}:1: cycle in parentUuid", file("cycle.jsonl")),
    ] {
        assert!(problems.contains(&expected), "{expected} not in {problems}");
    }
    assert_eq!(summary["lines_skipped"]["unknown type from-the-future"], 1);
    // What could be read was imported.
    for word in ["FULMAR", "SHEARWATER", "GREBE", "LOON"] {
        c.run(["sessions", "search", word, "--all"])
            .success()
            .stdout_has(&[word]);
    }

    // A corrupt zstd rollout fails alone, with its name; a good one beside it imports.
    let codex = copy_fixture(&home, "codex", &home.project_key());
    let bad = codex.join("sessions/2026/11/21/rollout-2026-11-21T11-00-00-bad.jsonl.zst");
    fs::write(&bad, b"\x28\xb5\x2f\xfdgarbage that is not zstd at all").unwrap();
    let out = c.run(["import", "codex", codex.to_str().unwrap()]);
    out.code(1)
        .stderr_has(&[
            &bad.display().to_string(),
            "1 transcript(s) could not be imported",
        ])
        .stdout_has(&["imported  codex-2026-11-21-0199aaaa"]);
}

#[test]
fn a_missing_default_folder_is_named_and_no_store_is_made() {
    let home = TestHome::new();
    let c = cairn(&home);
    c.run(["import", "claude-code"]).code(1).stderr_has(&[
        "no transcripts folder found",
        ".claude/projects",
        "CLAUDE_CONFIG_DIR",
    ]);
    c.run(["import", "codex", "/nonexistent/cairn-import-path"])
        .code(1)
        .stderr_has(&["/nonexistent/cairn-import-path"]);
    assert!(!home.store_file().exists(), "a failed import made a store");
}

#[test]
fn an_imported_session_resumes_with_another_model() {
    let home = TestHome::new();
    let dir = copy_fixture(&home, "claude-code", &home.project_key());
    let fake = FakeLlm::start([Turn::text("Continuing where Claude Code stopped.")]).unwrap();
    let c = cairn(&home).with_fake_openai(&fake);
    import_json(&c, &["claude-code", dir.to_str().unwrap()]);
    c.run([
        "run",
        "--resume",
        "login-handler-hunt",
        "--model",
        "openai:gpt-4.1",
        "-p",
        "What was the last thing?",
    ])
    .success()
    .stdout_has(&["Continuing where Claude Code stopped."]);
    let sent = fake.requests()[0].body.to_string();
    // The live context: the compaction summary and what came after it.
    for needle in [
        "ALBATROSS",
        "Now add a test KESTREL",
        "and one more thing",
        "What was the last thing?",
    ] {
        assert!(sent.contains(needle), "{needle} not sent: {sent}");
    }
    assert!(
        !sent.contains("PELICAN"),
        "compacted history was sent: {sent}"
    );
}

/// Written by Claude Code 2.1.197 itself (`claude -p` against the scripted fake
/// provider; attachment bodies trimmed): `attachment` lines are links of the
/// uuid tree between the prompt and the answer.
#[test]
fn a_genuine_claude_code_transcript_imports_through_its_attachment_links() {
    let home = TestHome::new();
    let c = cairn(&home);
    let dir = copy_fixture(&home, "claude-code-real", &home.project_key());
    let summary = import_json(&c, &["claude-code", dir.to_str().unwrap()]);
    assert_eq!(summary["problems"], json!([]), "{summary}");
    assert_eq!(summary["lines_skipped"]["bookkeeping (attachment)"], 2);
    let events = exported(&c, "cc-2026-12-06-7f607562");
    assert_eq!(roles(&events), ["user", "assistant", "tool", "assistant"]);
    assert_eq!(events[0]["content"][0]["text"], "What do the notes say?");
    assert_eq!(events[1]["usage"]["input_tokens"], 100);
    assert_eq!(events[1]["usage"]["cache_read_tokens"], 50);
    assert_eq!(events[2]["content"][0]["tool_use_id"], "toolu_real1");
}
