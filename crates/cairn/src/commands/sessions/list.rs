//! `cairn sessions list`: one page of the index, newest activity first.

use std::io::Write;

use cairn_core::SessionFilter;

use crate::app::App;
use crate::args::sessions::ListArgs;
use crate::output::{self, Style, Table};

pub(super) async fn run(app: &App, args: ListArgs) -> anyhow::Result<()> {
    let filter = SessionFilter {
        project: (!args.all).then(|| app.project.clone()),
        limit: args.limit,
        offset: args.offset,
    };
    let store = app.store().await?;
    let sessions = store.list_sessions(&filter).await?;
    if args.tree {
        let roots = super::tree::build(&store, &sessions).await?;
        if args.json {
            return output::print_json(&roots);
        }
        return print_tree(&roots);
    }
    if args.json {
        return output::print_json(&sessions);
    }
    let mut out = output::stdout();
    if sessions.is_empty() {
        let place = match &filter.project {
            Some(project) => format!("in {}", output::home_relative(project.as_str())),
            None => "in any project".to_owned(),
        };
        if args.offset > 0 {
            writeln!(out, "No sessions {place} past the first {}.", args.offset)?;
        } else {
            writeln!(out, "No sessions {place} yet.")?;
            writeln!(
                out,
                "Start one with `cairn run --name NAME`, or connect an agent with `cairn mcp`."
            )?;
            if filter.project.is_some() {
                writeln!(
                    out,
                    "`cairn sessions list --all` lists every project's sessions."
                )?;
            }
        }
        out.flush()?;
        return Ok(());
    }
    let now = cairn_core::Timestamp::now();
    let mut table = Table::new(&[
        "name",
        "title",
        "project",
        "model",
        ">messages",
        ">tokens",
        ">cost",
        "last active",
    ]);
    for s in &sessions {
        table.row(vec![
            s.name.to_string(),
            output::cell(s.title.as_deref().unwrap_or("-"), 40),
            output::truncate_left(
                &output::cell(&output::home_relative(s.project.as_str()), 200),
                32,
            ),
            output::cell(s.model.as_deref().unwrap_or("-"), 32),
            output::grouped(s.message_count),
            output::compact_number(s.tokens),
            output::cost(s.cost_usd),
            output::ago(now, s.updated_at),
        ]);
    }
    table.write(&mut out, Style::detect())?;
    let shown = u64::from(args.offset) + sessions.len() as u64;
    if sessions.len() as u64 == u64::from(args.limit) {
        let total = store.count_sessions(filter.project.as_ref()).await?;
        if total > shown {
            writeln!(
                out,
                "Showing {}–{shown} of {total}; next page: --offset {shown}",
                args.offset + 1
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `--tree`: each session with its sub-agents and forks indented under it.
fn print_tree(roots: &[super::tree::Node]) -> anyhow::Result<()> {
    let mut out = output::stdout();
    if roots.is_empty() {
        writeln!(out, "No sessions yet.")?;
        out.flush()?;
        return Ok(());
    }
    let now = cairn_core::Timestamp::now();
    let mut table = Table::new(&[
        "name",
        "title",
        "model",
        ">messages",
        ">tokens",
        ">cost",
        "last active",
    ]);
    for (level, s) in super::tree::rows(roots) {
        let name = if level == 0 {
            s.name.to_string()
        } else {
            format!("{}└ {}", "  ".repeat(level - 1), s.name)
        };
        table.row(vec![
            name,
            output::cell(s.title.as_deref().unwrap_or("-"), 40),
            output::cell(s.model.as_deref().unwrap_or("-"), 32),
            output::grouped(s.message_count),
            output::compact_number(s.usage.total()),
            output::cost(s.cost_usd),
            output::ago(now, s.updated_at),
        ]);
    }
    table.write(&mut out, Style::detect())?;
    out.flush()?;
    Ok(())
}
