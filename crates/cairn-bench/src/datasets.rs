//! Benchmark datasets: generated once through the `Store` trait, cached on disk.
//!
//! Each dataset is a complete cairn home (`CAIRN_HOME`) under
//! `DATA_DIR/<key>/<dataset>/home`, with a `manifest.json` written last (so a
//! dataset whose generation was interrupted is never used). The key combines the
//! generator version and a fingerprint of the store's source: a change to either
//! builds fresh datasets, and the datasets of other keys are removed.
//!
//! With `--store postgres` a dataset is a database of the harness's server
//! (`postgres.rs`), generated through the same `Store` trait; its directory
//! (`pg-<dataset>`) keeps the manifest and a home whose `config.toml` names the
//! database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use cairn_core::Store;
use cairn_core::paths::Paths;
use cairn_store_sqlite::Synchronous;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::code::CodeCorpus;
use crate::generate::{
    GeneratedSession, HistoryShape, HistoryStats, LISTING_SESSIONS, QueryCounts, SearchCorpus,
    generate_history, listing_session,
};
use crate::postgres::{BenchServer, point_home_at};
use crate::process::{ProcessSpec, run_once};
use crate::text::Vocabulary;

/// Bump when the generator's output changes. (2: tool outputs that show code are
/// slices of real source files, `code.rs`; a dataset depends on that corpus too.)
pub(crate) const GENERATOR_VERSION: u32 = 2;

pub(crate) fn dataset_key() -> String {
    format!(
        "gen{GENERATOR_VERSION}-store{}",
        &env!("CAIRN_BENCH_STORE_FINGERPRINT")[..10]
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub(crate) enum Dataset {
    /// One session with 100 MB of history (resume, import).
    #[serde(rename = "resume-100mb")]
    #[value(name = "resume-100mb")]
    Resume100mb,
    /// One session with 1 MB of history (resume).
    #[serde(rename = "resume-1mb")]
    #[value(name = "resume-1mb")]
    Resume1mb,
    /// 10,000 small sessions in 40 projects (list).
    #[serde(rename = "listing")]
    Listing,
    /// 1,000,000 messages in 100 sessions (search).
    #[serde(rename = "search")]
    Search,
}

impl Dataset {
    pub(crate) fn dir_name(self) -> &'static str {
        match self {
            Dataset::Resume100mb => "resume-100mb",
            Dataset::Resume1mb => "resume-1mb",
            Dataset::Listing => "listing-10k",
            Dataset::Search => "search-1m",
        }
    }
}

/// What a dataset holds, written after it is complete.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub dataset: Dataset,
    pub key: String,
    pub generated_in_seconds: f64,
    pub sessions: u64,
    /// Totals over every session.
    pub stats: HistoryStats,
    /// The session of single-session datasets.
    pub session_name: Option<String>,
    /// For the search dataset: messages holding each query word.
    pub queries: Option<QueryCounts>,
    /// Size of the store file(s) after generation.
    pub store_bytes: u64,
}

pub(crate) struct Datasets {
    root: PathBuf,
    fresh: bool,
    /// `--store postgres`: the server the datasets live in.
    postgres: Option<BenchServer>,
    /// Sessions of 10,000 messages in the search dataset (100: a million).
    search_sessions: u32,
    /// Datasets already regenerated in this run (so `--fresh` builds each once).
    rebuilt: std::cell::RefCell<Vec<Dataset>>,
}

impl Datasets {
    /// Opens the cache under `data_dir`, removing datasets of other keys.
    pub(crate) fn open(
        data_dir: &Path,
        fresh: bool,
        postgres: bool,
        search_sessions: u32,
    ) -> Result<Datasets> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let key = dataset_key();
        for entry in std::fs::read_dir(data_dir)?.flatten() {
            let name = entry.file_name();
            let stale = name.to_string_lossy().starts_with("gen") && name != key.as_str();
            if stale && entry.path().is_dir() {
                eprintln!("removing stale datasets {}", entry.path().display());
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        let root = data_dir.join(&key);
        std::fs::create_dir_all(&root)?;
        let root = root.canonicalize()?;
        let postgres = if postgres {
            Some(BenchServer::start(&root.join("postgres"))?)
        } else {
            None
        };
        Ok(Datasets {
            root,
            fresh,
            postgres,
            search_sessions,
            rebuilt: Default::default(),
        })
    }

    /// The PostgreSQL server of `--store postgres`.
    pub(crate) fn postgres(&self) -> Option<&BenchServer> {
        self.postgres.as_ref()
    }

    /// The dataset's directory name: its own, with the store and size it has.
    fn dir_name(&self, dataset: Dataset) -> String {
        let mut name = dataset.dir_name().to_owned();
        if dataset == Dataset::Search && self.search_sessions != 100 {
            name = format!("search-{}k", self.search_sessions * 10);
        }
        if self.postgres.is_some() {
            name = format!("pg-{name}");
        }
        name
    }

    /// The database of a dataset on the PostgreSQL server.
    fn database(&self, dataset: Dataset) -> String {
        format!("bench_{}", self.dir_name(dataset).replace('-', "_"))
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn home(&self, dataset: Dataset) -> PathBuf {
        self.root.join(self.dir_name(dataset)).join("home")
    }

    /// A directory for throw-away stores and homes, removed when dropped.
    pub(crate) fn scratch(&self) -> Result<tempfile::TempDir> {
        let parent = self.root.join("scratch");
        std::fs::create_dir_all(&parent)?;
        Ok(tempfile::Builder::new().prefix("run-").tempdir_in(parent)?)
    }

    /// A neutral working directory for measured commands.
    pub(crate) fn workdir(&self) -> Result<PathBuf> {
        let dir = self.root.join("workdir");
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// The dataset's manifest, generating the dataset first (in a worker process,
    /// see `process.rs` for why) when it is missing or `--fresh` asked for it.
    pub(crate) fn ensure(&self, dataset: Dataset) -> Result<Manifest> {
        let dir = self.root.join(self.dir_name(dataset));
        let manifest_path = dir.join("manifest.json");
        let must_rebuild = self.fresh && !self.rebuilt.borrow().contains(&dataset);
        // A PostgreSQL dataset is only there while its database is.
        let database_there = match &self.postgres {
            Some(server) => server.has_database(&self.database(dataset)),
            None => true,
        };
        if !must_rebuild
            && database_there
            && let Ok(text) = std::fs::read_to_string(&manifest_path)
        {
            match serde_json::from_str::<Manifest>(&text) {
                Ok(manifest) => {
                    self.point_home(dataset)?;
                    return Ok(manifest);
                }
                // Written by another harness version: rebuild rather than guess.
                Err(e) => eprintln!("{}: {e}; regenerating", manifest_path.display()),
            }
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        eprintln!(
            "generating dataset {} in {} …",
            self.dir_name(dataset),
            dir.display()
        );
        let exe = std::env::current_exe().context("locating cairn-bench itself")?;
        let dataset_arg = dataset
            .to_possible_value()
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default();
        let mut spec = ProcessSpec::new(
            &exe,
            &dir,
            &dir,
            &["__generate", "--dataset", &dataset_arg, "--dir"],
        );
        spec.args.push(dir.clone().into_os_string());
        spec.args.push("--search-sessions".into());
        spec.args.push(self.search_sessions.to_string().into());
        if let Some(server) = &self.postgres {
            let url = server.fresh_database(&self.database(dataset))?;
            spec.args.push("--store-url".into());
            spec.args.push(url.into());
        }
        spec.show_stderr = true;
        let run = run_once(&spec)?;
        let mut manifest: Manifest =
            serde_json::from_slice(&run.stdout_head).context("reading the generator's manifest")?;
        if let Some(server) = &self.postgres {
            let database = self.database(dataset);
            server.settle(&database);
            manifest.store_bytes = server.database_bytes(&database);
        }
        self.point_home(dataset)?;
        let tmp = dir.join("manifest.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
        std::fs::rename(&tmp, &manifest_path)?;
        eprintln!(
            "  {} sessions, {} events, {:.1} MB of JSONL, store {:.1} MB, in {:.1} s",
            manifest.sessions,
            manifest.stats.events,
            manifest.stats.jsonl_bytes as f64 / 1e6,
            manifest.store_bytes as f64 / 1e6,
            manifest.generated_in_seconds
        );
        self.rebuilt.borrow_mut().push(dataset);
        Ok(manifest)
    }

    /// On PostgreSQL, points the dataset's home at its database (the server's
    /// port differs from run to run).
    fn point_home(&self, dataset: Dataset) -> Result<()> {
        match &self.postgres {
            Some(server) => {
                point_home_at(&self.home(dataset), &server.url(&self.database(dataset)))
            }
            None => Ok(()),
        }
    }

    /// The 100 MB session exported as session JSONL v1 by `cairn sessions export`,
    /// made once per dataset.
    pub(crate) fn ensure_export(&self, cairn: &Path) -> Result<PathBuf> {
        let manifest = self.ensure(Dataset::Resume100mb)?;
        let dir = self.root.join(self.dir_name(Dataset::Resume100mb));
        let file = dir.join("export.jsonl");
        if file.exists() {
            return Ok(file);
        }
        let name = manifest.session_name.unwrap_or_default();
        eprintln!("exporting {name} with `cairn sessions export` …");
        let tmp = dir.join("export.jsonl.tmp");
        let home = self.home(Dataset::Resume100mb);
        let mut spec = ProcessSpec::new(
            cairn,
            &home,
            &self.workdir()?,
            &["sessions", "export", &name, "-o"],
        );
        spec.args.push(tmp.clone().into_os_string());
        run_once(&spec)?;
        let size = std::fs::metadata(&tmp).map(|m| m.len()).unwrap_or(0);
        if size < manifest.stats.jsonl_bytes {
            bail!(
                "`cairn sessions export {name}` wrote {size} bytes, less than the {} bytes of the session's events",
                manifest.stats.jsonl_bytes
            );
        }
        std::fs::rename(&tmp, &file)?;
        Ok(file)
    }

    /// The 100 MB session as a Claude Code transcript folder (see `claude_code.rs`)
    /// and its size in bytes, written from the export on first use.
    pub(crate) fn ensure_claude_code(&self, cairn: &Path) -> Result<(PathBuf, u64)> {
        let export = self.ensure_export(cairn)?;
        let dir = self.root.join(Dataset::Resume100mb.dir_name());
        let folder = dir.join("claude-code");
        let done = dir.join("claude-code.bytes");
        if let Some(bytes) = std::fs::read_to_string(&done)
            .ok()
            .and_then(|b| b.trim().parse().ok())
            && folder.is_dir()
        {
            return Ok((folder, bytes));
        }
        eprintln!("writing the Claude Code transcripts of the 100 MB session …");
        let tmp = dir.join("claude-code.tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        let bytes = crate::claude_code::write_transcripts(&export, &tmp)?;
        if folder.exists() {
            std::fs::remove_dir_all(&folder)?;
        }
        std::fs::rename(&tmp, &folder)?;
        std::fs::write(&done, bytes.to_string())?;
        Ok((folder, bytes))
    }
}

// ---- the generator worker ------------------------------------------------------------

/// Generates `dataset` into `dir/home` (or the PostgreSQL database at
/// `store_url`) and returns its manifest (worker side).
pub(crate) async fn generate(
    dataset: Dataset,
    dir: &Path,
    search_sessions: u32,
    store_url: Option<&str>,
) -> Result<Manifest> {
    let started = Instant::now();
    let home = dir.join("home");
    std::fs::create_dir_all(&home)?;
    let store_file = Paths::at(&home).store_file();
    let store = match store_url {
        Some(url) => cairn_store_postgres::open_store(url)?,
        None => cairn_store_sqlite::open_store(&store_file, Synchronous::Normal)?,
    };
    let vocabulary = Arc::new(Vocabulary::standard().with_code(CodeCorpus::from_env()?));
    let mut manifest = Manifest {
        dataset,
        key: dataset_key(),
        generated_in_seconds: 0.0,
        sessions: 0,
        stats: HistoryStats::default(),
        session_name: None,
        queries: None,
        store_bytes: 0,
    };
    match dataset {
        Dataset::Resume100mb | Dataset::Resume1mb => {
            let shape = if dataset == Dataset::Resume100mb {
                HistoryShape::resume_100mb()
            } else {
                HistoryShape::resume_1mb()
            };
            let session = generate_history(&shape, &vocabulary)?;
            manifest.session_name = Some(shape.name.clone());
            import_all(&*store, std::iter::once(Ok(session)), 1, &mut manifest).await?;
        }
        Dataset::Listing => {
            let vocabulary = Arc::clone(&vocabulary);
            let sessions = produce(move |send| {
                for index in 0..LISTING_SESSIONS {
                    if !send(listing_session(index, &vocabulary)) {
                        break;
                    }
                }
            });
            import_all(&*store, sessions, 1_000, &mut manifest).await?;
        }
        Dataset::Search => {
            let corpus = SearchCorpus {
                sessions: search_sessions,
                ..SearchCorpus::one_million()
            };
            let (count_tx, count_rx) = std::sync::mpsc::channel();
            let generator_vocabulary = Arc::clone(&vocabulary);
            let sessions = produce(move |send| {
                let rare = corpus.rare_positions();
                for index in 0..corpus.sessions {
                    let made = corpus.session(index, &generator_vocabulary, &rare);
                    let made = made.map(|(session, counts)| {
                        let _ = count_tx.send(counts);
                        session
                    });
                    if !send(made) {
                        break;
                    }
                }
            });
            import_all(&*store, sessions, 10, &mut manifest).await?;
            let mut totals = QueryCounts {
                top_word: vocabulary.ranked(0).to_owned(),
                ..QueryCounts::default()
            };
            for counts in count_rx.try_iter() {
                totals.common += counts.common;
                totals.rare += counts.rare;
                totals.top += counts.top;
            }
            manifest.queries = Some(totals);
        }
    }
    // Closing the store checkpoints its WAL, so the timed runs start from a settled file.
    drop(store);
    manifest.store_bytes = store_size(&store_file);
    manifest.generated_in_seconds = started.elapsed().as_secs_f64();
    Ok(manifest)
}

/// Runs a generator on its own thread, a couple of sessions ahead of the importer,
/// so generation and SQLite work use both cores.
fn produce(
    generator: impl FnOnce(&dyn Fn(Result<GeneratedSession>) -> bool) + Send + 'static,
) -> impl Iterator<Item = Result<GeneratedSession>> {
    let (tx, rx) = sync_channel(2);
    std::thread::spawn(move || {
        generator(&|session| tx.send(session).is_ok());
    });
    rx.into_iter()
}

async fn import_all(
    store: &dyn Store,
    sessions: impl Iterator<Item = Result<GeneratedSession>>,
    report_every: usize,
    manifest: &mut Manifest,
) -> Result<()> {
    for (i, session) in sessions.enumerate() {
        let session = session?;
        let name = session.new.name.clone();
        manifest.stats.add(&session.stats);
        manifest.sessions += 1;
        store
            .import_session(session.new, session.events)
            .await
            .with_context(|| format!("importing generated session {}", name.as_str()))?;
        if (i + 1) % report_every.max(1) == 0 {
            eprintln!("  {} sessions imported", i + 1);
        }
    }
    Ok(())
}

/// Bytes of the store file and its WAL.
pub(crate) fn store_size(store_file: &Path) -> u64 {
    let mut total = 0;
    for suffix in ["", "-wal"] {
        let mut path = store_file.as_os_str().to_owned();
        path.push(suffix);
        total += std::fs::metadata(PathBuf::from(path)).map_or(0, |m| m.len());
    }
    total
}
