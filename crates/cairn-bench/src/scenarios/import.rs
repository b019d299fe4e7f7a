//! Import: bulk throughput for the 100 MB session, through `Store::import_session`
//! (in-process, events already in memory) and through the whole
//! `cairn sessions import FILE` command on the file `cairn sessions export` wrote
//! (reading, parsing, validating and storing, into a fresh home each run).

use anyhow::{Context as _, Result};
use serde_json::json;

use super::{BYTES_PER_MB, Bench};
use crate::datasets::Dataset;
use crate::in_process::ImportResult;
use crate::process::run_once;
use crate::report::{Measurement, Unit};
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
    out.push(Measurement {
        id: "import.command".into(),
        title: format!(
            "import: cairn sessions import, {:.0} MB JSONL file",
            file_bytes as f64 / BYTES_PER_MB
        ),
        command: Some(shown),
        unit: Unit::MegabytesPerSecond,
        value: Summary::of(&throughput).context("no import runs (--import-runs 0)")?,
        peak_rss_mb: Summary::of(&rss),
        cpu_ms: Summary::of(&cpu),
        targets: Vec::new(),
        headline: true,
        details: json!({
            "seconds": seconds,
            "file_bytes": file_bytes,
            "events": manifest.stats.events,
        }),
    });
    Ok(out)
}
