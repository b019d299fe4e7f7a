//! A bounded load on `cairn serve` (issue 10's load test, scaled to CI): 20 ACP clients
//! over WebSocket drive turns on 20 sessions while 200 SSE watchers watch them; every
//! watcher sees dense seqs, every client ends its turns without an error
//! (`tests/python/acp/serve_load.py`).

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

#[test]
fn two_hundred_watchers_and_twenty_acp_clients() {
    let home = TestHome::with_git();
    let fake =
        FakeLlm::start((0..CLIENTS * TURNS).map(|i| Turn::text(format!("answer {i}")))).unwrap();
    let daemon = ServeDaemon::start(CAIRN, &home, Some(&fake), None, &[]);
    let url = daemon.acp_url();
    let turns = TURNS.to_string();
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
    let rss = rss_kib(daemon.pid());
    eprintln!(
        "{}; daemon RSS {rss} KiB",
        stdout.lines().find(|l| l.starts_with("LOAD")).unwrap_or("")
    );
    let said = daemon.stderr.lock().unwrap().join("\n");
    assert!(!said.contains("ERROR"), "{said}");
}
