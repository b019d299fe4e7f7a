//! Import: bulk throughput for the 100 MB session, through `Store::import_session`
//! (in-process, events already in memory) and through the whole
//! `cairn sessions import FILE` command on the file `cairn sessions export` wrote
//! (reading, parsing, validating and storing, into a fresh home each run); and
//! `cairn import claude-code` of the same conversation as Claude Code transcripts,
//! then again unchanged (issue 12).

use anyhow::{Context as _, Result};
use serde_json::json;

use super::{BYTES_PER_MB, Bench, MS_PER_SECOND, process_measurement, wall_and_rss_targets};
use crate::datasets::Dataset;
use crate::in_process::ImportResult;
use crate::process::run_once;
use crate::report::{Measurement, Target, Unit};
use crate::stats::Summary;

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let manifest = bench.datasets.ensure(Dataset::Resume100mb)?;
    let mut out = Vec::new();

    let scratch = bench.datasets.scratch()?;
    let runs = bench.import_runs.to_string();
    let api: ImportResult = bench.worker(
        scratch.path(),
        &[
            "__import-api",
            "--dir",
            &scratch.path().to_string_lossy(),
            "--runs",
            &runs,
        ],
    )?;
    let throughput: Vec<f64> = api
        .seconds
        .iter()
        .map(|s| api.jsonl_bytes as f64 / BYTES_PER_MB / s)
        .collect();
    out.push(Measurement {
        id: "import.api".into(),
        title: format!(
            "import: Store::import_session, {:.0} MB ({} events)",
            api.jsonl_bytes as f64 / BYTES_PER_MB,
            api.events
        ),
        command: None,
        unit: Unit::MegabytesPerSecond,
        value: Summary::of(&throughput).context("no import runs (--import-runs 0)")?,
        peak_rss_mb: None,
        cpu_ms: Summary::of(&api.cpu_seconds.iter().map(|s| s * 1e3).collect::<Vec<_>>()),
        targets: Vec::new(),
        headline: true,
        details: json!({
            "seconds": api.seconds,
            "cpu_seconds": api.cpu_seconds,
            "events": api.events,
        }),
    });

    let file = bench.datasets.ensure_export(&bench.cairn)?;
    let file_bytes = std::fs::metadata(&file)?.len();
    let file_arg = file.to_string_lossy().into_owned();
    let mut throughput = Vec::new();
    let mut seconds = Vec::new();
    let mut rss = Vec::new();
    let mut cpu = Vec::new();
    let mut shown = String::new();
    // One unmeasured run first, so the file is in the page cache for every run.
    for run in 0..=bench.import_runs {
        let home = bench.datasets.scratch()?;
        let spec = bench.cairn(home.path(), &["sessions", "import", &file_arg])?;
        let measured = run_once(&spec)?;
        shown = spec.display();
        if run == 0 {
            continue;
        }
        let secs = measured.wall.as_secs_f64();
        seconds.push(secs);
        throughput.push(file_bytes as f64 / BYTES_PER_MB / secs);
        rss.push(measured.max_rss_bytes as f64 / BYTES_PER_MB);
        cpu.push(measured.cpu.as_secs_f64() * 1e3);
    }
    let value = Summary::of(&throughput).context("no import runs (--import-runs 0)")?;
    let peak = Summary::of(&rss).context("no import runs (--import-runs 0)")?;
    out.push(Measurement {
        id: "import.command".into(),
        title: format!(
            "import: cairn sessions import, {:.0} MB JSONL file",
            file_bytes as f64 / BYTES_PER_MB
        ),
        command: Some(shown),
        unit: Unit::MegabytesPerSecond,
        targets: vec![
            Target::at_least(
                format!("≥ {IMPORT_LIMIT_MB_S} MB/s"),
                value.median,
                IMPORT_LIMIT_MB_S,
            ),
            Target::at_most(
                format!("≤ {IMPORT_RSS_LIMIT_MB} MB RSS"),
                peak.max,
                IMPORT_RSS_LIMIT_MB,
            ),
        ],
        value,
        peak_rss_mb: Some(peak),
        cpu_ms: Summary::of(&cpu),
        headline: true,
        details: json!({
            "seconds": seconds,
            "file_bytes": file_bytes,
            "events": manifest.stats.events,
        }),
    });
    out.extend(claude_code(bench)?);
    Ok(out)
}

/// Issue 14's goals for an import of the 100 MB session, either importer.
pub(crate) const IMPORT_LIMIT_MB_S: f64 = 60.0;
pub(crate) const IMPORT_RSS_LIMIT_MB: f64 = 64.0;
pub(crate) const CLAUDE_CODE_LIMIT_MB_S: f64 = IMPORT_LIMIT_MB_S;
pub(crate) const CLAUDE_CODE_RSS_LIMIT_MB: f64 = IMPORT_RSS_LIMIT_MB;
pub(crate) const REIMPORT_LIMIT_MS: f64 = 1_000.0;

/// `cairn import claude-code DIR` of the 100 MB session written as Claude Code
/// transcripts, into a fresh home each run; then the same folder again, unchanged,
/// into that home (every transcript is skipped as already imported).
fn claude_code(bench: &Bench) -> Result<Vec<Measurement>> {
    let (folder, bytes) = bench.datasets.ensure_claude_code(&bench.cairn)?;
    let folder = folder.to_string_lossy().into_owned();
    let args = ["import", "claude-code", folder.as_str()];
    let (mut first, mut again) = (Vec::new(), Vec::new());
    let mut specs = None;
    for run in 0..=bench.import_runs {
        let home = bench.datasets.scratch()?;
        let spec = bench.cairn(home.path(), &args)?;
        let imported = run_once(&spec)?;
        let reimported = run_once(&spec)?;
        if run > 0 {
            first.push(imported);
            again.push(reimported);
        }
        specs = Some(spec);
    }
    let spec = specs.context("no import runs")?;
    let throughput: Vec<f64> = first
        .iter()
        .map(|r| bytes as f64 / BYTES_PER_MB / r.wall.as_secs_f64())
        .collect();
    let rss = Summary::of(
        &first
            .iter()
            .map(|r| r.max_rss_bytes as f64 / BYTES_PER_MB)
            .collect::<Vec<_>>(),
    )
    .context("no import runs (--import-runs 0)")?;
    let value = Summary::of(&throughput).context("no import runs (--import-runs 0)")?;
    let import = Measurement {
        id: "import.claude_code".into(),
        title: format!(
            "import: cairn import claude-code, {:.0} MB of transcripts",
            bytes as f64 / BYTES_PER_MB
        ),
        command: Some(spec.display()),
        unit: Unit::MegabytesPerSecond,
        targets: vec![
            Target::at_least(
                format!("≥ {CLAUDE_CODE_LIMIT_MB_S} MB/s"),
                value.median,
                CLAUDE_CODE_LIMIT_MB_S,
            ),
            Target::at_most(
                format!("≤ {CLAUDE_CODE_RSS_LIMIT_MB} MB RSS"),
                rss.max,
                CLAUDE_CODE_RSS_LIMIT_MB,
            ),
        ],
        value,
        peak_rss_mb: Some(rss),
        cpu_ms: Summary::of(
            &first
                .iter()
                .map(|r| r.cpu.as_secs_f64() * MS_PER_SECOND)
                .collect::<Vec<_>>(),
        ),
        headline: true,
        details: json!({ "transcript_bytes": bytes }),
    };
    let reimport = process_measurement(
        "import.claude_code.again",
        "import: the same Claude Code folder again, unchanged",
        &spec,
        &again,
        wall_and_rss_targets(REIMPORT_LIMIT_MS, None),
        true,
        json!({}),
    )?;
    Ok(vec![import, reimport])
}
