//! External tools some tests drive (the official Python SDKs, the MCP conformance
//! suite). `scripts/test` installs them and points these variables at them; when a
//! variable is missing the test fails saying how to install, never passes silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::home::TestHome;

const INSTALL_HINT: &str =
    "Run `scripts/install-test-deps` (or the whole suite with `scripts/test`)";

/// The Python interpreter of the test venv (`mcp`, `openai`, `anthropic` installed).
pub fn test_python() -> PathBuf {
    required_path(
        "CAIRN_TEST_PYTHON",
        "the Python venv with the official MCP, OpenAI, Anthropic and Google GenAI SDKs",
        "$PWD/.venv/bin/python",
    )
}

/// `tests/node/node_modules` with the MCP conformance suite.
pub fn test_node_modules() -> PathBuf {
    required_path(
        "CAIRN_TEST_NODE_MODULES",
        "the Node packages of tests/node (MCP conformance suite)",
        "$PWD/tests/node/node_modules",
    )
}

fn required_path(variable: &str, what: &str, example: &str) -> PathBuf {
    match std::env::var_os(variable) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "{variable} is not set: this test needs {what}. {INSTALL_HINT} and set \
             {variable}={example}."
        ),
    }
}

/// Runs `tests/python/mcp/NAME` with the test venv against `binary` (the `cairn`
/// under test) in `home`: `--binary B --home H --project P ARGS…`, with a clean
/// environment. Asserts it exited 0 and returns its stdout.
pub fn run_mcp_script(name: &str, binary: &str, home: &TestHome, args: &[&str]) -> String {
    run_python_script("mcp", name, binary, home, args)
}

/// Runs `tests/python/acp/NAME` (the official ACP Python SDK as the client) the same
/// way as [`run_mcp_script`].
pub fn run_acp_script(name: &str, binary: &str, home: &TestHome, args: &[&str]) -> String {
    run_python_script("acp", name, binary, home, args)
}

fn run_python_script(
    folder: &str,
    name: &str,
    binary: &str,
    home: &TestHome,
    args: &[&str],
) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/python")
        .join(folder)
        .join(name);
    let python = test_python();
    let output = Command::new(&python)
        .arg(&script)
        .arg("--binary")
        .arg(binary)
        .arg("--home")
        .arg(&home.cairn_home)
        .arg("--project")
        .arg(&home.project)
        .args(args)
        .current_dir(home.root())
        .env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .env("HOME", &home.user_home)
        .env("LANG", "C.UTF-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(home.store_env())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} {args:?} failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

/// What a Python test script reported: every `CHECK name` line it printed, matched
/// against its closing `PASSED N checks`. Panics, showing the output, when the count
/// is off or a check in `must_check` did not run; returns the names of the checks.
pub fn assert_checks<'a>(stdout: &'a str, must_check: &[&str]) -> Vec<&'a str> {
    let checks: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("CHECK "))
        .collect();
    let passed: usize = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("PASSED ")?
                .strip_suffix(" checks")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no PASSED line\n{stdout}"));
    assert_eq!(passed, checks.len(), "check count mismatch\n{stdout}");
    for wanted in must_check {
        assert!(
            checks.contains(wanted),
            "check {wanted:?} did not run\n{stdout}"
        );
    }
    checks
}
