//! `cairn where` and `cairn progress save|get`: the checkpoints MCP agents save,
//! for people and scripts, from the same store.

use std::io::{Read, Write};

use anyhow::Context;
use cairn_app::progress::{self, Rounds};
use cairn_app::resume_brief::{self, WhereQuery};
use cairn_core::list_param::{self, MAX_SUMMARY_BYTES};
use cairn_core::{Checkpoint, Error, NewCheckpoint, Timestamp};

use crate::app::App;
use crate::args::progress::{GetArgs, ProgressCommand, SaveArgs, WhereArgs};
use crate::output;

pub(super) async fn where_was_i(app: &App, args: WhereArgs) -> anyhow::Result<()> {
    if let Some(id) = &args.session_id {
        list_param::check_id("SESSION_ID", id)?;
    }
    let store = app.existing_store().await?;
    let query = WhereQuery {
        session_id: args.session_id.clone(),
        client: args.client.clone(),
        project: None,
    };
    let now = Timestamp::now();
    let found = match &store {
        Some(store) => resume_brief::where_was_i(store.as_ref(), &query, now).await?,
        None => None,
    };
    let Some(found) = found else {
        // An unknown name is an error; an empty store is not (nothing to resume yet).
        if let Some(id) = args.session_id {
            return Err(Error::not_found("session", id).into());
        }
        if let Some(client) = args.client {
            return Err(Error::not_found("session saved by client", client).into());
        }
        if args.json {
            return output::print_json(&serde_json::Value::Null);
        }
        writeln!(
            output::stdout(),
            "Nothing to resume yet: start one with `cairn run --name NAME`, or save a \
             checkpoint with `cairn progress save` or an MCP agent's save_progress."
        )?;
        return Ok(());
    };
    if args.json {
        return output::print_json(&found);
    }
    let mut out = output::stdout();
    write!(out, "{}", output::printable(&found.to_markdown(now)))?;
    out.flush()?;
    Ok(())
}

pub(super) async fn run(app: &App, command: ProgressCommand) -> anyhow::Result<()> {
    match command {
        ProgressCommand::Save(args) => save(app, args).await,
        ProgressCommand::Get(args) => get(app, args).await,
        ProgressCommand::Export(args) => super::progress_transfer::export(app, args).await,
        ProgressCommand::Import(args) => super::progress_transfer::import(app, args).await,
    }
}

/// `-` reads the text from stdin (for commit messages and scripts).
pub(super) fn text_or_stdin(value: String) -> anyhow::Result<String> {
    if value != "-" {
        return Ok(value);
    }
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_SUMMARY_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .context("cannot read the summary from stdin")?;
    Ok(text.trim_end().to_owned())
}

async fn save(app: &App, args: SaveArgs) -> anyhow::Result<()> {
    list_param::check_id("SESSION_ID", &args.session_id)?;
    let summary = text_or_stdin(args.summary)?;
    if summary.trim().is_empty() {
        return Err(Error::invalid("--summary: must not be empty").into());
    }
    list_param::check_text("--summary", &summary, MAX_SUMMARY_BYTES)?;
    let files_touched = list_param::from_cli("--files", &args.files)?;
    let decisions_made = list_param::from_cli("--decisions", &args.decisions)?;
    let next_steps = list_param::from_cli("--next", &args.next)?;
    if let Some(round) = &args.round {
        list_param::check_id("--round", round)?;
    }
    let store = app.store().await?;
    let saved = progress::save(
        store.as_ref(),
        NewCheckpoint {
            session_id: args.session_id.trim().to_owned(),
            project: app.project.clone(),
            summary,
            files_touched,
            decisions_made,
            next_steps,
            round_id: args.round.map(|r| r.trim().to_owned()),
            client: Some("cairn-cli".to_owned()),
            instance: Some(super::pool::cli_instance()),
        },
    )
    .await?;
    if args.json {
        return output::print_json(&saved);
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "Saved checkpoint {} for {}, round {} ({}).",
        saved.checkpoint_id,
        output::printable(&saved.session_id),
        output::printable(&saved.round_id),
        output::home_relative(saved.project.as_str())
    )?;
    out.flush()?;
    Ok(())
}

async fn get(app: &App, args: GetArgs) -> anyhow::Result<()> {
    list_param::check_id("SESSION_ID", &args.session_id)?;
    let store = app.store().await?;
    let rounds = match (&args.round, args.all) {
        (Some(round), _) => Rounds::One(round.clone()),
        (None, true) => Rounds::All,
        (None, false) => Rounds::Latest,
    };
    let checkpoints = progress::get(store.as_ref(), &args.session_id, &rounds)
        .await?
        .checkpoints;
    if checkpoints.is_empty() {
        let what = match &args.round {
            Some(round) => format!("{} round {round}", args.session_id),
            None => args.session_id.clone(),
        };
        return Err(Error::not_found("progress", what).into());
    }
    if args.json {
        return if args.all || args.round.is_some() {
            output::print_json(&checkpoints)
        } else {
            output::print_json(&checkpoints[0])
        };
    }
    let now = Timestamp::now();
    let mut out = output::stdout();
    for (i, c) in checkpoints.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        write_checkpoint(&mut out, c, now)?;
    }
    out.flush()?;
    Ok(())
}

fn write_checkpoint(out: &mut impl Write, c: &Checkpoint, now: Timestamp) -> std::io::Result<()> {
    writeln!(
        out,
        "{} round {} — {} ({}) — {}",
        output::printable(&c.session_id),
        output::printable(&c.round_id),
        output::exact_time(c.created_at),
        output::ago(now, c.created_at),
        output::home_relative(c.project.as_str())
    )?;
    if let Some(client) = &c.client {
        writeln!(out, "saved by {}", output::printable(client))?;
    }
    writeln!(out, "\n{}", output::printable(&c.summary))?;
    for (title, items) in [
        ("Files touched", &c.files_touched),
        ("Decisions made", &c.decisions_made),
        ("Next steps", &c.next_steps),
    ] {
        if items.is_empty() {
            continue;
        }
        writeln!(out, "\n{title}:")?;
        for item in items {
            writeln!(out, "  - {}", output::printable(item))?;
        }
    }
    Ok(())
}
