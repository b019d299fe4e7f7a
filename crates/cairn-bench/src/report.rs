//! The results of a harness run: a table for people, JSON for machines.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::machine::Machine;
use crate::stats::Summary;

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Unit {
    Milliseconds,
    Microseconds,
    MegabytesPerSecond,
    Ratio,
    Megabytes,
    Kilobytes,
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Unit::Milliseconds => format!("{value:.2} ms"),
            Unit::Microseconds => format!("{value:.0} µs"),
            Unit::MegabytesPerSecond => format!("{value:.1} MB/s"),
            Unit::Ratio => format!("{value:.2}×"),
            Unit::Megabytes => format!("{value:.1} MB"),
            Unit::Kilobytes => format!("{value:.1} KB"),
        }
    }
}

/// A target a measurement is held to, and whether it met it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Target {
    pub text: String,
    pub pass: bool,
}

impl Target {
    pub(crate) fn below(text: impl Into<String>, value: f64, limit: f64) -> Target {
        Target {
            text: text.into(),
            pass: value < limit,
        }
    }

    pub(crate) fn at_most(text: impl Into<String>, value: f64, limit: f64) -> Target {
        Target {
            text: text.into(),
            pass: value <= limit,
        }
    }

    pub(crate) fn at_least(text: impl Into<String>, value: f64, limit: f64) -> Target {
        Target {
            text: text.into(),
            pass: value >= limit,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Measurement {
    /// Stable key, e.g. `resume.100mb`.
    pub id: String,
    pub title: String,
    /// The measured command line, for whole-process measurements.
    pub command: Option<String>,
    pub unit: Unit,
    pub value: Summary,
    /// Peak resident memory of the measured process over the runs, MB.
    pub peak_rss_mb: Option<Summary>,
    /// CPU time (user + system) of the measured process, ms.
    pub cpu_ms: Option<Summary>,
    pub targets: Vec<Target>,
    /// Headline figures carry the targets; others give context.
    pub headline: bool,
    pub details: Value,
}

impl Measurement {
    pub(crate) fn verdict(&self) -> &'static str {
        if self.targets.is_empty() {
            "info"
        } else if self.targets.iter().all(|t| t.pass) {
            "PASS"
        } else {
            "MISS"
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Report {
    pub harness: String,
    pub date: String,
    pub invocation: String,
    pub machine: Machine,
    pub cairn_binary: String,
    pub cairn_version: String,
    pub git_commit: Option<String>,
    pub dataset_key: String,
    /// 1, 5 and 15 minute load averages when the run started and ended: wall times
    /// taken while other jobs load the machine are inflated (CPU times much less).
    pub load_before: Option<[f64; 3]>,
    pub load_after: Option<[f64; 3]>,
    pub results: Vec<Measurement>,
    /// Scenarios that could not run, with the reason.
    pub failures: Vec<Failure>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Failure {
    pub scenario: String,
    pub error: String,
}

impl Report {
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "cairn-bench, {}", self.date);
        let _ = writeln!(out, "machine: {}", self.machine.line());
        let _ = writeln!(
            out,
            "cairn:   {} ({}){}",
            self.cairn_version,
            self.cairn_binary,
            self.git_commit
                .as_ref()
                .map(|c| format!(", commit {c}"))
                .unwrap_or_default()
        );
        let _ = writeln!(out, "command: {}", self.invocation);
        if let (Some(before), Some(after)) = (self.load_before, self.load_after) {
            let _ = writeln!(
                out,
                "load:    {:.2} before, {:.2} after (1-minute load average, {} cores)",
                before[0], after[0], self.machine.cores
            );
        }
        let _ = writeln!(out);
        let headers = [
            "measurement",
            "n",
            "median",
            "p90",
            "CPU",
            "peak RSS",
            "target",
            "result",
        ];
        let rows: Vec<[String; 8]> = self
            .results
            .iter()
            .map(|m| {
                [
                    m.title.clone(),
                    m.value.n.to_string(),
                    m.unit.format(m.value.median),
                    if m.value.n > 1 {
                        m.unit.format(m.value.p90)
                    } else {
                        String::new()
                    },
                    m.cpu_ms
                        .as_ref()
                        .map(|c| format!("{:.2} ms", c.median))
                        .unwrap_or_default(),
                    m.peak_rss_mb
                        .as_ref()
                        .map(|r| format!("{:.1} MB", r.max))
                        .unwrap_or_default(),
                    m.targets
                        .iter()
                        .map(|t| t.text.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    m.verdict().to_owned(),
                ]
            })
            .collect();
        let mut widths = headers.map(|h| h.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut line = |cells: &[String]| {
            let mut text = String::new();
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                let pad = width - cell.chars().count();
                // Numbers right-aligned, words left-aligned.
                if (1..=5).contains(&i) {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad));
                }
                text.push_str("  ");
            }
            let _ = writeln!(out, "{}", text.trim_end());
        };
        line(&headers.map(String::from));
        for row in &rows {
            line(row);
        }
        let _ = writeln!(
            out,
            "\nmedian/p90: wall time from spawn to exit with stdout drained (or per operation \
             in-process); CPU: median user+system time; peak RSS: largest ru_maxrss over the runs"
        );
        for failure in &self.failures {
            let _ = writeln!(
                out,
                "\n{} could not run: {}",
                failure.scenario, failure.error
            );
        }
        let misses: Vec<&str> = self
            .results
            .iter()
            .filter(|m| m.verdict() == "MISS")
            .map(|m| m.title.as_str())
            .collect();
        let _ = writeln!(out);
        if misses.is_empty() && self.failures.is_empty() {
            let _ = writeln!(out, "every target met");
        } else if !misses.is_empty() {
            let _ = writeln!(out, "targets missed: {}", misses.join("; "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_verdicts() {
        let measurement = |id: &str, value: f64, limit: f64| Measurement {
            id: id.into(),
            title: format!("title {id}"),
            command: None,
            unit: Unit::Milliseconds,
            value: Summary::of(&[value, value + 1.0]).unwrap(),
            peak_rss_mb: Some(Summary::single(12.5)),
            cpu_ms: None,
            targets: vec![Target::below("< 50 ms", value, limit)],
            headline: true,
            details: Value::Null,
        };
        let report = Report {
            harness: "cairn-bench".into(),
            date: "2026-01-01".into(),
            invocation: "cairn-bench all".into(),
            machine: Machine::detect(std::path::Path::new("/")),
            cairn_binary: "/x/cairn".into(),
            cairn_version: "cairn 0.1.0".into(),
            git_commit: None,
            dataset_key: "k".into(),
            load_before: None,
            load_after: None,
            results: vec![measurement("a", 10.0, 50.0), measurement("b", 70.0, 50.0)],
            failures: vec![],
        };
        let table = report.table();
        assert!(
            table.contains("title a") && table.contains("PASS"),
            "{table}"
        );
        assert!(table.contains("MISS") && table.contains("targets missed: title b"));
        assert!(table.contains("12.5 MB"));
    }
}
