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

const SAMPLE_EVERY: Duration = Duration::from_millis(100);

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
            samples
        });
        RssSampler { stop, thread }
    }

    fn stop(self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the sampler thread panicked")
    }
}

/// Memory is stable when the second half of the load needs no more than the first
/// half did (a leak per turn or per event grows it steadily), within a margin for
/// the allocator, and the daemon gives back what the clients held once they left.
fn assert_memory_stable(samples: &[u64], after_kib: u64) {
    const MARGIN_KIB: u64 = 16 * 1024;
    assert!(samples.len() >= 4, "too few RSS samples: {samples:?}");
    let (first, second) = samples.split_at(samples.len() / 2);
    let peak_first = first.iter().copied().max().unwrap_or(0);
    let peak_second = second.iter().copied().max().unwrap_or(0);
    assert!(
        peak_second <= peak_first + peak_first / 4 + MARGIN_KIB,
        "daemon RSS grew under steady load: first half peak {peak_first} KiB, \
         second half peak {peak_second} KiB ({samples:?})"
    );
    let peak = peak_first.max(peak_second);
    assert!(
        after_kib <= peak + MARGIN_KIB,
        "daemon RSS {after_kib} KiB after the load, above its peak {peak} KiB"
    );
}

#[test]
fn two_hundred_watchers_and_twenty_acp_clients() {
    let home = TestHome::with_git();
    let fake =
        FakeLlm::start((0..CLIENTS * TURNS).map(|i| Turn::text(format!("answer {i}")))).unwrap();
    let daemon = ServeDaemon::start(CAIRN, &home, Some(&fake), None, &[]);
    let url = daemon.acp_url();
    let turns = TURNS.to_string();
    let sampler = RssSampler::start(daemon.pid());
    let stdout = run_acp_script(
        "serve_load.py",
        CAIRN,
        &home,
        &["--url", &url, "--turns", &turns],
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
    assert_eq!(fake.requests().len(), CLIENTS * TURNS);
    let samples = sampler.stop();
    let rss = rss_kib(daemon.pid());
    eprintln!(
        "{}; daemon RSS {rss} KiB now, samples {samples:?}",
        stdout.lines().find(|l| l.starts_with("LOAD")).unwrap_or("")
    );
    assert_memory_stable(&samples, rss);
    let said = daemon.stderr.lock().unwrap().join("\n");
    assert!(!said.contains("ERROR"), "{said}");
}
