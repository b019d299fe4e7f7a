//! `cairn serve` as a daemon: `cairn send` through it, `--detach` and `--stop`, and a
//! graceful stop that stores the turn in flight as interrupted and releases its lease.

use std::time::{Duration, Instant};

use cairn_core::{ContentBlock, Role, SessionName};
use cairn_store_sqlite::Synchronous;
use cairn_testkit::cli::Cairn;
use cairn_testkit::fake_llm::{FakeLlm, Reply, Turn};
use cairn_testkit::home::TestHome;
use cairn_testkit::serve::ServeDaemon;

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

fn store_of(home: &TestHome) -> std::sync::Arc<dyn cairn_core::Store> {
    cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap()
}

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn send_without_a_daemon_fails_clearly() {
    let home = TestHome::with_git();
    Cairn::new(CAIRN, &home)
        .run(["send", "anything", "hello"])
        .code(2)
        .stderr_has(&["no cairn serve is running", "cairn serve --detach"]);
}

#[test]
fn send_runs_a_turn_through_the_daemon_and_prints_the_answer() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([
        Turn::text("First answer."),
        Turn::text("Sent and answered."),
    ])
    .unwrap();
    let c = Cairn::new(CAIRN, &home).with_fake_openai(&fake);
    c.run(["run", "--name", "fed", "-p", "keep watch"])
        .success();
    let daemon = ServeDaemon::start(CAIRN, &home, Some(&fake), None, &[]);
    c.run(["send", "fed", "the CI run failed"])
        .success()
        .stdout_has(&["Sent and answered."]);
    // The whole live context went to the model.
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let body = requests[1].body.to_string();
    for said in ["keep watch", "First answer.", "the CI run failed"] {
        assert!(body.contains(said), "{said} missing from {body}");
    }
    // A missing session is named; the daemon is still fine.
    c.run(["send", "nope", "hi"])
        .code(1)
        .stderr_has(&["404", "nope"]);
    drop(daemon);
}

/// Kills a detached daemon if the test ends early.
struct Detached(std::path::PathBuf);

impl Drop for Detached {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(self.0.join("serve.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            // SAFETY: the pid this test's daemon published.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

#[test]
fn detach_runs_in_the_background_and_stop_ends_it() {
    let home = TestHome::with_git();
    let _guard = Detached(home.cairn_home.clone());
    let c = Cairn::new(CAIRN, &home)
        .env("OPENAI_API_KEY", "test-key")
        .env("CAIRN_MODEL", "openai:gpt-4.1");
    c.run(["serve", "--detach", "--bind", "127.0.0.1:0"])
        .success()
        .stdout_has(&["running in the background", "cairn serve --stop"]);
    let pid: u32 = std::fs::read_to_string(home.cairn_home.join("serve.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let addr: std::net::SocketAddr = std::fs::read_to_string(home.cairn_home.join("serve.addr"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let reply = cairn_testkit::serve::request(
        addr,
        "GET",
        "/api/sessions",
        &[("Host".to_owned(), addr.to_string())],
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    // A second daemon for the same home is refused.
    c.run(["serve", "--bind", "127.0.0.1:0"])
        .code(2)
        .stderr_has(&["already running", &pid.to_string()]);
    c.run(["serve", "--stop"])
        .success()
        .stdout_has(&["stopped"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    // SAFETY: signal 0 only checks that the process exists.
    while unsafe { libc::kill(pid as i32, 0) } == 0 {
        assert!(Instant::now() < deadline, "pid {pid} still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!home.cairn_home.join("serve.pid").exists());
    assert!(!home.cairn_home.join("serve.addr").exists());
    assert!(home.cairn_home.join("serve.log").exists());
    c.run(["serve", "--stop"])
        .code(2)
        .stderr_has(&["no cairn serve is running"]);
}

#[test]
fn sigterm_stores_the_turn_in_flight_as_interrupted_and_releases_the_lease() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([
        Turn::text("Ready."),
        Reply::new()
            .text("A very long story. ".repeat(200))
            .chunk_size(8)
            .chunk_delay_ms(50)
            .into(),
    ])
    .unwrap();
    let c = Cairn::new(CAIRN, &home).with_fake_openai(&fake);
    c.run(["run", "--name", "long", "-p", "get ready"])
        .success();
    let mut daemon = ServeDaemon::start(CAIRN, &home, Some(&fake), None, &[]);
    let sender = {
        let c = Cairn::new(CAIRN, &home).with_fake_openai(&fake);
        std::thread::spawn(move || c.run(["send", "long", "tell the story"]))
    };
    // The turn is under way once the provider got its request.
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.requests().len() < 2 {
        assert!(Instant::now() < deadline, "the turn never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = daemon.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    let sent = sender.join().unwrap();
    let said = format!("{}{}", sent.stdout, sent.stderr);
    assert!(
        said.contains("cancelled") || said.contains("stopped"),
        "send saw: {said}"
    );
    let store = store_of(&home);
    let (events, lease) = block_on(async {
        let s = store
            .session(&SessionName::parse("long").unwrap())
            .await
            .unwrap();
        (
            store.events_after(s.id, 0, 1000).await.unwrap(),
            store.lease(s.id).await.unwrap(),
        )
    });
    assert!(lease.is_none(), "the lease is still held: {lease:?}");
    let last = events
        .iter()
        .rev()
        .find_map(|e| e.payload.as_message())
        .unwrap();
    assert_eq!(last.role, Role::Assistant);
    assert!(last.interrupted, "{last:?}");
    let text = last
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<String>();
    assert!(
        text.starts_with("A very long story.") && text.len() < 3800,
        "{text}"
    );
}
