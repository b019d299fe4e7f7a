//! `cairn serve`'s `/acp`: the official ACP Python SDK over WebSocket (its own
//! `websockets` transport) against the testkit's fake provider, checked from both
//! sides — the client's view in `tests/python/acp/serve_ws.py` (each check printed as
//! `CHECK …`), the provider's requests and the store here.

use cairn_testkit::fake_llm::{contains_in_order, transcript};
use std::time::{Duration, Instant};

use cairn_core::{Role, SessionName};
use cairn_store_sqlite::Synchronous;
use cairn_testkit::cli::Cairn;
use cairn_testkit::external::run_acp_script;
use cairn_testkit::fake_llm::{FakeLlm, Reply, Turn};
use cairn_testkit::home::TestHome;
use cairn_testkit::serve::ServeDaemon;

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

/// Runs a scenario of serve_ws.py; asserts every named check ran.
fn run_scenario(home: &TestHome, daemon: &ServeDaemon, args: &[&str], must_check: &[&str]) {
    let url = daemon.acp_url();
    let mut all = vec!["--url", url.as_str()];
    all.extend_from_slice(args);
    let stdout = run_acp_script("serve_ws.py", CAIRN, home, &all);
    cairn_testkit::external::assert_checks(&stdout, must_check);
}

fn with_store<T>(home: &TestHome, f: impl AsyncFnOnce(&dyn cairn_core::Store) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store =
            cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap();
        f(store.as_ref()).await
    })
}

/// Waits (10 s at most) until nobody holds the session's lease.
fn wait_until_released(home: &TestHome, name: &str) {
    let started = Instant::now();
    loop {
        let held = with_store(home, async |store| {
            let session = store
                .session(&SessionName::parse(name).unwrap())
                .await
                .unwrap();
            store.lease(session.id).await.unwrap()
        });
        if held.is_none() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the daemon still holds {name}: {held:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn acp_clients_share_sessions_over_websocket_one_turn_at_a_time() {
    let home = TestHome::with_git();
    let story = "Once upon a time ".repeat(60);
    let fake = FakeLlm::start([
        Reply::new()
            .text("Hello over the socket.")
            .chunk_size(4)
            .into(),
        Reply::new().text(story).chunk_delay_ms(50).into(),
        Turn::text("Second socket answered."),
    ])
    .unwrap();
    let daemon = ServeDaemon::start(CAIRN, &home, Some(&fake), None, &[]);
    run_scenario(
        &home,
        &daemon,
        &["--scenario", "tour"],
        &[
            "prompt: the answer streamed in several frames",
            "share: load on a second socket replays",
            "busy: a prompt from another socket is refused",
            "busy: a second prompt on the same socket is refused",
            "cancel: stop reason cancelled",
            "share: the other socket prompts once the turn ended",
            "load: every user message replayed in order",
        ],
    );
    // Exactly three turns reached the provider: the busy prompts never did.
    assert_eq!(fake.requests().len(), 3);
    // The interrupted answer is stored as such, with the person's next message after it.
    let events = with_store(&home, async |store| {
        let s = store
            .session(&SessionName::parse("ws-tour").unwrap())
            .await
            .unwrap();
        store.events_after(s.id, 0, 1000).await.unwrap()
    });
    let messages: Vec<_> = events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.role == Role::Assistant && m.interrupted),
        "{messages:#?}"
    );
    wait_until_released(&home, "ws-tour");
}

#[test]
fn a_session_moves_from_terminal_to_websocket_and_back() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([
        Turn::text("Terminal answer."),
        Turn::text("Socket answer."),
        Turn::text("Answer three."),
    ])
    .unwrap();
    let c = Cairn::new(CAIRN, &home).with_fake_openai(&fake);
    c.run(["run", "--name", "handoff", "-p", "first from the terminal"])
        .success();
    let daemon = ServeDaemon::start(CAIRN, &home, Some(&fake), None, &[]);
    run_scenario(
        &home,
        &daemon,
        &["--scenario", "continue", "--session", "handoff"],
        &[
            "continue: the terminal's message replayed",
            "continue: the prompt answers",
        ],
    );
    // The socket closed: the daemon lets go of the session, the terminal takes it.
    wait_until_released(&home, "handoff");
    c.run([
        "run",
        "--resume",
        "handoff",
        "-p",
        "third from the terminal",
    ])
    .success()
    .stdout_has(&["Answer three."]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    contains_in_order(
        &transcript(&requests[1].body),
        &[
            "user: first from the terminal",
            "assistant: Terminal answer.",
            "user: second from the socket",
        ],
    );
    contains_in_order(
        &transcript(&requests[2].body),
        &[
            "user: first from the terminal",
            "assistant: Terminal answer.",
            "user: second from the socket",
            "assistant: Socket answer.",
            "user: third from the terminal",
        ],
    );
    drop(daemon);
}

#[test]
fn a_socket_with_a_wrong_token_or_a_foreign_origin_is_refused() {
    let home = TestHome::with_git();
    let daemon = ServeDaemon::start(CAIRN, &home, None, Some("s3cret-token"), &[]);
    run_scenario(
        &home,
        &daemon,
        &["--scenario", "refused"],
        &[
            "refused: a wrong token cannot open the socket",
            "refused: a foreign Origin cannot open the socket",
        ],
    );
}
