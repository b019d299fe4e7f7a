//! `cairn sessions list`: one page of the index, newest activity first.

use std::io::Write;

use cairn_core::{Checkpoint, Project, SessionFilter, SessionName, Store};

use crate::app::App;
use crate::args::sessions::ListArgs;
use crate::output::{self, Style, Table};

pub(super) async fn run(app: &App, args: ListArgs) -> anyhow::Result<()> {
    let filter = SessionFilter {
        project: (!args.all).then(|| app.project.clone()),
        limit: args.limit,
        offset: args.offset,
    };
    // Listing reads: a store that was never created is an empty one, left uncreated.
    let store = app.existing_store().await?;
    let sessions = match &store {
        Some(store) => store.list_sessions(&filter).await?,
        None => Vec::new(),
    };
    if args.tree {
        let roots = match &store {
            Some(store) => super::tree::build(store, &sessions).await?,
            None => Vec::new(),
        };
        if args.json {
            return output::print_json(&roots);
        }
        return print_tree(&roots);
    }
    // A fork's parent by name: one lookup per fork on the page (O(page)).
    let mut parents = Vec::with_capacity(sessions.len());
    for s in &sessions {
        let parent = match (&store, s.parent_id, s.fork_seq) {
            (Some(store), Some(id), Some(seq)) => Some(match store.session_by_id(id).await {
                Ok(p) => format!("{}@{seq}", p.name),
                Err(_) => format!("{id}@{seq} (deleted)"),
            }),
            _ => None,
        };
        parents.push(parent);
    }
    if args.json {
        let mut rows = Vec::with_capacity(sessions.len());
        for (s, parent) in sessions.iter().zip(&parents) {
            let mut row = serde_json::to_value(s)?;
            if let (Some(parent), Some(map)) = (parent, row.as_object_mut()) {
                map.insert("forked_from".into(), parent.clone().into());
            }
            rows.push(row);
        }
        return output::print_json(&rows);
    }
    let mut out = output::stdout();
    // save_progress session ids that are not chats, on the first page only: the
    // chats' paging below stays exact.
    let checkpoint_only = match &store {
        Some(store) if args.offset == 0 => {
            checkpoint_only_ids(store.as_ref(), filter.project.as_ref(), args.limit).await?
        }
        _ => Vec::new(),
    };
    let Some(store) = store else {
        return empty(&mut out, &filter, args.offset);
    };
    if sessions.is_empty() && !checkpoint_only.is_empty() {
        write_checkpoints(&mut out, &checkpoint_only)?;
        out.flush()?;
        return Ok(());
    }
    if sessions.is_empty() {
        return empty(&mut out, &filter, args.offset);
    }
    let now = cairn_core::Timestamp::now();
    let any_fork = parents.iter().any(Option::is_some);
    let mut headers = vec![
        "name",
        "title",
        "project",
        "model",
        "status",
        ">messages",
        ">tokens",
        ">cost",
        "last active",
    ];
    if any_fork {
        headers.insert(1, "forked from");
    }
    let mut table = Table::new(&headers);
    for (s, parent) in sessions.iter().zip(&parents) {
        let mut row = vec![
            s.name.to_string(),
            output::cell(s.title.as_deref().unwrap_or("-"), 40),
            output::truncate_left(
                &output::cell(&output::home_relative(s.project.as_str()), 200),
                32,
            ),
            output::cell(s.model.as_deref().unwrap_or("-"), 32),
            s.status.as_str().to_owned(),
            output::grouped(s.message_count),
            output::compact_number(s.tokens),
            output::cost(s.cost_usd),
            output::ago(now, s.updated_at),
        ];
        if any_fork {
            row.insert(1, parent.clone().unwrap_or_else(|| "-".into()));
        }
        table.row(row);
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
    if !checkpoint_only.is_empty() {
        writeln!(out)?;
        write_checkpoints(&mut out, &checkpoint_only)?;
    }
    out.flush()?;
    Ok(())
}

fn empty(out: &mut impl Write, filter: &SessionFilter, offset: u32) -> anyhow::Result<()> {
    let place = match &filter.project {
        Some(project) => format!("in {}", output::home_relative(project.as_str())),
        None => "in any project".to_owned(),
    };
    if offset > 0 {
        writeln!(out, "No sessions {place} past the first {}.", offset)?;
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
    Ok(())
}

/// The latest checkpoint of each session id saved with `save_progress` or `cairn
/// progress save` that has no chat session of the same name, newest first.
async fn checkpoint_only_ids(
    store: &dyn Store,
    project: Option<&Project>,
    limit: u32,
) -> anyhow::Result<Vec<Checkpoint>> {
    let mut found = Vec::new();
    for checkpoint in store.recent_checkpoints(project, limit).await? {
        let is_chat = match SessionName::parse(&checkpoint.session_id) {
            Ok(name) => match store.session(&name).await {
                Ok(_) => true,
                Err(cairn_core::Error::NotFound { .. }) => false,
                Err(e) => return Err(e.into()),
            },
            Err(_) => false,
        };
        if !is_chat {
            found.push(checkpoint);
        }
    }
    Ok(found)
}

fn write_checkpoints(out: &mut impl Write, checkpoints: &[Checkpoint]) -> anyhow::Result<()> {
    let now = cairn_core::Timestamp::now();
    writeln!(
        out,
        "Checkpoint sessions (save_progress; `cairn sessions show ID` describes one):"
    )?;
    let mut table = Table::new(&["id", "latest summary", "project", "client", "saved"]);
    for c in checkpoints {
        table.row(vec![
            output::cell(&c.session_id, 40),
            output::cell(&c.summary, 48),
            output::truncate_left(
                &output::cell(&output::home_relative(c.project.as_str()), 200),
                32,
            ),
            output::cell(c.client.as_deref().unwrap_or("-"), 20),
            output::ago(now, c.created_at),
        ]);
    }
    table.write(out, Style::detect())?;
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
