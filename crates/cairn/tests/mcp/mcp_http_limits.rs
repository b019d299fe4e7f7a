//! `cairn mcp --http` under clients that hold what they can: half-sent
//! requests, more connections than the cap, floods of `initialize`. Bounded in
//! count and time, loopback only, through the real binary.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cairn_testkit::home::TestHome;
use cairn_testkit::mcp_http::McpHttpServer;
use serde_json::{Value, json};

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");
const TOKEN: &str = "limits-token";

/// A connection that sends the start of a request without a token, and never
/// the rest.
fn half_request(server: &McpHttpServer) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .write_all(format!("POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-", server.addr).as_bytes())
        .expect("send half a request");
    stream
}

/// True when the server closed the connection (EOF or reset) within `within`.
fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("read timeout");
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // A 408 or similar before the close is fine; keep reading.
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

fn initialized(server: &McpHttpServer, session: &str) {
    let reply = server.post(
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        &[("Mcp-Session-Id", session)],
    );
    assert!(reply.status == 200 || reply.status == 202, "{reply:?}");
}

#[test]
fn half_sent_requests_are_cut_off_and_clients_still_served() {
    let home = TestHome::new();
    let server = McpHttpServer::start(CAIRN, &home, "127.0.0.1:0", Some(TOKEN), &[]);
    let mut held: Vec<TcpStream> = (0..40).map(|_| half_request(&server)).collect();
    // An authorised client is served while they hang.
    let reply = server.initialize("real-client");
    assert_eq!(reply.status, 200, "{reply:?}");
    // Each half-sent request is dropped after the header timeout (10 s).
    let started = Instant::now();
    for stream in &mut held {
        let left = Duration::from_secs(25).saturating_sub(started.elapsed());
        assert!(
            closed_by_server(stream, left.max(Duration::from_millis(1))),
            "a connection that sent half a request was still open after {:?}",
            started.elapsed()
        );
    }
}

/// Sockets the server process holds open (Linux `/proc`).
#[cfg(target_os = "linux")]
fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/PID/fd")
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn connections_beyond_the_cap_wait_in_the_queue() {
    let home = TestHome::new();
    home.write_config("[mcp]\nmax_connections = 4\nheader_timeout_secs = 2\n");
    let server = McpHttpServer::start(CAIRN, &home, "127.0.0.1:0", Some(TOKEN), &[]);
    let before = open_sockets(server.pid());
    let mut held: Vec<TcpStream> = (0..30).map(|_| half_request(&server)).collect();
    // Give the server a moment to accept all it will; it must stop at the cap.
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut most = 0;
    while Instant::now() < deadline {
        most = most.max(open_sockets(server.pid()).saturating_sub(before));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(most <= 4, "server held {most} connections, cap is 4");
    // The queue drains as the header timeout cuts the holders off, and an
    // authorised client behind them is served.
    let reply = server.initialize("patient-client");
    assert_eq!(reply.status, 200, "{reply:?}");
    for stream in &mut held {
        assert!(closed_by_server(stream, Duration::from_secs(30)));
    }
}

#[test]
fn session_flood_is_capped_with_a_json_rpc_error_and_unused_sessions_expire() {
    let home = TestHome::new();
    home.write_config(
        "[mcp]\nmax_sessions = 8\nmax_sessions_per_client = 5\nunused_session_secs = 2\n",
    );
    let server = McpHttpServer::start(CAIRN, &home, "127.0.0.1:0", Some(TOKEN), &[]);
    let mut flood = Vec::new();
    for _ in 0..5 {
        let reply = server.initialize("flood");
        assert_eq!(reply.status, 200, "{reply:?}");
        let session = reply.header("mcp-session-id").expect("a session id");
        flood.push(session.to_owned());
    }
    // The sixth of one client is refused, naming the rule.
    let refused = server.initialize("flood");
    assert_eq!(refused.status, 503, "{refused:?}");
    let error = &refused.json()["error"];
    assert_eq!(error["code"], -32000, "{refused:?}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("max_sessions_per_client")),
        "{refused:?}"
    );
    assert_eq!(refused.json()["id"], 1, "{refused:?}");
    // Other clients fill the rest; past the total cap everyone is refused.
    for name in ["b", "c", "d"] {
        assert_eq!(server.initialize(name).status, 200);
    }
    let refused = server.initialize("e");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("max_sessions")),
        "{refused:?}"
    );
    // One flood session is used: it stays; the unused ones close in seconds.
    let used = flood[0].clone();
    initialized(&server, &used);
    let tools = server.post(
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        &[("Mcp-Session-Id", &used)],
    );
    assert_eq!(tools.status, 200, "{tools:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let reopened = loop {
        let reply = server.initialize("e");
        if reply.status == 200 || Instant::now() > deadline {
            break reply;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        reopened.status, 200,
        "unused sessions never expired: {reopened:?}"
    );
    let gone = server.post(
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#,
        &[("Mcp-Session-Id", &flood[1])],
    );
    assert_eq!(
        gone.status, 404,
        "an unused session outlived its time: {gone:?}"
    );
    let kept = server.post(
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/list"}"#,
        &[("Mcp-Session-Id", &used)],
    );
    assert_eq!(kept.status, 200, "{kept:?}");
    assert!(kept.json()["result"]["tools"].is_array(), "{kept:?}");
}

#[test]
fn json_that_is_not_json_rpc_gets_a_json_rpc_error() {
    let home = TestHome::new();
    let server = McpHttpServer::start(CAIRN, &home, "127.0.0.1:0", Some(TOKEN), &[]);
    for (body, id) in [
        (json!({ "hello": "world" }), Value::Null),
        (json!({ "jsonrpc": "2.0", "id": 7, "bogus": 1 }), json!(7)),
        (json!([1, 2, 3]), Value::Null),
    ] {
        let reply = server.post(&body.to_string(), &[]);
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        assert!(
            reply
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{reply:?}"
        );
        let answer = reply.json();
        assert_eq!(answer["jsonrpc"], "2.0", "{reply:?}");
        assert_eq!(answer["error"]["code"], -32600, "{reply:?}");
        assert_eq!(answer["id"], id, "{reply:?}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("JSON-RPC")),
            "{reply:?}"
        );
    }
}

#[test]
fn a_flood_of_instance_ids_keeps_a_bounded_number_of_pool_instances() {
    use cairn_core::store::MAX_POOL_INSTANCES_PER_PROJECT;
    let home = TestHome::new();
    let server = McpHttpServer::start(CAIRN, &home, "127.0.0.1:0", Some(TOKEN), &[]);
    let reply = server.initialize("flood");
    let session = reply.header("mcp-session-id").expect("a session id");
    initialized(&server, session);
    // Every call names a new instance; each is recorded as heard from.
    let call = json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "pool_status", "arguments": {} }
    })
    .to_string();
    let mut last = None;
    for n in 0..MAX_POOL_INSTANCES_PER_PROJECT + 20 {
        let id = format!("flood-{n}");
        let reply = server.post(
            &call,
            &[("Mcp-Session-Id", session), ("Cairn-Instance", &id)],
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        last = Some(reply);
    }
    let last = last.expect("a reply").json();
    let instances = last["result"]["structuredContent"]["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("no instances: {last}"))
        .len();
    assert_eq!(instances, MAX_POOL_INSTANCES_PER_PROJECT, "{last}");
}
