//! External tools some tests drive (the official Python SDKs, the MCP conformance
//! suite). `scripts/test` installs them and points these variables at them; when a
//! variable is missing the test fails saying how to install, never passes silently.

use std::path::PathBuf;

const INSTALL_HINT: &str =
    "Run `scripts/install-test-deps` (or the whole suite with `scripts/test`)";

/// The Python interpreter of the test venv (`mcp`, `openai`, `anthropic` installed).
pub fn test_python() -> PathBuf {
    required_path(
        "CAIRN_TEST_PYTHON",
        "the Python venv with the official MCP, OpenAI and Anthropic SDKs",
        "$PWD/.venv/bin/python",
    )
}

/// `tests/node/node_modules` with the MCP conformance suite and the benchmark peer.
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
