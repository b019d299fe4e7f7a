//! `cairn import claude-code|codex [PATH…] [--dry-run] [--json]`: arguments, the
//! tools' default folders, the progress bar and the summary; the use case is
//! `cairn_app::import_transcripts`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use cairn_app::{Summary, Tool, TranscriptImport};
use cairn_core::env_vars::{CLAUDE_CONFIG_DIR, CODEX_HOME};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::app::App;
use crate::args::import::{ImportCommand, ImportToolArgs};
use crate::output;

/// The most line problems printed; the rest are counted.
const PROBLEMS_SHOWN: usize = 50;

pub(crate) async fn run(app: &App, command: ImportCommand) -> anyhow::Result<()> {
    let (tool, args) = match command {
        ImportCommand::ClaudeCode(args) => (Tool::ClaudeCode, args),
        ImportCommand::Codex(args) => (Tool::Codex, args),
    };
    let paths = if args.paths.is_empty() {
        default_folders(tool)?
    } else {
        args.paths.clone()
    };
    let files = cairn_app::discover(tool, &paths)?;
    let store = app.store().await?;
    let request = TranscriptImport {
        tool,
        dry_run: args.dry_run,
        prices: cairn_llm::PriceTable::with_overrides(&app.settings.pricing),
        fallback_project: app.project.clone(),
        knowledge_retention: app.settings.compression.knowledge_retention,
    };
    let bar = progress_bar(&files, args.json);
    let done = bar.clone();
    let total = files.len();
    let mut count = 0usize;
    let mut progress = move |found: &cairn_app::Found| {
        count += 1;
        done.inc(found.bytes);
        done.set_message(format!("{count}/{total} files"));
    };
    let summary =
        cairn_app::import_transcripts(store.as_ref(), &files, &request, &mut progress).await?;
    bar.finish_and_clear();
    print_problems(&summary);
    if args.json {
        output::print_json(&serde_json::json!({
            "dry_run": args.dry_run,
            "imported": summary.imported,
            "updated": summary.updated,
            "skipped": summary.skipped,
            "failed": summary.failed,
            "lines_skipped": summary.lines_skipped,
            "problems": summary.problems,
            "notes": summary.notes,
            "sessions": summary.sessions,
        }))?;
    } else {
        print_summary(&summary, &args)?;
    }
    if summary.failed > 0 {
        bail!(
            "{} transcript(s) could not be imported (see above); the others were",
            summary.failed
        );
    }
    Ok(())
}

/// Where the tool keeps its transcripts, as far as they exist.
fn default_folders(tool: Tool) -> anyhow::Result<Vec<PathBuf>> {
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    };
    let from_env = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let (candidates, hint) = match tool {
        Tool::ClaudeCode => {
            let base = from_env(CLAUDE_CONFIG_DIR).or_else(|| home().map(|h| h.join(".claude")));
            let base = base.context("HOME is not set; pass the transcripts' PATH")?;
            (vec![base.join("projects")], CLAUDE_CONFIG_DIR)
        }
        Tool::Codex => {
            let base = from_env(CODEX_HOME).or_else(|| home().map(|h| h.join(".codex")));
            let base = base.context("HOME is not set; pass the rollouts' PATH")?;
            (
                vec![base.join("sessions"), base.join("archived_sessions")],
                CODEX_HOME,
            )
        }
    };
    let found: Vec<PathBuf> = candidates.iter().filter(|p| p.is_dir()).cloned().collect();
    if found.is_empty() {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "no transcripts folder found (looked in {}); set {hint} or pass PATH",
            looked.join(" and ")
        );
    }
    Ok(found)
}

/// Files and bytes on stderr, drawn only when stderr is a terminal and not with
/// `--json`.
fn progress_bar(files: &[cairn_app::Found], json: bool) -> ProgressBar {
    let bytes: u64 = files.iter().map(|f| f.bytes).sum();
    if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} ({eta})")
    {
        bar.set_style(style);
    }
    bar.set_message(format!("0/{} files", files.len()));
    bar
}

fn print_problems(summary: &Summary) {
    for note in &summary.notes {
        eprintln!("note: {}", output::printable(note));
    }
    for problem in summary.problems.iter().take(PROBLEMS_SHOWN) {
        eprintln!("warning: {}", output::printable(problem));
    }
    if summary.problems.len() > PROBLEMS_SHOWN {
        eprintln!(
            "warning: … and {} more lines that could not be used",
            summary.problems.len() - PROBLEMS_SHOWN
        );
    }
}

fn print_summary(summary: &Summary, args: &ImportToolArgs) -> anyhow::Result<()> {
    let mut out = output::stdout();
    let would = if args.dry_run { "would be " } else { "" };
    for session in &summary.sessions {
        let name = session.session.as_deref().unwrap_or("-");
        let detail = match session.action {
            "imported" | "updated" => format!("{} events", output::grouped(session.events)),
            _ => String::new(),
        };
        let parent = session
            .parent
            .as_deref()
            .map(|p| {
                let relation = if session.fork { "fork" } else { "sub-agent" };
                format!(" ({relation} of {})", output::printable(p))
            })
            .unwrap_or_default();
        writeln!(
            out,
            "{:<9} {} {}{}  {}",
            session.action,
            output::printable(name),
            detail,
            parent,
            output::printable(&session.path)
        )?;
    }
    writeln!(
        out,
        "{}sessions {would}imported: {}, {would}updated: {}, skipped: {}{}",
        if args.dry_run { "dry run: " } else { "" },
        summary.imported,
        summary.updated,
        summary.skipped,
        if summary.failed > 0 {
            format!(", failed: {}", summary.failed)
        } else {
            String::new()
        }
    )?;
    let skipped: u64 = summary.lines_skipped.values().sum();
    if skipped > 0 {
        writeln!(out, "lines skipped: {}", output::grouped(skipped))?;
        for (reason, count) in &summary.lines_skipped {
            writeln!(
                out,
                "  {:>7}  {}",
                output::grouped(*count),
                output::printable(reason)
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
