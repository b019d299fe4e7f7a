//! JSON-RPC over a child's stdin/stdout, one message per line: the transport of
//! MCP's stdio servers and of ACP agents alike. The benchmark clients of both
//! (`scenarios/mcp`, `scenarios/serve.rs`) are built on it, so only the servers differ.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::process::isolated;

/// One child process spoken to in JSON-RPC lines.
pub(crate) struct LineRpc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    line: String,
}

/// The answer to a request, and how many other messages (notifications) the child
/// wrote before it.
pub(crate) struct Answer {
    pub result: Value,
    pub notifications: usize,
}

impl LineRpc {
    /// Starts `program ARGS` in `cwd` with `home` as `HOME` and `CAIRN_HOME`, nothing
    /// else of this environment but `PATH`, and `env` on top.
    pub(crate) fn spawn(
        program: &Path,
        args: &[&str],
        home: &Path,
        cwd: &Path,
        env: &[(&str, OsString)],
    ) -> Result<Self> {
        let mut child = Command::from(isolated(program, home, cwd))
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let stdin = child.stdin.take().context("the child's stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("the child's stdout")?);
        Ok(LineRpc {
            child,
            stdin,
            stdout,
            next_id: 0,
            line: String::new(),
        })
    }

    pub(crate) async fn send(&mut self, message: &Value) -> Result<()> {
        let mut bytes = serde_json::to_vec(message)?;
        bytes.push(b'\n');
        self.stdin.write_all(&bytes).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    /// Sends a request and reads until its answer; an error answer is an error.
    pub(crate) async fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        Ok(self.request_counting(method, params).await?.result)
    }

    /// [`LineRpc::request`], counting the messages that came before the answer.
    pub(crate) async fn request_counting(&mut self, method: &str, params: Value) -> Result<Answer> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await?;
        let mut notifications = 0;
        loop {
            self.line.clear();
            if self.stdout.read_line(&mut self.line).await? == 0 {
                bail!("the child closed stdout while {method} was pending");
            }
            let Ok(message) = serde_json::from_str::<Value>(&self.line) else {
                bail!(
                    "the child wrote a line that is not JSON-RPC on stdout: {}",
                    self.line.trim()
                );
            };
            if message.get("id") == Some(&json!(id)) {
                if let Some(error) = message.get("error") {
                    bail!("{method} failed: {error}");
                }
                return Ok(Answer {
                    result: message["result"].clone(),
                    notifications,
                });
            }
            notifications += 1;
        }
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Closes stdin (the child's signal to end) and waits for it to exit.
    pub(crate) async fn finish(mut self) -> Result<()> {
        drop(self.stdin);
        self.child.wait().await?;
        Ok(())
    }
}

/// Resident memory of a running process now (bytes), from `/proc/PID/status`.
pub(crate) fn resident_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading /proc/PID/status (Linux only)")?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/PID/status")?;
    Ok(kib * 1024)
}
