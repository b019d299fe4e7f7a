//! A bounded load on `cairn serve` (issue 10's load test, scaled to CI): 20 ACP clients
//! over WebSocket drive turns on 20 sessions while 200 SSE watchers watch them; every
//! watcher sees dense seqs, every client ends its turns without an error
//! (`tests/python/acp/serve_load.py`), and the daemon's memory stays flat while they do.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cairn_testkit::external::run_acp_script;
use cairn_testkit::fake_llm::{FakeLlm, Turn};
use cairn_testkit::home::TestHome;
use cairn_testkit::serve::ServeDaemon;

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");
const CLIENTS: usize = 20;
const TURNS: usize = 4;

/// A figure of `/proc/PID/status` (`VmRSS` in KiB, `Threads`), 0 when unreadable.
fn status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// The peaks of a process's resident memory (KiB) and thread count.
#[derive(Clone, Copy, Default)]
struct Peaks {
    rss_kib: u64,
    threads: u64,
}

/// Samples a process's resident memory and threads every [`SAMPLE_EVERY`] until
/// stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Peaks>,
}

const SAMPLE_EVERY: Duration = Duration::from_millis(50);

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peaks = Peaks::default();
            loop {
                let last = stopped.load(Ordering::Relaxed);
                peaks.rss_kib = peaks.rss_kib.max(status(pid, "VmRSS"));
                peaks.threads = peaks.threads.max(status(pid, "Threads"));
                if last {
                    return peaks;
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        RssSampler { stop, thread }
    }

    fn stop(self) -> Peaks {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the sampler thread panicked")
    }
}

/// One round of the load: 20 clients, each on a session of its own, while 200
/// watchers watch; returns the daemon's peaks during the round.
fn load_round(daemon: &ServeDaemon, home: &TestHome, round: usize) -> Peaks {
    let sampler = RssSampler::start(daemon.pid());
    let turns = TURNS.to_string();
    let prefix = format!("load{round}");
    let stdout = run_acp_script(
        "serve_load.py",
        CAIRN,
        home,
        &[
            "--url",
            &daemon.acp_url(),
            "--turns",
            &turns,
            "--prefix",
            &prefix,
        ],
    );
    for check in [
        "watchers: all opened",
        "clients: every turn ended without an error",
        "sessions: every turn stored",
        "watchers: dense seqs, each event once, in order",
    ] {
        assert!(
            stdout.contains(&format!("CHECK {check}")),
            "{check}\n{stdout}"
        );
    }
    let peaks = sampler.stop();
    eprintln!(
        "{}; daemon peak RSS {} KiB, {} threads",
        stdout.lines().find(|l| l.starts_with("LOAD")).unwrap_or(""),
        peaks.rss_kib,
        peaks.threads
    );
    peaks
}

/// Memory is stable when the same load again needs no more than the first time
/// did (within a margin for the allocator): what the first round's clients and
/// sessions held was given back when they left, not kept per session or per event.
/// Threads stay few: 200 watchers reading the store at once wait for a turn instead
/// of each taking a thread (which had the daemon at 300+ threads, and its RSS
/// climbing from round to round as the allocator kept what they had used).
#[test]
fn two_hundred_watchers_and_twenty_acp_clients() {
    const ROUNDS: usize = 2;
    const MARGIN_KIB: u64 = 16 * 1024;
    const MOST_THREADS: u64 = 100;
    let home = TestHome::with_git();
    let fake =
        FakeLlm::start((0..ROUNDS * CLIENTS * TURNS).map(|i| Turn::text(format!("answer {i}"))))
            .unwrap();
    let daemon = ServeDaemon::start(CAIRN, &home, Some(&fake), None, &[]);
    let first = load_round(&daemon, &home, 1);
    let second = load_round(&daemon, &home, 2);
    for peaks in [first, second] {
        assert!(
            peaks.threads <= MOST_THREADS,
            "the daemon ran {} threads for 20 clients and 200 watchers",
            peaks.threads
        );
    }
    let (first, second) = (first.rss_kib, second.rss_kib);
    assert_eq!(fake.requests().len(), ROUNDS * CLIENTS * TURNS);
    assert!(
        second <= first + first / 4 + MARGIN_KIB,
        "the daemon's RSS grew from one round of the load to the same round again: \
         peak {first} KiB, then {second} KiB"
    );
    let said = daemon.stderr.lock().unwrap().join("\n");
    assert!(!said.contains("ERROR"), "{said}");
}
