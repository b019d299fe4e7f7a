//! cairn-bench: cairn's own benchmark harness.
//!
//! Generates its datasets through the `Store` trait (cached under `--data-dir`),
//! then measures the release `cairn` binary as whole processes (wall time and peak
//! RSS from `wait4`) and the store in-process (append latency, import throughput).
//! Prints a table of medians against the targets of issue 2 and writes the same as
//! JSON.
//!
//! The process that spawns measured commands must stay small (see `process.rs`), so
//! dataset generation and in-process benchmarks run in worker processes: hidden
//! `__generate`, `__append`, `__resume-api`, `__import-api`, `__context` and
//! `__first-count` subcommands of this binary.

mod claude_code;
mod code;
mod datasets;
mod fake_provider;
mod fts_options;
mod generate;
mod in_process;
mod line_rpc;
mod machine;
mod postgres;
mod process;
mod report;
mod rng;
mod scenarios;
mod stats;
mod text;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use cairn_store_sqlite::Synchronous;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::datasets::{Dataset, Datasets, dataset_key};
use crate::machine::Machine;
use crate::report::{Failure, Report};
use crate::scenarios::Bench;

#[derive(Debug, Parser)]
#[command(
    name = "cairn-bench",
    about = "Benchmarks cairn: resume, list, append, import, search, run --resume and context management, on generated data",
    after_help = "Examples:\n  scripts/bench                       build release, run everything\n  cairn-bench resume --runs 50\n  cairn-bench search --json > search.json\n  cairn-bench all --fresh             regenerate every dataset first"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

#[derive(Debug, Args)]
struct Options {
    /// Measured runs of each whole-process command (after the warm-up runs).
    #[arg(long, global = true, default_value_t = 30)]
    runs: usize,
    /// Unmeasured runs first, so every measured run sees a warm page cache.
    #[arg(long, global = true, default_value_t = 3)]
    warmup: usize,
    /// Single-event appends timed by the append benchmark.
    #[arg(long, global = true, default_value_t = 2_000)]
    append_samples: usize,
    /// Imports of the 100 MB session timed by the import benchmark.
    #[arg(long, global = true, default_value_t = 3)]
    import_runs: usize,
    /// Where generated datasets are cached (keyed by generator version and store).
    #[arg(long, global = true, default_value = "target/bench-data")]
    data_dir: PathBuf,
    /// Regenerate the datasets the selected benchmarks use.
    #[arg(long, global = true)]
    fresh: bool,
    /// The cairn binary to measure [default: `cairn` next to this binary].
    #[arg(long, global = true, value_name = "PATH")]
    cairn: Option<PathBuf>,
    /// Print the JSON report on stdout instead of the table.
    #[arg(long, global = true)]
    json: bool,
    /// Where the JSON report is written.
    #[arg(long, global = true, default_value = "target/bench-results.json")]
    out: PathBuf,
    /// The store measured: `postgres` runs resume, list, search, append and the
    /// MCP stdio comparison on a PostgreSQL server the harness starts and keeps
    /// under the data directory (Debian's `postgresql`, as the tests use).
    #[arg(long, global = true, value_enum, default_value_t = StoreKind::Sqlite)]
    store: StoreKind,
    /// Sessions of 10,000 messages in the search dataset (100: a million).
    #[arg(long, global = true, default_value_t = 100)]
    search_sessions: u32,
    /// Where generated tool outputs take real source code from (`.rs` files, any
    /// depth; repeatable) [default: the cargo registry's sources and this repository].
    #[arg(long, global = true, value_name = "DIR")]
    code_dir: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum StoreKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every benchmark (the default).
    All,
    /// `sessions context` of a 100 MB history vs a 1 MB one.
    Resume,
    /// First page of `sessions list --all` over 10,000 sessions.
    List,
    /// Single-event durable append latency through the Store trait.
    Append,
    /// Bulk import throughput of the 100 MB session (API and command).
    Import,
    /// `sessions search WORD --all` over 1,000,000 messages.
    Search,
    /// `run --resume NAME -p …`: start to first byte at the provider, 100 MB vs 1 MB.
    RunResume,
    /// Token counting of a 1 MB live context; planning a 200,000-token compression.
    Context,
    /// The dashboard's sessions page rendered in Chromium over 10,000 sessions.
    Dashboard,
    /// Bytes on disk of the 100 MB and 1 MB sessions and 1,000 small ones, by part.
    Footprint {
        /// Also measure the 100 MB session's full-text index under other FTS5 options.
        #[arg(long)]
        fts_options: bool,
    },
    /// `cairn mcp` vs mcp-memory-keeper over stdio, HTTP at 32 clients, idle RSS.
    Mcp(scenarios::mcp::McpOptions),
    /// `sessions fork` and `sessions rewind`, 100 MB history vs 1 MB.
    Fork,
    /// `cairn acp` session/load 100 MB vs 1 MB; `cairn serve`: /api/sessions, SSE fan-out, idle RSS.
    Serve(scenarios::serve::ServeOptions),
    #[command(name = "__generate", hide = true)]
    Generate {
        #[arg(long)]
        dataset: Dataset,
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 100)]
        search_sessions: u32,
        #[arg(long)]
        store_url: Option<String>,
    },
    #[command(name = "__append", hide = true)]
    AppendWorker {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        samples: usize,
        #[arg(long)]
        warmup: usize,
        #[arg(long)]
        synchronous: SyncArg,
        #[arg(long)]
        store_url: Option<String>,
    },
    #[command(name = "__resume-api", hide = true)]
    ResumeWorker {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        session: String,
        #[arg(long)]
        runs: usize,
    },
    #[command(name = "__footprint", hide = true)]
    FootprintWorker {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        fts_options: bool,
    },
    #[command(name = "__serve", hide = true)]
    ServeWorker(scenarios::serve::WorkerArgs),
    #[command(name = "__mcp", hide = true)]
    McpWorker(scenarios::mcp::WorkerArgs),
    /// A stdio JSON-RPC server that only answers: the clients' own cost.
    #[command(name = "__mcp-echo", hide = true)]
    McpEcho,
    #[command(name = "__first-count", hide = true)]
    FirstCountWorker {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        session: String,
    },
    #[command(name = "__context", hide = true)]
    ContextWorker {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        session: String,
        #[arg(long)]
        runs: usize,
        #[arg(long)]
        warmup: usize,
    },
    #[command(name = "__import-api", hide = true)]
    ImportWorker {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        runs: usize,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SyncArg {
    Normal,
    Full,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scenario {
    Resume,
    List,
    Search,
    Append,
    Import,
    Mcp,
    RunResume,
    Context,
    Dashboard,
    Serve,
    Fork,
    Footprint,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Resume => "resume",
            Scenario::List => "list",
            Scenario::Search => "search",
            Scenario::Append => "append",
            Scenario::Import => "import",
            Scenario::Mcp => "mcp",
            Scenario::RunResume => "run-resume",
            Scenario::Context => "context",
            Scenario::Dashboard => "dashboard",
            Scenario::Serve => "serve",
            Scenario::Fork => "fork",
            Scenario::Footprint => "footprint",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let scenarios = match cli.command.unwrap_or(Command::All) {
        Command::All => vec![
            Scenario::Resume,
            Scenario::List,
            Scenario::Search,
            Scenario::Append,
            Scenario::Import,
            Scenario::Mcp,
            Scenario::RunResume,
            Scenario::Context,
            Scenario::Dashboard,
            Scenario::Serve,
            Scenario::Fork,
            Scenario::Footprint,
        ],
        Command::Resume => vec![Scenario::Resume],
        Command::List => vec![Scenario::List],
        Command::Search => vec![Scenario::Search],
        Command::Append => vec![Scenario::Append],
        Command::Import => vec![Scenario::Import],
        Command::RunResume => vec![Scenario::RunResume],
        Command::Context => vec![Scenario::Context],
        Command::Dashboard => vec![Scenario::Dashboard],
        Command::FirstCountWorker { home, session } => {
            let result = runtime()?.block_on(scenarios::context::first_count(&home, &session))?;
            println!("{}", serde_json::to_string(&result)?);
            return Ok(ExitCode::SUCCESS);
        }
        Command::ContextWorker {
            home,
            session,
            runs,
            warmup,
        } => {
            let result =
                runtime()?.block_on(scenarios::context::measure(&home, &session, runs, warmup))?;
            println!("{}", serde_json::to_string(&result)?);
            return Ok(ExitCode::SUCCESS);
        }
        Command::Mcp(options) => {
            scenarios::mcp::configure(options);
            vec![Scenario::Mcp]
        }
        Command::McpWorker(args) => return scenarios::mcp::worker(args),
        Command::McpEcho => {
            scenarios::mcp::echo_server::serve()?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Fork => vec![Scenario::Fork],
        Command::Footprint { fts_options } => {
            let _ = scenarios::footprint::FTS_OPTIONS.set(fts_options);
            vec![Scenario::Footprint]
        }
        Command::FootprintWorker { dir, fts_options } => {
            let result = runtime()?.block_on(scenarios::footprint::measure(&dir, fts_options))?;
            println!("{}", serde_json::to_string(&result)?);
            return Ok(ExitCode::SUCCESS);
        }
        Command::Serve(options) => {
            scenarios::serve::configure(options);
            vec![Scenario::Serve]
        }
        Command::ServeWorker(args) => {
            scenarios::serve::worker(args)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Generate {
            dataset,
            dir,
            search_sessions,
            store_url,
        } => {
            let manifest = runtime()?.block_on(datasets::generate(
                dataset,
                &dir,
                search_sessions,
                store_url.as_deref(),
            ))?;
            println!("{}", serde_json::to_string(&manifest)?);
            return Ok(ExitCode::SUCCESS);
        }
        Command::AppendWorker {
            dir,
            samples,
            warmup,
            synchronous,
            store_url,
        } => {
            let synchronous = match synchronous {
                SyncArg::Normal => Synchronous::Normal,
                SyncArg::Full => Synchronous::Full,
            };
            let result = runtime()?.block_on(in_process::append_latency(
                &dir,
                samples,
                warmup,
                synchronous,
                store_url.as_deref(),
            ))?;
            println!("{}", serde_json::to_string(&result)?);
            return Ok(ExitCode::SUCCESS);
        }
        Command::ResumeWorker {
            home,
            session,
            runs,
        } => {
            let result = runtime()?.block_on(in_process::resume_split(&home, &session, runs))?;
            println!("{}", serde_json::to_string(&result)?);
            return Ok(ExitCode::SUCCESS);
        }
        Command::ImportWorker { dir, runs } => {
            let result = runtime()?.block_on(in_process::import_throughput(&dir, runs))?;
            println!("{}", serde_json::to_string(&result)?);
            return Ok(ExitCode::SUCCESS);
        }
    };
    measure(&cli.options, &scenarios)
}

/// The same runtime shape as the `cairn` binary's, so in-process figures match.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

type Step = fn(&Bench) -> Result<Vec<report::Measurement>>;

fn measure(options: &Options, scenarios: &[Scenario]) -> Result<ExitCode> {
    let cairn = match &options.cairn {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(|dir| dir.join("cairn"))
            .context("locating the cairn binary")?,
    };
    if !cairn.is_file() {
        bail!(
            "no cairn binary at {}: build it with `cargo build --profile dist -p cairn` (or pass --cairn PATH)",
            cairn.display()
        );
    }
    let cairn = cairn.canonicalize()?;
    if cfg!(debug_assertions) || cairn.components().any(|c| c.as_os_str() == "debug") {
        eprintln!(
            "warning: measuring a debug build; figures are not representative (use scripts/bench)"
        );
    }
    let code_dirs = if options.code_dir.is_empty() {
        code::CodeCorpus::default_dirs()
    } else {
        options.code_dir.clone()
    };
    let joined = std::env::join_paths(&code_dirs).context("--code-dir")?;
    let _ = code::CODE_DIRS.set(joined);
    let on_postgres = options.store == StoreKind::Postgres;
    let datasets = Datasets::open(
        &options.data_dir,
        options.fresh,
        on_postgres,
        options.search_sessions,
    )?;
    if let Some(server) = datasets.postgres() {
        eprintln!("store: {}", server.describe());
    }
    // What `--store postgres` measures (issue 11); the rest does not depend on the store.
    let on_store = [
        Scenario::Resume,
        Scenario::List,
        Scenario::Search,
        Scenario::Append,
        Scenario::Mcp,
    ];
    let scenarios: Vec<Scenario> = if on_postgres {
        let (kept, left): (Vec<Scenario>, Vec<Scenario>) =
            scenarios.iter().partition(|s| on_store.contains(s));
        for scenario in left {
            eprintln!("{}: not measured on PostgreSQL (skipped)", scenario.name());
        }
        kept
    } else {
        scenarios.to_vec()
    };
    let machine = Machine::detect(datasets.root());
    let bench = Bench {
        datasets,
        cairn: cairn.clone(),
        runs: options.runs,
        warmup: options.warmup,
        append_samples: options.append_samples,
        import_runs: options.import_runs,
    };
    let mut report = Report {
        harness: format!("cairn-bench {}", env!("CARGO_PKG_VERSION")),
        date: jiff::Timestamp::now()
            .strftime("%Y-%m-%d %H:%M UTC")
            .to_string(),
        invocation: std::env::args()
            .map(|a| a.rsplit('/').next().unwrap_or(&a).to_owned())
            .collect::<Vec<_>>()
            .join(" "),
        machine,
        cairn_binary: cairn.display().to_string(),
        cairn_version: cairn_version(&bench),
        git_commit: git_commit(),
        dataset_key: dataset_key(),
        load_before: machine::load_average(),
        load_after: None,
        results: Vec::new(),
        failures: Vec::new(),
    };
    eprintln!("machine: {}", report.machine.line());
    let mut steps: Vec<(&str, Step)> = vec![("baseline", scenarios::baseline)];
    for scenario in &scenarios {
        let step: Step = match scenario {
            Scenario::Resume => scenarios::resume::run,
            Scenario::List => scenarios::list::run,
            Scenario::Search => scenarios::search::run,
            Scenario::Append => scenarios::append::run,
            Scenario::Import => scenarios::import::run,
            Scenario::Mcp => scenarios::mcp::run,
            Scenario::RunResume => scenarios::run_resume::run,
            Scenario::Context => scenarios::context::run,
            Scenario::Dashboard => scenarios::dashboard::run,
            Scenario::Serve => scenarios::serve::run,
            Scenario::Fork => scenarios::fork::run,
            Scenario::Footprint => scenarios::footprint::run,
        };
        steps.push((scenario.name(), step));
    }
    for (name, step) in steps {
        eprintln!("running {name} …");
        match step(&bench) {
            Ok(mut measurements) => {
                if on_postgres {
                    for m in &mut measurements {
                        m.id = format!("pg.{}", m.id);
                        m.title = format!("{} [PostgreSQL]", m.title);
                    }
                }
                report.results.extend(measurements)
            }
            Err(e) => {
                eprintln!("{name} failed: {e:#}");
                report.failures.push(Failure {
                    scenario: name.to_owned(),
                    error: format!("{e:#}"),
                });
            }
        }
    }
    report.load_after = machine::load_average();
    if report
        .load_before
        .is_some_and(|l| l[0] > report.machine.cores as f64)
    {
        eprintln!(
            "warning: the machine was busy (load average above its {} cores): wall times are inflated; \
             compare CPU times, or rerun on a quiet machine",
            report.machine.cores
        );
    }
    write_report(&report, &options.out)?;
    if options.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
        println!("JSON report: {}", options.out.display());
    }
    let missed = report.results.iter().any(|m| m.verdict() == "MISS");
    Ok(if missed || !report.failures.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_report(report: &Report, out: &Path) -> Result<()> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("writing {}", out.display()))
}

fn cairn_version(bench: &Bench) -> String {
    let version = bench
        .datasets
        .scratch()
        .and_then(|home| process::run_once(&bench.cairn(home.path(), &["--version"])?));
    match version {
        Ok(run) => String::from_utf8_lossy(&run.stdout_head).trim().to_owned(),
        Err(e) => format!("unknown ({e:#})"),
    }
}

fn git_commit() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
