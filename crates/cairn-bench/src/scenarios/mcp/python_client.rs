//! The same stdio workload driven by a small Python JSON-RPC client
//! (`bench/python/mcp_stdio.py`, standard library only), so the comparison
//! also holds with a client that costs more per call than the harness's own.
//!
//! Python is `$CAIRN_TEST_PYTHON`, else the test venv's `.venv/bin/python`,
//! else `python3` on `PATH`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use super::{Series, StdioResult};
use crate::process::isolated;

/// Which server the script talks to (it sends the peer its own tools).
#[derive(Clone, Copy)]
pub(super) enum Server {
    Cairn,
    Peer,
    Echo,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Cairn => "cairn",
            Server::Peer => "peer",
            Server::Echo => "echo",
        }
    }
}

pub(super) fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("CAIRN_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/python/mcp_stdio.py")
}

#[derive(Deserialize)]
struct ScriptSeries {
    seconds: f64,
    latencies_us: Vec<u64>,
    server_cpu_seconds: f64,
}

impl ScriptSeries {
    fn series(&self) -> Series {
        let latencies: Vec<Duration> = self
            .latencies_us
            .iter()
            .map(|us| Duration::from_micros(*us))
            .collect();
        Series::new(Duration::from_secs_f64(self.seconds), &latencies)
            .with_server_cpu(Duration::from_secs_f64(self.server_cpu_seconds.max(0.0)))
    }
}

#[derive(Deserialize)]
struct ScriptAnswer {
    pings: ScriptSeries,
    saves: ScriptSeries,
    reads: ScriptSeries,
}

/// Runs the script against `program ARGS` with its own home (as the Rust
/// client's servers get) and reads its latencies.
pub(super) async fn series(
    server: Server,
    program: &Path,
    args: &[&str],
    home: &Path,
    n: usize,
) -> Result<StdioResult> {
    let project = home.join("project");
    std::fs::create_dir_all(&project)?;
    let python = python();
    let output = tokio::process::Command::from(isolated(&python, home, &project))
        .arg(script())
        .args(["--server", server.name(), "--ops", &n.to_string(), "--"])
        .arg(program)
        .args(args)
        .env("DATA_DIR", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| {
            format!(
                "cannot run {} (set CAIRN_TEST_PYTHON to a Python 3)",
                python.display()
            )
        })?;
    if !output.status.success() {
        bail!(
            "the Python client failed against {}: {}",
            program.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let answer: ScriptAnswer =
        serde_json::from_slice(&output.stdout).context("reading the Python client's answer")?;
    Ok(StdioResult {
        pings: answer.pings.series(),
        saves: answer.saves.series(),
        reads: answer.reads.series(),
    })
}
