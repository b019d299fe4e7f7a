//! Session files and a runner shared by the CLI tests (not a test binary itself:
//! it lives in a directory, so Cargo does not build it alone).

#![allow(dead_code)]

use base64::Engine as _;
use cairn_testkit::cli::{Cairn, Outcome};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub(crate) fn cairn(home: &TestHome) -> Cairn {
    Cairn::new(env!("CARGO_BIN_EXE_cairn"), home)
}

/// The URL of the home's SQLite file.
pub(crate) fn sqlite_url(home: &TestHome) -> String {
    format!("sqlite://{}", home.store_file().display())
}

/// `cairn` on the home's SQLite file, whatever store the suite runs on: for tests
/// of what only SQLite has (file sizes, row forms) or that name their stores.
pub(crate) fn on_sqlite(home: &TestHome) -> Cairn {
    cairn(home).env("CAIRN_STORE_URL", sqlite_url(home))
}

/// The store the home's commands use, opened in this process: its SQLite file,
/// or the suite's PostgreSQL database (`CAIRN_TEST_STORE=postgres`).
pub(crate) fn home_store(home: &TestHome) -> std::sync::Arc<dyn cairn_core::Store> {
    let url = match &home.store_url {
        Some(url) => cairn_store::StoreUrl::parse(url).expect("the test database's URL"),
        None => cairn_store::StoreUrl::Sqlite(home.store_file()),
    };
    let settings =
        cairn_core::settings::Settings::defaults(cairn_core::paths::Paths::at(&home.cairn_home));
    cairn_store::open_store(&url, &settings).expect("open the home's store")
}

/// Bytes of a tiny PNG (the real 1×1 transparent pixel).
pub(crate) const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) fn header(name: &str, project: &str) -> Value {
    json!({
        "format": "cairn.session",
        "version": 1,
        "name": name,
        "title": format!("Title of {name}"),
        "project": project,
        "model": "openai:gpt-4.1",
        "created_at": "2025-03-01T09:00:00Z",
    })
}

/// A session file from a header and event lines.
pub(crate) fn jsonl(header: &Value, events: &[Value]) -> String {
    let mut out = serde_json::to_string(header).unwrap();
    out.push('\n');
    for e in events {
        out.push_str(&serde_json::to_string(e).unwrap());
        out.push('\n');
    }
    out
}

/// `2025-03-01T09:MM:SSZ` for event `seq` (one second apart, in order).
pub(crate) fn ts(seq: u64) -> String {
    format!(
        "2025-03-01T{:02}:{:02}:{:02}Z",
        9 + seq / 3600,
        (seq / 60) % 60,
        seq % 60
    )
}

pub(crate) fn message(seq: u64, role: &str, text: &str) -> Value {
    json!({"seq": seq, "ts": ts(seq), "kind": "message", "role": role,
           "content": [{"type": "text", "text": text}]})
}

/// A plain session of user/assistant messages with the given texts.
pub(crate) fn simple(name: &str, project: &str, texts: &[&str]) -> String {
    let events: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            message(i as u64 + 1, role, t)
        })
        .collect();
    jsonl(&header(name, project), &events)
}

/// Every kind of line the format has: text, thinking, a tool call and its result,
/// usage and cost, an image (inline data), knowledge, two compactions, an unknown
/// event kind, an unknown block type and unknown fields.
pub(crate) fn rich(name: &str, project: &str) -> String {
    let png_b64 = base64::engine::general_purpose::STANDARD.encode(PNG);
    let png_sha = sha256_hex(PNG);
    let events = vec![
        json!({"seq": 1, "ts": ts(1), "kind": "message", "role": "system",
               "content": [{"type": "text", "text": "You are a careful engineer."}]}),
        json!({"seq": 2, "ts": ts(2), "kind": "message", "role": "user",
               "content": [{"type": "text", "text": "Refactor the auth module to use JWT; here is the diagram"},
                           {"type": "image", "sha256": png_sha, "mime": "image/png", "data_base64": png_b64}]}),
        json!({"seq": 3, "ts": ts(3), "kind": "message", "role": "assistant",
               "content": [{"type": "thinking", "text": "Look at auth.rs first.", "signature": "sig-1"},
                           {"type": "text", "text": "Reading the module."},
                           {"type": "tool_use", "id": "call_1", "name": "read_file", "input": {"path": "src/auth.rs"}}],
               "usage": {"input_tokens": 1200, "output_tokens": 80, "cache_read_tokens": 300,
                         "cache_write_tokens": 0, "reasoning_tokens": 40},
               "cost_usd": 0.0125, "model": "openai:gpt-4.1", "request_id": "req_1"}),
        json!({"seq": 4, "ts": ts(4), "kind": "message", "role": "tool",
               "content": [{"type": "tool_result", "tool_use_id": "call_1",
                            "content": format!("fn login() {{}}\n{}", "// padding line\n".repeat(100)),
                            "is_error": false}]}),
        json!({"seq": 5, "ts": ts(5), "kind": "knowledge", "knowledge_kind": "decision",
               "text": "Use JWT with RS256", "pinned": true}),
        json!({"seq": 6, "ts": ts(6), "kind": "compaction", "replaces": [1, 4],
               "summary": "The user wants JWT auth; auth.rs was read.",
               "knowledge": [{"kind": "decision", "text": "Use JWT with RS256"}],
               "tokens_before": 5000, "tokens_after": 400}),
        json!({"seq": 7, "ts": ts(7), "kind": "message", "role": "user",
               "content": [{"type": "text", "text": "Now add refresh tokens."},
                           {"type": "hologram", "frames": 3}],
               "future_field": {"nested": [1, 2]}}),
        json!({"seq": 8, "ts": ts(8), "kind": "command", "name": "/model", "args": ["anthropic:claude"]}),
        json!({"seq": 9, "ts": ts(9), "kind": "message", "role": "assistant",
               "content": [{"type": "tool_use", "id": "call_2", "name": "write_file",
                            "input": {"path": "src/refresh.rs", "content": "pub fn refresh() {}"}}],
               "usage": {"input_tokens": 900, "output_tokens": 60, "cache_read_tokens": 0,
                         "cache_write_tokens": 100, "reasoning_tokens": 0},
               "cost_usd": 0.01, "request_id": "req_2"}),
        json!({"seq": 10, "ts": ts(10), "kind": "message", "role": "tool",
               "content": [{"type": "tool_result", "tool_use_id": "call_2",
                            "content": [{"type": "text", "text": "permission denied"}], "is_error": true}]}),
        json!({"seq": 11, "ts": ts(11), "kind": "knowledge", "knowledge_kind": "constraint",
               "text": "Never log tokens", "pinned": false}),
        json!({"seq": 12, "ts": ts(12), "kind": "compaction", "replaces": [1, 9],
               "summary": "JWT auth in place; refresh tokens started; write failed.",
               "knowledge": [{"kind": "decision", "text": "Use JWT with RS256"},
                             {"kind": "constraint", "text": "Never log tokens"}],
               "tokens_before": 7000, "tokens_after": 600}),
        json!({"seq": 13, "ts": ts(13), "kind": "message", "role": "user",
               "content": [{"type": "text", "text": "Retry the write with sudo? No: fix permissions."}]}),
        json!({"seq": 14, "ts": ts(14), "kind": "message", "role": "assistant",
               "content": [{"type": "text", "text": "Fixed the permissions and wrote refresh.rs."}],
               "usage": {"input_tokens": 700, "output_tokens": 30, "cache_read_tokens": 0,
                         "cache_write_tokens": 0, "reasoning_tokens": 0},
               "cost_usd": 0.005, "request_id": "req_3"}),
    ];
    jsonl(&header(name, project), &events)
}

/// Imports `text` as a session file and expects success. A file's `project` is not
/// trusted by import, so when it names a directory of this test the import says so
/// with `--project`, as a person would.
pub(crate) fn import(c: &Cairn, home: &TestHome, file_name: &str, text: &str) -> Outcome {
    let path = home.write_file(file_name, text);
    let first: Value =
        serde_json::from_str(text.lines().next().unwrap_or("{}")).unwrap_or_default();
    let project = first["project"].as_str().unwrap_or_default();
    let mut args: Vec<std::ffi::OsString> = vec!["sessions".into(), "import".into()];
    if project.starts_with(&*home.root().to_string_lossy())
        && std::path::Path::new(project).is_dir()
    {
        args.extend(["--project".into(), project.into()]);
    }
    args.push(path.into_os_string());
    let out = c.run(args);
    out.success();
    out
}

/// Names listed by `sessions list --all --json`, in order.
pub(crate) fn listed(c: &Cairn) -> Vec<String> {
    let out = c.run(["sessions", "list", "--all", "--limit", "0", "--json"]);
    out.success();
    out.json()
        .as_array()
        .expect("list --json is an array")
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The output with the test's temp root replaced, for snapshots.
pub(crate) fn scrub(home: &TestHome, text: &str) -> String {
    let root = home.root().to_string_lossy().into_owned();
    text.replace(&root, "[ROOT]")
}
