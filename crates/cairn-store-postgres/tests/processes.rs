//! Several processes on one PostgreSQL store, and the server going away: eight
//! writers at once on one session (nothing lost or doubled, seqs dense), `kill -9`
//! of writers mid-append (no acknowledged event lost), a restart of the server in
//! the middle of a session (the write it cut says so; the next one succeeds on a
//! new connection) and a server that is down or never answers (a clear error,
//! quickly).
//!
//! The writers are this test binary run again with `--exact worker` and
//! `CAIRN_PG_TEST_WORKER` set; without that variable the `worker` test does nothing.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_core::event::Message;
use cairn_core::{Error, Event, NewEvent, NewSession, Payload, Project, Role, SessionName, Store};
use cairn_store_postgres::{PostgresStore, open_store};
use cairn_testkit::postgres::{TestCluster, fresh_database, private_cluster};

const WORKER_ENV: &str = "CAIRN_PG_TEST_WORKER";
const URL_ENV: &str = "CAIRN_PG_TEST_URL";
const SESSION_ENV: &str = "CAIRN_PG_TEST_SESSION";
const SECONDS_ENV: &str = "CAIRN_PG_TEST_SECONDS";

fn text(marker: &str) -> NewEvent {
    NewEvent::now(Payload::Message(Message::text(Role::User, marker)))
}

fn marker_of(event: &Event) -> Option<String> {
    match &event.payload {
        Payload::Message(m) => Some(m.plain_text()),
        _ => None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Opens the store, creates (or finds) its session and appends batches of one to
/// three events until its time is up (or it is killed), printing `ACK seq marker`
/// for every event once `append_events` returned.
#[test]
fn worker() {
    let Ok(worker_id) = std::env::var(WORKER_ENV) else {
        return;
    };
    let url = std::env::var(URL_ENV).expect("store URL");
    let session = SessionName::parse(&std::env::var(SESSION_ENV).expect("session")).unwrap();
    let seconds: u64 = std::env::var(SECONDS_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3600);
    runtime().block_on(async move {
        let store = open_store(&url).unwrap_or_else(|e| fail(&e));
        let new = NewSession::new(session.clone(), Project::from_stored("/p/team"));
        let id = match store.create_session(new).await {
            Ok(s) => s.id,
            Err(Error::AlreadyExists { .. }) => {
                store
                    .session(&session)
                    .await
                    .unwrap_or_else(|e| fail(&e))
                    .id
            }
            Err(e) => fail(&e),
        };
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut stdout = std::io::stdout().lock();
        let mut counter = 0u64;
        while Instant::now() < deadline {
            let size = 1 + counter % 3;
            let markers: Vec<String> = (0..size)
                .map(|i| format!("w{worker_id}-{}", counter + i + 1))
                .collect();
            counter += size;
            let events = markers.iter().map(|m| text(m)).collect();
            let seqs = store
                .append_events(id, events)
                .await
                .unwrap_or_else(|e| fail(&e));
            for (seq, marker) in seqs.iter().zip(&markers) {
                writeln!(stdout, "ACK {seq} {marker}").unwrap();
            }
            stdout.flush().unwrap();
        }
        writeln!(stdout, "DONE").unwrap();
    });
}

fn fail(e: &Error) -> ! {
    println!("ERR {e}");
    panic!("worker failed: {e}");
}

fn spawn_worker(url: &str, session: &str, worker_id: usize, seconds: Option<u64>) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "worker", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, worker_id.to_string())
        .env(URL_ENV, url)
        .env(SESSION_ENV, session)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(seconds) = seconds {
        command.env(SECONDS_ENV, seconds.to_string());
    }
    command.spawn().unwrap()
}

/// What a worker printed.
#[derive(Default)]
struct Output {
    acks: Vec<(u64, String)>,
    errors: Vec<String>,
    done: bool,
}

/// Collects a worker's output on a thread; `acks_seen` counts its acknowledgements
/// as they come (to kill it mid-append once it has made some).
fn read_output(
    child: &mut Child,
    acks_seen: Arc<std::sync::atomic::AtomicUsize>,
) -> std::thread::JoinHandle<Output> {
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut output = Output::default();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest prints "test worker ... " without a newline first.
            if let Some(rest) = line.find("ACK ").map(|at| &line[at + 4..]) {
                let (seq, marker) = rest.split_once(' ').unwrap();
                output.acks.push((seq.parse().unwrap(), marker.to_owned()));
                acks_seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            } else if let Some(at) = line.find("ERR ") {
                output.errors.push(line[at + 4..].to_owned());
            } else if line.ends_with("DONE") {
                output.done = true;
            }
        }
        output
    })
}

/// The session's history, checked dense (seqs 1..=n) and without a doubled
/// marker; returns marker → seq.
fn dense_history(store: &Arc<dyn Store>, session: &str) -> BTreeMap<String, u64> {
    runtime().block_on(async {
        let id = store
            .session(&SessionName::parse(session).unwrap())
            .await
            .unwrap()
            .id;
        let events = store.events_after(id, 0, u32::MAX).await.unwrap();
        let mut by_marker = BTreeMap::new();
        for (i, event) in events.iter().enumerate() {
            assert_eq!(event.seq, i as u64 + 1, "seqs are not dense");
            let marker = marker_of(event).expect("only messages are written");
            assert!(
                by_marker.insert(marker.clone(), event.seq).is_none(),
                "{marker} is stored twice"
            );
        }
        by_marker
    })
}

/// Every acknowledged event is stored at the seq it was acknowledged with.
fn assert_acknowledged_kept(outputs: &[Output], stored: &BTreeMap<String, u64>) -> usize {
    let mut acked = 0;
    for output in outputs {
        for (seq, marker) in &output.acks {
            assert_eq!(
                stored.get(marker),
                Some(seq),
                "acknowledged {marker} at seq {seq} is not stored there"
            );
            acked += 1;
        }
    }
    acked
}

#[test]
fn eight_writers_on_one_session_lose_and_double_nothing() {
    let database = fresh_database();
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut children: Vec<Child> = (0..8)
        .map(|w| spawn_worker(&database.url, "shared", w, Some(3)))
        .collect();
    let readers: Vec<_> = children
        .iter_mut()
        .map(|c| read_output(c, Arc::clone(&seen)))
        .collect();
    for child in &mut children {
        child.wait().unwrap();
    }
    let outputs: Vec<Output> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    for (w, output) in outputs.iter().enumerate() {
        assert!(output.errors.is_empty(), "worker {w}: {:?}", output.errors);
        assert!(output.done, "worker {w} did not finish");
        assert!(!output.acks.is_empty(), "worker {w} wrote nothing");
    }
    let store = open_store(&database.url).unwrap();
    let stored = dense_history(&store, "shared");
    let acked = assert_acknowledged_kept(&outputs, &stored);
    // Every worker finished, so everything stored was acknowledged.
    assert_eq!(acked, stored.len());
}

#[test]
fn killed_writers_lose_no_acknowledged_event() {
    let database = fresh_database();
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut children: Vec<Child> = (0..4)
        .map(|w| spawn_worker(&database.url, "killed", w, None))
        .collect();
    let readers: Vec<_> = children
        .iter_mut()
        .map(|c| read_output(c, Arc::clone(&seen)))
        .collect();
    // Kill them mid-stream: once they have acknowledged a few hundred events.
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.load(std::sync::atomic::Ordering::Relaxed) < 400 {
        assert!(Instant::now() < deadline, "the writers made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    for child in &mut children {
        // SIGKILL: no chance to finish the append or close the connection.
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let outputs: Vec<Output> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    for (w, output) in outputs.iter().enumerate() {
        assert!(output.errors.is_empty(), "worker {w}: {:?}", output.errors);
        assert!(!output.done, "worker {w} finished before it was killed");
    }
    let store = open_store(&database.url).unwrap();
    let stored = dense_history(&store, "killed");
    let acked = assert_acknowledged_kept(&outputs, &stored);
    // A killed writer's transaction is rolled back or committed whole: at most
    // the batch in flight of each writer (≤ 3 events) is stored unacknowledged.
    assert!(stored.len() - acked <= 4 * 3, "{} of {acked}", stored.len());
    // The session is not left locked by a dead writer: appending goes on.
    runtime().block_on(async {
        let id = store
            .session(&SessionName::parse("killed").unwrap())
            .await
            .unwrap()
            .id;
        let seqs = tokio::time::timeout(
            Duration::from_secs(10),
            store.append_events(id, vec![text("after")]),
        )
        .await
        .expect("the session stays locked after the writers died")
        .unwrap();
        assert_eq!(seqs, [stored.len() as u64 + 1]);
    });
}

/// A session with `n` acknowledged events on `store`; its id.
async fn session_with(store: &PostgresStore, name: &str, n: usize) -> ulid::Ulid {
    let session = store
        .create_session(NewSession::new(
            SessionName::parse(name).unwrap(),
            Project::from_stored("/p/team"),
        ))
        .await
        .unwrap();
    for i in 0..n {
        store
            .append_events(session.id, vec![text(&format!("before-{i}"))])
            .await
            .unwrap();
    }
    session.id
}

/// Holds the session's row lock from another connection, so that an append to
/// it waits (in flight) until the lock goes away.
async fn hold_session_lock(cluster: &TestCluster, database: &str, session: &str) {
    let (client, connection) =
        tokio_postgres::connect(&cluster.url(database), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM sessions WHERE name = '{session}' FOR UPDATE"
        ))
        .await
        .unwrap();
    // The client must outlive this call: the lock is its transaction's.
    std::mem::forget(client);
}

/// Waits until some backend of `database` waits for a lock.
fn wait_for_a_blocked_write(cluster: &TestCluster, database: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting = cluster.psql(
            database,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
        );
        if waiting.trim() != "0" {
            return;
        }
        assert!(Instant::now() < deadline, "the append never blocked");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_restart_mid_session_fails_the_cut_write_clearly_and_the_next_succeeds() {
    let cluster = private_cluster();
    let database = cluster.create_database("restart").unwrap();
    let store = PostgresStore::open(&database.url).unwrap();
    runtime().block_on(async {
        let id = session_with(&store, "across-restart", 5).await;

        // A restart between two writes: the pool's connections died with the old
        // server; the next write gets a new one and succeeds.
        tokio::task::block_in_place(|| cluster.restart());
        let seqs = store
            .append_events(id, vec![text("after-restart")])
            .await
            .expect("the first write after a restart");
        assert_eq!(seqs, [6]);

        // A restart while a write is in flight (it waits for a row lock): that
        // write fails and says it was not confirmed; nothing of it is stored.
        hold_session_lock(&cluster, "restart", "across-restart").await;
        let in_flight = tokio::spawn({
            let store = store.clone();
            async move { store.append_events(id, vec![text("cut")]).await }
        });
        // The in-flight append runs on the other worker meanwhile.
        tokio::task::block_in_place(|| {
            wait_for_a_blocked_write(&cluster, "restart");
            cluster.restart();
        });
        let cut = in_flight.await.unwrap().expect_err("the cut write failed");
        let message = cut.to_string();
        assert!(
            message.contains("PostgreSQL postgres://postgres@127.0.0.1")
                && message.contains("connection to the server was lost")
                && message.contains("not confirmed"),
            "{message}"
        );

        // The next write succeeds, right after the acknowledged ones.
        let seqs = store
            .append_events(id, vec![text("after-cut")])
            .await
            .expect("the write after the cut one");
        assert_eq!(seqs, [7]);
        let events = store.events_after(id, 0, u32::MAX).await.unwrap();
        let markers: Vec<String> = events.iter().filter_map(marker_of).collect();
        let mut expected: Vec<String> = (0..5).map(|i| format!("before-{i}")).collect();
        expected.extend(["after-restart".into(), "after-cut".into()]);
        assert_eq!(markers, expected);
    });
}

#[test]
fn a_stopped_server_is_a_quick_clear_error_and_work_resumes_when_it_is_back() {
    let cluster = private_cluster();
    let database = cluster.create_database("stopped").unwrap();
    let store = PostgresStore::open(&database.url).unwrap();
    runtime().block_on(async {
        let id = session_with(&store, "while-down", 3).await;
        tokio::task::block_in_place(|| cluster.stop_server());
        let started = Instant::now();
        let err = store
            .append_events(id, vec![text("while-down")])
            .await
            .expect_err("no server");
        assert!(started.elapsed() < Duration::from_secs(5), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("PostgreSQL postgres://postgres@127.0.0.1")
                && message.contains("Connection refused"),
            "{message}"
        );
        tokio::task::block_in_place(|| cluster.start_server());
        let seqs = store
            .append_events(id, vec![text("back")])
            .await
            .expect("the server is back");
        assert_eq!(seqs, [4]);
    });
}

#[test]
fn a_server_that_never_answers_is_an_error_within_the_connect_timeout() {
    // Accepts the TCP connection and then says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://me:hunter2@127.0.0.1:{port}/cairn?connect_timeout=1");
    let store = open_store(&url).unwrap();
    let started = Instant::now();
    let err = runtime()
        .block_on(store.list_sessions(&Default::default()))
        .expect_err("nobody answers");
    let took = started.elapsed();
    // connect_timeout=1 bounds the whole set-up, TLS and authentication included.
    assert!(took < Duration::from_millis(1800), "took {took:?}: {err}");
    let message = err.to_string();
    assert!(
        message.contains("me:***@127.0.0.1") && message.contains("did not answer in time"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    drop(silent);
}
