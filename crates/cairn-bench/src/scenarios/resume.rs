//! Resume: `cairn sessions context NAME` of a 100 MB history against a 1 MB one.
//!
//! Both sessions end in a live context of about 1 MB (the 100 MB one after its 20th
//! compaction, the 1 MB one uncompacted), so both commands print about the same;
//! only the history behind it differs 100-fold. Invariant 3 says that must not
//! matter: the ratio of the medians is held to 1.5.

use anyhow::{Result, bail};
use serde_json::json;

use super::{Bench, process_measurement, wall_and_rss_targets};
use crate::datasets::{Dataset, Manifest};
use crate::generate::KB;
use crate::in_process::ResumeResult;
use crate::process::measure_alternating;
use crate::report::{Measurement, Target, Unit};
use crate::stats::Summary;

pub(crate) const WALL_LIMIT_MS: f64 = 50.0;
/// On PostgreSQL (issue 11).
pub(crate) const PG_WALL_LIMIT_MS: f64 = 30.0;
pub(crate) const RSS_LIMIT_MB: f64 = 64.0;
pub(crate) const RATIO_LIMIT: f64 = 1.5;

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let big = bench.datasets.ensure(Dataset::Resume100mb)?;
    check_issue_shape(&big)?;
    let small = bench.datasets.ensure(Dataset::Resume1mb)?;
    let spec = |dataset: Dataset, manifest: &Manifest| {
        let name = manifest.session_name.clone().unwrap_or_default();
        bench.cairn(
            &bench.datasets.home(dataset),
            &["sessions", "context", &name],
        )
    };
    let wall_limit = if bench.on_postgres() {
        PG_WALL_LIMIT_MS
    } else {
        WALL_LIMIT_MS
    };
    let specs = [
        spec(Dataset::Resume100mb, &big)?,
        spec(Dataset::Resume1mb, &small)?,
    ];
    let runs = measure_alternating(&specs, bench.warmup, bench.runs)?;
    for (spec, runs) in specs.iter().zip(&runs) {
        if runs.iter().any(|r| r.stdout_bytes == 0) {
            bail!("`{}` printed nothing", spec.display());
        }
    }
    let details = |m: &Manifest| {
        json!({
            "events": m.stats.events,
            "history_mb": m.stats.jsonl_bytes as f64 / 1e6,
            "compactions": m.stats.compactions,
            "tool_calls": m.stats.tool_calls,
            "largest_tool_result_kb": m.stats.largest_tool_result_bytes as f64 / 1e3,
            "knowledge_events": m.stats.knowledge,
            "live_events": m.stats.live_events,
            "live_mb": m.stats.live_bytes as f64 / 1e6,
            "store_mb": m.store_bytes as f64 / 1e6,
        })
    };
    let big_m = process_measurement(
        "resume.100mb",
        &format!(
            "resume: context of {:.0} MB history ({} events)",
            big.stats.jsonl_bytes as f64 / 1e6,
            big.stats.events
        ),
        &specs[0],
        &runs[0],
        wall_and_rss_targets(wall_limit, Some(RSS_LIMIT_MB)),
        true,
        details(&big),
    )?;
    let small_m = process_measurement(
        "resume.1mb",
        &format!(
            "resume: context of {:.1} MB history ({} events)",
            small.stats.jsonl_bytes as f64 / 1e6,
            small.stats.events
        ),
        &specs[1],
        &runs[1],
        wall_and_rss_targets(wall_limit, Some(RSS_LIMIT_MB)),
        true,
        details(&small),
    )?;
    let ratio = big_m.value.median / small_m.value.median;
    let ratio_m = Measurement {
        id: "resume.ratio".into(),
        title: "resume: 100 MB median / 1 MB median".into(),
        command: None,
        unit: Unit::Ratio,
        value: Summary::single(ratio),
        peak_rss_mb: None,
        cpu_ms: None,
        targets: vec![Target::at_most(
            format!("≤ {RATIO_LIMIT}×"),
            ratio,
            RATIO_LIMIT,
        )],
        headline: true,
        details: json!({
            "rss_ratio": big_m.peak_rss_mb.as_ref().map(|r| r.max)
                .zip(small_m.peak_rss_mb.as_ref().map(|r| r.max))
                .map(|(b, s)| b / s),
        }),
    };
    // The same ratio in CPU time: on a machine busy with other jobs, wall-time
    // medians of 10–30 ms processes swing by tens of percent while CPU time holds.
    let cpu_ratio = big_m
        .cpu_ms
        .as_ref()
        .zip(small_m.cpu_ms.as_ref())
        .map(|(b, s)| b.median / s.median);
    let mut out = vec![big_m, small_m, ratio_m];
    if let Some(cpu_ratio) = cpu_ratio {
        out.push(Measurement {
            id: "resume.cpu_ratio".into(),
            title: "resume: 100 MB / 1 MB, CPU time".into(),
            command: None,
            unit: Unit::Ratio,
            value: Summary::single(cpu_ratio),
            peak_rss_mb: None,
            cpu_ms: None,
            targets: Vec::new(),
            headline: false,
            details: json!({}),
        });
    }
    // Where the time goes: the store's share, measured in-process (SQLite).
    let split_runs = if bench.on_postgres() {
        Vec::new()
    } else {
        vec![
            (Dataset::Resume100mb, &big, "100 MB"),
            (Dataset::Resume1mb, &small, "1 MB"),
        ]
    };
    for (dataset, manifest, label) in split_runs {
        let home = bench.datasets.home(dataset);
        let name = manifest.session_name.clone().unwrap_or_default();
        let runs = bench.runs.to_string();
        let split: ResumeResult = bench.worker(
            &home,
            &[
                "__resume-api",
                "--home",
                &home.to_string_lossy(),
                "--session",
                &name,
                "--runs",
                &runs,
            ],
        )?;
        out.push(Measurement {
            id: format!("resume.store.{}", dataset.dir_name()),
            title: format!("resume: Store::live_context, {label} (in-process)"),
            command: None,
            unit: Unit::Milliseconds,
            value: split.live_context_ms.clone(),
            peak_rss_mb: None,
            cpu_ms: Some(split.live_context_cpu_ms.clone()),
            targets: Vec::new(),
            headline: false,
            details: json!({
                "open_store_and_session_ms": split.open_ms.median,
                "preamble_text_ms": split.preamble_ms.median,
                "live_events": split.live_events,
                "retained_knowledge_items": split.knowledge_items,
            }),
        });
    }
    Ok(out)
}

/// The 100 MB session is the one issue 2 describes: about 40,000 events, tool results
/// up to 200 KB, 20 compactions. A generator change that drifts from it fails the run
/// instead of quietly measuring something else.
fn check_issue_shape(big: &Manifest) -> Result<()> {
    let stats = &big.stats;
    if !(35_000..45_000).contains(&stats.events)
        || stats.compactions != 20
        || stats.largest_tool_result_bytes <= 150 * KB
    {
        bail!(
            "the 100 MB resume dataset no longer has the issue's shape (about 40,000 \
             events, 20 compactions, tool results up to 200 KB): {stats:?}"
        );
    }
    Ok(())
}
