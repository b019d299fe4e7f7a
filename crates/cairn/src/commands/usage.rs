//! `cairn usage`: tokens by kind and cost from the store, grouped by day, week,
//! model, project or session (`cairn_app::usage`, the same report as `/api/usage`).

use std::io::Write;

use cairn_app::usage::{self, UsageBy, UsageQuery, UsageRow};

use crate::app::App;
use crate::args::usage::{Grouping, UsageArgs};
use crate::output::{self, Style, Table};

pub(super) async fn run(app: &App, args: UsageArgs) -> anyhow::Result<()> {
    let by = match args.by {
        Grouping::Day => UsageBy::Day,
        Grouping::Week => UsageBy::Week,
        Grouping::Model => UsageBy::Model,
        Grouping::Project => UsageBy::Project,
        Grouping::Session => UsageBy::Session,
    };
    let query = UsageQuery {
        by,
        project: (!args.all).then(|| app.project.clone()),
        since: args.since,
    };
    let report = match app.existing_store().await? {
        Some(store) => usage::report(store.as_ref(), &query).await?,
        None => usage::UsageReport {
            by: by.as_str().to_owned(),
            project: query.project.as_ref().map(|p| p.as_str().to_owned()),
            since: query.since.map(|t| t.to_string()),
            rows: Vec::new(),
            total: UsageRow {
                key: "total".to_owned(),
                ..UsageRow::default()
            },
            truncated: false,
        },
    };
    if args.json {
        return output::print_json(&report);
    }
    let mut out = output::stdout();
    if report.rows.is_empty() {
        let place = if args.all {
            "in any project".to_owned()
        } else {
            format!("in {}", output::home_relative(app.project.as_str()))
        };
        writeln!(
            out,
            "No usage recorded {place}{}.",
            since_text(&report.since)
        )?;
        if !args.all {
            writeln!(out, "`cairn usage --all` covers every project.")?;
        }
        out.flush()?;
        return Ok(());
    }
    let mut table = Table::new(&[
        "key",
        ">requests",
        ">input",
        ">output",
        ">cache read",
        ">cache write",
        ">reasoning",
        ">total",
        ">cost",
    ]);
    let row = |r: &UsageRow, key: String| {
        vec![
            key,
            if r.requests == 0 {
                "-".to_owned()
            } else {
                output::grouped(r.requests)
            },
            output::compact_number(r.input_tokens),
            output::compact_number(r.output_tokens),
            output::compact_number(r.cache_read_tokens),
            output::compact_number(r.cache_write_tokens),
            output::compact_number(r.reasoning_tokens),
            output::compact_number(r.total_tokens),
            output::cost(r.cost_usd),
        ]
    };
    for r in &report.rows {
        let key = match by {
            UsageBy::Project => {
                output::truncate_left(&output::cell(&output::home_relative(&r.key), 200), 40)
            }
            _ => output::cell(&r.key, 40),
        };
        table.row(row(r, key));
    }
    table.row(row(&report.total, "total".to_owned()));
    table.write(&mut out, Style::detect())?;
    if report.truncated {
        writeln!(
            out,
            "Only the {} most recently active sessions were read.",
            output::grouped(u64::from(usage::MAX_SESSIONS))
        )?;
    }
    out.flush()?;
    Ok(())
}

fn since_text(since: &Option<String>) -> String {
    since
        .as_deref()
        .map(|s| format!(" since {s}"))
        .unwrap_or_default()
}
