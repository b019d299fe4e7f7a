//! Fork, rewind and readable exports through the real binary, in a private
//! CAIRN_HOME (and, for rewind with files, the fake provider driving the agent).

use crate::sessions_fixtures;

use cairn_testkit::fake_llm::transcript;
use std::process::Command;

use cairn_core::{Payload, Role, SessionName, Store};
use cairn_testkit::cli::Cairn;
use cairn_testkit::fake_llm::{FakeLlm, Reply, Turn};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};
use sessions_fixtures::*;

fn store(home: &TestHome) -> std::sync::Arc<dyn Store> {
    home_store(home)
}

/// The texts of the messages of a session's live context, as `role: text`.
fn live_texts(home: &TestHome, name: &str) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = store(home);
        let s = store
            .session(&SessionName::parse(name).unwrap())
            .await
            .unwrap();
        let live = store.live_context(s.id, 10).await.unwrap();
        live.events
            .iter()
            .filter_map(|e| e.payload.as_message())
            .map(|m| format!("{}: {}", m.role.as_str(), m.plain_text()))
            .collect()
    })
}

#[test]
fn fork_lists_its_parent_exports_standalone_and_holds_the_parent() {
    let home = TestHome::new();
    let c = cairn(&home);
    let here = home.project_key();
    import(
        &c,
        &home,
        "m.jsonl",
        &simple("main", &here, &["one", "two", "three"]),
    );

    let out = c.run(["sessions", "fork", "main", "side", "--at", "2", "--json"]);
    out.success();
    let forked = out.json();
    assert_eq!(forked["name"], "side");
    assert_eq!(forked["parent"], "main");
    assert_eq!(forked["fork_seq"], 2);
    c.run(["sessions", "fork", "main", "tip"])
        .success()
        .stdout_has(&["forked tip from main at seq 3"]);
    // A fork point past the parent's head is refused, naming both.
    c.run(["sessions", "fork", "main", "late", "--at", "9"])
        .code(2)
        .stderr_has(&["fork point 9", "main"]);

    assert_eq!(live_texts(&home, "side"), ["user: one", "assistant: two"]);
    let out = c.run(["sessions", "list"]);
    out.success()
        .stdout_has(&["FORKED FROM", "main@2", "main@3"]);
    let rows = c.run(["sessions", "list", "--json"]).json();
    let side = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "side")
        .unwrap();
    assert_eq!(side["forked_from"], "main@2");
    assert_eq!(side["fork_seq"], 2);
    // The fork's own totals: nothing of the shared part counted again.
    let shown = c.run(["sessions", "show", "side", "--json"]).json();
    assert_eq!(shown["message_count"], 0);
    assert_eq!(shown["parent_name"], "main");

    // The export of a fork stands alone: it imports as a session of its own.
    let file = home.root().join("side.jsonl");
    c.run(["sessions", "export", "side", "-o", file.to_str().unwrap()])
        .success();
    c.run([
        "sessions",
        "import",
        file.to_str().unwrap(),
        "--name",
        "side-copy",
    ])
    .success();
    assert_eq!(
        live_texts(&home, "side-copy"),
        ["user: one", "assistant: two"]
    );
    let copy = c.run(["sessions", "show", "side-copy", "--json"]).json();
    assert_eq!(copy["parent_id"], Value::Null);
    assert_eq!(copy["message_count"], 2);

    // A session with forks is deleted only together with them.
    c.run(["sessions", "rm", "main", "--yes"])
        .code(2)
        .stderr_has(&["has forks", "side", "tip", "--with-forks"]);
    assert!(listed(&c).contains(&"main".to_owned()));
    let out = c.run(["sessions", "rm", "main", "--yes", "--with-forks", "--json"]);
    out.success();
    let gone = out.json();
    assert_eq!(gone["deleted"], "main");
    assert_eq!(gone["forks_deleted"], json!(["side", "tip"]));
    assert_eq!(listed(&c), ["side-copy"]);
}

fn write(home: &TestHome, path: &str, text: &str) {
    std::fs::write(home.project.join(path), text).unwrap();
}

fn read(home: &TestHome, path: &str) -> Option<String> {
    std::fs::read_to_string(home.project.join(path)).ok()
}

/// The agent writes two files; a rewind to before the request puts back the one
/// nobody touched since, leaves the one edited by hand (until --yes, here in a
/// fork made from the rewound turn), and the next request no longer carries the
/// rewound turn.
#[test]
fn a_rewind_restores_the_agents_file_changes_and_the_next_request_forgets_them() {
    let home = TestHome::with_git();
    write(&home, "a.txt", "old a\n");
    let fake = FakeLlm::start([
        Reply::new()
            .text("Writing both.")
            .tool_call(
                "call_1",
                "write_file",
                json!({"path": "a.txt", "content": "new a\n"}),
            )
            .tool_call(
                "call_2",
                "write_file",
                json!({"path": "b.txt", "content": "new b\n"}),
            )
            .into(),
        Turn::text("Both written."),
        Turn::text("Fresh answer."),
    ])
    .unwrap();
    let c = Cairn::new(env!("CARGO_BIN_EXE_cairn"), &home).with_fake_openai(&fake);
    c.run(["run", "--name", "work", "-p", "Write the files."])
        .success();
    assert_eq!(read(&home, "a.txt").as_deref(), Some("new a\n"));
    assert_eq!(read(&home, "b.txt").as_deref(), Some("new b\n"));
    // Someone edits b.txt after the agent wrote it.
    write(&home, "b.txt", "edited by hand\n");

    let user_seq = first_user_seq(&home, "work");
    // Without --restore-files the files are listed, not touched.
    let out = c.run(["sessions", "fork", "work", "before-rewind", "--json"]);
    out.success();
    let out = c.run([
        "sessions",
        "rewind",
        "work",
        "--to",
        &user_seq.to_string(),
        "--restore-files",
        "--json",
    ]);
    out.success();
    let report = out.json();
    let results: Vec<(String, String)> = report["restored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_owned(),
                r["result"]["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("a.txt".to_owned(), "restored".to_owned()),
            ("b.txt".to_owned(), "changed_outside".to_owned())
        ]
    );
    assert_eq!(read(&home, "a.txt").as_deref(), Some("old a\n"));
    assert_eq!(read(&home, "b.txt").as_deref(), Some("edited by hand\n"));
    assert!(live_texts(&home, "work").is_empty());
    // Lossless: the whole history still has the rewound turn.
    let all = c.run(["sessions", "context", "work", "--all"]);
    all.success()
        .stdout_has(&["Write the files.", "Both written."]);

    // The next request carries no rewound message.
    c.run(["run", "--resume", "work", "-p", "Start over."])
        .success()
        .stdout_has(&["Fresh answer."]);
    let sent = transcript(&fake.requests()[2].body);
    assert!(sent.iter().any(|l| l == "user: Start over."), "{sent:#?}");
    assert!(
        !sent
            .iter()
            .any(|l| l.contains("Write the files.") || l.contains("Both written.")),
        "{sent:#?}"
    );

    // The fork made before the rewind still holds the turn; rewinding it with --yes
    // overwrites the hand-edited file too (b.txt did not exist: it goes).
    let out = c.run([
        "sessions",
        "rewind",
        "before-rewind",
        "--to",
        &user_seq.to_string(),
        "--restore-files",
        "--yes",
    ]);
    out.success().stdout_has(&[
        "a.txt was already as before",
        "removed b.txt",
        "not tracked",
    ]);
    assert_eq!(read(&home, "b.txt"), None);
    // A seq that is not a user message is refused and changes nothing.
    c.run([
        "sessions",
        "rewind",
        "work",
        "--to",
        &(user_seq + 1).to_string(),
    ])
    .code(2)
    .stderr_has(&["not a user message"]);
}

fn first_user_seq(home: &TestHome, name: &str) -> u64 {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = store(home);
        let s = store
            .session(&SessionName::parse(name).unwrap())
            .await
            .unwrap();
        store
            .events_after(s.id, 0, 0)
            .await
            .unwrap()
            .iter()
            .find(|e| matches!(&e.payload, Payload::Message(m) if m.role == Role::User))
            .map(|e| e.seq)
            .unwrap()
    })
}

/// A session with every block kind, plus hostile text and a rewind.
fn every_kind(home: &TestHome) -> Cairn {
    let c = cairn(home);
    let mut text = rich("every", &home.project_key());
    for line in [
        json!({"seq": 15, "ts": ts(15), "kind": "message", "role": "user",
               "content": [{"type": "text",
                            "text": "<script>alert('x')</script> & </details><b>bold?</b>"}]}),
        json!({"seq": 16, "ts": ts(16), "kind": "rewind", "to_seq": 15}),
    ] {
        text.push_str(&serde_json::to_string(&line).unwrap());
        text.push('\n');
    }
    import(&c, home, "every.jsonl", &text);
    c
}

/// What Python's HTML parser finds in a page: tags opened, text, image sources.
const PARSE_HTML: &str = r#"
import json, sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = {}
        self.text = []
        self.imgs = []
        self.open = []
        self.unbalanced = 0
    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "img":
            self.imgs.append(dict(attrs).get("src", ""))
        elif tag not in ("meta", "br"):
            self.open.append(tag)
    def handle_endtag(self, tag):
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.unbalanced += 1
    def handle_data(self, data):
        self.text.append(data)
p = P()
p.feed(sys.stdin.read())
p.close()
print(json.dumps({"tags": p.tags, "text": "".join(p.text), "imgs": p.imgs,
                  "unclosed": p.open, "unbalanced": p.unbalanced}))
"#;

#[test]
fn html_export_is_one_escaped_self_contained_page() {
    let home = TestHome::new();
    let c = every_kind(&home);
    let file = home.root().join("every.html");
    c.run([
        "sessions",
        "export",
        "every",
        "--format",
        "html",
        "-o",
        file.to_str().unwrap(),
    ])
    .success();
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    let python = std::env::var("CAIRN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(python)
        .args(["-c", PARSE_HTML])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(html.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Hostile text is text: no script element, no stray closing tag, every tag closed.
    assert!(parsed["tags"].get("script").is_none(), "{parsed}");
    assert!(parsed["tags"].get("b").is_none(), "{parsed}");
    assert_eq!(parsed["unbalanced"], 0, "{parsed}");
    assert_eq!(parsed["unclosed"], json!([]), "{parsed}");
    let text = parsed["text"].as_str().unwrap();
    for wanted in [
        "<script>alert('x')</script> & </details><b>bold?</b>",
        "Refactor the auth module to use JWT",
        "Look at auth.rs first.",
        "Tool call: read_file (call_1)",
        "fn login() {}",
        "Result of call_2 (error)",
        "permission denied",
        "JWT auth in place; refresh tokens started; write failed.",
        "Use JWT with RS256",
        "Never log tokens",
        "Command: /model anthropic:claude",
        "Block: hologram",
        "Rewind: the live context went back to just before seq 15",
        "Totals",
        "$0.0275",
    ] {
        assert!(
            text.contains(wanted),
            "{wanted:?} missing from the page text"
        );
    }
    // Tool calls, results and thinking fold away.
    assert!(parsed["tags"]["details"].as_u64().unwrap() >= 5, "{parsed}");
    // The image travels inside the page.
    let imgs = parsed["imgs"].as_array().unwrap();
    assert_eq!(imgs.len(), 1);
    assert!(
        imgs[0]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{imgs:?}"
    );
}

#[test]
fn markdown_export_has_every_block_kind() {
    let home = TestHome::new();
    let c = every_kind(&home);
    let out = c.run(["sessions", "export", "every", "--format", "md"]);
    out.success().stdout_has(&[
        "# Title of every",
        "## Knowledge",
        "**decision** (pinned): Use JWT with RS256",
        "### User",
        "![image/png ",
        "](data:image/png;base64,iVBORw0KGgo",
        "<summary>Thinking</summary>",
        "<summary>Tool call: read_file (call_1)</summary>",
        "\"path\": \"src/auth.rs\"",
        "<summary>Result of call_2 (error)</summary>",
        "**Compaction: events 1–9 summarized (7000 → 600 tokens)**",
        "> JWT auth in place; refresh tokens started; write failed.",
        "**Command: /model anthropic:claude**",
        "**Rewind: the live context went back to just before seq 15",
        "## Totals",
        "- cost: $0.0275",
    ]);
    c.run(["sessions", "export", "every", "--format", "pdf"])
        .code(2)
        .stderr_has(&["pdf", "jsonl", "md", "html"]);
}

/// A session another process drives keeps its live context: the rewind needs the
/// lease, and `--force` takes it.
#[test]
fn a_rewind_of_a_session_in_use_is_refused_unless_forced() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([Turn::text("Done.")]).unwrap();
    let c = Cairn::new(env!("CARGO_BIN_EXE_cairn"), &home).with_fake_openai(&fake);
    c.run(["run", "--name", "busy", "-p", "Do the thing."])
        .success();
    let user_seq = first_user_seq(&home, "busy").to_string();
    // This test process stands for the `cairn run` that drives the session.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = store(&home);
        let s = store
            .session(&SessionName::parse("busy").unwrap())
            .await
            .unwrap();
        let holder = cairn_agent::lease::this_process();
        store
            .acquire_lease(s.id, &holder, cairn_agent::lease::STALE_AFTER, false)
            .await
            .unwrap();
    });
    c.run(["sessions", "rewind", "busy", "--to", &user_seq])
        .code(1)
        .stderr_has(&["in use by", "--force"]);
    assert_eq!(
        live_texts(&home, "busy"),
        ["user: Do the thing.", "assistant: Done."]
    );
    c.run(["sessions", "rewind", "busy", "--to", &user_seq, "--force"])
        .success();
    assert!(live_texts(&home, "busy").is_empty());
}
