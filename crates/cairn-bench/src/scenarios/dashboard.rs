//! Dashboard: the sessions page of `cairn serve`, fully rendered in Chromium, over
//! the 10,000-session dataset. The browser side is `tests/python/dashboard/browser.py
//! --scenario bench` (Playwright driving the system Chromium): each sample is the time
//! from the navigation's start until the first page of the list is in the document,
//! as the page itself records it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use super::Bench;
use crate::datasets::Dataset;
use crate::report::{Measurement, Target, Unit};
use crate::stats::Summary;

pub(crate) const WALL_LIMIT_MS: f64 = 300.0;

/// The Python of the test venv (Playwright installed by `scripts/install-test-deps`).
fn python() -> PathBuf {
    std::env::var_os("CAIRN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".venv/bin/python"))
}

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let manifest = bench.datasets.ensure(Dataset::Listing)?;
    let home = bench.datasets.home(Dataset::Listing);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/dashboard/browser.py");
    let shots = bench.datasets.scratch()?;
    let python = python();
    let output = Command::new(&python)
        .arg(&script)
        .args(["--scenario", "bench"])
        .arg("--binary")
        .arg(&bench.cairn)
        .arg("--home")
        .arg(&home)
        .arg("--project")
        .arg(bench.datasets.workdir()?)
        .arg("--screenshots")
        .arg(shots.path())
        .args(["--runs", &bench.runs.to_string()])
        .args(["--warmup", &bench.warmup.to_string()])
        .env("HOME", &home)
        .output()
        .with_context(|| {
            format!(
                "running {} (the test venv: scripts/install-test-deps, or set CAIRN_TEST_PYTHON)",
                python.display()
            )
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "browser.py --scenario bench failed ({})\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let samples: Vec<f64> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("SAMPLE ")?.trim().parse().ok())
        .collect();
    let rows: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("ROWS ")?.trim().parse().ok())
        .unwrap_or(0);
    let value = Summary::of(&samples).context("the browser reported no sample (--runs 0?)")?;
    Ok(vec![Measurement {
        id: "dashboard.sessions.10k".into(),
        title: format!(
            "dashboard: sessions page rendered in Chromium, {} sessions",
            manifest.sessions
        ),
        command: Some("cairn serve + Chromium: /#/sessions, reload until rendered".into()),
        unit: Unit::Milliseconds,
        targets: vec![Target::below(
            format!("< {WALL_LIMIT_MS} ms"),
            value.median,
            WALL_LIMIT_MS,
        )],
        value,
        peak_rss_mb: None,
        cpu_ms: None,
        headline: true,
        details: json!({ "sessions": manifest.sessions, "rows_rendered": rows }),
    }])
}
