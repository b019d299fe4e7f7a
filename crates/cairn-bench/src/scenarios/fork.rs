//! Fork and rewind (issue 12), the 100 MB-history session against the 1 MB one:
//!
//! - `cairn sessions fork NAME NEW`: a fork shares the parent's history without
//!   copying it, so its cost must not grow with the history;
//! - `cairn sessions rewind NAME --to SEQ`, SEQ being the live context's last user
//!   message (undoing the last turn, the everyday case).
//!
//! Both write to the store, so every run starts from a fresh copy of the dataset's
//! home (copied before the clock starts); big and small runs alternate.

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use super::{Bench, copy_dir, process_measurement, wall_and_rss_targets};
use crate::datasets::{Dataset, Manifest};
use crate::process::{ProcessRun, ProcessSpec, output_of, run_once};
use crate::report::{Measurement, Target, Unit};
use crate::stats::Summary;

pub(crate) const FORK_LIMIT_MS: f64 = 10.0;
pub(crate) const REWIND_LIMIT_MS: f64 = 10.0;
pub(crate) const RATIO_LIMIT: f64 = 1.5;

#[derive(Clone, Copy)]
enum Operation {
    Fork,
    Rewind,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Fork => "fork",
            Operation::Rewind => "rewind",
        }
    }

    fn limit_ms(self) -> f64 {
        match self {
            Operation::Fork => FORK_LIMIT_MS,
            Operation::Rewind => REWIND_LIMIT_MS,
        }
    }
}

struct Side {
    dataset: Dataset,
    manifest: Manifest,
    session: String,
    /// The live context's last user message (where rewind goes back to).
    last_user_seq: u64,
}

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let sides = [Dataset::Resume100mb, Dataset::Resume1mb]
        .into_iter()
        .map(|dataset| side(bench, dataset))
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for operation in [Operation::Fork, Operation::Rewind] {
        out.extend(measure(bench, operation, &sides)?);
    }
    Ok(out)
}

fn side(bench: &Bench, dataset: Dataset) -> Result<Side> {
    let manifest = bench.datasets.ensure(dataset)?;
    let session = manifest
        .session_name
        .clone()
        .context("the dataset has no session name")?;
    let home = bench.datasets.home(dataset);
    let spec = bench.cairn(
        &home,
        &["sessions", "context", &session, "--role", "user", "--json"],
    )?;
    let context: Value = serde_json::from_slice(&output_of(&spec)?)
        .with_context(|| format!("reading the answer of `{}`", spec.display()))?;
    let last_user_seq = context["events"]
        .as_array()
        .and_then(|events| events.last())
        .and_then(|event| event["seq"].as_u64())
        .with_context(|| format!("{session} has no user message in its live context"))?;
    Ok(Side {
        dataset,
        manifest,
        session,
        last_user_seq,
    })
}

fn measure(bench: &Bench, operation: Operation, sides: &[Side]) -> Result<Vec<Measurement>> {
    let mut runs: Vec<Vec<ProcessRun>> = vec![Vec::new(); sides.len()];
    let mut specs: Vec<Option<ProcessSpec>> = vec![None; sides.len()];
    for round in 0..bench.warmup + bench.runs {
        for (i, side) in sides.iter().enumerate() {
            let scratch = bench.datasets.scratch()?;
            let home = scratch.path().join("home");
            copy_dir(&bench.datasets.home(side.dataset), &home)?;
            let to = side.last_user_seq.to_string();
            let args: Vec<&str> = match operation {
                Operation::Fork => vec!["sessions", "fork", &side.session, "bench-fork"],
                Operation::Rewind => vec!["sessions", "rewind", &side.session, "--to", &to],
            };
            let spec = bench.cairn(&home, &args)?;
            let run = run_once(&spec)?;
            if run.stdout_bytes == 0 {
                bail!("`{}` printed nothing", spec.display());
            }
            if round >= bench.warmup {
                runs[i].push(run);
            }
            specs[i] = Some(spec);
        }
    }
    let mut out = Vec::new();
    for (i, side) in sides.iter().enumerate() {
        let spec = specs[i].as_ref().context("no runs were measured")?;
        out.push(process_measurement(
            &format!("{}.{}", operation.name(), side.dataset.dir_name()),
            &format!(
                "{}: {:.0} MB history ({} events)",
                operation.name(),
                (side.manifest.stats.jsonl_bytes as f64 / 1e6).max(1.0),
                side.manifest.stats.events
            ),
            spec,
            &runs[i],
            wall_and_rss_targets(operation.limit_ms(), None),
            true,
            json!({ "rewound_to_seq": side.last_user_seq, "home_copied_per_run": true }),
        )?);
    }
    let ratio = out[0].value.median / out[1].value.median;
    out.push(Measurement {
        id: format!("{}.ratio", operation.name()),
        title: format!("{}: 100 MB median / 1 MB median", operation.name()),
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
        details: json!({}),
    });
    Ok(out)
}
