//! The official MCP conformance suite (npm `@modelcontextprotocol/conformance`
//! 0.1.10) against `cairn mcp --http`: every server scenario that needs no
//! fixture tools must pass. The node packages come from
//! `CAIRN_TEST_NODE_MODULES` (set by `scripts/test`).
//!
//! Not run: scenarios that call the suite's own fixture tools, prompts and
//! resources (`test_simple_text`, `test://static-text`, …) and
//! `logging-set-level` (logging is deprecated by the spec and cairn logs to
//! stderr, not to clients).

use cairn_testkit::external::test_node_modules;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cairn_testkit::home::TestHome;

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

const SCENARIOS: &[&str] = &[
    "server-initialize",
    "ping",
    "tools-list",
    "resources-list",
    "prompts-list",
    "completion-complete",
    "server-sse-polling",
    "server-sse-multiple-streams",
];

fn conformance_bin() -> PathBuf {
    let modules = test_node_modules();
    let bin = modules.join(".bin/conformance");
    assert!(
        bin.exists(),
        "{} is missing: run `scripts/install-test-deps` (tests/node/package.json pins \
         @modelcontextprotocol/conformance 0.1.10)",
        bin.display()
    );
    bin
}

/// `cairn mcp --http 127.0.0.1:0`, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(home: &TestHome) -> Server {
    let mut child = Command::new(CAIRN)
        // The suite sends no bearer token.
        .args(["mcp", "--http", "127.0.0.1:0", "--no-token"])
        .current_dir(&home.project)
        .env("CAIRN_HOME", &home.cairn_home)
        .env("HOME", &home.user_home)
        .envs(home.store_env())
        .env_remove("CAIRN_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cairn mcp --http");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("listening on ") {
                let _ = tx.send(line[at + "listening on ".len()..].trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("cairn mcp --http printed its address");
    Server { child, url }
}

#[test]
fn conformance_scenarios_pass() {
    let bin = conformance_bin();
    let home = TestHome::new();
    let server = start_server(&home);
    let results = home.dir("conformance-results");
    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        let output = Command::new(&bin)
            .args(["server", "--url", &server.url, "--scenario", scenario])
            .current_dir(&results)
            .env("NO_COLOR", "1")
            .output()
            .expect("run the conformance suite (is node installed?)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() || !stdout.contains(" 0 failed") {
            failures.push(format!(
                "{scenario}: {:?}\n{stdout}\n{stderr}",
                output.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n\n")
    );
}
