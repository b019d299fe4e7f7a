//! `cairn mcp` driven by the official MCP Python SDK (PyPI `mcp`), over stdio
//! and streamable HTTP, in both the `initialize` (legacy) and the 2026-07-28
//! (auto) lifecycles: the two-agent scenario of issue 3, hostile input, and
//! many clients plus a second stdio server process on one store.
//!
//! The scripts live in `tests/python/mcp/`; each prints `CHECK <name>` per
//! passed check and `PASSED <n> checks` at the end. The Python interpreter
//! comes from `CAIRN_TEST_PYTHON` (set by `scripts/test`).

use cairn_testkit::external::run_mcp_script;
use cairn_testkit::home::TestHome;

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

/// Runs a script against a fresh home and project; asserts it exits 0 and ran
/// at least `min_checks` checks, and that every name in `must_check` passed.
fn run_script(name: &str, extra: &[&str], min_checks: usize, must_check: &[&str]) {
    let home = TestHome::new();
    let stdout = run_mcp_script(name, CAIRN, &home, extra);
    let checks = cairn_testkit::external::assert_checks(&stdout, must_check);
    assert!(
        checks.len() >= min_checks,
        "{name} {extra:?}: only {} checks ran, expected at least {min_checks}\n{stdout}",
        checks.len()
    );
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

const SAME_NAME_CHECKS: &[&str] = &["same client name, two instances", "the warning names A"];

/// Two clients of one name over HTTP are two pool instances (issue 8 item 18).
fn same_name(mode: &str) {
    let must: Vec<String> = SAME_NAME_CHECKS
        .iter()
        .map(|c| format!("{mode}: {c}"))
        .collect();
    let must: Vec<&str> = must.iter().map(String::as_str).collect();
    run_script(
        "same_name.py",
        &["--transport", "http", "--mode", mode],
        9,
        &must,
    );
}

#[test]
fn same_client_name_over_http_legacy() {
    same_name("legacy");
}

#[test]
fn same_client_name_over_http_auto() {
    same_name("auto");
}

#[test]
fn hostile_input_stdio() {
    run_script(
        "hostile.py",
        &["--transport", "stdio"],
        52,
        &[
            "stdio summary over 64 KiB: tool result with isError",
            "stdio summary over 64 KiB: names [\'summary\', \'64 KiB\']",
            "stdio unknown tool: code -32602",
            "stdio: non-object arguments refused",
            "stdio: a non-request object is an Invalid Request with its id",
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
        59,
        &[
            "http limit out of range: tool result with isError",
            "http unknown tool: code -32602",
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
            "stdio topics released when their connection closed",
        ],
    );
}

/// A client offering MCP roots works in its root's project, not the server's
/// directory: over HTTP (legacy lifecycle) from the first call, over stdio once
/// the answer to `roots/list` is in.
#[test]
fn roots_give_the_project_over_http_legacy_and_stdio() {
    let home = TestHome::new();
    let checkout = home.dir("client-checkout");
    let checkout = checkout.to_str().expect("a UTF-8 temp path");
    let stdout = run_mcp_script(
        "roots.py",
        CAIRN,
        &home,
        &["--transport", "http", "--mode", "legacy", "--", checkout],
    );
    for wanted in [
        "save_progress lands in the root's project",
        "without roots the server's project is used",
        "over stdio save_progress lands in the root's project",
        "cairn progress get in the root's project finds it",
        "cairn where names the root's project",
        "cairn pool status in the server's directory does not",
    ] {
        assert!(
            stdout.contains(&format!("CHECK {wanted}\n")),
            "{wanted}\n{stdout}"
        );
    }
    assert!(stdout.contains("PASSED 10 checks"), "{stdout}");
}
