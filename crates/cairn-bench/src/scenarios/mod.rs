//! The scenarios of the harness, one file each. Whole-process scenarios spawn the
//! release `cairn` binary in the dataset's home; in-process ones run in a worker.

pub(crate) mod append;
pub(crate) mod context;
pub(crate) mod dashboard;
pub(crate) mod footprint;
pub(crate) mod fork;
pub(crate) mod import;
pub(crate) mod list;
pub(crate) mod mcp;
pub(crate) mod resume;
pub(crate) mod run_resume;
pub(crate) mod search;
pub(crate) mod serve;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::datasets::Datasets;
use crate::process::{ProcessRun, ProcessSpec, measure_alternating, run_once};
use crate::report::{Measurement, Target, Unit};
use crate::stats::Summary;

/// Everything a scenario runs with.
pub(crate) struct Bench {
    pub datasets: Datasets,
    /// The measured `cairn` binary.
    pub cairn: PathBuf,
    /// Measured runs of each whole-process command.
    pub runs: usize,
    pub warmup: usize,
    pub append_samples: usize,
    pub import_runs: usize,
}

impl Bench {
    /// `--store postgres`: the datasets and commands use the harness's server.
    pub(crate) fn on_postgres(&self) -> bool {
        self.datasets.postgres().is_some()
    }

    /// `cairn ARGS…` in `home`, from a neutral working directory.
    pub(crate) fn cairn(&self, home: &Path, args: &[&str]) -> Result<ProcessSpec> {
        Ok(ProcessSpec::new(
            &self.cairn,
            home,
            &self.datasets.workdir()?,
            args,
        ))
    }

    /// Runs a worker subcommand of this harness and reads its JSON answer.
    pub(crate) fn worker<T: DeserializeOwned>(&self, dir: &Path, args: &[&str]) -> Result<T> {
        let exe = std::env::current_exe().context("locating cairn-bench itself")?;
        let mut spec = ProcessSpec::new(&exe, dir, dir, args);
        spec.show_stderr = true;
        let run = run_once(&spec)?;
        serde_json::from_slice(&run.stdout_head)
            .with_context(|| format!("reading the answer of `{}`", spec.display()))
    }
}

pub(crate) const MS_PER_SECOND: f64 = 1_000.0;
pub(crate) const BYTES_PER_MB: f64 = 1_000_000.0;

/// Wall time (ms) and peak RSS (MB) of a whole-process measurement.
pub(crate) fn process_measurement(
    id: &str,
    title: &str,
    spec: &ProcessSpec,
    runs: &[ProcessRun],
    targets: impl FnOnce(&Summary, &Summary) -> Vec<Target>,
    headline: bool,
    mut details: Value,
) -> Result<Measurement> {
    let wall: Vec<f64> = runs
        .iter()
        .map(|r| r.wall.as_secs_f64() * MS_PER_SECOND)
        .collect();
    let rss: Vec<f64> = runs
        .iter()
        .map(|r| r.max_rss_bytes as f64 / BYTES_PER_MB)
        .collect();
    let cpu: Vec<f64> = runs
        .iter()
        .map(|r| r.cpu.as_secs_f64() * MS_PER_SECOND)
        .collect();
    let value = Summary::of(&wall).context("no runs were measured (--runs 0)")?;
    let peak = Summary::of(&rss).context("no runs were measured (--runs 0)")?;
    if let Value::Object(map) = &mut details {
        let out: Vec<f64> = runs.iter().map(|r| r.stdout_bytes as f64).collect();
        let lines: Vec<f64> = runs.iter().map(|r| r.stdout_lines as f64).collect();
        if let (Some(out), Some(lines)) = (Summary::of(&out), Summary::of(&lines)) {
            map.insert("stdout_bytes".into(), Value::from(out.median));
            map.insert("stdout_lines".into(), Value::from(lines.median));
        }
    }
    Ok(Measurement {
        id: id.into(),
        title: title.into(),
        command: Some(spec.display()),
        unit: Unit::Milliseconds,
        targets: targets(&value, &peak),
        value,
        peak_rss_mb: Some(peak),
        cpu_ms: Summary::of(&cpu),
        headline,
        details,
    })
}

/// The floor every whole-process figure stands on: starting `cairn` at all.
pub(crate) fn baseline(bench: &Bench) -> Result<Vec<Measurement>> {
    let home = bench.datasets.scratch()?;
    let spec = bench.cairn(home.path(), &["--version"])?;
    let runs = measure_alternating(std::slice::from_ref(&spec), bench.warmup, bench.runs)?;
    Ok(vec![process_measurement(
        "baseline.version",
        "baseline: cairn --version",
        &spec,
        &runs[0],
        |_, _| Vec::new(),
        false,
        serde_json::json!({}),
    )?])
}

/// Standard whole-process targets: median wall time and the largest peak RSS.
pub(crate) fn wall_and_rss_targets(
    wall_limit_ms: f64,
    rss_limit_mb: Option<f64>,
) -> impl FnOnce(&Summary, &Summary) -> Vec<Target> {
    move |wall, rss| {
        let mut targets = vec![Target::below(
            format!("< {wall_limit_ms} ms"),
            wall.median,
            wall_limit_ms,
        )];
        if let Some(limit) = rss_limit_mb {
            targets.push(Target::below(format!("< {limit} MB RSS"), rss.max, limit));
        }
        targets
    }
}

/// Copies a cairn home (a store file, its WAL, attachments) file by file, synced.
pub(crate) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
            // On disk before the clock starts: otherwise the measured command's first
            // fsync also writes out the copy (ext4 commits them together), a cost a
            // store that was not just copied never pays.
            std::fs::File::open(&target)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("syncing {}", target.display()))?;
        }
    }
    Ok(())
}
