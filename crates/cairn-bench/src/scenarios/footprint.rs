//! Footprint (issue 15): bytes on disk of the 100 MB-history session, the 1 MB one
//! and 1,000 small sessions, each imported into a fresh store whose tool outputs
//! are real source code (`code.rs`). After the store is closed (its WAL
//! checkpointed into the file), the file's size and, from the store's own
//! breakdown (`Store::space`, SQLite's `dbstat`), the bytes of each part: events,
//! their indexes, the full-text index, attachments, the rest, free pages. Next to
//! each, the same events in octomind's log format (issue 15's peer: a file per
//! session, one zstd frame per JSONL line, no index), so the comparison is made on
//! the same data in one run. Then the same after `cairn store compact` (every
//! session's `Store::compact_session`, then `Store::repack`), with its CPU time.

use std::path::Path;

use anyhow::{Context as _, Result};
use cairn_core::Store;
use cairn_core::store::StoreSpace;
use cairn_store_sqlite::{SqliteStore, Synchronous};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{BYTES_PER_MB, Bench};
use crate::code::CodeCorpus;
use crate::fts_options::FtsOption;
use crate::generate::{
    GeneratedSession, HistoryShape, HistoryStats, generate_history, listing_session,
};
use crate::in_process::process_cpu;
use crate::report::{Measurement, Target, Unit};
use crate::stats::Summary;
use crate::text::Vocabulary;

/// `cairn-bench footprint --fts-options`: also index the 100 MB session's text
/// under other FTS5 options (a few minutes more).
pub(crate) static FTS_OPTIONS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// The small sessions measured together (each store's fixed cost shared out).
pub(crate) const SMALL_SESSIONS: u32 = 1_000;
/// Issue 15's goals.
const LIMIT_100MB_MB: f64 = 30.0;
const LIMIT_SMALL_KB: f64 = 15.0;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Footprint {
    corpus: String,
    /// The size of a store with no session (schema only).
    empty_bytes: u64,
    cases: Vec<Case>,
    /// The full-text index of the 100 MB session under other FTS5 options.
    fts_options: Vec<FtsOption>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Case {
    id: String,
    title: String,
    sessions: u64,
    stats: HistoryStats,
    space: StoreSpace,
    /// The same store after `cairn store compact`.
    #[serde(default)]
    compacted: Option<Compacted>,
    /// The sessions in octomind's log format, on disk.
    log_bytes: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Compacted {
    space: StoreSpace,
    /// CPU time of the worker process while it compacted (all its threads).
    cpu_ms: f64,
}

/// octomind 0.68 keeps a session as a log file of JSONL lines, each compressed on
/// its own with zstd; its default level is taken.
const LOG_LEVEL: i32 = 3;
/// A file takes whole blocks of the file system (ext4 here).
const FILE_BLOCK: u64 = 4096;

/// The bytes on disk of `events` as a log file in octomind's format.
fn log_bytes(events: &[cairn_core::Event]) -> Result<u64> {
    let mut total = 0;
    for event in events {
        let mut line = serde_json::to_vec(event)?;
        line.push(b'\n');
        total += zstd::bulk::compress(&line, LOG_LEVEL)?.len() as u64;
    }
    Ok(total.div_ceil(FILE_BLOCK) * FILE_BLOCK)
}

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let scratch = bench.datasets.scratch()?;
    let dir = scratch.path().to_string_lossy().into_owned();
    let mut args = vec!["__footprint", "--dir", &dir];
    if FTS_OPTIONS.get().copied().unwrap_or(false) {
        args.push("--fts-options");
    }
    let footprint: Footprint = bench.worker(scratch.path(), &args)?;
    eprintln!("  code corpus: {}", footprint.corpus);
    let mut out = Vec::new();
    for option in &footprint.fts_options {
        out.push(figure(
            &format!("footprint.fts.{}", option.name.replace([' ', ','], "_")),
            &format!(
                "footprint: 100 MB history's full-text index, {}",
                option.name
            ),
            Unit::Megabytes,
            option.bytes as f64 / BYTES_PER_MB,
            Vec::new(),
            json!({ "options": option.options }),
        ));
    }
    for case in &footprint.cases {
        let space = &case.space;
        let jsonl_mb = case.stats.jsonl_bytes as f64 / BYTES_PER_MB;
        let details = json!({
            "sessions": case.sessions,
            "events": case.stats.events,
            "jsonl_mb": jsonl_mb,
            "empty_store_bytes": footprint.empty_bytes,
            "code_corpus": footprint.corpus,
            "space": space,
        });
        let total_mb = space.total_bytes as f64 / BYTES_PER_MB;
        let log_mb = case.log_bytes as f64 / BYTES_PER_MB;
        out.push(figure(
            &format!("footprint.{}.log_format", case.id),
            &format!(
                "footprint: {}, octomind's log files (zstd per line, no index); cairn / it: {:.2}×",
                case.title,
                total_mb / log_mb.max(f64::MIN_POSITIVE)
            ),
            Unit::Megabytes,
            log_mb,
            Vec::new(),
            json!({ "zstd_level": LOG_LEVEL }),
        ));
        if case.id == "small" {
            let per_session_kb = space.total_bytes.saturating_sub(footprint.empty_bytes) as f64
                / case.sessions.max(1) as f64
                / 1_000.0;
            out.push(figure(
                "footprint.small.per_session",
                &format!(
                    "footprint: each of {} small sessions (store less the empty one)",
                    case.sessions
                ),
                Unit::Kilobytes,
                per_session_kb,
                vec![Target::at_most(
                    format!("≤ {LIMIT_SMALL_KB} KB"),
                    per_session_kb,
                    LIMIT_SMALL_KB,
                )],
                details.clone(),
            ));
        }
        let targets = if case.id == "100mb" {
            vec![Target::at_most(
                format!("≤ {LIMIT_100MB_MB} MB"),
                total_mb,
                LIMIT_100MB_MB,
            )]
        } else {
            Vec::new()
        };
        out.push(figure(
            &format!("footprint.{}.total", case.id),
            &format!(
                "footprint: {} ({jsonl_mb:.1} MB JSONL), on disk",
                case.title
            ),
            Unit::Megabytes,
            total_mb,
            targets,
            details,
        ));
        if let Some(compacted) = &case.compacted {
            let compacted_mb = compacted.space.total_bytes as f64 / BYTES_PER_MB;
            out.push(figure(
                &format!("footprint.{}.compacted", case.id),
                &format!(
                    "footprint: {}, after `store compact` ({:.0} ms CPU): events {:.2}, \
                     event indexes {:.2}, full-text index {:.2}, other {:.2}, free {:.2} MB",
                    case.title,
                    compacted.cpu_ms,
                    compacted.space.events as f64 / BYTES_PER_MB,
                    compacted.space.event_indexes as f64 / BYTES_PER_MB,
                    compacted.space.search_index as f64 / BYTES_PER_MB,
                    compacted.space.other as f64 / BYTES_PER_MB,
                    compacted.space.free as f64 / BYTES_PER_MB,
                ),
                Unit::Megabytes,
                compacted_mb,
                Vec::new(),
                json!({ "space": compacted.space, "cpu_ms": compacted.cpu_ms }),
            ));
        }
        for (part, bytes) in [
            ("events", space.events),
            ("event indexes", space.event_indexes),
            ("full-text index", space.search_index),
            ("attachments", space.attachments),
            ("other", space.other),
            ("free pages", space.free),
        ] {
            out.push(figure(
                &format!("footprint.{}.{}", case.id, part.replace(' ', "_")),
                &format!("footprint: {}, {part}", case.title),
                Unit::Megabytes,
                bytes as f64 / BYTES_PER_MB,
                Vec::new(),
                json!({}),
            ));
        }
    }
    Ok(out)
}

fn figure(
    id: &str,
    title: &str,
    unit: Unit,
    value: f64,
    targets: Vec<Target>,
    details: serde_json::Value,
) -> Measurement {
    let headline = !targets.is_empty();
    Measurement {
        id: id.into(),
        title: title.into(),
        command: None,
        unit,
        value: Summary::of(&[value]).unwrap_or_else(|| unreachable!("one value")),
        peak_rss_mb: None,
        cpu_ms: None,
        targets,
        headline,
        details,
    }
}

// ---- the worker ------------------------------------------------------------------

/// Builds the three stores under `dir` and measures them (worker side).
pub(crate) async fn measure(dir: &Path, with_fts_options: bool) -> Result<Footprint> {
    let mut fts_options = Vec::new();
    let corpus = CodeCorpus::from_env()?.context("the harness names no code corpus")?;
    let description = corpus.describe();
    let vocabulary = Vocabulary::standard().with_code(Some(corpus));
    let (empty, _) = settle(&dir.join("empty"), Vec::new()).await?;
    let mut cases = Vec::new();
    for (id, title, shape) in [
        ("100mb", "100 MB history", HistoryShape::resume_100mb()),
        ("1mb", "1 MB history", HistoryShape::resume_1mb()),
    ] {
        eprintln!("  footprint: {title} …");
        let session = generate_history(&shape, &vocabulary)?;
        let stats = session.stats.clone();
        let log_bytes = log_bytes(&session.events)?;
        if id == "100mb" && with_fts_options {
            fts_options = crate::fts_options::measure(&session.events, dir)?;
        }
        let (space, compacted) = settle(&dir.join(id), vec![session]).await?;
        cases.push(Case {
            id: id.into(),
            title: title.into(),
            sessions: 1,
            stats,
            space,
            compacted: Some(compacted),
            log_bytes,
        });
    }
    eprintln!("  footprint: {SMALL_SESSIONS} small sessions …");
    let mut sessions = Vec::new();
    let mut stats = HistoryStats::default();
    let mut small_log_bytes = 0;
    for index in 0..SMALL_SESSIONS {
        let session = listing_session(index, &vocabulary)?;
        stats.add(&session.stats);
        small_log_bytes += log_bytes(&session.events)?;
        sessions.push(session);
    }
    let (space, compacted) = settle(&dir.join("small"), sessions).await?;
    cases.push(Case {
        id: "small".into(),
        title: format!("{SMALL_SESSIONS} small sessions"),
        sessions: u64::from(SMALL_SESSIONS),
        stats,
        space,
        compacted: Some(compacted),
        log_bytes: small_log_bytes,
    });
    Ok(Footprint {
        corpus: description,
        empty_bytes: empty.total_bytes,
        cases,
        fts_options,
    })
}

/// Imports `sessions` into a fresh store in `dir`, closes it (checkpointing its
/// WAL into the file) and reads its breakdown; then compacts it as `cairn store
/// compact` does and reads it again.
async fn settle(dir: &Path, sessions: Vec<GeneratedSession>) -> Result<(StoreSpace, Compacted)> {
    std::fs::create_dir_all(dir)?;
    let file = dir.join("cairn.db");
    let mut ids = Vec::new();
    {
        let store = SqliteStore::open(&file, Synchronous::Normal)?;
        for session in sessions {
            ids.push(store.import_session(session.new, session.events).await?.id);
        }
    }
    let imported = {
        let store = SqliteStore::open(&file, Synchronous::Normal)?;
        store.space().await?
    };
    let cpu_before = process_cpu();
    {
        let store = SqliteStore::open(&file, Synchronous::Normal)?;
        for id in ids {
            store.compact_session(id).await?;
        }
        store.repack().await?;
    }
    let cpu_ms = process_cpu().saturating_sub(cpu_before).as_secs_f64() * 1e3;
    let store = SqliteStore::open(&file, Synchronous::Normal)?;
    let space = store.space().await?;
    Ok((imported, Compacted { space, cpu_ms }))
}
