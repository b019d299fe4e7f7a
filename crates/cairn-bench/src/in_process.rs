//! Benchmarks measured inside one process through the `Store` trait: single-event
//! append latency and bulk import throughput. They run in worker processes of the
//! harness (see `process.rs`) and print their result as JSON.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use cairn_core::paths::Paths;
use cairn_core::{NewEvent, NewSession, Project, SessionName};
use cairn_store_sqlite::Synchronous;
use serde::{Deserialize, Serialize};

use crate::code::CodeCorpus;
use crate::generate::{HistoryShape, KB, MB, generate_history};
use crate::stats::Summary;
use crate::text::Vocabulary;

/// CPU time of this whole process (every thread) so far. In-process figures carry it
/// next to wall time because other jobs on the machine inflate wall time only.
pub(crate) fn process_cpu() -> Duration {
    // SAFETY: an all-zero timespec is valid, and clock_gettime only writes it.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and a valid out-pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Events appended (in batches of 100) before measuring, so the session, its
/// indexes and the full-text index are not empty.
const PREFILL_EVENTS: usize = 2_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AppendResult {
    pub synchronous: String,
    pub prefilled_events: usize,
    pub warmup: usize,
    /// Latency of one `append_events` call with one event, microseconds.
    pub latency_us: Summary,
    /// CPU time of the process during each call, microseconds.
    pub cpu_us: Summary,
    /// Mean JSONL size of the appended events.
    pub mean_event_bytes: f64,
}

pub(crate) fn synchronous_name(synchronous: Synchronous) -> &'static str {
    match synchronous {
        Synchronous::Normal => "normal",
        Synchronous::Full => "full",
    }
}

/// Appends one event at a time to a fresh store in `dir` and times each call.
/// The events are a generated agent history (user text, tool calls and results with
/// their heavy-tailed sizes, answers with usage), appended in order.
/// With `store_url`, the store is that PostgreSQL database instead (its commits
/// are durable: the server's fsync and synchronous commit are on).
pub(crate) async fn append_latency(
    dir: &Path,
    samples: usize,
    warmup: usize,
    synchronous: Synchronous,
    store_url: Option<&str>,
) -> Result<AppendResult> {
    let needed = PREFILL_EVENTS + warmup + samples;
    // ≈ 2.5 KB per event in the generated histories; a margin for the variance.
    let shape = HistoryShape {
        name: "append-bench".into(),
        project: "/home/dev/src/shop-api".into(),
        history_bytes: (needed as u64 * 3 * KB).max(MB),
        compactions: 0,
        live_tail_bytes: 0,
        max_tool_result_bytes: 200 * KB,
        seed: 7,
        tail_seed: 7,
    };
    let history = generate_history(
        &shape,
        &Vocabulary::standard().with_code(CodeCorpus::from_env()?),
    )?;
    let events = history.events;
    if events.is_empty() {
        bail!("the generator made no events for the append benchmark");
    }
    let payload = |i: usize| NewEvent::now(events[i % events.len()].payload.clone());

    let store = match store_url {
        Some(url) => cairn_store_postgres::open_store(url)?,
        None => cairn_store_sqlite::open_store(&Paths::at(dir).store_file(), synchronous)?,
    };
    let session = store
        .create_session(NewSession::new(
            SessionName::parse("append-bench")?,
            Project::from_stored("/home/dev/src/shop-api"),
        ))
        .await?;
    let mut next = 0;
    while next < PREFILL_EVENTS {
        let batch: Vec<NewEvent> = (next..next + 100).map(payload).collect();
        store.append_events(session.id, batch).await?;
        next += 100;
    }
    for _ in 0..warmup {
        store.append_events(session.id, vec![payload(next)]).await?;
        next += 1;
    }
    let mut latencies = Vec::with_capacity(samples);
    let mut cpu = Vec::with_capacity(samples);
    let mut bytes = 0u64;
    for _ in 0..samples {
        let event = payload(next);
        bytes += serde_json::to_vec(&events[next % events.len()])?.len() as u64 + 1;
        next += 1;
        let (started, cpu_before) = (Instant::now(), process_cpu());
        store.append_events(session.id, vec![event]).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
        cpu.push((process_cpu().saturating_sub(cpu_before)).as_secs_f64() * 1e6);
    }
    let Some(latency_us) = Summary::of(&latencies) else {
        bail!("no append samples were taken (--append-samples 0)");
    };
    Ok(AppendResult {
        synchronous: match store_url {
            Some(_) => "postgres".to_owned(),
            None => synchronous_name(synchronous).to_owned(),
        },
        prefilled_events: PREFILL_EVENTS,
        warmup,
        latency_us,
        cpu_us: Summary::of(&cpu).unwrap_or_else(|| Summary::single(0.0)),
        mean_event_bytes: bytes as f64 / samples as f64,
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ImportResult {
    pub events: u64,
    pub jsonl_bytes: u64,
    /// Seconds of each `import_session` call.
    pub seconds: Vec<f64>,
    /// CPU seconds of the process during each call.
    pub cpu_seconds: Vec<f64>,
}

/// Imports the 100 MB session into a fresh store `runs` times, timing only the
/// `import_session` call (the events are generated in memory beforehand).
pub(crate) async fn import_throughput(dir: &Path, runs: usize) -> Result<ImportResult> {
    let session = generate_history(
        &HistoryShape::resume_100mb(),
        &Vocabulary::standard().with_code(CodeCorpus::from_env()?),
    )?;
    let mut seconds = Vec::with_capacity(runs);
    let mut cpu_seconds = Vec::with_capacity(runs);
    for run in 0..runs {
        let home = dir.join(format!("import-{run}"));
        std::fs::create_dir_all(&home)?;
        let store =
            cairn_store_sqlite::open_store(&Paths::at(&home).store_file(), Synchronous::Normal)?;
        let (new, events) = (session.new.clone(), session.events.clone());
        let (started, cpu_before) = (Instant::now(), process_cpu());
        store.import_session(new, events).await?;
        seconds.push(started.elapsed().as_secs_f64());
        cpu_seconds.push((process_cpu().saturating_sub(cpu_before)).as_secs_f64());
        drop(store);
        std::fs::remove_dir_all(&home)?;
    }
    Ok(ImportResult {
        events: session.stats.events,
        jsonl_bytes: session.stats.jsonl_bytes,
        seconds,
        cpu_seconds,
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ResumeResult {
    /// Milliseconds to open the store and load the session by name (as the CLI does).
    pub open_ms: Summary,
    /// Milliseconds of `Store::live_context`.
    pub live_context_ms: Summary,
    /// CPU milliseconds of the process during `Store::live_context`.
    pub live_context_cpu_ms: Summary,
    /// Milliseconds of `cairn_core::live_messages::preamble_text` (summary and
    /// knowledge block).
    pub preamble_ms: Summary,
    pub live_events: usize,
    pub knowledge_items: usize,
}

/// Times the store's share of a resume in-process: open, find the session, load its
/// live context, build the preamble. `runs` times, after one warm-up.
pub(crate) async fn resume_split(home: &Path, name: &str, runs: usize) -> Result<ResumeResult> {
    let name = SessionName::parse(name)?;
    let retention = cairn_core::settings::DEFAULT_KNOWLEDGE_RETENTION;
    let (mut open, mut live_ms, mut preamble_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut live_cpu = Vec::new();
    let (mut live_events, mut knowledge_items) = (0, 0);
    for run in 0..=runs {
        let started = Instant::now();
        let store =
            cairn_store_sqlite::open_store(&Paths::at(home).store_file(), Synchronous::Normal)?;
        let session = store.session(&name).await?;
        let (opened, cpu_before) = (Instant::now(), process_cpu());
        let live = store.live_context(session.id, retention).await?;
        let (loaded, cpu_after) = (Instant::now(), process_cpu());
        let preamble = cairn_core::live_messages::preamble_text(&live);
        let done = Instant::now();
        std::hint::black_box(preamble);
        if run == 0 {
            continue;
        }
        open.push((opened - started).as_secs_f64() * 1e3);
        live_ms.push((loaded - opened).as_secs_f64() * 1e3);
        live_cpu.push((cpu_after.saturating_sub(cpu_before)).as_secs_f64() * 1e3);
        preamble_ms.push((done - loaded).as_secs_f64() * 1e3);
        live_events = live.events.len();
        knowledge_items = live.knowledge.len();
    }
    let summary = |values: &[f64]| Summary::of(values).unwrap_or_else(|| Summary::single(0.0));
    Ok(ResumeResult {
        open_ms: summary(&open),
        live_context_ms: summary(&live_ms),
        live_context_cpu_ms: summary(&live_cpu),
        preamble_ms: summary(&preamble_ms),
        live_events,
        knowledge_items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{SearchCorpus, listing_session};
    use crate::text::{COMMON_QUERY_WORD, RARE_QUERY_WORD};
    use cairn_core::store::SearchScope;

    /// The generated data is what the real store accepts, and the store sees it as
    /// the generator counted it: same events, same live context, same search hits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn generated_sessions_import_into_the_real_store() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            cairn_store_sqlite::open_store(&dir.path().join("cairn.db"), Synchronous::Normal)
                .unwrap();
        let vocabulary = Vocabulary::new(2_000, 1);
        let shape = HistoryShape {
            name: "smoke".into(),
            project: "/home/dev/src/p".into(),
            history_bytes: 600 * KB,
            compactions: 3,
            live_tail_bytes: 100 * KB,
            max_tool_result_bytes: 30 * KB,
            seed: 3,
            tail_seed: 4,
        };
        let history = generate_history(&shape, &vocabulary).unwrap();
        let stats = history.stats.clone();
        let session = store
            .import_session(history.new, history.events)
            .await
            .unwrap();
        assert_eq!(session.head_seq, stats.events);
        assert_eq!(session.compaction_count, stats.compactions);
        let live = store.live_context(session.id, 10).await.unwrap();
        assert!(live.compaction.is_some());
        assert_eq!(live.events.len() as u64, stats.live_events);

        let listed = listing_session(7, &vocabulary).unwrap();
        store
            .import_session(listed.new, listed.events)
            .await
            .unwrap();

        let corpus = SearchCorpus {
            sessions: 2,
            messages_per_session: 500,
            common_share: 0.05,
            rare_messages: 2,
            seed: 8,
        };
        let rare = corpus.rare_positions();
        let mut rare_count = 0;
        for index in 0..corpus.sessions {
            let (chat, counts) = corpus.session(index, &vocabulary, &rare).unwrap();
            rare_count += counts.rare;
            store.import_session(chat.new, chat.events).await.unwrap();
        }
        let scope = SearchScope {
            project: None,
            limit: 100,
        };
        let hits = store.search(RARE_QUERY_WORD, &scope).await.unwrap();
        assert_eq!(hits.len() as u64, rare_count);
        assert!(
            !store
                .search(COMMON_QUERY_WORD, &scope)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
