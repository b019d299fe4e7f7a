//! The editor and daemon faces (issue 10), in one run:
//!
//! - `cairn acp`: `session/load` of the 100 MB-history session against the 1 MB
//!   one, from sending the request until its answer (which comes after the whole
//!   replay of the live context as `session/update`s), over stdio with a
//!   line JSON-RPC client; a fresh agent process per sample, loads alternating;
//! - `cairn serve`: `GET /api/sessions` (first page) over the 10,000-session store
//!   on a kept-alive connection; the idle resident memory of a fresh daemon;
//! - SSE fan-out: `--watchers` clients stream one session's events
//!   (`/api/sessions/NAME/stream`) while turns run in the daemon (`POST
//!   …/messages`, answered by the harness's fake provider); each delivery's latency
//!   is the instant a watcher read it minus the event's stored `ts`.
//!
//! The clients run in a worker process (`cairn-bench __serve …`) so this process
//! stays small (see `process.rs`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::{Bench, MS_PER_SECOND, copy_dir};
use crate::datasets::Dataset;
use crate::fake_provider::FakeProvider;
use crate::line_rpc::{LineRpc, resident_bytes};
use crate::process::isolated;
use crate::report::{Measurement, Target, Unit};
use crate::stats::Summary;

pub(crate) const ACP_LOAD_LIMIT_MS: f64 = 50.0;
pub(crate) const ACP_RATIO_LIMIT: f64 = 1.5;
pub(crate) const API_LIST_LIMIT_MS: f64 = 10.0;
pub(crate) const FANOUT_P99_LIMIT_MS: f64 = 20.0;
pub(crate) const IDLE_RSS_LIMIT_MB: f64 = 20.0;
/// Fresh daemons whose idle memory is read.
const IDLE_RSS_RUNS: usize = 3;
/// Time a fresh daemon gets to settle before its idle memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(2);
/// Longest a daemon may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the watchers may take to receive one turn's events.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The fan-out's session, and the model its turns use (the fake provider speaks
/// OpenAI's wire).
const FANOUT_SESSION: &str = "fanout";
const MODEL: &str = "openai:gpt-4.1";

/// Options of `cairn-bench serve`.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct ServeOptions {
    /// SSE clients watching one session.
    #[arg(long, default_value_t = 200)]
    pub watchers: usize,
    /// Turns run while they watch (each stores a user and an assistant message).
    #[arg(long, default_value_t = 10)]
    pub turns: usize,
}

/// What the worker is given.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct WorkerArgs {
    #[arg(long)]
    cairn: PathBuf,
    #[arg(long)]
    workdir: PathBuf,
    #[arg(long)]
    scratch: PathBuf,
    #[arg(long)]
    big_home: PathBuf,
    #[arg(long)]
    small_home: PathBuf,
    #[arg(long)]
    big_session: String,
    #[arg(long)]
    small_session: String,
    #[arg(long)]
    listing_home: PathBuf,
    #[arg(long)]
    runs: usize,
    #[arg(long)]
    warmup: usize,
    #[arg(long)]
    watchers: usize,
    #[arg(long)]
    turns: usize,
}

/// What the worker measured.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct WorkerAnswer {
    acp_load_big_ms: Vec<f64>,
    acp_load_small_ms: Vec<f64>,
    acp_updates_big: usize,
    acp_updates_small: usize,
    api_list_ms: Vec<f64>,
    api_rows: usize,
    idle_rss_mb: Vec<f64>,
    fanout_ms: Vec<f64>,
    fanout_events: usize,
    rss_after_fanout_mb: f64,
}

static OPTIONS: OnceLock<ServeOptions> = OnceLock::new();

/// Sets the options of `cairn-bench serve` (before `run`; `all` uses the defaults).
pub(crate) fn configure(options: ServeOptions) {
    let _ = OPTIONS.set(options);
}

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let options = OPTIONS.get_or_init(|| ServeOptions {
        watchers: 200,
        turns: 10,
    });
    let big = bench.datasets.ensure(Dataset::Resume100mb)?;
    let small = bench.datasets.ensure(Dataset::Resume1mb)?;
    let listing = bench.datasets.ensure(Dataset::Listing)?;
    let scratch = bench.datasets.scratch()?;
    let name = |m: &crate::datasets::Manifest| m.session_name.clone().unwrap_or_default();
    let path = |p: &Path| p.display().to_string();
    let args = [
        "__serve".to_owned(),
        "--cairn".into(),
        path(&bench.cairn),
        "--workdir".into(),
        path(&bench.datasets.workdir()?),
        "--scratch".into(),
        path(scratch.path()),
        "--big-home".into(),
        path(&bench.datasets.home(Dataset::Resume100mb)),
        "--small-home".into(),
        path(&bench.datasets.home(Dataset::Resume1mb)),
        "--big-session".into(),
        name(&big),
        "--small-session".into(),
        name(&small),
        "--listing-home".into(),
        path(&bench.datasets.home(Dataset::Listing)),
        "--runs".into(),
        bench.runs.to_string(),
        "--warmup".into(),
        bench.warmup.to_string(),
        "--watchers".into(),
        options.watchers.to_string(),
        "--turns".into(),
        options.turns.to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let answer: WorkerAnswer = bench.worker(scratch.path(), &args)?;
    measurements(&answer, big.stats.jsonl_bytes, listing.sessions, options)
}

fn measurements(
    a: &WorkerAnswer,
    big_bytes: u64,
    sessions: u64,
    options: &ServeOptions,
) -> Result<Vec<Measurement>> {
    let none = || anyhow::anyhow!("the worker measured nothing (--runs 0?)");
    let big = Summary::of(&a.acp_load_big_ms).ok_or_else(none)?;
    let small = Summary::of(&a.acp_load_small_ms).ok_or_else(none)?;
    let ratio = big.median / small.median;
    let api = Summary::of(&a.api_list_ms).ok_or_else(none)?;
    let idle = Summary::of(&a.idle_rss_mb).ok_or_else(none)?;
    let fanout = Summary::of(&a.fanout_ms).ok_or_else(none)?;
    let row = |id: &str, title: String, command: &str, unit, value: Summary, targets, details| {
        Measurement {
            id: id.into(),
            title,
            command: Some(command.into()),
            unit,
            targets,
            value,
            peak_rss_mb: None,
            cpu_ms: None,
            headline: true,
            details,
        }
    };
    let load_target = |s: &Summary| {
        vec![Target::below(
            format!("< {ACP_LOAD_LIMIT_MS} ms"),
            s.median,
            ACP_LOAD_LIMIT_MS,
        )]
    };
    Ok(vec![
        row(
            "serve.acp_load.100mb",
            format!(
                "acp: session/load of {:.0} MB history",
                big_bytes as f64 / 1e6
            ),
            "cairn acp: initialize, then session/load (timed until its answer)",
            Unit::Milliseconds,
            big.clone(),
            load_target(&big),
            json!({ "session_updates": a.acp_updates_big }),
        ),
        row(
            "serve.acp_load.1mb",
            "acp: session/load of 1 MB history".into(),
            "cairn acp: initialize, then session/load (timed until its answer)",
            Unit::Milliseconds,
            small.clone(),
            load_target(&small),
            json!({ "session_updates": a.acp_updates_small }),
        ),
        row(
            "serve.acp_load.ratio",
            "acp: session/load, 100 MB median / 1 MB median".into(),
            "",
            Unit::Ratio,
            Summary::single(ratio),
            vec![Target::at_most(
                format!("≤ {ACP_RATIO_LIMIT}×"),
                ratio,
                ACP_RATIO_LIMIT,
            )],
            json!({}),
        ),
        row(
            "serve.api_sessions.10k",
            format!("serve: GET /api/sessions, first page of {sessions} sessions"),
            "cairn serve; GET /api/sessions (kept-alive connection)",
            Unit::Milliseconds,
            api.clone(),
            vec![Target::below(
                format!("< {API_LIST_LIMIT_MS} ms"),
                api.median,
                API_LIST_LIMIT_MS,
            )],
            json!({ "rows": a.api_rows }),
        ),
        row(
            "serve.sse_fanout",
            format!(
                "serve: an event reaches {} SSE watchers (stored → read)",
                options.watchers
            ),
            "cairn serve; GET /api/sessions/NAME/stream ×N; POST …/messages",
            Unit::Milliseconds,
            fanout.clone(),
            vec![Target::below(
                format!("p99 < {FANOUT_P99_LIMIT_MS} ms"),
                fanout.p99,
                FANOUT_P99_LIMIT_MS,
            )],
            json!({
                "deliveries": a.fanout_ms.len(),
                "events": a.fanout_events,
                "turns": options.turns,
                "daemon_rss_after_mb": a.rss_after_fanout_mb,
            }),
        ),
        row(
            "serve.idle_rss",
            "serve: `cairn serve` idle RSS".into(),
            "cairn serve, 2 s after it listens",
            Unit::Megabytes,
            idle.clone(),
            vec![Target::below(
                format!("< {IDLE_RSS_LIMIT_MB} MB"),
                idle.max,
                IDLE_RSS_LIMIT_MB,
            )],
            json!({ "daemons": IDLE_RSS_RUNS }),
        ),
    ])
}

/// `cairn-bench __serve`: runs every client and prints the answer as JSON.
pub(crate) fn worker(args: WorkerArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let answer = runtime.block_on(measure(&args))?;
    println!("{}", serde_json::to_string(&answer)?);
    Ok(())
}

async fn measure(args: &WorkerArgs) -> Result<WorkerAnswer> {
    let mut answer = WorkerAnswer::default();
    eprintln!("serve: acp session/load …");
    acp_loads(args, &mut answer).await?;
    eprintln!("serve: idle RSS …");
    for _ in 0..IDLE_RSS_RUNS {
        let daemon = Daemon::start(&args.cairn, &args.listing_home, &args.workdir, &[]).await?;
        tokio::time::sleep(IDLE_SETTLE).await;
        answer.idle_rss_mb.push(daemon.rss_mb()?);
        daemon.stop().await?;
    }
    eprintln!("serve: GET /api/sessions …");
    api_list(args, &mut answer).await?;
    eprintln!("serve: SSE fan-out to {} watchers …", args.watchers);
    fanout(args, &mut answer).await?;
    Ok(answer)
}

/// Alternating loads of the two sessions, each in a fresh `cairn acp`, on copies
/// of the datasets' homes (loading takes the session's lease).
async fn acp_loads(args: &WorkerArgs, answer: &mut WorkerAnswer) -> Result<()> {
    let big_home = args.scratch.join("acp-big");
    let small_home = args.scratch.join("acp-small");
    copy_dir(&args.big_home, &big_home)?;
    copy_dir(&args.small_home, &small_home)?;
    for round in 0..args.warmup + args.runs {
        for (home, session, big) in [
            (&big_home, &args.big_session, true),
            (&small_home, &args.small_session, false),
        ] {
            let (ms, updates) = acp_load(args, home, session).await?;
            if round < args.warmup {
                continue;
            }
            if big {
                answer.acp_load_big_ms.push(ms);
                answer.acp_updates_big = updates;
            } else {
                answer.acp_load_small_ms.push(ms);
                answer.acp_updates_small = updates;
            }
        }
    }
    Ok(())
}

async fn acp_load(args: &WorkerArgs, home: &Path, session: &str) -> Result<(f64, usize)> {
    // Loading builds the session's engine, whose provider wants a key to exist.
    let env = [
        ("ANTHROPIC_API_KEY", OsString::from("bench-key")),
        ("OPENAI_API_KEY", OsString::from("bench-key")),
    ];
    let mut agent = LineRpc::spawn(&args.cairn, &["acp"], home, &args.workdir, &env)?;
    agent
        .request(
            "initialize",
            json!({ "protocolVersion": 1, "clientCapabilities": {} }),
        )
        .await
        .context("cairn acp: initialize")?;
    let started = Instant::now();
    let loaded = agent
        .request_counting(
            "session/load",
            json!({ "sessionId": session, "cwd": args.workdir, "mcpServers": [] }),
        )
        .await
        .with_context(|| format!("cairn acp: session/load {session}"))?;
    let ms = started.elapsed().as_secs_f64() * MS_PER_SECOND;
    if loaded.notifications == 0 {
        bail!("cairn acp: session/load {session} replayed nothing");
    }
    agent.finish().await?;
    Ok((ms, loaded.notifications))
}

async fn api_list(args: &WorkerArgs, answer: &mut WorkerAnswer) -> Result<()> {
    let daemon = Daemon::start(&args.cairn, &args.listing_home, &args.workdir, &[]).await?;
    let client = reqwest::Client::new();
    let url = format!("{}/api/sessions", daemon.base);
    for round in 0..args.warmup + args.runs {
        let started = Instant::now();
        let page: Value = client
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let ms = started.elapsed().as_secs_f64() * MS_PER_SECOND;
        let rows = page["sessions"].as_array().map_or(0, Vec::len);
        if rows == 0 {
            bail!("GET /api/sessions returned no sessions: {page}");
        }
        if round >= args.warmup {
            answer.api_list_ms.push(ms);
            answer.api_rows = rows;
        }
    }
    daemon.stop().await
}

/// Deliveries the watchers have read: (seq, latency in ms).
type Deliveries = Arc<Mutex<Vec<(u64, f64)>>>;

async fn fanout(args: &WorkerArgs, answer: &mut WorkerAnswer) -> Result<()> {
    let provider = FakeProvider::start("fanout")?;
    let home = args.scratch.join("fanout");
    std::fs::create_dir_all(&home)?;
    let env = [
        ("OPENAI_API_KEY", OsString::from("bench-key")),
        (
            cairn_core::env_vars::OPENAI_BASE_URL,
            OsString::from(format!("{}/v1", provider.base_url())),
        ),
    ];
    // The session exists before anyone watches it.
    let created = Command::from(isolated(&args.cairn, &home, &args.workdir))
        .args(["run", "--name", FANOUT_SESSION, "-m", MODEL, "-p", "hello"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await?;
    if !created.status.success() {
        bail!(
            "creating the fan-out session failed: {}",
            String::from_utf8_lossy(&created.stderr)
        );
    }
    let daemon = Daemon::start(&args.cairn, &home, &args.workdir, &env).await?;
    let client = reqwest::Client::new();
    let stream_url = format!("{}/api/sessions/{FANOUT_SESSION}/stream", daemon.base);
    let deliveries: Deliveries = Arc::default();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Result<()>>(args.watchers);
    let mut watchers = Vec::with_capacity(args.watchers);
    for _ in 0..args.watchers {
        let (client, url, deliveries, ready) = (
            client.clone(),
            stream_url.clone(),
            deliveries.clone(),
            ready_tx.clone(),
        );
        watchers.push(tokio::spawn(async move {
            watch(client, url, deliveries, ready).await
        }));
    }
    for _ in 0..args.watchers {
        ready_rx
            .recv()
            .await
            .context("a watcher ended before it connected")??;
    }
    let post_url = format!("{}/api/sessions/{FANOUT_SESSION}/messages", daemon.base);
    let mut expected = 0;
    for turn in 0..args.turns {
        let before = head_seq(&client, &daemon.base).await?;
        client
            .post(&post_url)
            .json(&json!({ "text": format!("turn {turn}: go on") }))
            .send()
            .await?
            .error_for_status()
            .context("POST …/messages")?;
        let after = head_seq(&client, &daemon.base).await?;
        expected += (after - before) as usize * args.watchers;
        answer.fanout_events += (after - before) as usize;
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        while lock(&deliveries).len() < expected {
            if Instant::now() > deadline {
                bail!(
                    "the watchers read {} of {expected} deliveries within {DELIVERY_TIMEOUT:?}",
                    lock(&deliveries).len()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    answer.rss_after_fanout_mb = daemon.rss_mb()?;
    for watcher in &watchers {
        watcher.abort();
    }
    answer.fanout_ms = lock(&deliveries).iter().map(|(_, ms)| *ms).collect();
    daemon.stop().await
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn head_seq(client: &reqwest::Client, base: &str) -> Result<u64> {
    let session: Value = client
        .get(format!("{base}/api/sessions/{FANOUT_SESSION}"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    session["head_seq"]
        .as_u64()
        .with_context(|| format!("no head_seq in {session}"))
}

/// One SSE client: connects, says so, then notes each event's latency.
async fn watch(
    client: reqwest::Client,
    url: String,
    deliveries: Deliveries,
    ready: tokio::sync::mpsc::Sender<Result<()>>,
) {
    let response = match client
        .get(&url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
    {
        Ok(response) => response,
        Err(e) => {
            let _ = ready.send(Err(e.into())).await;
            return;
        }
    };
    let _ = ready.send(Ok(())).await;
    let mut body = response.bytes_stream();
    let mut pending = String::new();
    while let Some(Ok(chunk)) = body.next().await {
        let read_at = SystemTime::now();
        pending.push_str(&String::from_utf8_lossy(&chunk));
        // One SSE message ends with a blank line.
        while let Some(end) = pending.find("\n\n") {
            let message: String = pending.drain(..end + 2).collect();
            if let Some(delivery) = delivery(&message, read_at) {
                lock(&deliveries).push(delivery);
            }
        }
    }
}

/// (seq, ms from the event's stored `ts` to `read_at`) of one SSE message.
fn delivery(message: &str, read_at: SystemTime) -> Option<(u64, f64)> {
    let data = message.lines().find_map(|l| l.strip_prefix("data:"))?;
    let event: Value = serde_json::from_str(data.trim()).ok()?;
    let ts: jiff::Timestamp = event["ts"].as_str()?.parse().ok()?;
    let read_at = jiff::Timestamp::try_from(read_at).ok()?;
    let ms = read_at.duration_since(ts).as_secs_f64() * MS_PER_SECOND;
    Some((event["seq"].as_u64()?, ms))
}

/// A `cairn serve` on a free loopback port, killed when dropped.
struct Daemon {
    child: Child,
    base: String,
}

impl Daemon {
    async fn start(
        cairn: &Path,
        home: &Path,
        cwd: &Path,
        env: &[(&str, OsString)],
    ) -> Result<Daemon> {
        let mut child = Command::from(isolated(cairn, home, cwd))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {} serve", cairn.display()))?;
        let stderr = child.stderr.take().context("the daemon's stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let listening = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.split("listening on ").nth(1) {
                    return Ok(url.trim().to_owned());
                }
            }
            bail!("cairn serve exited before it listened")
        })
        .await
        .context("cairn serve did not say where it listens")??;
        // Keep reading stderr so the daemon never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Daemon {
            child,
            base: listening,
        })
    }

    /// SIGTERM, and waits for the exit: the daemon removes its pid file, so the
    /// next one in the same home starts.
    async fn stop(mut self) -> Result<()> {
        if let Some(pid) = self.child.id() {
            let pid = libc::pid_t::try_from(pid).context("pid out of range")?;
            // SAFETY: kill(2) with a pid of our own child and a valid signal.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        tokio::time::timeout(START_TIMEOUT, self.child.wait())
            .await
            .context("cairn serve did not stop on SIGTERM")??;
        Ok(())
    }

    fn rss_mb(&self) -> Result<f64> {
        let pid = self.child.id().context("the daemon has exited")?;
        Ok(resident_bytes(pid)? as f64 / super::BYTES_PER_MB)
    }
}
