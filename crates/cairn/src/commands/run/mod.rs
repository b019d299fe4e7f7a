//! `cairn run`: the chat agent. One-shot (`-p`, or a prompt on stdin) or the
//! interactive REPL; both drive the same engine (`cairn_agent::Agent`).

mod oneshot;
mod repl;

use std::io::{IsTerminal, Read};
use std::sync::Arc;

use cairn_agent::{AgentError, AgentOptions, SessionTarget};
use cairn_core::mcp_approvals::Decision;
use cairn_core::settings::{Settings, SettingsLayer};
use cairn_llm::LlmClient;

use crate::app::App;
use crate::args::run::{RunArgs, RunFormat};
use crate::exit::UsageError;

/// Largest prompt read from stdin.
const MAX_STDIN_PROMPT_BYTES: u64 = 16 * 1024 * 1024;

pub(super) async fn run(app: &App, args: RunArgs) -> anyhow::Result<()> {
    let prompt = one_shot_prompt(&args)?;
    let picker = matches!(args.resume, Some(None));
    let options = options(app, &args, prompt.is_none()).await?;
    match prompt {
        Some(prompt) => {
            if picker {
                return Err(UsageError(
                    "--resume without a name chooses a session interactively; a one-shot run \
                     (-p or a prompt on stdin) needs the name: --resume NAME, or use \
                     --resume-recent"
                        .into(),
                )
                .into());
            }
            let target = target(&args)?;
            oneshot::run(app, options, target, prompt, args.format).await
        }
        None => {
            if args.format == RunFormat::Jsonl {
                return Err(UsageError(
                    "--format jsonl is for one-shot runs: give the prompt with -p".into(),
                )
                .into());
            }
            let target = if picker {
                match repl::pick_session(app).await? {
                    Some(name) => SessionTarget::Resume(name),
                    None => return Ok(()),
                }
            } else {
                target(&args)?
            };
            repl::run(app, options, target).await
        }
    }
}

/// The session the flags name.
fn target(args: &RunArgs) -> anyhow::Result<SessionTarget> {
    if let Some(name) = &args.name {
        return Ok(SessionTarget::CreateOrResume(name.clone()));
    }
    if let Some(Some(name)) = &args.resume {
        return Ok(SessionTarget::Resume(name.clone()));
    }
    if args.resume_recent {
        return Ok(SessionTarget::ResumeRecent);
    }
    Ok(SessionTarget::New)
}

/// The prompt of a one-shot run: `-p TEXT`, `-p -` (stdin), or stdin when it is not
/// a terminal. `None`: interactive.
fn one_shot_prompt(args: &RunArgs) -> anyhow::Result<Option<String>> {
    let from_stdin = match args.prompt.as_deref() {
        Some("-") => true,
        Some(text) => {
            if text.trim().is_empty() {
                return Err(UsageError("-p/--prompt is empty".into()).into());
            }
            return Ok(Some(text.to_owned()));
        }
        None => !std::io::stdin().is_terminal(),
    };
    if !from_stdin {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_STDIN_PROMPT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read the prompt from stdin: {e}"))?;
    if bytes.len() as u64 > MAX_STDIN_PROMPT_BYTES {
        return Err(UsageError(format!(
            "the prompt on stdin is larger than {} MiB",
            MAX_STDIN_PROMPT_BYTES / (1024 * 1024)
        ))
        .into());
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        UsageError(format!(
            "the prompt on stdin is not UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(UsageError(
            "no prompt: stdin is not a terminal and was empty. Give the prompt with -p TEXT \
             (or pipe it in), or start cairn run in a terminal for the interactive mode"
                .into(),
        )
        .into());
    }
    Ok(Some(text))
}

/// `interactive`: the REPL, which may ask about the project's `.mcp.json` servers.
async fn options(app: &App, args: &RunArgs, interactive: bool) -> anyhow::Result<AgentOptions> {
    let mut settings = app.settings.clone();
    project_servers(app, &mut settings, interactive).await;
    settings.apply_flags(SettingsLayer {
        model: args.model.as_ref().map(ToString::to_string),
        ..SettingsLayer::default()
    });
    let llm = LlmClient::from_settings(&settings).map_err(|e| anyhow::anyhow!(e))?;
    Ok(AgentOptions {
        project: app.project.clone(),
        settings: Arc::new(settings),
        llm,
        auto_approve_shell: args.yes,
        force: args.force,
        allow_other_project: args.allow_other_project,
    })
}

/// Add the project's approved `.mcp.json` servers; the REPL asks about undecided
/// ones, a one-shot run says once that they are not started.
async fn project_servers(app: &App, settings: &mut Settings, interactive: bool) {
    use super::project_servers::{self as servers, Standing};
    if !interactive {
        servers::without_asking(&app.paths, &app.project, settings, |note| {
            eprintln!("note: {note}");
        });
        return;
    }
    match servers::standing(&app.paths, &app.project) {
        Standing::Undecided(found) => {
            let Some(decision) = repl::ask_about_servers(&found).await else {
                return;
            };
            if let Err(e) = servers::decide(&app.paths, &app.project, &found, decision) {
                eprintln!("warning: {e}; the answer holds for this session only");
            }
            if decision == Decision::Approved {
                servers::merge(settings, &found);
            }
        }
        _ => servers::without_asking(&app.paths, &app.project, settings, |note| {
            eprintln!("note: {note}");
        }),
    }
}

/// The engine's errors keeping their exit codes (not found 3, usage 2, spending
/// limit 4, …): store and domain errors stay `cairn_core::Error` for `exit.rs`.
pub(crate) fn agent_error(error: AgentError) -> anyhow::Error {
    let code = error.exit_code();
    match error {
        AgentError::Core(core) => core.into(),
        other if code == 2 => UsageError(other.to_string()).into(),
        other => other.into(),
    }
}
