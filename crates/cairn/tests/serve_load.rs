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

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Samples a process's resident memory every [`SAMPLE_EVERY`] until stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u64>>,
}

const SAMPLE_EVERY: Duration = Duration::from_millis(50);

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                samples.push(rss_kib(pid));
                std::thread::sleep(SAMPLE_EVERY);
            }
            samples.push(rss_kib(pid));
            samples
        });
        RssSampler { stop, thread }
    }

    /// The largest sample.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let samples = self.thread.join().expect("the sampler thread panicked");
        samples.into_iter().max().unwrap_or(0)
    }
}

/// One round of the load: 20 clients, each on a session of its own, while 200
/// watchers watch; returns the daemon's peak RSS (KiB) during the round.
fn load_round(daemon: &ServeDaemon, home: &TestHome, round: usize) -> u64 {
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
    let peak = sampler.stop();
    eprintln!(
        "{}; daemon peak RSS {peak} KiB",
        stdout.lines().find(|l| l.starts_with("LOAD")).unwrap_or("")
    );
    peak
}

/// Memory is stable when the same load again needs no more than the first time
/// did (within a margin for the allocator): what the first round's clients and
/// sessions held was given back when they left, not kept per session or per event.
#[test]
fn two_hundred_watchers_and_twenty_acp_clients() {
    const ROUNDS: usize = 2;
    const MARGIN_KIB: u64 = 16 * 1024;
    let home = TestHome::with_git();
    let fake =
        FakeLlm::start((0..ROUNDS * CLIENTS * TURNS).map(|i| Turn::text(format!("answer {i}"))))
            .unwrap();
    let daemon = ServeDaemon::start(CAIRN, &home, Some(&fake), None, &[]);
    let first = load_round(&daemon, &home, 1);
    let second = load_round(&daemon, &home, 2);
    assert_eq!(fake.requests().len(), ROUNDS * CLIENTS * TURNS);
    assert!(
        second <= first + first / 4 + MARGIN_KIB,
        "the daemon's RSS grew from one round of the load to the same round again: \
         peak {first} KiB, then {second} KiB"
    );
    let said = daemon.stderr.lock().unwrap().join("\n");
    assert!(!said.contains("ERROR"), "{said}");
}
