//! `cairn sessions show`: a session's metadata and totals, from the index.

use std::io::Write;

use cairn_core::Checkpoint;

use serde::Serialize;

use crate::app::App;
use crate::args::sessions::ShowArgs;
use crate::output::{self, Style};

pub(super) async fn run(app: &App, args: ShowArgs) -> anyhow::Result<()> {
    let name = args.name.clone();
    let store = app.store().await?;
    let detail = match cairn_app::sessions::detail(store.as_ref(), &name).await {
        Ok(detail) => detail,
        Err(not_found @ cairn_core::Error::NotFound { .. }) => {
            // A save_progress session id is a session too, for the person asking.
            let checkpoints = store.checkpoints(name.as_str()).await?;
            if checkpoints.is_empty() {
                return Err(not_found.into());
            }
            return show_checkpoints(&checkpoints, args.json);
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        return output::print_json(&detail);
    }
    let cairn_app::sessions::SessionDetail {
        session,
        parent_name,
        authors,
        ..
    } = detail;
    let style = Style::detect();
    let s = &session;
    let now = cairn_core::Timestamp::now();
    let mut out = output::stdout();
    let field = |out: &mut dyn Write, label: &str, value: &str| -> std::io::Result<()> {
        writeln!(out, "{:<18}{}", format!("{label}:"), value)
    };
    writeln!(out, "{}", style.bold(s.name.as_str()))?;
    field(
        &mut out,
        "title",
        &output::one_line(s.title.as_deref().unwrap_or("-")),
    )?;
    field(&mut out, "id", &s.id.to_string())?;
    field(&mut out, "project", &output::one_line(s.project.as_str()))?;
    field(
        &mut out,
        "model",
        &output::one_line(s.model.as_deref().unwrap_or("-")),
    )?;
    field(&mut out, "status", s.status.as_str())?;
    field(
        &mut out,
        "created",
        &format!(
            "{} ({})",
            output::exact_time(s.created_at),
            output::ago(now, s.created_at)
        ),
    )?;
    field(
        &mut out,
        "last active",
        &format!(
            "{} ({})",
            output::exact_time(s.updated_at),
            output::ago(now, s.updated_at)
        ),
    )?;
    if let Some(parent) = s.parent_id {
        let shown = match &parent_name {
            Some(name) => format!("{name} ({parent})"),
            None => format!("{parent} (deleted)"),
        };
        let at = s
            .fork_seq
            .map(|seq| format!(" at seq {seq}"))
            .unwrap_or_default();
        field(&mut out, "parent", &format!("{shown}{at}"))?;
    }
    field(&mut out, "events", &output::grouped(s.head_seq))?;
    if !authors.is_empty() {
        let by: Vec<String> = authors
            .iter()
            .map(|a| {
                format!(
                    "{} ({} events)",
                    output::one_line(&a.author),
                    output::grouped(a.events)
                )
            })
            .collect();
        field(&mut out, "written by", &by.join(", "))?;
    }
    field(&mut out, "messages", &output::grouped(s.message_count))?;
    field(&mut out, "tool calls", &output::grouped(s.tool_call_count))?;
    let compactions = match s.compaction_seq {
        Some(seq) => format!(
            "{} (latest at seq {seq}; live context starts at seq {})",
            output::grouped(s.compaction_count),
            s.context_start_seq
        ),
        None => output::grouped(s.compaction_count),
    };
    field(&mut out, "compactions", &compactions)?;
    field(
        &mut out,
        "live context",
        &format!("{} tokens", output::grouped(s.live_tokens)),
    )?;
    let u = &s.usage;
    writeln!(out, "tokens:")?;
    for (label, n) in [
        ("input", u.input_tokens),
        ("output", u.output_tokens),
        ("cache read", u.cache_read_tokens),
        ("cache write", u.cache_write_tokens),
        ("reasoning", u.reasoning_tokens),
        ("total", u.total()),
    ] {
        writeln!(
            out,
            "  {:<16}{:>14}",
            format!("{label}:"),
            output::grouped(n)
        )?;
    }
    field(&mut out, "cost", &output::cost(s.cost_usd))?;
    out.flush()?;
    Ok(())
}

/// The `--json` shape of a checkpoint-only session id (saved with `save_progress` or
/// `cairn progress save`, never run as a chat).
#[derive(Serialize)]
struct CheckpointShown<'a> {
    kind: &'static str,
    session_id: &'a str,
    checkpoint_count: usize,
    first_saved_at: cairn_core::Timestamp,
    latest: &'a Checkpoint,
}

fn show_checkpoints(checkpoints: &[Checkpoint], json: bool) -> anyhow::Result<()> {
    let (Some(first), Some(latest)) = (checkpoints.first(), checkpoints.last()) else {
        return Ok(());
    };
    if json {
        return output::print_json(&CheckpointShown {
            kind: "checkpoint",
            session_id: &latest.session_id,
            checkpoint_count: checkpoints.len(),
            first_saved_at: first.created_at,
            latest,
        });
    }
    let now = cairn_core::Timestamp::now();
    let mut out = output::stdout();
    let field = |out: &mut dyn Write, label: &str, value: &str| -> std::io::Result<()> {
        writeln!(out, "{:<18}{}", format!("{label}:"), value)
    };
    writeln!(
        out,
        "{}",
        Style::detect().bold(&output::one_line(&latest.session_id))
    )?;
    field(&mut out, "kind", "checkpoints (save_progress), no chat")?;
    field(
        &mut out,
        "project",
        &output::one_line(latest.project.as_str()),
    )?;
    field(
        &mut out,
        "checkpoints",
        &output::grouped(checkpoints.len() as u64),
    )?;
    field(
        &mut out,
        "first saved",
        &format!(
            "{} ({})",
            output::exact_time(first.created_at),
            output::ago(now, first.created_at)
        ),
    )?;
    field(
        &mut out,
        "latest saved",
        &format!(
            "{} ({})",
            output::exact_time(latest.created_at),
            output::ago(now, latest.created_at)
        ),
    )?;
    field(
        &mut out,
        "latest summary",
        &output::one_line(&latest.summary),
    )?;
    if let Some(client) = &latest.client {
        field(&mut out, "client", &output::one_line(client))?;
    }
    writeln!(
        out,
        "The whole series: cairn progress get {} --all",
        output::one_line(&latest.session_id)
    )?;
    out.flush()?;
    Ok(())
}
