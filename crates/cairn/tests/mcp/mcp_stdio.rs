//! `cairn mcp` over stdio, driven with raw bytes through the real binary
//! (issue 8, items 12 and 23): every request gets exactly one reply carrying its
//! id, however malformed; a flood of large reads from a client that does not
//! read its replies stays bounded (the server stops reading stdin); the topics
//! of a connection that closed are released at once; saves and reads are
//! answered without handing work to other threads (issue 14).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use cairn_testkit::home::TestHome;
use serde_json::{Value, json};

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");
const BODY_LIMIT: usize = 4 * 1024 * 1024;
const WAIT: Duration = Duration::from_secs(60);

/// One `cairn mcp` process; stdout lines arrive parsed on a channel.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Value>,
    /// While set, stdout is not read (a client that does not read its replies).
    hold_stdout: Arc<AtomicBool>,
    next_id: u64,
}

impl Server {
    fn start(home: &TestHome, client: &str) -> Server {
        Self::start_with_store(home, client, home.store_env())
    }

    /// On a SQLite file of its own, whatever store the suite runs on (not the
    /// home's default file, which on PostgreSQL would mean a fallback).
    fn start_on_sqlite(home: &TestHome, client: &str) -> Server {
        let url = format!("sqlite://{}", home.root().join("own.db").display());
        Self::start_with_store(home, client, vec![("CAIRN_STORE_URL", url)])
    }

    fn start_with_store(
        home: &TestHome,
        client: &str,
        store_env: Vec<(&'static str, String)>,
    ) -> Server {
        let mut child = Command::new(CAIRN)
            .arg("mcp")
            .current_dir(&home.project)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home.user_home)
            .env("CAIRN_HOME", &home.cairn_home)
            .env("LANG", "C.UTF-8")
            .envs(store_env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cairn mcp");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
        let (tx, lines) = mpsc::channel();
        let hold_stdout = Arc::new(AtomicBool::new(false));
        let hold = Arc::clone(&hold_stdout);
        std::thread::spawn(move || {
            let mut stdout = BufReader::with_capacity(4096, stdout);
            loop {
                while hold.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let mut line = Vec::new();
                match stdout.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                let value = serde_json::from_slice::<Value>(&line).unwrap_or_else(|e| {
                    json!({ "not_json": e.to_string(), "line": String::from_utf8_lossy(&line) })
                });
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut server = Server {
            child,
            stdin,
            lines,
            hold_stdout,
            next_id: 0,
        };
        let init = server.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": client, "version": "1" }
            }),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "cairn", "{init}");
        server.send(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        server
    }

    fn send(&mut self, line: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line).expect("write to cairn mcp");
        stdin.write_all(b"\n").expect("write to cairn mcp");
        stdin.flush().expect("flush");
    }

    fn next_line(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(WAIT)
            .expect("cairn mcp answered in time");
        assert!(
            line.get("not_json").is_none(),
            "stdout carries JSON only: {line}"
        );
        line
    }

    fn response(&self, id: u64) -> Value {
        loop {
            let line = self.next_line();
            if line["id"] == json!(id) {
                return line;
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        self.send(body.to_string().as_bytes());
        self.response(id)
    }

    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self.request(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        );
        assert!(response.get("error").is_none(), "{tool}: {response}");
        assert_ne!(response["result"]["isError"], true, "{tool}: {response}");
        response["result"]["structuredContent"].clone()
    }

    /// Closes stdin and waits for a clean exit.
    fn close(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for cairn mcp") {
                assert!(status.success(), "cairn mcp exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "cairn mcp did not exit on EOF");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many threads the server process has now.
    fn threads(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
            .expect("read /proc/PID/task")
            .count()
    }

    /// The peak resident memory of the server process, in bytes.
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc status");
        kib * 1024
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn every_malformed_request_gets_exactly_one_reply_with_its_id() {
    let home = TestHome::new();
    let mut server = Server::start(&home, "raw");
    let mut expected: Vec<(u64, i64, &str)> = Vec::new();

    // Invalid UTF-8 inside a string.
    server.send(
        b"{\"jsonrpc\":\"2.0\",\"id\":101,\"method\":\"tools/call\",\"params\":{\"name\":\"save_progress\",\
          \"arguments\":{\"session_id\":\"bad-utf8\",\"summary\":\"caf\xc3\x28 \xff\"}}}",
    );
    expected.push((101, -32700, "parse error"));

    // Nesting deeper than 128 levels.
    let mut deep = br#"{"jsonrpc":"2.0","id":102,"method":"tools/call","params":{"name":"save_progress","arguments":{"session_id":"deep","summary":"#.to_vec();
    deep.extend(std::iter::repeat_n(b'[', 300));
    deep.extend(std::iter::repeat_n(b']', 300));
    deep.extend(b"}}}");
    server.send(&deep);
    expected.push((102, -32700, "recursion limit"));

    // Over the body limit, with the id after the first megabytes.
    let huge = json!({
        "jsonrpc": "2.0", "method": "tools/call",
        "params": { "name": "save_progress",
                    "arguments": { "session_id": "huge", "summary": "x".repeat(BODY_LIMIT) } },
    });
    let mut huge = huge.to_string().into_bytes();
    huge.truncate(huge.len() - 1);
    huge.extend(br#","id":103}"#);
    server.send(&huge);
    expected.push((103, -32600, "4 MiB"));

    // Within the limit, malformed, and the id after the first KiB.
    let late = format!(
        r#"{{"jsonrpc":"2.0","method":"tools/call","params":"{}","id":104}}"#,
        "a".repeat(4096)
    );
    server.send(late.as_bytes());
    expected.push((104, -32602, "params"));

    // `params` of the wrong type.
    server.send(br#"{"jsonrpc":"2.0","id":105,"method":"tools/call","params":"save_progress"}"#);
    expected.push((105, -32602, "`params` must be an object"));
    server.send(br#"{"jsonrpc":"2.0","id":"s-106","method":"tools/list","params":[1,2]}"#);

    // JSON that is not a request.
    server.send(br#"{"jsonrpc":"2.0","id":107,"bogus":true}"#);
    expected.push((107, -32600, "`method` is missing"));

    // Still serving: a ping after all of them.
    server.send(br#"{"jsonrpc":"2.0","id":108,"method":"ping"}"#);

    let mut replies: HashMap<String, Vec<Value>> = HashMap::new();
    while !replies.contains_key("108") {
        let line = server.next_line();
        let id = match &line["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        replies.entry(id).or_default().push(line);
    }
    for (id, code, words) in &expected {
        let got = replies
            .get(&id.to_string())
            .unwrap_or_else(|| panic!("no reply for request {id}: {replies:?}"));
        assert_eq!(
            got.len(),
            1,
            "request {id} got {} replies: {got:?}",
            got.len()
        );
        let error = &got[0]["error"];
        assert_eq!(error["code"], json!(code), "request {id}: {error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains(words),
            "request {id} should mention {words:?}: {error}"
        );
    }
    let list = replies.get("s-106").expect("a reply for request s-106");
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(
        list[0].get("error").is_some() || list[0]["result"]["tools"].is_array(),
        "{list:?}"
    );
    assert_eq!(replies["108"][0]["result"], json!({}));
    let unexpected: Vec<&String> = replies
        .keys()
        .filter(|k| {
            !expected.iter().any(|(id, ..)| id.to_string() == **k) && *k != "108" && *k != "s-106"
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "replies without a request: {unexpected:?} {replies:?}"
    );

    let nothing = server.call("where_was_i", json!({}));
    assert_eq!(nothing["found"], false, "nothing was written: {nothing}");
    server.close();
}

#[test]
fn a_flood_of_large_reads_stays_bounded_and_each_is_answered_once() {
    const REQUESTS: u64 = 300;
    let home = TestHome::new();
    let mut server = Server::start(&home, "flood");
    // Four rounds of ~128 KiB each: every full read answers ~1 MiB.
    for round in 0..4 {
        let decisions: Vec<String> = (0..64)
            .map(|i| format!("{round}-{i} {}", "d".repeat(1000)))
            .collect();
        server.call(
            "save_progress",
            json!({
                "session_id": "large",
                "summary": "s".repeat(60 * 1024),
                "decisions_made": decisions,
            }),
        );
    }
    let baseline = server.peak_rss();

    // Requests padded to 1 KiB, so that a server that stops reading fills the pipe.
    server.hold_stdout.store(true, Ordering::SeqCst);
    let mut stdin = server.stdin.take().expect("stdin open");
    let writer = std::thread::spawn(move || {
        for id in 1_000..1_000 + REQUESTS {
            let line = json!({
                "jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": { "name": "get_progress",
                            "arguments": { "session_id": "large", "latest": false, "pad": "p".repeat(1024) } },
            });
            if stdin.write_all(format!("{line}\n").as_bytes()).is_err() {
                return None;
            }
        }
        Some(stdin)
    });
    // Do not read replies until the writer is done or has been held back.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !writer.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !writer.is_finished(),
        "the server kept reading stdin while {REQUESTS} replies were unread (no backpressure)"
    );
    server.hold_stdout.store(false, Ordering::SeqCst);
    let mut seen: HashMap<u64, u32> = HashMap::new();
    while seen.len() < REQUESTS as usize {
        let line = server.next_line();
        let Some(id) = line["id"].as_u64().filter(|id| *id >= 1_000) else {
            continue;
        };
        assert_eq!(
            line["result"]["structuredContent"]["checkpoints"]
                .as_array()
                .map(Vec::len),
            Some(4),
            "request {id}"
        );
        *seen.entry(id).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "a request answered twice");
    let stdin = writer
        .join()
        .expect("writer thread")
        .expect("all requests written");
    server.stdin = Some(stdin);
    let peak = server.peak_rss();
    // Unbounded, this flood holds every reply at once (~300 MiB and more).
    assert!(
        peak < baseline + 120 * 1024 * 1024,
        "peak memory {} MiB (baseline {} MiB)",
        peak >> 20,
        baseline >> 20
    );
    let ping = server.request("ping", json!({}));
    assert_eq!(ping["result"], json!({}));
    server.close();
}

#[test]
fn topics_of_a_closed_stdio_connection_are_released() {
    let home = TestHome::new();
    let mut alpha = Server::start(&home, "alpha");
    let mut beta = Server::start(&home, "beta");
    let claimed = alpha.call(
        "pool_signal",
        json!({ "action": "claimed", "topic": "auth", "summary": "refresh tokens", "affects": ["src/auth.rs"] }),
    );
    let holder = claimed["instance"].as_str().unwrap().to_owned();
    beta.call(
        "pool_signal",
        json!({ "action": "started", "topic": "docs", "summary": "readme" }),
    );
    let status = beta.call("pool_status", json!({}));
    let open: Vec<&str> = status["open_topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["topic"].as_str().unwrap())
        .collect();
    assert!(open.contains(&"auth") && open.contains(&"docs"), "{status}");

    alpha.close();
    let status = beta.call("pool_status", json!({}));
    let open: Vec<(&str, &str)> = status["open_topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["topic"].as_str().unwrap(), t["holder"].as_str().unwrap()))
        .collect();
    assert!(
        !open.iter().any(|(topic, _)| *topic == "auth"),
        "{holder}'s topic is still open after its connection closed: {status}"
    );
    assert!(open.iter().any(|(topic, _)| *topic == "docs"), "{status}");
    beta.close();
}

#[test]
fn saves_and_reads_are_answered_on_the_server_s_own_thread() {
    // Each hand-off to another thread (a worker of a multi-thread runtime, the
    // blocking pool) costs two wake-ups per call, more than a short
    // transaction: over stdio, one thread reads, runs the tool and writes.
    // SQLite's: PostgreSQL's client is async but resolves host names on a thread.
    let home = TestHome::new();
    let mut server = Server::start_on_sqlite(&home, "threads");
    let before = server.threads();
    for round in 0..20 {
        server.call(
            "save_progress",
            json!({ "session_id": "one-thread", "summary": format!("round {round}") }),
        );
        let progress = server.call("get_progress", json!({ "session_id": "one-thread" }));
        assert_eq!(
            progress["checkpoints"][0]["summary"],
            format!("round {round}")
        );
    }
    server.request("ping", json!({}));
    let after = server.threads();
    assert!(
        before <= 2,
        "cairn mcp over stdio runs {before} threads after the handshake: a runtime with \
         workers besides the main thread"
    );
    assert_eq!(
        after, before,
        "saves and reads started threads (the blocking pool): {before} before, {after} after"
    );
    server.close();
}
