//! Append: the latency of one durable single-event `append_events` through the
//! `Store` trait, with the default `synchronous = normal` (durable against a killed
//! process: invariant 1) and with `full` (durable against power loss too).

use anyhow::Result;
use serde_json::json;

use super::Bench;
use crate::in_process::AppendResult;
use crate::report::{Measurement, Target, Unit};

pub(crate) const P50_LIMIT_US: f64 = 1_000.0;
/// On PostgreSQL (issue 11): a commit is a round trip and a WAL flush.
pub(crate) const PG_P50_LIMIT_US: f64 = 2_000.0;

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let mut out = Vec::new();
    // On PostgreSQL one variant: the server's own durability (fsync on).
    let variants: &[(&str, bool)] = if bench.on_postgres() {
        &[("postgres", true)]
    } else {
        &[("normal", true), ("full", false)]
    };
    for &(synchronous, headline) in variants {
        let scratch = bench.datasets.scratch()?;
        let samples = bench.append_samples.to_string();
        let warmup = (bench.append_samples / 10).max(10).to_string();
        let dir = scratch.path().to_string_lossy().into_owned();
        let mut args = vec![
            "__append",
            "--dir",
            &dir,
            "--samples",
            &samples,
            "--warmup",
            &warmup,
            "--synchronous",
        ];
        let url = match bench.datasets.postgres() {
            Some(server) => Some(server.fresh_database("bench_append")?),
            None => None,
        };
        match &url {
            Some(url) => args.extend(["normal", "--store-url", url]),
            None => args.push(synchronous),
        }
        let counters = || {
            bench
                .datasets
                .postgres()
                .map(|server| server.write_counters("bench_append"))
        };
        let before = counters();
        let result: AppendResult = bench.worker(scratch.path(), &args)?;
        // What each appended event cost the server: WAL bytes and commits.
        let server_load = match (before, counters()) {
            (Some((wal0, commits0)), Some((wal1, commits1))) => {
                let events = (result.prefilled_events + result.warmup + result.latency_us.n) as f64;
                json!({
                    "wal_bytes_per_event": wal1.saturating_sub(wal0) as f64 / events,
                    "commits": commits1.saturating_sub(commits0),
                    "events": events,
                })
            }
            _ => serde_json::Value::Null,
        };
        let latency = result.latency_us.clone();
        let (limit, limit_text) = if bench.on_postgres() {
            (PG_P50_LIMIT_US, "p50 < 2 ms")
        } else {
            (P50_LIMIT_US, "p50 < 1 ms")
        };
        let targets = if headline {
            vec![Target::below(limit_text, latency.median, limit)]
        } else {
            Vec::new()
        };
        let title = if bench.on_postgres() {
            "append: 1 event, durable commit (in-process)".to_owned()
        } else {
            format!("append: 1 event, synchronous={synchronous} (in-process)")
        };
        out.push(Measurement {
            id: format!("append.{synchronous}"),
            title,
            command: None,
            unit: Unit::Microseconds,
            value: latency,
            peak_rss_mb: None,
            cpu_ms: Some(ms_from_us(&result.cpu_us)),
            targets,
            headline,
            details: json!({
                "p99_us": result.latency_us.p99,
                "max_us": result.latency_us.max,
                "prefilled_events": result.prefilled_events,
                "mean_event_bytes": result.mean_event_bytes,
                "server_load": server_load,
            }),
        });
    }
    Ok(out)
}

fn ms_from_us(us: &crate::stats::Summary) -> crate::stats::Summary {
    let scale = |v: f64| v / 1_000.0;
    crate::stats::Summary {
        n: us.n,
        median: scale(us.median),
        p90: scale(us.p90),
        p99: scale(us.p99),
        min: scale(us.min),
        max: scale(us.max),
        mean: scale(us.mean),
    }
}
