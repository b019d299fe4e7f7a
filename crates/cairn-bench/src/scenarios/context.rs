//! Context (issue 5): token counting of a 1 MB live context, and planning a
//! compression of a 200,000-token one, with the functions the agent calls
//! (`cairn_core::tokens`, `cairn_core::compression`), in a worker process.
//!
//! The live context is the 100 MB session's, loaded through `Store::live_context`
//! as a resume loads it: its latest summary, retained knowledge and about 1 MB of
//! messages after it (user requests, answers, tool calls and heavy-tailed tool
//! outputs). Counting uses o200k (`openai:gpt-4.1`), the exact and expensive case;
//! the bytes/3.5 estimate of other models is shown beside it. Planning runs on the
//! shortest prefix of that context holding 200,000 tokens, towards the `/summarize`
//! target (half), and includes building the compressor's prompt.
//!
//! The first count of a process also builds the o200k tables from the token list the
//! binary ships; it is timed in fresh worker processes, one per run.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use cairn_core::compression::{
    ContextMeasure, PromptLimits, effective_levels, manual_target, plan_to_target, summary_request,
};
use cairn_core::event::ToolResultContent;
use cairn_core::live_messages::retained_knowledge;
use cairn_core::paths::Paths;
use cairn_core::settings::Settings;
use cairn_core::tokens::{Method, TokenCounter};
use cairn_core::{ContentBlock, LiveContext, SessionName};
use cairn_store_sqlite::Synchronous;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Bench;
use crate::datasets::Dataset;
use crate::in_process::process_cpu;
use crate::report::{Measurement, Target, Unit};
use crate::stats::Summary;

pub(crate) const COUNT_LIMIT_MS: f64 = 30.0;
pub(crate) const PLAN_LIMIT_MS: f64 = 20.0;
/// The live context planned on.
pub(crate) const PLAN_TOKENS: u64 = 200_000;
/// The tokenizer of the model counted (openai:gpt-4.1, as the model catalogue of
/// cairn-llm maps it): exact counting, the expensive case.
const EXACT_MODEL: TokenCounter = TokenCounter::new(Method::O200kBase, true);
/// Its window, for the compressor prompt's budget (the largest a prompt gets).
const EXACT_MODEL_WINDOW: u64 = 1_047_576;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ContextResult {
    pub live_events: usize,
    /// Bytes of text the counter sees (message texts, tool inputs and outputs).
    pub live_text_bytes: usize,
    pub tokens: u64,
    /// First count of the process: loading the o200k tables included.
    pub first_count_ms: f64,
    /// `TokenCounter::count_live_context`, tables loaded.
    pub count_ms: Summary,
    pub count_cpu_ms: Summary,
    /// `ContextMeasure::measure`: the per-event count the agent keeps (on resume).
    pub measure_ms: Summary,
    /// The same with the bytes/3.5 estimate of non-OpenAI models.
    pub estimate_ms: Summary,
    pub plan_events: usize,
    pub plan_tokens: u64,
    pub plan_target_tokens: u64,
    pub replaced_tokens: u64,
    pub prompt_bytes: usize,
    /// `plan_to_target` and `summary_request`, the measure kept current (not recounted).
    pub plan_ms: Summary,
    pub plan_cpu_ms: Summary,
}

/// The first count of a fresh process (`__first-count` worker).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FirstCount {
    /// Building the o200k tables (what the agent's `warm_up` thread does).
    pub build_ms: f64,
    /// Then counting the live context once.
    pub count_ms: f64,
}

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let manifest = bench.datasets.ensure(Dataset::Resume100mb)?;
    let home = bench.datasets.home(Dataset::Resume100mb);
    let name = manifest.session_name.clone().unwrap_or_default();
    let runs = bench.runs.to_string();
    let warmup = bench.warmup.to_string();
    let r: ContextResult = bench.worker(
        &home,
        &[
            "__context",
            "--home",
            &home.to_string_lossy(),
            "--session",
            &name,
            "--runs",
            &runs,
            "--warmup",
            &warmup,
        ],
    )?;
    let mut firsts: Vec<FirstCount> = Vec::with_capacity(bench.runs);
    for _ in 0..bench.runs {
        firsts.push(bench.worker(
            &home,
            &[
                "__first-count",
                "--home",
                &home.to_string_lossy(),
                "--session",
                &name,
            ],
        )?);
    }
    let first_total: Vec<f64> = firsts.iter().map(|f| f.build_ms + f.count_ms).collect();
    let first_build: Vec<f64> = firsts.iter().map(|f| f.build_ms).collect();
    let first_total = Summary::of(&first_total).context("no runs were measured (--runs 0)")?;
    let first_build = Summary::of(&first_build).context("no runs were measured (--runs 0)")?;
    let mb = r.live_text_bytes as f64 / 1e6;
    let details = json!({
        "live_events": r.live_events,
        "live_text_mb": mb,
        "tokens": r.tokens,
        "first_count_with_table_load_ms": r.first_count_ms,
        "context_measure_ms": r.measure_ms.median,
        "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
    });
    Ok(vec![
        Measurement {
            id: "context.count_1mb".into(),
            title: format!(
                "context: count {mb:.2} MB live context, o200k ({} tokens)",
                r.tokens
            ),
            command: None,
            unit: Unit::Milliseconds,
            targets: vec![Target::below(
                format!("< {COUNT_LIMIT_MS} ms"),
                r.count_ms.median,
                COUNT_LIMIT_MS,
            )],
            value: r.count_ms,
            peak_rss_mb: None,
            cpu_ms: Some(r.count_cpu_ms),
            headline: true,
            details,
        },
        Measurement {
            id: "context.first_count".into(),
            title: "context: first count of a process (o200k tables built, then counted)".into(),
            command: None,
            unit: Unit::Milliseconds,
            value: first_total,
            peak_rss_mb: None,
            cpu_ms: None,
            targets: Vec::new(),
            headline: false,
            details: json!({ "table_build_ms": first_build }),
        },
        Measurement {
            id: "context.count_1mb_estimate".into(),
            title: "context: count the same, bytes/3.5 estimate".into(),
            command: None,
            unit: Unit::Milliseconds,
            value: r.estimate_ms,
            peak_rss_mb: None,
            cpu_ms: None,
            targets: Vec::new(),
            headline: false,
            details: json!({}),
        },
        Measurement {
            id: "context.plan_200k".into(),
            title: format!(
                "context: plan a compression of {} tokens (range + prompt)",
                r.plan_tokens
            ),
            command: None,
            unit: Unit::Milliseconds,
            targets: vec![Target::below(
                format!("< {PLAN_LIMIT_MS} ms"),
                r.plan_ms.median,
                PLAN_LIMIT_MS,
            )],
            value: r.plan_ms,
            peak_rss_mb: None,
            cpu_ms: Some(r.plan_cpu_ms),
            headline: true,
            details: json!({
                "events": r.plan_events,
                "target_tokens": r.plan_target_tokens,
                "replaced_tokens": r.replaced_tokens,
                "prompt_bytes": r.prompt_bytes,
            }),
        },
    ])
}

// ---- the worker ----------------------------------------------------------------------

/// Loads the session's live context and times counting and planning (worker side).
pub(crate) async fn measure(
    home: &Path,
    session: &str,
    runs: usize,
    warmup: usize,
) -> Result<ContextResult> {
    let store = cairn_store_sqlite::open_store(&Paths::at(home).store_file(), Synchronous::Normal)?;
    let session = store.session(&SessionName::parse(session)?).await?;
    let live = store
        .live_context(
            session.id,
            cairn_core::settings::DEFAULT_KNOWLEDGE_RETENTION,
        )
        .await?;
    drop(store);
    let counter = EXACT_MODEL;
    let estimate = TokenCounter::estimate();

    let started = Instant::now();
    let tokens = counter.count_live_context(&live).tokens;
    let first_count_ms = started.elapsed().as_secs_f64() * 1e3;
    let (count_ms, count_cpu_ms) = timed(runs, warmup, || {
        let counted = counter.count_live_context(&live).tokens;
        assert_same(counted, tokens)
    })?;
    let (measure_ms, _) = timed(runs, warmup, || {
        std::hint::black_box(ContextMeasure::measure(&counter, &live));
        Ok(())
    })?;
    let (estimate_ms, _) = timed(runs, warmup, || {
        std::hint::black_box(estimate.count_live_context(&live));
        Ok(())
    })?;

    let (planned, measure) = prefix_of_tokens(&counter, &live, PLAN_TOKENS)?;
    let settings = Settings::defaults(Paths::at(home));
    let levels = effective_levels(&settings.compression, Some(EXACT_MODEL_WINDOW))?;
    let target = manual_target(measure.total(), &levels);
    let knowledge = retained_knowledge(&planned);
    let limits = PromptLimits::for_window(EXACT_MODEL_WINDOW);
    let plan = plan_to_target(&planned, &measure, target)
        .map_err(|no| anyhow::anyhow!("no plan for the 200,000-token context: {}", no.reason))?;
    let request = summary_request(&planned, &plan, &knowledge, None, &limits);
    let prompt_bytes = cairn_core::compression::prompt::request_text(&request).len();
    let (plan_ms, plan_cpu_ms) = timed(runs, warmup, || {
        let plan = plan_to_target(&planned, &measure, target)
            .map_err(|no| anyhow::anyhow!("no plan: {}", no.reason))?;
        std::hint::black_box(summary_request(&planned, &plan, &knowledge, None, &limits));
        Ok(())
    })?;

    Ok(ContextResult {
        live_events: live.events.len(),
        live_text_bytes: text_bytes(&live),
        tokens,
        first_count_ms,
        count_ms,
        count_cpu_ms,
        measure_ms,
        estimate_ms,
        plan_events: planned.events.len(),
        plan_tokens: measure.total(),
        plan_target_tokens: target,
        replaced_tokens: plan.replaced_tokens,
        prompt_bytes,
        plan_ms,
        plan_cpu_ms,
    })
}

/// Builds the o200k tables and counts the live context once, in a fresh process.
pub(crate) async fn first_count(home: &Path, session: &str) -> Result<FirstCount> {
    let store = cairn_store_sqlite::open_store(&Paths::at(home).store_file(), Synchronous::Normal)?;
    let session = store.session(&SessionName::parse(session)?).await?;
    let live = store
        .live_context(
            session.id,
            cairn_core::settings::DEFAULT_KNOWLEDGE_RETENTION,
        )
        .await?;
    drop(store);
    let started = Instant::now();
    // Asking for the accuracy builds the tables (an unbuildable table reads as an
    // estimate, which would make this figure meaningless).
    if EXACT_MODEL.accuracy() != cairn_core::tokens::Accuracy::Exact {
        bail!("the o200k tables could not be built");
    }
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    std::hint::black_box(EXACT_MODEL.count_live_context(&live));
    let count_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(FirstCount { build_ms, count_ms })
}

fn assert_same(counted: u64, first: u64) -> Result<()> {
    if counted != first {
        bail!("counting the same context gave {counted} tokens, then {first}");
    }
    Ok(())
}

/// Wall and CPU milliseconds of `f`, `runs` times after `warmup` untimed calls.
fn timed(
    runs: usize,
    warmup: usize,
    mut f: impl FnMut() -> Result<()>,
) -> Result<(Summary, Summary)> {
    for _ in 0..warmup {
        f()?;
    }
    let (mut wall, mut cpu) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let (started, cpu_before) = (Instant::now(), process_cpu());
        f()?;
        wall.push(started.elapsed().as_secs_f64() * 1e3);
        cpu.push(process_cpu().saturating_sub(cpu_before).as_secs_f64() * 1e3);
    }
    let wall = Summary::of(&wall).context("no runs were measured (--runs 0)")?;
    let cpu = Summary::of(&cpu).context("no runs were measured (--runs 0)")?;
    Ok((wall, cpu))
}

/// The shortest prefix of `live` whose measure reaches `tokens`, and that measure.
fn prefix_of_tokens(
    counter: &TokenCounter,
    live: &LiveContext,
    tokens: u64,
) -> Result<(LiveContext, ContextMeasure)> {
    let full = ContextMeasure::measure(counter, live);
    if full.total() < tokens {
        bail!(
            "the live context has {} tokens, fewer than the {tokens} to plan on",
            full.total()
        );
    }
    let mut total = full.preamble_tokens;
    let mut end = 0;
    while end < full.events.len() && total < tokens {
        total += full.events[end].tokens;
        end += 1;
    }
    let prefix = LiveContext {
        session: live.session.clone(),
        compaction: live.compaction.clone(),
        events: live.events[..end].to_vec(),
        knowledge: live.knowledge.clone(),
    };
    let mut measure = full;
    measure.events.truncate(end);
    Ok((prefix, measure))
}

/// Bytes of text in the context's messages: what the counter reads.
fn text_bytes(live: &LiveContext) -> usize {
    fn block_bytes(block: &ContentBlock) -> usize {
        match block {
            ContentBlock::Text { text } | ContentBlock::Thinking { text, .. } => text.len(),
            ContentBlock::ToolUse { id, name, input } => {
                id.len() + name.len() + input.to_string().len()
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                ..
            } => {
                tool_use_id.len()
                    + match content {
                        ToolResultContent::Text(text) => text.len(),
                        ToolResultContent::Blocks(blocks) => blocks.iter().map(block_bytes).sum(),
                    }
            }
            _ => 0,
        }
    }
    live.events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .flat_map(|m| &m.content)
        .map(block_bytes)
        .sum()
}
