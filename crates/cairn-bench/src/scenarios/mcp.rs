//! MCP: `cairn mcp` against the peer `mcp-memory-keeper` (npm, 0.14.1, a
//! TypeScript MCP server on SQLite), in one run (issue 3):
//!
//! - stdio, one client, sequential: 2,000 checkpoint saves then 2,000
//!   latest-checkpoint reads on each server (cairn `save_progress` /
//!   `get_progress`; the peer's nearest equivalents `context_save` /
//!   `context_get`), driven by the same minimal JSON-RPC client so only the
//!   servers differ, once with the harness's Rust client and once with a small
//!   Python client (`bench/python/mcp_stdio.py`); the ratio of throughputs is
//!   held to ≥ 10× (issue 14). Each client also runs the workload against an
//!   echo server (`__mcp-echo`, answers at once): that is the client's own cost
//!   per call, shown apart, and the "server-side" ratios subtract it from both
//!   servers' mean latency;
//! - streamable HTTP, cairn only: 32 concurrent MCP sessions alternating saves
//!   and latest reads; throughput, p50 and p99 (held to < 5 ms), and the CPU
//!   the server and the clients spent per request; one client alone for the
//!   floor;
//! - resident memory of `cairn mcp` idle after the handshake (held to < 15 MB),
//!   and the peer's.
//!
//! The clients run in a worker process (`cairn-bench __mcp …`), so this process
//! stays small (see `process.rs`). The peer is found through
//! `CAIRN_BENCH_NODE_MODULES` or `bench/node/node_modules` (installed by `scripts/bench`).

pub(crate) mod echo_server;
mod http_client;
mod python_client;
mod stdio_client;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{BYTES_PER_MB, Bench, MS_PER_SECOND};
use crate::report::{Measurement, Target, Unit};
use crate::stats::Summary;

pub(crate) const STDIO_RATIO_LIMIT: f64 = 10.0;
/// With cairn on PostgreSQL (issue 11; the peer stays on its SQLite file).
pub(crate) const PG_STDIO_RATIO_LIMIT: f64 = 3.0;
pub(crate) const HTTP_P99_LIMIT_MS: f64 = 5.0;
pub(crate) const IDLE_RSS_LIMIT_MB: f64 = 15.0;
/// The peer release the issue names.
pub(crate) const PEER_VERSION: &str = "0.14.1";
const PEER_PACKAGE: &str = "mcp-memory-keeper";
const IDLE_RSS_RUNS: usize = 3;

/// Options of `cairn-bench mcp` (the defaults are the issue's figures).
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct McpOptions {
    /// Sequential saves, then as many latest reads, over stdio on each server.
    #[arg(long, default_value_t = 2_000)]
    pub stdio_ops: usize,
    /// Concurrent MCP sessions over HTTP.
    #[arg(long, default_value_t = 32)]
    pub http_clients: usize,
    /// Measured requests per HTTP client (saves and latest reads alternating).
    #[arg(long, default_value_t = 200)]
    pub http_requests: usize,
    /// Threads of the process that runs the HTTP clients (they share the
    /// machine's cores with the server).
    #[arg(long, default_value_t = 1)]
    pub client_threads: usize,
    /// The node_modules holding mcp-memory-keeper [default: $CAIRN_BENCH_NODE_MODULES,
    /// else bench/node/node_modules].
    #[arg(long, value_name = "DIR")]
    pub node_modules: Option<PathBuf>,
}

impl Default for McpOptions {
    fn default() -> Self {
        McpOptions {
            stdio_ops: 2_000,
            http_clients: 32,
            http_requests: 200,
            client_threads: 1,
            node_modules: None,
        }
    }
}

static OPTIONS: OnceLock<McpOptions> = OnceLock::new();

/// Sets the options of `cairn-bench mcp` (`all` runs with the defaults).
pub(crate) fn configure(options: McpOptions) {
    let _ = OPTIONS.set(options);
}

fn options() -> McpOptions {
    OPTIONS.get().cloned().unwrap_or_default()
}

/// What a worker measures.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Part {
    StdioCairn,
    StdioPeer,
    StdioEcho,
    PythonCairn,
    PythonPeer,
    PythonEcho,
    Http,
    IdleCairn,
    IdlePeer,
}

/// `cairn-bench __mcp`: the client side of one part, answered as JSON on stdout.
#[derive(Debug, clap::Args)]
pub(crate) struct WorkerArgs {
    #[arg(long)]
    part: Part,
    /// The server: the cairn binary or the peer's launcher.
    #[arg(long)]
    program: PathBuf,
    /// Scratch directory: homes of the servers.
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, default_value_t = 0)]
    ops: usize,
    #[arg(long, default_value_t = 0)]
    clients: usize,
    #[arg(long, default_value_t = 0)]
    requests: usize,
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// cairn's store: this PostgreSQL database instead of the home's SQLite file.
    #[arg(long)]
    store_url: Option<String>,
}

/// Latencies of one series of operations, milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Series {
    pub ops: usize,
    pub seconds: f64,
    pub ops_per_sec: f64,
    pub latency_ms: Summary,
    /// CPU (user + system) the server spent per call, µs, when it was read
    /// (from `/proc`, in clock ticks: good to about 10 ms over the series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cpu_us: Option<f64>,
}

impl Series {
    fn new(total: Duration, latencies: &[Duration]) -> Series {
        let ms: Vec<f64> = latencies
            .iter()
            .map(|d| d.as_secs_f64() * MS_PER_SECOND)
            .collect();
        Series {
            ops: latencies.len(),
            seconds: total.as_secs_f64(),
            ops_per_sec: latencies.len() as f64 / total.as_secs_f64().max(f64::MIN_POSITIVE),
            latency_ms: Summary::of(&ms).unwrap_or_else(|| Summary::single(0.0)),
            server_cpu_us: None,
        }
    }

    fn with_server_cpu(mut self, cpu: Duration) -> Series {
        self.server_cpu_us = Some(cpu.as_secs_f64() * 1e6 / (self.ops.max(1) as f64));
        self
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StdioResult {
    /// Protocol only: what the transport and JSON-RPC cost before any tool.
    pub pings: Series,
    pub saves: Series,
    pub reads: Series,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct HttpResult {
    pub clients: usize,
    pub requests: usize,
    pub all: Series,
    pub saves: Series,
    pub reads: Series,
    pub server_cpu_us_per_request: f64,
    pub client_cpu_us_per_request: f64,
}

/// A summary like agents send: a few sentences, with the round in it.
fn checkpoint_summary(i: usize) -> String {
    format!(
        "Round {i}: refresh tokens now rotate on every use and the middleware checks expiry \
         before each handler; the old session cookie path is gone. Tests for the happy path pass."
    )
}

/// CPU time (user + system) of this process.
fn own_cpu() -> Duration {
    // SAFETY: rusage is plain old data; getrusage only writes it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid `who` and a valid out-pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| {
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_usec).unwrap_or(0) * 1_000,
        )
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Runs one part in this (worker) process and prints its JSON answer.
pub(crate) fn worker(args: WorkerArgs) -> Result<ExitCode> {
    let runtime = if args.client_threads > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.client_threads)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .context("starting the async runtime")?;
    let home = |name: &str| -> Result<PathBuf> {
        let home = args.dir.join(name);
        std::fs::create_dir_all(&home)?;
        if let Some(url) = &args.store_url
            && name.contains("cairn")
        {
            crate::postgres::point_home_at(&home, url)?;
        }
        Ok(home)
    };
    let answer = runtime.block_on(async {
        anyhow::Ok(match args.part {
            Part::StdioCairn => serde_json::to_string(
                &stdio_client::cairn_series(&args.program, &home("cairn-stdio")?, args.ops).await?,
            )?,
            Part::StdioPeer => serde_json::to_string(
                &stdio_client::peer_series(&args.program, &home("peer-stdio")?, args.ops).await?,
            )?,
            Part::StdioEcho => serde_json::to_string(
                &stdio_client::echo_series(&home("echo-stdio")?, args.ops).await?,
            )?,
            Part::PythonCairn => serde_json::to_string(
                &python_client::series(
                    python_client::Server::Cairn,
                    &args.program,
                    &["mcp"],
                    &home("cairn-python")?,
                    args.ops,
                )
                .await?,
            )?,
            Part::PythonPeer => serde_json::to_string(
                &python_client::series(
                    python_client::Server::Peer,
                    &args.program,
                    &[],
                    &home("peer-python")?,
                    args.ops,
                )
                .await?,
            )?,
            Part::PythonEcho => serde_json::to_string(
                &python_client::series(
                    python_client::Server::Echo,
                    &std::env::current_exe().context("locating cairn-bench itself")?,
                    &["__mcp-echo"],
                    &home("echo-python")?,
                    args.ops,
                )
                .await?,
            )?,
            Part::Http => serde_json::to_string(
                &http_client::load(
                    &args.program,
                    &home(&format!("cairn-http-{}", args.clients))?,
                    args.clients,
                    args.requests,
                )
                .await?,
            )?,
            Part::IdleCairn | Part::IdlePeer => {
                let cairn = matches!(args.part, Part::IdleCairn);
                let mut rss = Vec::with_capacity(IDLE_RSS_RUNS);
                for run in 0..IDLE_RSS_RUNS {
                    let server_args: &[&str] = if cairn { &["mcp"] } else { &[] };
                    let home = home(&format!(
                        "idle-{}-{run}",
                        if cairn { "cairn" } else { "peer" }
                    ))?;
                    rss.push(stdio_client::idle_rss(&args.program, server_args, &home).await?);
                }
                serde_json::to_string(&rss)?
            }
        })
    })?;
    println!("{answer}");
    Ok(ExitCode::SUCCESS)
}

/// The peer's launcher, after making sure its native SQLite module is built.
struct Peer {
    launcher: PathBuf,
    version: String,
}

fn find_peer(options: &McpOptions) -> Result<Peer> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    candidates.extend(options.node_modules.clone());
    if let Some(dir) = std::env::var_os("CAIRN_BENCH_NODE_MODULES") {
        candidates.push(PathBuf::from(dir));
    }
    candidates.push(PathBuf::from("bench/node/node_modules"));
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/node/node_modules"));
    let Some(node_modules) = candidates
        .iter()
        .find(|dir| dir.join(".bin").join(PEER_PACKAGE).exists())
    else {
        bail!(
            "the peer {PEER_PACKAGE} {PEER_VERSION} is not installed (looked in {}): run \
             scripts/bench (it installs bench/node), or set CAIRN_BENCH_NODE_MODULES / --node-modules",
            candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let node_modules = node_modules.canonicalize()?;
    let native = node_modules.join("better-sqlite3/build/Release/better_sqlite3.node");
    if !native.exists() {
        // npm 11 skips better-sqlite3's install script; the rebuild compiles it offline.
        let package_dir = node_modules
            .parent()
            .context("node_modules has no parent folder")?;
        eprintln!(
            "mcp: building the peer's native SQLite module (npm rebuild better-sqlite3 in {}) …",
            package_dir.display()
        );
        let status = std::process::Command::new("npm")
            .args(["rebuild", "better-sqlite3"])
            .current_dir(package_dir)
            .stdout(std::process::Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) || !native.exists() {
            bail!(
                "the peer's native module {} is missing and `npm rebuild better-sqlite3` did not \
                 build it: run it yourself in {}",
                native.display(),
                package_dir.display()
            );
        }
    }
    let manifest = node_modules.join(PEER_PACKAGE).join("package.json");
    let version = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    if version != PEER_VERSION {
        eprintln!(
            "warning: the peer is {PEER_PACKAGE} {version}, not {PEER_VERSION} as the issue names"
        );
    }
    Ok(Peer {
        launcher: node_modules.join(".bin").join(PEER_PACKAGE),
        version,
    })
}

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let options = options();
    let peer = find_peer(&options)?;
    let scratch = bench.datasets.scratch()?;
    let dir = scratch.path().to_string_lossy().into_owned();
    let cairn = bench.cairn.to_string_lossy().into_owned();
    let launcher = peer.launcher.to_string_lossy().into_owned();
    let worker = |part: &str, program: &str, extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["__mcp", "--part", part, "--program", program, "--dir"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        args.push(dir.clone());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let ops = options.stdio_ops.to_string();
    let store_url = match bench.datasets.postgres() {
        Some(server) => Some(server.fresh_database("bench_mcp")?),
        None => None,
    };
    let mut cairn_args = vec!["--ops", &ops];
    if let Some(url) = &store_url {
        cairn_args.extend(["--store-url", url]);
    }

    let mut stdio = Vec::new();
    for client in [Client::Rust, Client::Python] {
        let part = |server: &str| format!("{}-{server}", client.part_prefix());
        eprintln!("mcp: stdio, {} client, echo server …", client.name());
        let echo: StdioResult = worker_answer(
            bench,
            scratch.path(),
            worker(&part("echo"), &cairn, &["--ops", &ops]),
        )?;
        eprintln!("mcp: stdio, {} client, cairn …", client.name());
        let cairn: StdioResult = worker_answer(
            bench,
            scratch.path(),
            worker(&part("cairn"), &cairn, &cairn_args),
        )?;
        eprintln!(
            "mcp: stdio, {} client, {PEER_PACKAGE} {} …",
            client.name(),
            peer.version
        );
        let peer_result: StdioResult = worker_answer(
            bench,
            scratch.path(),
            worker(&part("peer"), &launcher, &["--ops", &ops]),
        )?;
        stdio.push(StdioRun {
            client,
            cairn,
            peer: peer_result,
            echo,
        });
    }
    let ratio_limit = if store_url.is_some() {
        PG_STDIO_RATIO_LIMIT
    } else {
        STDIO_RATIO_LIMIT
    };
    let stdio_out = || {
        stdio
            .iter()
            .flat_map(|run| stdio_measurements(run, &peer.version, ratio_limit))
            .collect::<Vec<_>>()
    };
    if store_url.is_some() {
        // Issue 11 asks for the stdio comparison on PostgreSQL; HTTP load and idle
        // memory do not depend on the store.
        return Ok(stdio_out());
    }

    let threads = options.client_threads.to_string();
    let requests = options.http_requests.to_string();
    let mut http = Vec::new();
    for clients in [options.http_clients, 1] {
        eprintln!("mcp: HTTP, {clients} client(s) …");
        let clients = clients.to_string();
        let result: HttpResult = worker_answer(
            bench,
            scratch.path(),
            worker(
                "http",
                &cairn,
                &[
                    "--clients",
                    &clients,
                    "--requests",
                    &requests,
                    "--client-threads",
                    &threads,
                ],
            ),
        )?;
        http.push(result);
    }

    eprintln!("mcp: idle RSS …");
    let cairn_rss: Vec<u64> =
        worker_answer(bench, scratch.path(), worker("idle-cairn", &cairn, &[]))?;
    let peer_rss: Vec<u64> =
        worker_answer(bench, scratch.path(), worker("idle-peer", &launcher, &[]))?;

    let mut out = stdio_out();
    for result in &http {
        out.push(http_measurement(result, options.client_threads));
    }
    out.push(rss_measurement(
        "mcp.idle_rss.cairn",
        "mcp: `cairn mcp` idle RSS",
        &cairn_rss,
        true,
    ));
    out.push(rss_measurement(
        "mcp.idle_rss.peer",
        &format!("mcp: {PEER_PACKAGE} idle RSS"),
        &peer_rss,
        false,
    ));
    Ok(out)
}

fn worker_answer<T: serde::de::DeserializeOwned>(
    bench: &Bench,
    dir: &Path,
    args: Vec<String>,
) -> Result<T> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    bench.worker(dir, &args)
}

/// The client that drives the stdio servers.
#[derive(Clone, Copy, Debug)]
enum Client {
    Rust,
    Python,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Rust => "Rust",
            Client::Python => "Python",
        }
    }

    fn part_prefix(self) -> &'static str {
        match self {
            Client::Rust => "stdio",
            Client::Python => "python",
        }
    }

    /// Measurement ids: the Rust client keeps the ids it always had.
    fn id_prefix(self) -> &'static str {
        match self {
            Client::Rust => "mcp.stdio",
            Client::Python => "mcp.stdio_python",
        }
    }
}

/// One client's stdio runs: both servers and the echo server.
struct StdioRun {
    client: Client,
    cairn: StdioResult,
    peer: StdioResult,
    echo: StdioResult,
}

/// Mean seconds per call.
fn mean_seconds(s: &Series) -> f64 {
    s.seconds / (s.ops.max(1) as f64)
}

/// What the server adds to a typical call: the median latency minus the
/// client's own (the echo server's median), never below a microsecond.
/// Medians, because a few preempted calls move a mean of 2,000 by more than
/// the client costs on a busy machine.
fn server_ms(s: &Series, echo: &Series) -> f64 {
    (s.latency_ms.median - echo.latency_ms.median).max(1e-3)
}

fn stdio_measurements(run: &StdioRun, peer_version: &str, ratio_limit: f64) -> Vec<Measurement> {
    let client = run.client.name();
    let prefix = run.client.id_prefix();
    let series = |id: &str, title: String, s: &Series| Measurement {
        id: format!("{prefix}.{id}"),
        title: format!("{title} ({:.0}/s, {client} client)", s.ops_per_sec),
        command: None,
        unit: Unit::Milliseconds,
        value: s.latency_ms.clone(),
        peak_rss_mb: None,
        // The server's CPU per call (the echo server's, for the client alone).
        cpu_ms: s.server_cpu_us.map(|us| Summary::single(us / 1_000.0)),
        targets: Vec::new(),
        headline: false,
        details: json!({
            "ops": s.ops, "seconds": s.seconds, "ops_per_sec": s.ops_per_sec,
            "mean_ms": mean_seconds(s) * MS_PER_SECOND,
            "p99_ms": s.latency_ms.p99,
            "server_cpu_us": s.server_cpu_us,
        }),
    };
    let ratio = |id: &str, what: &str, ours: &Series, theirs: &Series, echo: &Series| {
        let value = ours.ops_per_sec / theirs.ops_per_sec.max(f64::MIN_POSITIVE);
        let (our_server, their_server) = (server_ms(ours, echo), server_ms(theirs, echo));
        let server_side = their_server / our_server;
        let ratio_measurement =
            |id: String, title: String, value: f64, headline: bool| Measurement {
                id,
                title,
                command: None,
                unit: Unit::Ratio,
                value: Summary::single(value),
                peak_rss_mb: None,
                cpu_ms: None,
                targets: vec![Target {
                    text: format!("≥ {ratio_limit}×"),
                    pass: value >= ratio_limit,
                }],
                headline,
                details: json!({
                    "client": client,
                    "cairn_ops_per_sec": ours.ops_per_sec,
                    "peer_ops_per_sec": theirs.ops_per_sec,
                    "client_p50_ms": echo.latency_ms.median,
                    "cairn_server_p50_ms": our_server,
                    "peer_server_p50_ms": their_server,
                    "cairn_server_cpu_us": ours.server_cpu_us,
                    "peer_server_cpu_us": theirs.server_cpu_us,
                    "peer": format!("{PEER_PACKAGE} {peer_version}"),
                }),
            };
        [
            ratio_measurement(
                format!("{prefix}.{id}"),
                format!("mcp stdio: {what} throughput, cairn / {PEER_PACKAGE} ({client} client)"),
                value,
                true,
            ),
            ratio_measurement(
                format!("{prefix}.{id}_server"),
                format!(
                    "mcp stdio: {what}, server time per call (p50 minus the client's \
                     {:.3} ms), {PEER_PACKAGE} / cairn ({client} client)",
                    echo.latency_ms.median
                ),
                server_side,
                true,
            ),
        ]
    };
    let (cairn, peer, echo) = (&run.cairn, &run.peer, &run.echo);
    let n = cairn.saves.ops;
    let mut out = vec![
        series(
            "echo.ping",
            "mcp stdio: the client alone, echo server, ping".into(),
            &echo.pings,
        ),
        series(
            "echo.save",
            format!("mcp stdio: the client alone, echo server, save_progress request ×{n}"),
            &echo.saves,
        ),
        series(
            "echo.read",
            format!("mcp stdio: the client alone, echo server, get_progress request ×{n}"),
            &echo.reads,
        ),
        series(
            "cairn.ping",
            "mcp stdio: cairn ping, protocol only".into(),
            &cairn.pings,
        ),
        series(
            "peer.ping",
            format!("mcp stdio: {PEER_PACKAGE} ping, protocol only"),
            &peer.pings,
        ),
        series(
            "cairn.save",
            format!("mcp stdio: cairn save_progress ×{n}"),
            &cairn.saves,
        ),
        series(
            "peer.save",
            format!("mcp stdio: {PEER_PACKAGE} context_save ×{n}"),
            &peer.saves,
        ),
    ];
    out.extend(ratio(
        "save_ratio",
        "saves",
        &cairn.saves,
        &peer.saves,
        &echo.saves,
    ));
    out.push(series(
        "cairn.read",
        format!("mcp stdio: cairn get_progress latest ×{n}"),
        &cairn.reads,
    ));
    out.push(series(
        "peer.read",
        format!("mcp stdio: {PEER_PACKAGE} context_get newest ×{n}"),
        &peer.reads,
    ));
    out.extend(ratio(
        "read_ratio",
        "latest reads",
        &cairn.reads,
        &peer.reads,
        &echo.reads,
    ));
    out
}

fn http_measurement(result: &HttpResult, client_threads: usize) -> Measurement {
    let headline = result.clients > 1;
    let p99 = result.all.latency_ms.p99;
    Measurement {
        id: format!("mcp.http.{}", result.clients),
        title: format!(
            "mcp HTTP: {} client{}, p99 {p99:.2} ms ({:.0} req/s)",
            result.clients,
            if result.clients == 1 { "" } else { "s" },
            result.all.ops_per_sec
        ),
        command: None,
        unit: Unit::Milliseconds,
        value: result.all.latency_ms.clone(),
        peak_rss_mb: None,
        cpu_ms: None,
        targets: if headline {
            vec![Target::below(
                format!("p99 < {HTTP_P99_LIMIT_MS} ms"),
                p99,
                HTTP_P99_LIMIT_MS,
            )]
        } else {
            Vec::new()
        },
        headline,
        details: json!({
            "requests": result.requests,
            "requests_per_sec": result.all.ops_per_sec,
            "p50_ms": result.all.latency_ms.median,
            "p99_ms": p99,
            "saves_p50_ms": result.saves.latency_ms.median,
            "saves_p99_ms": result.saves.latency_ms.p99,
            "reads_p50_ms": result.reads.latency_ms.median,
            "reads_p99_ms": result.reads.latency_ms.p99,
            "server_cpu_us_per_request": result.server_cpu_us_per_request,
            "client_cpu_us_per_request": result.client_cpu_us_per_request,
            "client_threads": client_threads,
        }),
    }
}

fn rss_measurement(id: &str, title: &str, bytes: &[u64], headline: bool) -> Measurement {
    let mb: Vec<f64> = bytes.iter().map(|b| *b as f64 / BYTES_PER_MB).collect();
    let value = Summary::of(&mb).unwrap_or_else(|| Summary::single(0.0));
    let mib = value.max * BYTES_PER_MB / (1024.0 * 1024.0);
    Measurement {
        id: id.into(),
        title: format!("{title} ({mib:.1} MiB)"),
        command: None,
        unit: Unit::Megabytes,
        targets: if headline {
            vec![Target::below(
                format!("< {IDLE_RSS_LIMIT_MB} MB"),
                value.max,
                IDLE_RSS_LIMIT_MB,
            )]
        } else {
            Vec::new()
        },
        value,
        peak_rss_mb: None,
        cpu_ms: None,
        headline,
        details: json!({ "runs_bytes": bytes }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(ops_per_sec: f64, p99_ms: f64) -> Series {
        let mut latency_ms = Summary::single(p99_ms / 2.0);
        latency_ms.p99 = p99_ms;
        Series {
            ops: 100,
            seconds: 100.0 / ops_per_sec,
            ops_per_sec,
            latency_ms,
            server_cpu_us: None,
        }
    }

    #[test]
    fn stdio_ratios_are_held_to_ten_times_the_peer_with_and_without_the_client() {
        // Every call of a series takes the same time: median = mean.
        let steady = |ops_per_sec: f64| {
            let mut s = series(ops_per_sec, 1.0);
            s.latency_ms = Summary::single(MS_PER_SECOND / ops_per_sec);
            s
        };
        let stdio = |save: f64, read: f64| StdioResult {
            pings: steady(10_000.0),
            saves: steady(save),
            reads: steady(read),
        };
        // Per call: client alone 0.1 ms; cairn 0.2 ms saves, 0.25 ms reads;
        // the peer 2 ms saves, 1 ms reads.
        let run = StdioRun {
            client: Client::Python,
            cairn: stdio(5_000.0, 4_000.0),
            peer: stdio(500.0, 1_000.0),
            echo: stdio(10_000.0, 10_000.0),
        };
        let measurements = stdio_measurements(&run, "0.14.1", STDIO_RATIO_LIMIT);
        let verdict = |id: &str| {
            let m = measurements.iter().find(|m| m.id == id).unwrap();
            ((m.value.median * 100.0).round() / 100.0, m.verdict())
        };
        assert_eq!(verdict("mcp.stdio_python.save_ratio"), (10.0, "PASS"));
        assert_eq!(verdict("mcp.stdio_python.read_ratio"), (4.0, "MISS"));
        // Without the client's 0.1 ms: 1.9 / 0.1 and 0.9 / 0.15.
        assert_eq!(
            verdict("mcp.stdio_python.save_ratio_server"),
            (19.0, "PASS")
        );
        assert_eq!(verdict("mcp.stdio_python.read_ratio_server"), (6.0, "MISS"));
        assert!(
            measurements
                .iter()
                .any(|m| m.id == "mcp.stdio_python.echo.save")
        );
    }

    #[test]
    fn http_p99_and_idle_rss_carry_their_targets() {
        let http = |clients: usize, p99: f64| HttpResult {
            clients,
            requests: 100,
            all: series(1_000.0, p99),
            saves: series(500.0, p99),
            reads: series(500.0, p99),
            server_cpu_us_per_request: 100.0,
            client_cpu_us_per_request: 50.0,
        };
        assert_eq!(http_measurement(&http(32, 4.9), 1).verdict(), "PASS");
        assert_eq!(http_measurement(&http(32, 5.1), 1).verdict(), "MISS");
        assert_eq!(http_measurement(&http(1, 9.0), 1).verdict(), "info");
        let rss = rss_measurement("r", "rss", &[14_000_000, 14_900_000], true);
        assert_eq!((rss.value.max, rss.verdict()), (14.9, "PASS"));
        let rss = rss_measurement("r", "rss", &[14_000_000, 15_100_000], true);
        assert_eq!(rss.verdict(), "MISS");
    }
}
