//! Issue 12: what an import finds off the live conversation becomes forks. A
//! Claude Code transcript's abandoned branches (edits, retries, a branch of a
//! branch) and a forked Codex rollout are imported as forks of the imported
//! session, each storing only its own events; re-importing after a branch grew
//! appends only what is new. Through the real binary, on transcripts written here.

use std::fs;
use std::path::Path;

use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cairn");
const CC_ID: &str = "f0f0f0f0-2222-4a4a-9b9b-000000000002";
const MAIN: &str = "cc-2026-11-22-f0f0f0f0";

fn cairn(home: &TestHome) -> Cairn {
    Cairn::new(BIN, home)
}

fn import_json(c: &Cairn, tool: &str, path: &Path) -> Value {
    let out = c.run(["import", tool, path.to_str().unwrap(), "--json"]);
    out.success();
    out.json()
}

/// (action, session, parent, fork) of each outcome.
fn outcomes(summary: &Value) -> Vec<(String, String, String, bool)> {
    summary["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap().to_owned(),
                s["session"].as_str().unwrap_or("-").to_owned(),
                s["parent"].as_str().unwrap_or("-").to_owned(),
                s["fork"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// The text of each message of a session's self-contained export.
fn texts(c: &Cairn, name: &str) -> Vec<String> {
    let out = c.run(["sessions", "export", name]);
    out.success();
    out.stdout
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "message")
        .map(|e| {
            e["content"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn show(c: &Cairn, name: &str) -> Value {
    let out = c.run(["sessions", "show", name, "--json"]);
    out.success();
    out.json()
}

fn user(uuid: &str, parent: Option<&str>, text: &str, minute: u32) -> String {
    json!({"type": "user", "uuid": uuid, "parentUuid": parent, "sessionId": CC_ID,
           "cwd": "/nonexistent/cairn-forks", "timestamp": format!("2026-11-22T09:{minute:02}:00Z"),
           "message": {"role": "user", "content": text}})
    .to_string()
}

fn assistant(uuid: &str, parent: &str, id: &str, text: &str, input: u64, minute: u32) -> String {
    json!({"type": "assistant", "uuid": uuid, "parentUuid": parent, "sessionId": CC_ID,
           "cwd": "/nonexistent/cairn-forks", "timestamp": format!("2026-11-22T09:{minute:02}:00Z"),
           "message": {"id": id, "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                       "content": [{"type": "text", "text": text}],
                       "usage": {"input_tokens": input, "output_tokens": 1}}})
    .to_string()
}

/// u1 - a1 - u2 - a2 - u3 is the live branch (its leaf is the newest). Off it:
/// branch 1 (x1 x2 x3) leaves after a1, branch 2 (z1, a retried answer) after
/// u1, and branch 3 (y1 y2) leaves branch 1 after x2.
fn tree() -> Vec<String> {
    vec![
        user("u1", None, "start KESTREL", 0),
        assistant("a1", "u1", "msg_1", "answer one", 10, 1),
        user("x1", Some("a1"), "go right LAPWING", 2),
        assistant("x2", "x1", "msg_x", "right answer", 100, 3),
        user("x3", Some("x2"), "continue right", 4),
        assistant("z1", "u1", "msg_z", "retry DUNLIN", 1000, 5),
        user("y1", Some("x2"), "sideways PLOVER", 6),
        assistant("y2", "y1", "msg_y", "plover answer", 10000, 7),
        user("u2", Some("a1"), "go left", 8),
        assistant("a2", "u2", "msg_2", "left answer", 20, 9),
        user("u3", Some("a2"), "live end SANDERLING", 10),
    ]
}

#[test]
fn claude_code_branches_become_forks_and_grow_on_re_import() {
    let home = TestHome::new();
    let c = cairn(&home);
    let dir = home.dir("cc");
    let file = dir.join(format!("{CC_ID}.jsonl"));
    fs::write(&file, tree().join("\n") + "\n").unwrap();

    let summary = import_json(&c, "claude-code", &dir);
    let b = |n: u32| format!("{MAIN}-branch-{n}");
    assert_eq!(
        outcomes(&summary),
        [
            ("imported".into(), MAIN.into(), "-".into(), false),
            ("imported".into(), b(1), MAIN.into(), true),
            ("imported".into(), b(2), MAIN.into(), true),
            ("imported".into(), b(3), b(1), true),
        ]
    );
    assert_eq!(summary["imported"], 4);
    assert!(
        summary["lines_skipped"].as_object().unwrap().is_empty(),
        "{summary}"
    );

    // The live branch is the session; each branch is its parent's history up to
    // where it left, then its own lines.
    assert_eq!(
        texts(&c, MAIN),
        [
            "start KESTREL",
            "answer one",
            "go left",
            "left answer",
            "live end SANDERLING"
        ]
    );
    assert_eq!(
        texts(&c, &b(1)),
        [
            "start KESTREL",
            "answer one",
            "go right LAPWING",
            "right answer",
            "continue right"
        ]
    );
    assert_eq!(texts(&c, &b(2)), ["start KESTREL", "retry DUNLIN"]);
    assert_eq!(
        texts(&c, &b(3)),
        [
            "start KESTREL",
            "answer one",
            "go right LAPWING",
            "right answer",
            "sideways PLOVER",
            "plover answer"
        ]
    );

    // Listed as forks of their parents, at the fork points.
    let rows = c.run(["sessions", "list", "--all", "--json"]).json();
    let row = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not listed: {rows}"))
    };
    assert_eq!(row(&b(1))["forked_from"], format!("{MAIN}@2"));
    assert_eq!(row(&b(2))["forked_from"], format!("{MAIN}@1"));
    assert_eq!(row(&b(3))["forked_from"], format!("{}@4", b(1)));
    assert_eq!(row(MAIN)["forked_from"], Value::Null);

    // Each stores and counts only its own events: usage is not counted twice.
    let main = show(&c, MAIN);
    assert_eq!(main["usage"]["input_tokens"], 10 + 20);
    assert_eq!(main["message_count"], 5);
    let one = show(&c, &b(1));
    assert_eq!(one["usage"]["input_tokens"], 100);
    assert_eq!(one["message_count"], 3);
    assert_eq!(show(&c, &b(2))["usage"]["input_tokens"], 1000);
    assert_eq!(show(&c, &b(3))["usage"]["input_tokens"], 10000);

    // The session is not removed from under its forks.
    c.run(["sessions", "rm", MAIN, "--yes"])
        .code(2)
        .stderr_has(&["has forks", "--with-forks"]);

    // Unchanged: skipped, nothing written.
    let again = import_json(&c, "claude-code", &dir);
    assert_eq!(
        (again["imported"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(1))
    );

    // Branch 1 and the live branch grew (Claude Code went back to branch 1 for a
    // moment, then on): each gets only its new line, and no session is added.
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str(&(assistant("x4", "x3", "msg_x4", "grown GODWIT", 7, 11) + "\n"));
    text.push_str(&(user("u4", Some("u3"), "live grows TURNSTONE", 12) + "\n"));
    fs::write(&file, text).unwrap();
    let grown = import_json(&c, "claude-code", &dir);
    assert_eq!(
        outcomes(&grown),
        [
            ("updated".into(), MAIN.into(), "-".into(), false),
            ("updated".into(), b(1), MAIN.into(), true),
        ]
    );
    assert_eq!(grown["sessions"][0]["events"], 1);
    assert_eq!(grown["sessions"][1]["events"], 1);
    assert_eq!(texts(&c, MAIN).last().unwrap(), "live grows TURNSTONE");
    assert_eq!(texts(&c, &b(1)).len(), 6);
    assert_eq!(texts(&c, &b(1)).last().unwrap(), "grown GODWIT");
    assert_eq!(show(&c, &b(1))["usage"]["input_tokens"], 107);
    assert_eq!(
        texts(&c, &b(3)).len(),
        6,
        "a branch of the grown branch moved"
    );
    let listed = c.run(["sessions", "list", "--all", "--json"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 4);

    let third = import_json(&c, "claude-code", &dir);
    assert_eq!(third["skipped"], 1, "{third}");
    assert_eq!(texts(&c, &b(1)).len(), 6);

    let out = c.run(["sessions", "rm", MAIN, "--yes", "--with-forks", "--json"]);
    out.success();
    assert_eq!(out.json()["forks_deleted"].as_array().unwrap().len(), 3);
}

/// Issue 14: a transcript is imported in one transaction. Its branches are
/// converted after the live branch has been streamed to the store; one the store
/// would refuse (a response claiming more tokens than a request can use) fails
/// the whole file with nothing written: no session, no fork, no import record.
#[test]
fn a_transcript_whose_side_branch_is_refused_leaves_nothing() {
    let home = TestHome::new();
    let c = cairn(&home);
    let dir = home.dir("cc");
    let file = dir.join(format!("{CC_ID}.jsonl"));
    let mut lines = tree();
    // y2, on branch 3 (which leaves branch 1), the last branch converted.
    lines[7] = assistant("y2", "y1", "msg_y", "plover answer", 2_000_000_000_000, 7);
    fs::write(&file, lines.join("\n") + "\n").unwrap();

    let out = c.run(["import", "claude-code", dir.to_str().unwrap(), "--json"]);
    out.code(1);
    let summary = out.json();
    assert_eq!(summary["failed"], 1, "{summary}");
    assert_eq!(summary["imported"], 0, "{summary}");
    let problems = summary["problems"].to_string();
    assert!(problems.contains("branch y1"), "{problems}");
    assert!(problems.contains("input_tokens"), "{problems}");
    let listed = c.run(["sessions", "list", "--all", "--json"]);
    listed.success();
    assert_eq!(listed.json(), json!([]), "{}", listed.stdout);

    // Nothing recorded either: once the line is mended, all of it imports.
    fs::write(&file, tree().join("\n") + "\n").unwrap();
    let summary = import_json(&c, "claude-code", &dir);
    assert_eq!(outcomes(&summary).len(), 4, "{summary}");
    assert_eq!(outcomes(&summary)[0].0, "imported");
    assert_eq!(texts(&c, MAIN).len(), 5);
}

const PARENT_ID: &str = "0199bbbb-0000-7000-8000-000000000001";
const FORK_ID: &str = "0199bbbb-0000-7000-8000-000000000002";

fn codex(ts: &str, kind: &str, payload: Value) -> String {
    json!({"timestamp": ts, "type": kind, "payload": payload}).to_string()
}

fn meta(id: &str, forked_from: Option<&str>) -> String {
    let mut payload = json!({"id": id, "timestamp": "2026-11-23T10:00:00Z",
        "cwd": "/nonexistent/cairn-codex-forks", "originator": "codex_cli_rs",
        "cli_version": "0.60.0", "source": "cli", "model_provider": "openai"});
    if let Some(from) = forked_from {
        payload["forked_from_id"] = json!(from);
    }
    codex("2026-11-23T10:00:00Z", "session_meta", payload)
}

fn said(role: &str, text: &str) -> String {
    let part = if role == "user" {
        "input_text"
    } else {
        "output_text"
    };
    codex(
        "2026-11-23T10:00:01Z",
        "response_item",
        json!({"type": "message", "role": role, "content": [{"type": part, "text": text}]}),
    )
}

fn tokens(input: u64) -> String {
    codex(
        "2026-11-23T10:00:02Z",
        "event_msg",
        json!({"type": "token_count", "info": {
        "total_token_usage": {"input_tokens": input, "cached_input_tokens": 0,
                              "output_tokens": 1, "reasoning_output_tokens": 0}}}),
    )
}

fn turn() -> String {
    codex(
        "2026-11-23T10:00:00Z",
        "turn_context",
        json!({"model": "gpt-5-codex"}),
    )
}

/// The parent's conversation, and a rollout forked from it before its second
/// question: its meta, the replayed history (the parent's meta among it), then
/// its own turn. Token counts are cumulative in both files.
fn rollouts(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let day = dir.join("2026/11/23");
    fs::create_dir_all(&day).unwrap();
    let replayed = [
        turn(),
        said("user", "codex parent MERLIN"),
        said("assistant", "answer A"),
        tokens(100),
    ];
    let mut parent = vec![meta(PARENT_ID, None)];
    parent.extend(replayed.iter().cloned());
    parent.extend([
        said("user", "second question"),
        said("assistant", "answer B"),
        tokens(250),
    ]);
    let mut fork = vec![meta(FORK_ID, Some(PARENT_ID)), meta(PARENT_ID, None)];
    fork.extend(replayed.iter().cloned());
    fork.extend([
        turn(),
        said("user", "fork question HOBBY"),
        said("assistant", "fork answer"),
        tokens(180),
    ]);
    let parent_path = day.join(format!("rollout-2026-11-23T10-00-00-{PARENT_ID}.jsonl"));
    let fork_path = day.join(format!("rollout-2026-11-23T11-00-00-{FORK_ID}.jsonl"));
    fs::write(&parent_path, parent.join("\n") + "\n").unwrap();
    fs::write(&fork_path, fork.join("\n") + "\n").unwrap();
    (parent_path, fork_path)
}

const CODEX_PARENT: &str = "codex-2026-11-23-0199bbbb";
const CODEX_FORK: &str = "codex-2026-11-23-0199bbbb-2";

#[test]
fn a_forked_codex_rollout_becomes_a_fork_of_its_imported_parent() {
    let home = TestHome::new();
    let c = cairn(&home);
    let dir = home.dir("codex");
    rollouts(&dir);
    let summary = import_json(&c, "codex", &dir);
    assert_eq!(
        outcomes(&summary),
        [
            ("imported".into(), CODEX_PARENT.into(), "-".into(), false),
            (
                "imported".into(),
                CODEX_FORK.into(),
                CODEX_PARENT.into(),
                true
            ),
        ]
    );
    // Only the fork's own events are stored: its question and answer.
    assert_eq!(summary["sessions"][1]["events"], 2);
    let rows = c.run(["sessions", "list", "--all", "--json"]).json();
    let fork_row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == CODEX_FORK)
        .unwrap();
    assert_eq!(fork_row["forked_from"], format!("{CODEX_PARENT}@2"));
    assert_eq!(
        texts(&c, CODEX_FORK),
        [
            "codex parent MERLIN",
            "answer A",
            "fork question HOBBY",
            "fork answer"
        ]
    );
    let fork = show(&c, CODEX_FORK);
    assert_eq!(fork["message_count"], 2);
    // The usage of its own request: the difference of the cumulative counts.
    assert_eq!(fork["usage"]["input_tokens"], 80);
    assert_eq!(show(&c, CODEX_PARENT)["usage"]["input_tokens"], 250);
    c.run(["sessions", "rm", CODEX_PARENT, "--yes"])
        .code(2)
        .stderr_has(&["has forks", CODEX_FORK]);
    assert_eq!(import_json(&c, "codex", &dir)["skipped"], 2);
}

#[test]
fn a_fork_imported_before_its_parent_stands_alone_and_the_parent_is_not_duplicated() {
    let home = TestHome::new();
    let c = cairn(&home);
    let dir = home.dir("codex");
    let (parent_path, fork_path) = rollouts(&dir);

    let first = import_json(&c, "codex", &fork_path);
    assert_eq!(
        outcomes(&first),
        [("imported".into(), CODEX_PARENT.into(), "-".into(), false)]
    );
    assert!(
        first["notes"].to_string().contains("which is not imported"),
        "{first}"
    );
    // Standalone: it holds the history it replays.
    assert_eq!(
        texts(&c, CODEX_PARENT),
        [
            "codex parent MERLIN",
            "answer A",
            "fork question HOBBY",
            "fork answer"
        ]
    );

    let parent = import_json(&c, "codex", &parent_path);
    assert_eq!(
        outcomes(&parent),
        [("imported".into(), CODEX_FORK.into(), "-".into(), false)]
    );
    assert_eq!(
        texts(&c, CODEX_FORK),
        [
            "codex parent MERLIN",
            "answer A",
            "second question",
            "answer B"
        ]
    );
    // Importing the whole folder now imports nothing more.
    let again = import_json(&c, "codex", &dir);
    assert_eq!(
        (again["imported"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(2))
    );
    let rows = c.run(["sessions", "list", "--all", "--json"]).json();
    assert_eq!(rows.as_array().unwrap().len(), 2);
}
