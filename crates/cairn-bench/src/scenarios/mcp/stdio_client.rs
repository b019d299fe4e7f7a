//! A minimal MCP client over stdio: JSON-RPC lines to a child process. The same
//! client drives cairn and the peer, so only the servers differ.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use super::http_client::process_cpu_of;
use super::{Series, StdioResult, checkpoint_summary};
use crate::line_rpc::{LineRpc, resident_bytes};

/// Seconds a freshly started server gets to settle before its idle RSS is read.
const IDLE_SETTLE: Duration = Duration::from_secs(2);

/// One stdio MCP server, initialized.
pub(super) struct StdioServer {
    rpc: LineRpc,
}

impl StdioServer {
    /// Starts `program ARGS` with its own home (`HOME`, `CAIRN_HOME`, and the
    /// peer's `DATA_DIR`) and a project folder inside it, and runs the handshake.
    pub(super) async fn start(program: &Path, args: &[&str], home: &Path) -> Result<Self> {
        let project = home.join("project");
        std::fs::create_dir_all(&project)?;
        let rpc = LineRpc::spawn(
            program,
            args,
            home,
            &project,
            &[("DATA_DIR", home.as_os_str().to_owned())],
        )?;
        let mut server = StdioServer { rpc };
        server
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": { "name": "cairn-bench", "version": env!("CARGO_PKG_VERSION") }
                }),
            )
            .await
            .with_context(|| format!("initializing {}", program.display()))?;
        server
            .rpc
            .send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await?;
        Ok(server)
    }

    pub(super) async fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        self.rpc.request(method, params).await
    }

    pub(super) async fn call(&mut self, tool: &str, arguments: Value) -> Result<Value> {
        let result = self
            .request(
                "tools/call",
                json!({ "name": tool, "arguments": arguments }),
            )
            .await?;
        if result.get("isError") == Some(&json!(true)) {
            bail!("{tool} returned an error: {result}");
        }
        Ok(result)
    }
}

/// Times `n` sequential calls of `op`.
async fn timed<F>(n: usize, server: &mut StdioServer, mut op: F) -> Result<Series>
where
    F: AsyncFnMut(&mut StdioServer, usize) -> Result<()>,
{
    let pid = server.rpc.pid().context("the server has exited")?;
    let cpu_before = process_cpu_of(pid)?;
    let mut latencies = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        op(server, i).await?;
        latencies.push(t.elapsed());
    }
    let elapsed = start.elapsed();
    let cpu = process_cpu_of(pid)?.saturating_sub(cpu_before);
    Ok(Series::new(elapsed, &latencies).with_server_cpu(cpu))
}

/// Pings, then `n` `save_progress` calls, then `n` latest `get_progress` reads.
pub(super) async fn cairn_series(cairn: &Path, home: &Path, n: usize) -> Result<StdioResult> {
    let server = StdioServer::start(cairn, &["mcp"], home).await?;
    cairn_workload(server, n, true).await
}

/// cairn's workload against the echo server (`cairn-bench __mcp-echo`): what
/// this client and the pipes cost by themselves.
pub(super) async fn echo_series(home: &Path, n: usize) -> Result<StdioResult> {
    let harness = std::env::current_exe().context("locating cairn-bench itself")?;
    let server = StdioServer::start(&harness, &["__mcp-echo"], home).await?;
    cairn_workload(server, n, false).await
}

/// `check`: the reads must return the newest round (the echo server returns
/// the request instead).
async fn cairn_workload(mut server: StdioServer, n: usize, check: bool) -> Result<StdioResult> {
    let pings = timed(n, &mut server, async |s, _| {
        s.request("ping", json!({})).await.map(drop)
    })
    .await?;
    let saves = timed(n, &mut server, async |s, i| {
        s.call(
            "save_progress",
            json!({
                "session_id": "bench-auth",
                "summary": checkpoint_summary(i),
                "files_touched": ["src/auth/refresh.rs", "src/auth/middleware.rs", "tests/auth.rs"],
                "next_steps": ["store the signing keys", "write the expiry tests"],
            }),
        )
        .await
        .map(drop)
    })
    .await?;
    let newest = json!(n.to_string());
    let reads = timed(n, &mut server, async |s, _| {
        let result = s
            .call("get_progress", json!({ "session_id": "bench-auth" }))
            .await?;
        if check && result["structuredContent"]["checkpoints"][0]["round_id"] != newest {
            bail!("get_progress did not return the newest round {newest}: {result}");
        }
        Ok(())
    })
    .await?;
    Ok(StdioResult {
        pings,
        saves,
        reads,
    })
}

/// The peer's nearest equivalents: `context_save` of the same content as one
/// progress item, and `context_get` of the newest item.
pub(super) async fn peer_series(peer: &Path, home: &Path, n: usize) -> Result<StdioResult> {
    let mut server = StdioServer::start(peer, &[], home).await?;
    server
        .call("context_session_start", json!({ "name": "bench-auth" }))
        .await?;
    let pings = timed(n, &mut server, async |s, _| {
        s.request("ping", json!({})).await.map(drop)
    })
    .await?;
    let saves = timed(n, &mut server, async |s, i| {
        let value = format!(
            "{}\nfiles: src/auth/refresh.rs, src/auth/middleware.rs, tests/auth.rs\n\
             next: store the signing keys; write the expiry tests",
            checkpoint_summary(i)
        );
        s.call(
            "context_save",
            json!({ "key": format!("bench-auth-{i:05}"), "value": value, "category": "progress" }),
        )
        .await
        .map(drop)
    })
    .await?;
    let newest = format!("bench-auth-{:05}", n.saturating_sub(1));
    let reads = timed(n, &mut server, async |s, _| {
        // Its timestamps have one-second resolution, so the newest item is asked
        // for by the zero-padded key, which grows with every save.
        let result = s
            .call(
                "context_get",
                json!({ "category": "progress", "sort": "key_desc", "limit": 1 }),
            )
            .await?;
        if !result.to_string().contains(&newest) {
            bail!("context_get did not return the newest item {newest}: {result}");
        }
        Ok(())
    })
    .await?;
    Ok(StdioResult {
        pings,
        saves,
        reads,
    })
}

/// Resident memory (bytes) of a server idle after `initialize` and `tools/list`.
pub(super) async fn idle_rss(program: &Path, args: &[&str], home: &Path) -> Result<u64> {
    let mut server = StdioServer::start(program, args, home).await?;
    server.request("tools/list", json!({})).await?;
    tokio::time::sleep(IDLE_SETTLE).await;
    let pid = server.rpc.pid().context("the server has exited")?;
    resident_bytes(pid)
}
