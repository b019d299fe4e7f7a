//! The interactive `cairn run`: a line editor (reedline) feeding the chat engine,
//! the engine's events printed by [`frontend::TerminalFrontend`].
//!
//! - History is per project, in `history_dir()/<hash of the project path>`, never
//!   derived from a session name (names can be anything a person types).
//! - Bracketed paste keeps a multi-line paste in one message; Alt+Enter adds a line.
//! - Tab completes slash commands and their arguments ([`completion`]).
//! - Ctrl+C at the prompt clears the line; during an answer it interrupts the turn
//!   (the engine keeps the partial answer, marked interrupted); a second Ctrl+C in
//!   the same turn leaves at once (everything acknowledged is already stored).
//! - Ctrl+D on an empty line and `/exit` leave cleanly, releasing the session.
//! - When stdin, stdout or stderr is not a terminal there is no line editor: the
//!   prompt goes to stderr (when it is a terminal), lines are read plainly from
//!   stdin, and stdout gets plain text only: no spinner, no escape code.

mod approve_servers;
mod completion;
mod frontend;
mod picker;
mod prompt;
mod render;
mod spinner;
mod tool_summary;

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cairn_agent::{Agent, AgentOptions, Outcome, SessionTarget};
use cairn_core::{Project, SessionFilter, SessionName, Store};
use reedline::{
    ColumnarMenu, Emacs, FileBackedHistory, KeyCode, KeyModifiers, MenuBuilder, Reedline,
    ReedlineEvent, ReedlineMenu, Signal, default_emacs_keybindings,
};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use self::completion::{SessionNames, SlashCompleter};
use self::frontend::{AnswerSource, TerminalFrontend};
use self::prompt::SessionPrompt;
use super::agent_error;
use crate::app::App;
use crate::exit::UsageError;
use crate::output::Style;

/// Lines kept in a project's history file.
const HISTORY_CAPACITY: usize = 10_000;
/// Session names offered by `/session <Tab>`.
const COMPLETION_SESSIONS: u32 = 200;

/// Ask about the project's undecided `.mcp.json` servers (`None`: not this time).
pub(super) async fn ask_about_servers(
    servers: &cairn_core::project_mcp::ProjectServers,
) -> Option<cairn_core::mcp_approvals::Decision> {
    approve_servers::ask(Style::detect(), servers).await
}

/// Run the REPL on `target` until `/exit`, Ctrl+D or end of input.
pub(super) async fn run(
    app: &App,
    options: AgentOptions,
    target: SessionTarget,
) -> anyhow::Result<()> {
    let look = Style::detect();
    // The line editor needs all three: it draws on stderr, but it switches
    // bracketed paste and asks for the cursor position through stdout.
    let editing =
        io::stdin().is_terminal() && io::stdout().is_terminal() && io::stderr().is_terminal();
    let answers = if io::stdin().is_terminal() {
        AnswerSource::Keys
    } else {
        AnswerSource::Lines
    };
    let mut ui = TerminalFrontend::new(look, answers);
    let store = app.store().await?;
    let project = options.project.clone();
    let mut agent = Agent::open(Arc::clone(&store), options, target, &mut ui)
        .await
        .map_err(agent_error)?;

    let sessions: SessionNames = Arc::new(Mutex::new(Vec::new()));
    let mut prompt = SessionPrompt::new(agent.session().name.as_str(), &agent.model().to_string());
    let mut input = if editing {
        let history = history_file(&app.paths.history_dir(), &project);
        let models = model_names(app, &agent.model().to_string());
        let completer = SlashCompleter::new(Arc::clone(&sessions), models, current_dir(&project))
            .with_run_commands(run_commands(app));
        match line_editor(&history, completer, look.color) {
            Ok(editor) => Input::Editor(Box::new(editor)),
            Err(e) => {
                // A broken history file must not keep anyone from working.
                ui.error(&format!(
                    "cannot use the history file {}: {e}; history is off for this run",
                    history.display()
                ));
                let completer = SlashCompleter::new(
                    Arc::clone(&sessions),
                    model_names(app, &agent.model().to_string()),
                    current_dir(&project),
                )
                .with_run_commands(run_commands(app));
                Input::Editor(Box::new(editor_without_history(completer, look.color)))
            }
        }
    } else {
        Input::Plain
    };

    let turn = TurnSlot::default();
    let watcher = tokio::spawn(watch_ctrl_c(turn.clone(), prompt.plain()));
    loop {
        refresh_session_names(store.as_ref(), &project, &sessions).await;
        prompt.update(agent.session().name.as_str(), &agent.model().to_string());
        turn.set_prompt(prompt.plain());
        let line = match input.read(&prompt).await {
            Ok(Line::Text(line)) => line,
            Ok(Line::Cleared) => continue,
            Ok(Line::End) => break,
            // The terminal is gone or unusable: leave the way Ctrl+D does.
            Err(e) => {
                ui.error(&format!("cannot read the next line: {e}"));
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let cancel = CancellationToken::new();
        ui.set_cancel(Some(cancel.clone()));
        turn.begin(cancel.clone());
        let outcome = agent.submit(&line, &mut ui, &cancel).await;
        turn.end();
        ui.set_cancel(None);
        match outcome {
            Ok(Outcome::Exit) => break,
            Ok(_) => {}
            // The session stays open: say what went wrong and take the next line.
            Err(e) => ui.error(&e.to_string()),
        }
    }

    watcher.abort();
    let name = agent.session().name.clone();
    drop(input); // writes the history file
    agent.close().await.map_err(agent_error)?;
    ui.note(&format!(
        "Session {name} is saved. Resume it with: cairn run --resume {name}"
    ));
    Ok(())
}

/// `cairn run --resume` without a name: choose one of this project's sessions.
/// `Ok(None)` when the person chose none.
pub(super) async fn pick_session(app: &App) -> anyhow::Result<Option<SessionName>> {
    if !(io::stdin().is_terminal() && io::stderr().is_terminal()) {
        return Err(UsageError(
            "`--resume` without a name needs a terminal to choose from; name the session: \
             --resume NAME (see `cairn sessions list`)"
                .to_owned(),
        )
        .into());
    }
    let store = app.store().await?;
    let look = Style::detect();
    picker::pick_session(store.as_ref(), &app.project, look.color_stderr).await
}

/// Where a project's REPL history lives: named by a hash of the project path, so
/// two projects never share one and no typed name becomes a path.
pub(super) fn history_file(history_dir: &Path, project: &Project) -> PathBuf {
    let digest = Sha256::digest(project.as_str().as_bytes());
    history_dir.join(format!("{}.history", hex::encode(&digest[..16])))
}

/// The turn in progress (if any), for the Ctrl+C watcher.
#[derive(Clone, Default)]
struct TurnSlot(Arc<Mutex<TurnState>>);

#[derive(Default)]
struct TurnState {
    running: Option<CancellationToken>,
    /// Reprinted after Ctrl+C at a plain (non-editor) prompt.
    prompt: String,
}

impl TurnSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, TurnState> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn begin(&self, cancel: CancellationToken) {
        self.lock().running = Some(cancel);
    }

    fn end(&self) {
        self.lock().running = None;
    }

    fn set_prompt(&self, prompt: String) {
        self.lock().prompt = prompt;
    }
}

/// Ctrl+C for the whole REPL. During a turn the first one interrupts it and a second
/// one leaves at once (everything acknowledged is already stored). At the line
/// editor's prompt the terminal is raw and Ctrl+C is a key, not a signal; at a plain
/// prompt the terminal drops the typed line and the prompt is shown again.
async fn watch_ctrl_c(turn: TurnSlot, prompt: String) {
    turn.set_prompt(prompt);
    while tokio::signal::ctrl_c().await.is_ok() {
        let state = turn.lock();
        match &state.running {
            Some(cancel) if cancel.is_cancelled() => {
                let mut err = io::stderr().lock();
                let _ = writeln!(err, "\nInterrupted twice: leaving. The session is saved.");
                std::process::exit(130);
            }
            Some(cancel) => cancel.cancel(),
            None => {
                if io::stderr().is_terminal() {
                    let mut err = io::stderr().lock();
                    let _ = write!(err, "\n{}", state.prompt);
                    let _ = err.flush();
                }
            }
        }
    }
}

async fn refresh_session_names(store: &dyn Store, project: &Project, names: &SessionNames) {
    let filter = SessionFilter {
        project: Some(project.clone()),
        limit: COMPLETION_SESSIONS,
        offset: 0,
    };
    // Completion is a convenience: a failed listing leaves the old names.
    if let Ok(sessions) = store.list_sessions(&filter).await
        && let Ok(mut names) = names.lock()
    {
        *names = sessions.iter().map(|s| s.name.to_string()).collect();
    }
}

/// Models `/model <Tab>` offers: the current one, the configured one and every
/// model with a price (built in or from config).
fn model_names(app: &App, current: &str) -> Vec<String> {
    let prices = cairn_llm::PriceTable::with_overrides(&app.settings.pricing);
    let mut models = vec![current.to_owned()];
    models.extend(app.settings.model.iter().cloned());
    models.extend(
        prices
            .models()
            .filter(|m| m.contains(':'))
            .map(str::to_owned),
    );
    models.sort();
    models.dedup();
    models
}

/// `/run <Tab>`: the configured `[[commands]]` and the shipped ones.
fn run_commands(app: &App) -> Vec<(String, String)> {
    cairn_agent::run_commands::commands_with_defaults(&app.settings.commands)
        .into_iter()
        .map(|c| (c.name, c.description))
        .collect()
}

fn current_dir(project: &Project) -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| project.path().to_path_buf())
}

fn line_editor(history: &Path, completer: SlashCompleter, color: bool) -> anyhow::Result<Reedline> {
    prepare_history_file(history)?;
    let history = FileBackedHistory::with_file(HISTORY_CAPACITY, history.to_path_buf())?;
    Ok(editor_without_history(completer, color).with_history(Box::new(history)))
}

fn editor_without_history(completer: SlashCompleter, color: bool) -> Reedline {
    let mut keys = default_emacs_keybindings();
    keys.add_binding(
        KeyModifiers::NONE,
        KeyCode::Tab,
        ReedlineEvent::UntilFound(vec![
            ReedlineEvent::Menu("completion_menu".to_owned()),
            ReedlineEvent::MenuNext,
        ]),
    );
    keys.add_binding(
        KeyModifiers::ALT,
        KeyCode::Enter,
        ReedlineEvent::Edit(vec![reedline::EditCommand::InsertNewline]),
    );
    let menu = ColumnarMenu::default().with_name("completion_menu");
    Reedline::create()
        .with_edit_mode(Box::new(Emacs::new(keys)))
        .with_completer(Box::new(completer))
        .with_menu(ReedlineMenu::EngineCompleter(Box::new(menu)))
        .with_quick_completions(true)
        .with_partial_completions(true)
        .use_bracketed_paste(true)
        .with_ansi_colors(color)
}

/// The history holds what a person typed: private to the user, like the store.
fn prepare_history_file(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?;
    Ok(())
}

enum Input {
    Editor(Box<Reedline>),
    /// No terminal to edit on: one line of stdin at a time.
    Plain,
}

enum Line {
    Text(String),
    /// Ctrl+C at the prompt: the line was dropped.
    Cleared,
    /// Ctrl+D, or end of input.
    End,
}

impl Input {
    async fn read(&mut self, prompt: &SessionPrompt) -> anyhow::Result<Line> {
        match self {
            Input::Editor(editor) => {
                // The editor owns the terminal until a line is done; the runtime's
                // other thread keeps the engine's background work (lease heartbeat) going.
                let signal = tokio::task::block_in_place(|| editor.read_line(prompt))?;
                // Saved now, so a killed process keeps what was typed.
                let _ = editor.sync_history();
                Ok(match signal {
                    Signal::Success(line) => Line::Text(line),
                    Signal::CtrlC => Line::Cleared,
                    Signal::CtrlD => Line::End,
                    Signal::HostCommand(line) | Signal::ExternalBreak(line) => Line::Text(line),
                    // Signals added by later reedline versions: treat as a dropped line.
                    _ => Line::Cleared,
                })
            }
            Input::Plain => {
                if io::stderr().is_terminal() {
                    let mut err = io::stderr().lock();
                    let _ = write!(err, "{}", prompt.plain());
                    let _ = err.flush();
                }
                let line = tokio::task::spawn_blocking(|| {
                    let mut line = String::new();
                    io::stdin().lock().read_line(&mut line).map(|_| line)
                })
                .await??;
                if line.is_empty() {
                    // Ctrl+D echoes nothing: end the prompt's line.
                    if io::stderr().is_terminal() {
                        let _ = writeln!(io::stderr());
                    }
                    return Ok(Line::End);
                }
                Ok(Line::Text(line.trim_end_matches(['\n', '\r']).to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_per_project_and_never_a_name() {
        let dir = Path::new("/tmp/history");
        let a = history_file(dir, &Project::from_stored("/work/a/api"));
        let b = history_file(dir, &Project::from_stored("/work/b/api"));
        assert_ne!(a, b, "two folders called api are two projects");
        assert_eq!(a, history_file(dir, &Project::from_stored("/work/a/api")));
        let file = a.file_name().unwrap().to_str().unwrap();
        assert!(
            file.ends_with(".history") && !file.contains("api"),
            "{file}"
        );
        assert_eq!(a.parent(), Some(dir));
    }

    #[test]
    fn history_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history").join("x.history");
        prepare_history_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
    }
}
