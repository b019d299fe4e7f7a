//! `cairn mcp` driven by the official MCP Python SDK (PyPI `mcp`), over stdio
//! and streamable HTTP, in both the `initialize` (legacy) and the 2026-07-28
//! (auto) lifecycles: the two-agent scenario of issue 3, hostile input, and
//! many clients plus a second stdio server process on one store.
//!
//! The scripts live in `tests/python/mcp/`; each prints `CHECK <name>` per
//! passed check and `PASSED <n> checks` at the end. The Python interpreter
//! comes from `CAIRN_TEST_PYTHON` (set by `scripts/test`).

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_testkit::external::test_python as python;
use cairn_testkit::home::TestHome;

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/python/mcp")
        .join(name)
}

/// Runs a script against a fresh home and project; asserts it exits 0 and ran
/// at least `min_checks` checks, and that every name in `must_check` passed.
fn run_script(name: &str, extra: &[&str], min_checks: usize, must_check: &[&str]) {
    let home = TestHome::new();
    let path_var = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    let output = Command::new(python())
        .arg(script(name))
        .arg("--binary")
        .arg(CAIRN)
        .arg("--home")
        .arg(&home.cairn_home)
        .arg("--project")
        .arg(&home.project)
        .args(extra)
        .current_dir(home.root())
        .env_clear()
        .env("PATH", path_var)
        .env("HOME", &home.user_home)
        .env("LANG", "C.UTF-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python().display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} {extra:?} failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let passed: usize = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("PASSED ")?
                .strip_suffix(" checks")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{name}: no PASSED line\n{stdout}\n{stderr}"));
    let checks: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("CHECK "))
        .collect();
    assert_eq!(
        passed,
        checks.len(),
        "{name}: check count mismatch\n{stdout}"
    );
    assert!(
        passed >= min_checks,
        "{name} {extra:?}: only {passed} checks ran, expected at least {min_checks}\n{stdout}"
    );
    for wanted in must_check {
        assert!(
            checks.iter().any(|c| c == wanted),
            "{name} {extra:?}: check {wanted:?} did not run\n{stdout}"
        );
    }
}

const SCENARIO_CHECKS: &[&str] = &[
    "conflict names both topics and instances",
    "status lists the blocker with its summary",
    "handoff releases the topic",
    "B now holds the topic",
    "B saved round 3: get_progress latest round",
    "B saved round 3: resume brief names the next step",
    "both topics recently completed",
    "resume prompt carries the brief",
    "cairn where matches",
];

#[test]
fn scenario_stdio_legacy() {
    run_script(
        "scenario.py",
        &["--transport", "stdio", "--mode", "legacy"],
        95,
        SCENARIO_CHECKS,
    );
}

#[test]
fn scenario_stdio_auto() {
    run_script(
        "scenario.py",
        &["--transport", "stdio", "--mode", "auto"],
        95,
        SCENARIO_CHECKS,
    );
}

#[test]
fn scenario_http_legacy() {
    run_script(
        "scenario.py",
        &["--transport", "http", "--mode", "legacy"],
        95,
        SCENARIO_CHECKS,
    );
}

#[test]
fn scenario_http_auto() {
    run_script(
        "scenario.py",
        &["--transport", "http", "--mode", "auto"],
        95,
        SCENARIO_CHECKS,
    );
}

#[test]
fn hostile_input_stdio() {
    run_script(
        "hostile.py",
        &["--transport", "stdio"],
        60,
        &[
            "stdio summary over 64 KiB: names [\'summary\', \'64 KiB\']",
            "stdio oversize body: code -32600",
            "stdio: alive after malformed lines",
            "stdio: nothing was written",
            "stdio: stdout carries only JSON-RPC",
        ],
    );
}

#[test]
fn hostile_input_http() {
    run_script(
        "hostile.py",
        &["--transport", "http"],
        70,
        &[
            "http: missing token is 401",
            "http: foreign Origin refused",
            "http: foreign Host refused",
            "http: over-limit body is 413",
            "http: malformed JSON is a parse error",
            "http: store has no hostile progress",
            "http: 0.0.0.0 without a token refuses to start",
        ],
    );
}

#[test]
fn many_clients_and_processes_lose_nothing() {
    run_script(
        "concurrency.py",
        &[],
        15,
        &[
            "shared session: every round exactly once",
            "shared session: every checkpoint stored",
            "every claimed topic is open",
        ],
    );
}
