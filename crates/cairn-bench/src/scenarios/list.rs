//! List: the first page of `cairn sessions list --all` over 10,000 sessions.

use anyhow::{Result, bail};
use serde_json::json;

use super::{Bench, process_measurement, wall_and_rss_targets};
use crate::datasets::Dataset;
use crate::process::measure_alternating;
use crate::report::Measurement;

pub(crate) const WALL_LIMIT_MS: f64 = 20.0;

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let manifest = bench.datasets.ensure(Dataset::Listing)?;
    let spec = bench.cairn(
        &bench.datasets.home(Dataset::Listing),
        &["sessions", "list", "--all"],
    )?;
    let runs = measure_alternating(std::slice::from_ref(&spec), bench.warmup, bench.runs)?;
    if runs[0].iter().any(|r| r.stdout_lines < 2) {
        bail!("`{}` printed fewer than 2 lines", spec.display());
    }
    Ok(vec![process_measurement(
        "list.10k",
        &format!("list: first page, {} sessions", manifest.sessions),
        &spec,
        &runs[0],
        wall_and_rss_targets(WALL_LIMIT_MS, None),
        true,
        json!({
            "sessions": manifest.sessions,
            "projects": 40,
            "store_mb": manifest.store_bytes as f64 / 1e6,
        }),
    )?])
}
