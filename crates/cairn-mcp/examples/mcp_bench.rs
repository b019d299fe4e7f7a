//! Benchmark of `cairn mcp` against a peer MCP server, in one run:
//!
//! 1. stdio, sequential: N checkpoint saves then N latest-checkpoint reads,
//!    cairn (`save_progress` / `get_progress`) vs mcp-memory-keeper
//!    (`context_save` / `context_get`, its nearest equivalents), both driven by
//!    the same minimal JSON-RPC client so that only the servers differ;
//! 2. streamable HTTP, cairn only: C concurrent clients (one MCP session each)
//!    alternating saves and latest reads; throughput, p50, p99;
//! 3. `cairn mcp` resident memory when idle after `initialize`.
//!
//! ```text
//! cargo build --release -p cairn && cargo run --release -p cairn-mcp --example mcp_bench -- \
//!     --cairn target/release/cairn \
//!     --peer tests/node/node_modules/.bin/mcp-memory-keeper
//! ```
//! (The peer needs `npm rebuild better-sqlite3` once after `npm install`; see
//! `scripts/install-test-deps`.) Each server gets a fresh temporary home.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

#[derive(Debug, Parser)]
#[command(about = "cairn mcp vs mcp-memory-keeper over stdio, cairn over HTTP, idle RSS")]
struct Args {
    /// The cairn binary (a release build).
    #[arg(long)]
    cairn: PathBuf,
    /// The peer's stdio server (`node_modules/.bin/mcp-memory-keeper`); omitted: cairn only.
    #[arg(long)]
    peer: Option<PathBuf>,
    /// Sequential saves, then as many latest reads, over stdio.
    #[arg(long, default_value_t = 2_000)]
    n: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 32)]
    http_clients: usize,
    /// Requests per HTTP client (half saves, half latest reads).
    #[arg(long, default_value_t = 200)]
    http_requests: usize,
    /// Print the results as JSON too.
    #[arg(long)]
    json: bool,
}

/// A summary like agents send: a few sentences, three files, two next steps.
fn summary(i: usize) -> String {
    format!(
        "Round {i}: refresh tokens now rotate on every use and the middleware checks expiry \
         before each handler; the old session cookie path is gone. Tests for the happy path pass."
    )
}

/// One stdio MCP server spoken to in JSON-RPC lines.
struct StdioServer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    line: String,
}

impl StdioServer {
    async fn start(program: &Path, args: &[&str], home: &Path, cwd: &Path) -> Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(cwd)
            .env("HOME", home)
            .env("CAIRN_HOME", home)
            .env("DATA_DIR", home)
            .env_remove("CAIRN_INSTANCE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let mut server = StdioServer {
            child,
            stdin,
            stdout,
            next_id: 0,
            line: String::new(),
        };
        server
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": { "name": "mcp-bench", "version": "1" }
                }),
            )
            .await?;
        server
            .send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await?;
        Ok(server)
    }

    async fn send(&mut self, message: &Value) -> Result<()> {
        let mut bytes = serde_json::to_vec(message)?;
        bytes.push(b'\n');
        self.stdin.write_all(&bytes).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await?;
        loop {
            self.line.clear();
            if self.stdout.read_line(&mut self.line).await? == 0 {
                bail!("the server closed stdout");
            }
            let message: Value = match serde_json::from_str(&self.line) {
                Ok(m) => m,
                Err(_) => continue, // a log line on stdout would be the server's bug, not ours
            };
            if message.get("id") == Some(&json!(id)) {
                if let Some(error) = message.get("error") {
                    bail!("{method} failed: {error}");
                }
                return Ok(message["result"].clone());
            }
        }
    }

    async fn call(&mut self, tool: &str, arguments: Value) -> Result<Value> {
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

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Latencies of one series of operations.
struct Series {
    label: String,
    total: Duration,
    latencies: Vec<Duration>,
}

impl Series {
    fn ops_per_sec(&self) -> f64 {
        self.latencies.len() as f64 / self.total.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    fn to_json(&self) -> Value {
        json!({
            "label": self.label,
            "ops": self.latencies.len(),
            "seconds": self.total.as_secs_f64(),
            "ops_per_sec": self.ops_per_sec(),
            "p50_ms": ms(self.percentile(50.0)),
            "p99_ms": ms(self.percentile(99.0)),
        })
    }

    fn print(&self) {
        println!(
            "  {:<44} {:>7} ops in {:>7.3} s = {:>9.1} ops/s   p50 {:>7.3} ms   p99 {:>7.3} ms",
            self.label,
            self.latencies.len(),
            self.total.as_secs_f64(),
            self.ops_per_sec(),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn timed<F, Fut>(label: &str, n: usize, mut op: F) -> Result<Series>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut latencies = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        op(i).await?;
        latencies.push(t.elapsed());
    }
    Ok(Series {
        label: label.to_owned(),
        total: start.elapsed(),
        latencies,
    })
}

async fn bench_cairn_stdio(cairn: &Path, n: usize) -> Result<(Series, Series)> {
    let home = tempfile::tempdir()?;
    let project = home.path().join("project");
    std::fs::create_dir_all(&project)?;
    let server = StdioServer::start(cairn, &["mcp"], home.path(), &project).await?;
    let server = Arc::new(tokio::sync::Mutex::new(server));
    let pings = timed("cairn ping (stdio, protocol only)", n, |_| {
        let server = Arc::clone(&server);
        async move {
            server
                .lock()
                .await
                .request("ping", json!({}))
                .await
                .map(|_| ())
        }
    })
    .await?;
    pings.print();
    let saves = timed("cairn save_progress (stdio)", n, |i| {
        let server = Arc::clone(&server);
        async move {
            server
                .lock()
                .await
                .call(
                    "save_progress",
                    json!({
                        "session_id": "bench-auth",
                        "summary": summary(i),
                        "files_touched": ["src/auth/refresh.rs", "src/auth/middleware.rs", "tests/auth.rs"],
                        "next_steps": ["store the signing keys", "write the expiry tests"],
                    }),
                )
                .await
                .map(|_| ())
        }
    })
    .await?;
    let reads = timed("cairn get_progress latest (stdio)", n, |_| {
        let server = Arc::clone(&server);
        async move {
            let result = server
                .lock()
                .await
                .call("get_progress", json!({ "session_id": "bench-auth" }))
                .await?;
            if result["structuredContent"]["checkpoints"][0]["round_id"] != json!(n.to_string()) {
                bail!("latest read returned the wrong round: {result}");
            }
            Ok(())
        }
    })
    .await?;
    Ok((saves, reads))
}

async fn bench_peer_stdio(peer: &Path, n: usize) -> Result<(Series, Series)> {
    let home = tempfile::tempdir()?;
    let project = home.path().join("project");
    std::fs::create_dir_all(&project)?;
    let mut server = StdioServer::start(peer, &[], home.path(), &project).await?;
    server
        .call("context_session_start", json!({ "name": "bench-auth" }))
        .await?;
    let server = Arc::new(tokio::sync::Mutex::new(server));
    let pings = timed("mcp-memory-keeper ping (stdio, protocol only)", n, |_| {
        let server = Arc::clone(&server);
        async move {
            server
                .lock()
                .await
                .request("ping", json!({}))
                .await
                .map(|_| ())
        }
    })
    .await?;
    pings.print();
    let saves = timed("mcp-memory-keeper context_save (stdio)", n, |i| {
        let server = Arc::clone(&server);
        async move {
            // The same content a checkpoint carries, as one progress item.
            let value = format!(
                "{}\nfiles: src/auth/refresh.rs, src/auth/middleware.rs, tests/auth.rs\n\
                 next: store the signing keys; write the expiry tests",
                summary(i)
            );
            server
                .lock()
                .await
                .call(
                    "context_save",
                    json!({ "key": format!("bench-auth-{i:05}"), "value": value, "category": "progress" }),
                )
                .await
                .map(|_| ())
        }
    })
    .await?;
    let reads = timed("mcp-memory-keeper context_get latest (stdio)", n, |_| {
        let server = Arc::clone(&server);
        async move {
            let result = server
                .lock()
                .await
                .call(
                    "context_get",
                    // Its timestamps have one-second resolution, so "newest" is
                    // asked by the zero-padded key, which grows with every save.
                    json!({ "category": "progress", "sort": "key_desc", "limit": 1 }),
                )
                .await?;
            if !result
                .to_string()
                .contains(&format!("bench-auth-{:05}", n - 1))
            {
                bail!("latest read did not return the newest item: {result}");
            }
            Ok(())
        }
    })
    .await?;
    Ok((saves, reads))
}

/// Resident set size of a process, from /proc (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn idle_rss(program: &Path, args: &[&str]) -> Result<u64> {
    let home = tempfile::tempdir()?;
    let project = home.path().join("project");
    std::fs::create_dir_all(&project)?;
    let mut server = StdioServer::start(program, args, home.path(), &project).await?;
    server.request("tools/list", json!({})).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = server.pid().context("no pid")?;
    rss_kib(pid).context("cannot read VmRSS (Linux only)")
}

/// User + system CPU ticks of a process, from /proc (Linux).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `cairn mcp --http 127.0.0.1:0`, and the URL it printed.
async fn start_http(cairn: &Path, home: &Path, project: &Path) -> Result<(Child, String)> {
    let mut child = Command::new(cairn)
        .args(["mcp", "--http", "127.0.0.1:0"])
        .current_dir(project)
        .env("CAIRN_HOME", home)
        .env("HOME", home)
        .env_remove("CAIRN_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().context("stderr")?).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stderr.next_line().await? {
            if let Some(at) = line.find("listening on ") {
                return Ok(line[at + 13..].trim().to_owned());
            }
        }
        bail!("cairn mcp --http exited before listening")
    })
    .await??;
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    Ok((child, url))
}

/// One MCP session over HTTP: initialize, then JSON-RPC requests whose
/// responses arrive as JSON or as a short SSE stream.
struct HttpSession {
    http: reqwest::Client,
    url: String,
    session: Option<String>,
    next_id: u64,
}

impl HttpSession {
    async fn open(http: reqwest::Client, url: &str) -> Result<Self> {
        let response = http
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": { "name": "mcp-bench", "version": "1" }
                }
            }))
            .send()
            .await?;
        // Stateless servers answer without a session id.
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        response.bytes().await?;
        let s = HttpSession {
            http,
            url: url.to_owned(),
            session,
            next_id: 0,
        };
        s.post(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await?;
        Ok(s)
    }

    async fn post(&self, body: Value) -> Result<String> {
        let mut request = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&body);
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        let response = request.send().await?;
        if !response.status().is_success() {
            bail!("HTTP {}", response.status());
        }
        Ok(response.text().await?)
    }

    async fn call(&mut self, tool: &str, arguments: Value) -> Result<Value> {
        self.next_id += 1;
        let text = self
            .post(json!({
                "jsonrpc": "2.0", "id": self.next_id, "method": "tools/call",
                "params": { "name": tool, "arguments": arguments }
            }))
            .await?;
        let message: Value = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .find(|d| d.contains("\"id\""))
            .map_or_else(|| serde_json::from_str(&text), serde_json::from_str)?;
        if message.get("error").is_some() || message["result"]["isError"] == json!(true) {
            bail!("{tool} failed: {message}");
        }
        Ok(message)
    }
}

async fn bench_http(cairn: &Path, clients: usize, per_client: usize) -> Result<Series> {
    let home = tempfile::tempdir()?;
    let project = home.path().join("project");
    std::fs::create_dir_all(&project)?;
    let (_server, url) = start_http(cairn, home.path(), &project).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients * 2)
        .build()?;
    let mut sessions = Vec::with_capacity(clients);
    for _ in 0..clients {
        sessions.push(HttpSession::open(http.clone(), &url).await?);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut tasks = Vec::new();
    for (c, mut session) in sessions.into_iter().enumerate() {
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut latencies = Vec::with_capacity(per_client);
            let id = format!("bench-http-{c}");
            for i in 0..per_client {
                let t = Instant::now();
                let save = i % 2 == 0;
                if save {
                    session
                        .call(
                            "save_progress",
                            json!({
                                "session_id": id, "summary": summary(i),
                                "files_touched": ["src/auth/refresh.rs", "tests/auth.rs"],
                                "next_steps": ["write the expiry tests"],
                            }),
                        )
                        .await?;
                } else {
                    session
                        .call("get_progress", json!({ "session_id": id }))
                        .await?;
                }
                latencies.push((save, t.elapsed()));
            }
            anyhow::Ok(latencies)
        }));
    }
    let server_pid = _server.id().context("no server pid")?;
    let cpu_before = cpu_ticks(server_pid);
    barrier.wait().await;
    let start = Instant::now();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = start.elapsed();
    for (label, kind) in [("saves", true), ("latest reads", false)] {
        let part = Series {
            label: format!("  of which {label}"),
            total: elapsed,
            latencies: latencies
                .iter()
                .filter(|(save, _)| *save == kind)
                .map(|(_, d)| *d)
                .collect(),
        };
        println!(
            "  {:<44} p50 {:>7.3} ms   p99 {:>7.3} ms",
            part.label,
            ms(part.percentile(50.0)),
            ms(part.percentile(99.0))
        );
    }
    let latencies: Vec<Duration> = latencies.into_iter().map(|(_, d)| d).collect();
    if let (Some(before), Some(after)) = (cpu_before, cpu_ticks(server_pid)) {
        // Clock ticks are 1/100 s on Linux.
        let cpu = (after - before) as f64 / 100.0;
        println!(
            "  server CPU {:.2} s over {:.2} s ({:.0} µs per request)",
            cpu,
            elapsed.as_secs_f64(),
            cpu * 1e6 / latencies.len() as f64
        );
    }
    Ok(Series {
        label: format!("cairn HTTP, {clients} clients, saves + latest reads"),
        total: start.elapsed(),
        latencies,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    // The servers run in temporary directories: resolve the paths first.
    args.cairn = std::fs::canonicalize(&args.cairn)
        .with_context(|| format!("no cairn binary at {}", args.cairn.display()))?;
    if let Some(peer) = &args.peer {
        args.peer = Some(
            std::fs::canonicalize(peer)
                .with_context(|| format!("no peer server at {}", peer.display()))?,
        );
    }
    println!(
        "mcp_bench: n = {}, HTTP {} clients × {} requests",
        args.n, args.http_clients, args.http_requests
    );
    println!("stdio, sequential (one client, same JSON-RPC driver for both servers):");
    let (cairn_saves, cairn_reads) = bench_cairn_stdio(&args.cairn, args.n).await?;
    cairn_saves.print();
    cairn_reads.print();
    let mut report = json!({
        "n": args.n,
        "cairn_stdio": [cairn_saves.to_json(), cairn_reads.to_json()],
    });
    if let Some(peer) = &args.peer {
        let (peer_saves, peer_reads) = bench_peer_stdio(peer, args.n).await?;
        peer_saves.print();
        peer_reads.print();
        let save_ratio = cairn_saves.ops_per_sec() / peer_saves.ops_per_sec();
        let read_ratio = cairn_reads.ops_per_sec() / peer_reads.ops_per_sec();
        println!(
            "  ratio cairn/peer: saves {save_ratio:.1}×, latest reads {read_ratio:.1}× (target ≥ 5×)"
        );
        report["peer_stdio"] = json!([peer_saves.to_json(), peer_reads.to_json()]);
        report["ratio_saves"] = json!(save_ratio);
        report["ratio_reads"] = json!(read_ratio);
    } else {
        println!("  (no --peer: peer comparison skipped)");
    }
    println!("streamable HTTP:");
    let http = bench_http(&args.cairn, args.http_clients, args.http_requests).await?;
    http.print();
    println!(
        "  p99 {:.3} ms (target < 5 ms at 32 clients)",
        ms(http.percentile(99.0))
    );
    report["cairn_http"] = http.to_json();
    let rss = idle_rss(&args.cairn, &["mcp"]).await?;
    println!(
        "cairn mcp idle RSS: {:.1} MiB = {:.1} MB (target < 15 MB)",
        rss as f64 / 1024.0,
        rss as f64 * 1024.0 / 1e6
    );
    report["cairn_idle_rss_kib"] = json!(rss);
    if let Some(peer) = &args.peer {
        // The peer's launcher script execs node; its RSS is node's.
        let peer_rss = idle_rss(peer, &[]).await?;
        println!(
            "mcp-memory-keeper idle RSS: {:.1} MiB",
            peer_rss as f64 / 1024.0
        );
        report["peer_idle_rss_kib"] = json!(peer_rss);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
