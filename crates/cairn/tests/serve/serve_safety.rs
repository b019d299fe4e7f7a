//! Who may use `cairn serve`, and how much one client may hold (issue 10 §4): loopback
//! by default, a token for anything else, `Host`/`Origin` checks on every endpoint
//! (the WebSocket upgrade too), the token never written anywhere, bounded bodies,
//! sockets and watchers, and a client that stops reading cut off without stalling
//! the others.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cairn_core::{Message, NewEvent, NewSession, Payload, Project, Role, SessionName};
use cairn_store_sqlite::Synchronous;
use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;
use cairn_testkit::mcp_http::initialize_body;
use cairn_testkit::serve::{ServeDaemon, request};

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");
const TOKEN: &str = "tok-3f9a1c77e2b04d5d9e8a";
const MCP_ACCEPT: (&str, &str) = ("Accept", "application/json, text/event-stream");

/// The head of a WebSocket upgrade of `/acp` (the status line and headers only).
fn upgrade(daemon: &ServeDaemon, path: &str, extra: &[(&str, &str)]) -> (u16, TcpStream) {
    let mut stream = TcpStream::connect(daemon.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut text = format!(
        "GET {path} HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    for (name, value) in daemon.headers(extra) {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, stream)
}

#[test]
fn a_foreign_origin_is_refused_on_api_acp_and_mcp() {
    let home = TestHome::with_git();
    let daemon = ServeDaemon::start(CAIRN, &home, None, None, &[]);
    let evil = [("Origin", "http://evil.example")];
    let api = daemon.get("/api/sessions", &evil);
    assert_eq!(api.status, 403, "{api:?}");
    assert!(api.body.contains("evil.example"), "{api:?}");
    let (acp, _) = upgrade(&daemon, "/acp", &evil);
    assert_eq!(acp, 403);
    let mcp = daemon.post("/mcp", &initialize_body("c"), &[evil[0], MCP_ACCEPT]);
    assert_eq!(mcp.status, 403, "{mcp:?}");
    let stream = daemon.get("/api/sessions/x/stream", &[("Origin", "null")]);
    assert_eq!(stream.status, 403, "{stream:?}");
    // DNS rebinding: a page of another name resolving to 127.0.0.1.
    let port = daemon.addr.port();
    let rebound = daemon.get(
        "/api/sessions",
        &[("Host", &format!("evil.example:{port}"))],
    );
    assert_eq!(rebound.status, 403, "{rebound:?}");
    // The daemon's own pages and loopback pages may call.
    let own = format!("http://{}", daemon.addr);
    assert_eq!(daemon.get("/api/sessions", &[("Origin", &own)]).status, 200);
    let (ok, _) = upgrade(&daemon, "/acp", &[("Origin", &own)]);
    assert_eq!(ok, 101);
}

#[test]
fn a_non_loopback_bind_needs_a_token() {
    let home = TestHome::with_git();
    let c = Cairn::new(CAIRN, &home);
    c.run(["serve", "--bind", "0.0.0.0:0"])
        .code(2)
        .stderr_has(&["0.0.0.0:0", "CAIRN_TOKEN"]);
    c.run(["serve", "--bind", "0.0.0.0:0", "--token", " "])
        .code(2)
        .stderr_has(&["token"]);
}

#[test]
fn a_wrong_or_missing_token_gets_401_everywhere_it_guards() {
    let home = TestHome::with_git();
    let daemon = ServeDaemon::start(CAIRN, &home, None, Some(TOKEN), &[]);
    let none = [("Authorization", "")];
    let wrong = [("Authorization", "Bearer not-the-token")];
    for extra in [&none, &wrong] {
        let api = daemon.get("/api/sessions", extra);
        assert_eq!(api.status, 401, "{api:?}");
        assert_eq!(api.header("www-authenticate"), Some("Bearer"));
        let (acp, _) = upgrade(&daemon, "/acp", extra);
        assert_eq!(acp, 401);
        let mcp = daemon.post("/mcp", &initialize_body("c"), &[extra[0], MCP_ACCEPT]);
        assert_eq!(mcp.status, 401, "{mcp:?}");
    }
    assert_eq!(daemon.get("/api/sessions", &[]).status, 200);
    assert_eq!(
        daemon
            .post("/mcp", &initialize_body("c"), &[MCP_ACCEPT])
            .status,
        200
    );
    // `?token=` for what a browser opens without headers (GET only).
    let query = daemon.get(&format!("/api/sessions?token={TOKEN}"), &none);
    assert_eq!(query.status, 200, "{query:?}");
    let (acp, _) = upgrade(&daemon, &format!("/acp?token={TOKEN}"), &none);
    assert_eq!(acp, 101);
    let post = daemon.post(
        &format!("/api/sessions/x/messages?token={TOKEN}"),
        "{\"text\":\"hi\"}",
        &none,
    );
    assert_eq!(post.status, 401, "{post:?}");
    // The dashboard page itself holds no data: it loads and asks for the token.
    assert_eq!(daemon.get("/", &none).status, 200);
}

#[test]
fn the_token_never_reaches_the_store_or_the_log() {
    let home = TestHome::with_git();
    let log = home.root().join("serve.log");
    let log_arg = log.to_str().unwrap().to_owned();
    let mut daemon = ServeDaemon::start_with_env(
        CAIRN,
        &home,
        None,
        Some(TOKEN),
        &["--log-file", &log_arg],
        &[("CAIRN_LOG", "debug")],
    );
    let store = cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let s = store
                .create_session(NewSession::new(
                    SessionName::parse("guarded").unwrap(),
                    Project::from_stored(home.project_key()),
                ))
                .await
                .unwrap();
            store
                .append_events(
                    s.id,
                    vec![NewEvent::now(Payload::Message(Message::text(
                        Role::User,
                        "hi",
                    )))],
                )
                .await
                .unwrap();
        });
    drop(store);
    for path in [
        "/api/sessions".to_owned(),
        "/api/sessions/guarded".to_owned(),
        format!("/api/sessions/guarded/events?token={TOKEN}"),
        "/api/usage?by=session".to_owned(),
    ] {
        assert_eq!(daemon.get(&path, &[]).status, 200, "{path}");
    }
    let _ = daemon.get(
        "/api/sessions",
        &[("Authorization", &format!("Bearer {TOKEN}x"))],
    );
    let _ = upgrade(&daemon, &format!("/acp?token={TOKEN}"), &[]);
    let mcp = daemon.post("/mcp", &initialize_body("c"), &[MCP_ACCEPT]);
    assert_eq!(mcp.status, 200, "{mcp:?}");
    assert!(daemon.terminate(Duration::from_secs(30)).success());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.is_empty(), "debug logging wrote nothing");
    assert!(
        !logged.contains(TOKEN),
        "the token is in the log:\n{logged}"
    );
    let said = daemon.stderr.lock().unwrap().join("\n");
    assert!(!said.contains(TOKEN), "the token is on stderr:\n{said}");
    for entry in std::fs::read_dir(&home.cairn_home).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes());
            assert!(!found, "the token is in {}", path.display());
        }
    }
}

#[test]
fn bodies_sockets_and_watchers_are_bounded_with_clear_errors() {
    let home = TestHome::with_git();
    let daemon = ServeDaemon::start(
        CAIRN,
        &home,
        None,
        None,
        &["--max-watchers", "2", "--max-acp-connections", "1"],
    );
    let big = format!("{{\"text\":\"{}\"}}", "x".repeat(8 * 1024 * 1024));
    let reply = daemon.post("/api/sessions/any/messages", &big, &[]);
    assert_eq!(reply.status, 413, "{}", reply.status);
    assert!(reply.body.contains("request body"), "{}", reply.body);
    let not_json = daemon.post("/api/sessions/any/messages", "{\"txt\":1}", &[]);
    assert_eq!(not_json.status, 422, "{not_json:?}");
    assert!(not_json.body.contains("text"), "{not_json:?}");
    // Watchers: two fit, the third is told why.
    let store = cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            store
                .create_session(NewSession::new(
                    SessionName::parse("watched").unwrap(),
                    Project::from_stored(home.project_key()),
                ))
                .await
                .unwrap();
        });
    let one = daemon.stream("/api/sessions/watched/stream");
    let two = daemon.stream("/api/sessions/watched/stream");
    assert_eq!((one.status, two.status), (200, 200));
    let three = daemon.get("/api/sessions/watched/stream", &[]);
    assert_eq!(three.status, 503, "{three:?}");
    assert!(three.body.contains("at most 2"), "{three:?}");
    // Sockets: one fits.
    let (first, _held) = upgrade(&daemon, "/acp", &[]);
    assert_eq!(first, 101);
    let (second, _) = upgrade(&daemon, "/acp", &[]);
    assert_eq!(second, 503);
    let _ = request;
}

#[test]
fn a_watcher_that_stops_reading_is_cut_off_and_stalls_no_one() {
    let home = TestHome::with_git();
    let store = cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let id = rt.block_on(async {
        store
            .create_session(NewSession::new(
                SessionName::parse("firehose").unwrap(),
                Project::from_stored(home.project_key()),
            ))
            .await
            .unwrap()
            .id
    });
    let daemon = ServeDaemon::start(CAIRN, &home, None, None, &["--slow-client-secs", "1"]);
    // Opens its stream and never reads it.
    let stalled = daemon.stream("/api/sessions/firehose/stream?after=0");
    assert_eq!(stalled.status, 200);
    let mut reader = daemon.stream("/api/sessions/firehose/stream?after=0");
    // ~16 MB of events: more than the socket buffers and the watcher's queue hold.
    let text = "y".repeat(4096);
    const EVENTS: u64 = 4000;
    rt.block_on(async {
        for _ in 0..(EVENTS / 100) {
            let batch = (0..100)
                .map(|_| NewEvent::now(Payload::Message(Message::text(Role::User, text.clone()))))
                .collect();
            store.append_events(id, batch).await.unwrap();
        }
    });
    let started = Instant::now();
    for want in 1..=EVENTS {
        let e = reader
            .next_event()
            .unwrap_or_else(|| panic!("the reading watcher stopped at {want}"));
        assert_eq!(e.id.as_deref(), Some(want.to_string().as_str()));
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the reading watcher was held up: {:?}",
        started.elapsed()
    );
    // The stalled one was disconnected, and said so in the log.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let said = daemon.stderr.lock().unwrap().join("\n");
        if said.contains("did not keep up") {
            break;
        }
        assert!(Instant::now() < deadline, "no slow-client line: {said}");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stalled);
}
