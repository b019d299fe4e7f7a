//! Search: one word over 1,000,000 messages, `cairn sessions search WORD --all`.
//!
//! Three words: one in about 2 % of the messages (the headline: neither unique nor
//! everywhere), one in a dozen, and the vocabulary's most frequent word (in most
//! messages: the worst case for "newest first", shown for information).

use anyhow::{Result, bail};
use serde_json::json;

use super::{Bench, process_measurement, wall_and_rss_targets};
use crate::datasets::Dataset;
use crate::process::measure_alternating;
use crate::report::Measurement;
use crate::text::{COMMON_QUERY_WORD, RARE_QUERY_WORD};

pub(crate) const WALL_LIMIT_MS: f64 = 50.0;
/// On PostgreSQL (issue 11).
pub(crate) const PG_WALL_LIMIT_MS: f64 = 100.0;

pub(crate) fn run(bench: &Bench) -> Result<Vec<Measurement>> {
    let manifest = bench.datasets.ensure(Dataset::Search)?;
    let queries = manifest.queries.clone().unwrap_or_default();
    let home = bench.datasets.home(Dataset::Search);
    let words = [
        (COMMON_QUERY_WORD, queries.common, "common", true),
        (RARE_QUERY_WORD, queries.rare, "rare", true),
        (queries.top_word.as_str(), queries.top, "top", false),
    ];
    let specs = words
        .iter()
        .map(|(word, ..)| bench.cairn(&home, &["sessions", "search", word, "--all"]))
        .collect::<Result<Vec<_>>>()?;
    let runs = measure_alternating(&specs, bench.warmup, bench.runs)?;
    let mut out = Vec::new();
    for ((spec, runs), (word, matching, label, headline)) in specs.iter().zip(&runs).zip(&words) {
        if runs.iter().any(|r| r.stdout_bytes == 0) {
            bail!("`{}` printed nothing", spec.display());
        }
        let title = format!(
            "search: {label} word over {}k messages ({matching} match)",
            manifest.stats.messages / 1_000
        );
        let limit = if bench.on_postgres() {
            PG_WALL_LIMIT_MS
        } else {
            WALL_LIMIT_MS
        };
        let targets = wall_and_rss_targets(limit, None);
        out.push(process_measurement(
            &format!("search.{label}"),
            &title,
            spec,
            runs,
            move |wall, rss| {
                if *headline {
                    targets(wall, rss)
                } else {
                    Vec::new()
                }
            },
            *headline,
            json!({
                "word": word,
                "matching_messages": matching,
                "messages": manifest.stats.messages,
                "sessions": manifest.sessions,
                "store_mb": manifest.store_bytes as f64 / 1e6,
            }),
        )?);
    }
    Ok(out)
}
