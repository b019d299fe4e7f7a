//! Several processes on one store: kill -9 while appending (acknowledged means
//! durable) and eight writers at once (no error surfaces, nothing lost or doubled).
//!
//! The worker processes are this test binary run again with `--exact worker` and
//! `CAIRN_STORE_TEST_WORKER` set; without that variable the `worker` test does nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use cairn_core::{
    Error, Event, Message, NewEvent, NewSession, Payload, Project, Role, SessionFilter,
    SessionName, Store,
};
use cairn_store_sqlite::Synchronous;
use cairn_store_sqlite::{SqliteStore, open_store};
use rand::Rng;

const WORKER_ENV: &str = "CAIRN_STORE_TEST_WORKER";
const STORE_ENV: &str = "CAIRN_STORE_TEST_PATH";
const SESSION_ENV: &str = "CAIRN_STORE_TEST_SESSION";
const SECONDS_ENV: &str = "CAIRN_STORE_TEST_SECONDS";
const SYNC_ENV: &str = "CAIRN_STORE_TEST_SYNC";
/// Duration of the concurrency test (seconds, default 20).
const CONCURRENCY_SECONDS_ENV: &str = "CAIRN_STORE_CONCURRENCY_SECONDS";

fn marker_of(event: &Event) -> Option<String> {
    match &event.payload {
        Payload::Message(m) => Some(m.plain_text()),
        _ => None,
    }
}

/// Opens the store, creates (or finds) its session and appends batches of one to
/// three events until its time is up (or it is killed), printing `ACK seq marker`
/// for every event once `append_events` returned.
#[test]
fn worker() {
    let Ok(worker_id) = std::env::var(WORKER_ENV) else {
        return;
    };
    let path = std::env::var(STORE_ENV).expect("store path");
    let session = SessionName::parse(&std::env::var(SESSION_ENV).expect("session")).unwrap();
    let seconds: u64 = std::env::var(SECONDS_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3600);
    let sync = match std::env::var(SYNC_ENV).as_deref() {
        Ok("full") => Synchronous::Full,
        _ => Synchronous::Normal,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = open_store(Path::new(&path), sync).unwrap_or_else(|e| fail(&e));
        let new = NewSession::new(session.clone(), Project::from_stored("/p/stress"));
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
        let mut rng = rand::rng();
        let mut stdout = std::io::stdout().lock();
        let mut counter = 0u64;
        while Instant::now() < deadline {
            let batch: Vec<(String, NewEvent)> = (0..rng.random_range(1..=3))
                .map(|_| {
                    counter += 1;
                    let marker = format!("w{worker_id}-{counter}");
                    let event = NewEvent::now(Payload::Message(Message::text(Role::User, &marker)));
                    (marker, event)
                })
                .collect();
            let (markers, events): (Vec<String>, Vec<NewEvent>) = batch.into_iter().unzip();
            let seqs = store
                .append_events(id, events)
                .await
                .unwrap_or_else(|e| fail(&e));
            for (seq, marker) in seqs.iter().zip(&markers) {
                writeln!(stdout, "ACK {seq} {marker}").unwrap();
            }
            stdout.flush().unwrap();
            // Readers run beside the writers too.
            if counter.is_multiple_of(10) {
                store
                    .live_context(id, 10)
                    .await
                    .unwrap_or_else(|e| fail(&e));
                store
                    .list_sessions(&SessionFilter {
                        project: None,
                        limit: 20,
                        offset: 0,
                    })
                    .await
                    .unwrap_or_else(|e| fail(&e));
            }
        }
        writeln!(stdout, "DONE").unwrap();
    });
}

fn fail(e: &Error) -> ! {
    println!("ERR {e}");
    panic!("worker failed: {e}");
}

fn spawn_worker(
    store: &Path,
    session: &str,
    worker_id: usize,
    seconds: Option<u64>,
    sync: &str,
) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(exe);
    command
        .args(["--exact", "worker", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, worker_id.to_string())
        .env(STORE_ENV, store)
        .env(SESSION_ENV, session)
        .env(SYNC_ENV, sync)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(seconds) = seconds {
        command.env(SECONDS_ENV, seconds.to_string());
    }
    command.spawn().unwrap()
}

/// Every `ACK seq marker` line a worker printed, plus its other lines.
struct Output {
    acks: Vec<(u64, String)>,
    errors: Vec<String>,
    done: bool,
}

/// Collects a worker's output; `first_ack` hears when its first append returned.
fn read_output(
    child: &mut Child,
    first_ack: Option<mpsc::Sender<()>>,
) -> std::thread::JoinHandle<Output> {
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut first_ack = first_ack;
        let mut output = Output {
            acks: Vec::new(),
            errors: Vec::new(),
            done: false,
        };
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest prints "test worker ... " without a newline before the
            // worker's own output, so a marker may start mid-line.
            if let Some(rest) = line.find("ACK ").map(|at| &line[at + 4..]) {
                let (seq, marker) = rest.split_once(' ').unwrap();
                output.acks.push((seq.parse().unwrap(), marker.to_owned()));
                if let Some(tx) = first_ack.take() {
                    let _ = tx.send(());
                }
            } else if let Some(at) = line.find("ERR ") {
                output.errors.push(line[at + 4..].to_owned());
            } else if line.ends_with("DONE") {
                output.done = true;
            }
        }
        output
    })
}

async fn integrity_ok(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "integrity_check of {}", path.display());
    // And the full-text index matches the events.
    SqliteStore::open(path, Synchronous::Normal)
        .unwrap()
        .check_integrity()
        .await
        .unwrap();
}

async fn history_of(store: &Arc<dyn Store>, session: &str) -> Vec<Event> {
    let s = store
        .session(&SessionName::parse(session).unwrap())
        .await
        .unwrap();
    let events = store.events_after(s.id, 0, 0).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=s.head_seq).collect::<Vec<_>>(),
        "seqs dense for {session}"
    );
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_appends_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store").join("cairn.db");
    let mut rng = rand::rng();
    let mut acknowledged: BTreeMap<u64, String> = BTreeMap::new();
    let trials = 36;
    let mut trials_with_acks = 0;
    for trial in 0..trials {
        let sync = if trial % 3 == 2 { "full" } else { "normal" };
        let mut child = spawn_worker(&path, "durable", trial, None, sync);
        let (first_ack, appending) = mpsc::channel();
        let reader = read_output(&mut child, Some(first_ack));
        if trial < 4 {
            // Early trials kill at any moment, also while the store is being
            // created and migrated.
            std::thread::sleep(Duration::from_millis(rng.random_range(0..60)));
        } else {
            // The others kill mid-stream, however slowly a loaded machine starts
            // the worker: wait for its first acknowledged append.
            let _ = appending.recv_timeout(Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(rng.random_range(0..150)));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let output = reader.join().unwrap();
        assert!(
            output.errors.is_empty(),
            "trial {trial}: {:?}",
            output.errors
        );
        if !output.acks.is_empty() {
            trials_with_acks += 1;
        }
        for (seq, marker) in output.acks {
            assert!(
                acknowledged.insert(seq, marker).is_none(),
                "seq {seq} acknowledged twice"
            );
        }
        if !path.exists() {
            continue;
        }
        integrity_ok(&path).await;
        let store = open_store(&path, Synchronous::Normal).unwrap();
        if acknowledged.is_empty() {
            continue;
        }
        let events = history_of(&store, "durable").await;
        let stored: HashMap<u64, String> = events
            .iter()
            .map(|e| (e.seq, marker_of(e).unwrap()))
            .collect();
        for (seq, marker) in &acknowledged {
            assert_eq!(
                stored.get(seq),
                Some(marker),
                "trial {trial}: acknowledged seq {seq} lost"
            );
        }
        let s = store
            .session(&SessionName::parse("durable").unwrap())
            .await
            .unwrap();
        assert_eq!(s.message_count, s.head_seq, "totals in step with the log");
        store.live_context(s.id, 10).await.unwrap();
    }
    assert!(
        trials_with_acks >= trials / 2,
        "only {trials_with_acks} of {trials} trials appended before the kill"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_processes_write_at_once_without_errors_losses_or_duplicates() {
    let seconds: u64 = std::env::var(CONCURRENCY_SECONDS_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    // The store does not exist yet: the workers race to create and migrate it.
    let path = dir.path().join("cairn.db");
    let sessions: Vec<String> = (0..6)
        .map(|i| format!("own-{i}"))
        .chain(["shared".to_owned(), "shared".to_owned()])
        .collect();
    let mut running = Vec::new();
    for (worker_id, session) in sessions.iter().enumerate() {
        let mut child = spawn_worker(&path, session, worker_id, Some(seconds), "normal");
        let reader = read_output(&mut child, None);
        running.push((session.clone(), child, reader));
    }
    let mut acks_by_session: HashMap<String, Vec<(u64, String)>> = HashMap::new();
    for (session, mut child, reader) in running {
        let status = child.wait().unwrap();
        let output = reader.join().unwrap();
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            std::io::Read::read_to_string(&mut err, &mut stderr).unwrap();
        }
        assert!(output.errors.is_empty(), "{session}: {:?}", output.errors);
        assert!(
            status.success() && output.done,
            "{session}: {status}\n{stderr}"
        );
        assert!(!output.acks.is_empty(), "{session}: appended nothing");
        acks_by_session
            .entry(session)
            .or_default()
            .extend(output.acks);
    }
    integrity_ok(&path).await;
    let store = open_store(&path, Synchronous::Normal).unwrap();
    let mut total = 0;
    for (session, acks) in &acks_by_session {
        let events = history_of(&store, session).await;
        let markers: Vec<String> = events.iter().map(|e| marker_of(e).unwrap()).collect();
        let unique: HashSet<&String> = markers.iter().collect();
        assert_eq!(
            unique.len(),
            markers.len(),
            "{session}: an event is duplicated"
        );
        assert_eq!(
            events.len(),
            acks.len(),
            "{session}: events without acknowledgement"
        );
        for (seq, marker) in acks {
            assert_eq!(
                markers.get((*seq - 1) as usize),
                Some(marker),
                "{session}: acknowledged seq {seq} is not {marker}"
            );
        }
        total += events.len();
    }
    eprintln!("{total} events appended by 8 processes in {seconds} s");
}

/// Connections racing to create and migrate one new store all succeed: none sees
/// another's half-finished migration and mistakes the file for a foreign database.
#[test]
fn connections_racing_to_create_a_store_all_open_it() {
    for trial in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cairn.db");
        let start = Arc::new(std::sync::Barrier::new(8));
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let (path, start) = (path.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    open_store(&path, Synchronous::Normal).map(|_| ())
                })
            })
            .collect();
        for opener in openers {
            if let Err(e) = opener.join().unwrap() {
                panic!("trial {trial}: {e}");
            }
        }
    }
}
