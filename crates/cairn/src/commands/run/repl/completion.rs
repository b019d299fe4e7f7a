//! Tab completion in the REPL: slash command names (with their descriptions from the
//! engine's catalogue), then each command's argument: session names after
//! `/session `, filters after `/context `, model names after `/model `, file paths
//! after `/image ` and `/video `, `[[commands]]` names after `/run `. Ordinary
//! messages are never completed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cairn_agent::{ArgCompletion, COMMANDS, CommandSpec};
use reedline::{Completer, CompletionResult, Span, Suggestion};

/// The session names the completer offers; the REPL refreshes it after each turn
/// (sessions appear with `/new` and change with `/rename`).
pub(super) type SessionNames = Arc<Mutex<Vec<String>>>;

/// At most this many file names are listed for one path completion.
const MAX_PATHS: usize = 200;

pub(super) struct SlashCompleter {
    sessions: SessionNames,
    models: Vec<String>,
    /// `/run` commands (config `[[commands]]` and the shipped ones): name, description.
    run_commands: Vec<(String, String)>,
    /// Relative paths complete from here (the working directory).
    cwd: PathBuf,
}

impl SlashCompleter {
    pub(super) fn new(sessions: SessionNames, models: Vec<String>, cwd: PathBuf) -> Self {
        SlashCompleter {
            sessions,
            models,
            run_commands: Vec::new(),
            cwd,
        }
    }

    pub(super) fn with_run_commands(mut self, commands: Vec<(String, String)>) -> Self {
        self.run_commands = commands;
        self
    }

    /// What to offer for the text before the cursor.
    pub(super) fn suggestions(&self, line: &str, pos: usize) -> Vec<Suggestion> {
        let Some(before) = line.get(..pos) else {
            return Vec::new();
        };
        let Some(after_slash) = before.strip_prefix('/') else {
            return Vec::new();
        };
        match after_slash.find(char::is_whitespace) {
            None => command_names(after_slash, pos),
            Some(end) => {
                let Some(spec) = cairn_agent::commands::find(&after_slash[..end]) else {
                    return Vec::new();
                };
                let args = &before[1 + end..];
                let word_start = args
                    .rfind(char::is_whitespace)
                    .map(|i| 1 + end + i + 1)
                    .unwrap_or(1 + end);
                // Only the first argument completes (`/context large 100` needs no help).
                if before[1 + end..word_start].split_whitespace().count() > 0 {
                    return Vec::new();
                }
                let word = &before[word_start..];
                let span = Span::new(word_start, pos);
                self.argument(spec, word, span)
            }
        }
    }

    fn argument(&self, spec: &CommandSpec, word: &str, span: Span) -> Vec<Suggestion> {
        if spec.name == "run" {
            return self
                .run_commands
                .iter()
                .filter(|(name, _)| name.starts_with(word))
                .map(|(name, description)| Suggestion {
                    value: name.clone(),
                    description: (!description.is_empty()).then(|| description.clone()),
                    span,
                    append_whitespace: true,
                    ..Suggestion::default()
                })
                .collect();
        }
        match spec.completes {
            ArgCompletion::None => Vec::new(),
            ArgCompletion::SessionName => {
                let names = self
                    .sessions
                    .lock()
                    .map(|names| names.clone())
                    .unwrap_or_default();
                words(names.iter().map(String::as_str), word, span)
            }
            ArgCompletion::ModelName => words(self.models.iter().map(String::as_str), word, span),
            ArgCompletion::Choice(choices) => words(choices.iter().copied(), word, span),
            ArgCompletion::Path => paths(&self.cwd, word, span),
        }
    }
}

impl Completer for SlashCompleter {
    fn complete(&mut self, line: &str, pos: usize) -> CompletionResult {
        CompletionResult::fresh(self.suggestions(line, pos))
    }
}

fn command_names(prefix: &str, pos: usize) -> Vec<Suggestion> {
    COMMANDS
        .iter()
        .filter(|spec| spec.name.starts_with(prefix))
        .map(|spec| Suggestion {
            value: format!("/{}", spec.name),
            description: Some(if spec.args.is_empty() {
                spec.description.to_owned()
            } else {
                format!("{} — {}", spec.args, spec.description)
            }),
            span: Span::new(0, pos),
            append_whitespace: !spec.args.is_empty(),
            ..Suggestion::default()
        })
        .collect()
}

fn words<'a>(candidates: impl Iterator<Item = &'a str>, word: &str, span: Span) -> Vec<Suggestion> {
    candidates
        .filter(|candidate| candidate.starts_with(word))
        .map(|candidate| Suggestion {
            value: candidate.to_owned(),
            span,
            append_whitespace: true,
            ..Suggestion::default()
        })
        .collect()
}

/// Files and folders whose name starts with what follows the last `/` of `word`.
fn paths(cwd: &Path, word: &str, span: Span) -> Vec<Suggestion> {
    let (dir_part, name_prefix) = match word.rfind('/') {
        Some(i) => (&word[..=i], &word[i + 1..]),
        None => ("", word),
    };
    let dir = if dir_part.is_empty() {
        cwd.to_path_buf()
    } else if let Some(rest) = dir_part.strip_prefix("~/") {
        match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(rest),
            None => return Vec::new(),
        }
    } else {
        cwd.join(dir_part)
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, bool)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let hidden = name.starts_with('.') && !name_prefix.starts_with('.');
            if hidden || !name.starts_with(name_prefix) {
                return None;
            }
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            Some((name, is_dir))
        })
        .take(MAX_PATHS)
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|(name, is_dir)| Suggestion {
            value: format!("{dir_part}{name}{}", if is_dir { "/" } else { "" }),
            span,
            // A folder is a step on the way: keep completing inside it.
            append_whitespace: !is_dir,
            ..Suggestion::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completer(dir: &Path) -> SlashCompleter {
        let sessions: SessionNames = Arc::new(Mutex::new(vec![
            "auth-refactor".to_owned(),
            "auth-tests".to_owned(),
            "billing".to_owned(),
        ]));
        SlashCompleter::new(
            sessions,
            vec![
                "openai:gpt-4.1".to_owned(),
                "anthropic:claude-sonnet-4-5".to_owned(),
            ],
            dir.to_path_buf(),
        )
    }

    fn values(suggestions: &[Suggestion]) -> Vec<&str> {
        suggestions.iter().map(|s| s.value.as_str()).collect()
    }

    #[test]
    fn a_slash_lists_every_command_with_its_description() {
        let dir = tempfile::tempdir().unwrap();
        let all = completer(dir.path()).suggestions("/", 1);
        assert_eq!(all.len(), COMMANDS.len());
        let session = all.iter().find(|s| s.value == "/session").unwrap();
        assert!(
            session
                .description
                .as_deref()
                .unwrap()
                .starts_with("NAME — switch")
        );
        assert!(session.append_whitespace);
        let exit = all.iter().find(|s| s.value == "/exit").unwrap();
        assert!(!exit.append_whitespace, "no argument, no space");
    }

    #[test]
    fn command_prefix_narrows() {
        let dir = tempfile::tempdir().unwrap();
        let found = completer(dir.path()).suggestions("/se", 3);
        assert_eq!(values(&found), ["/session"]);
        assert_eq!(found[0].span, Span::new(0, 3));
    }

    #[test]
    fn session_names_after_session() {
        let dir = tempfile::tempdir().unwrap();
        let c = completer(dir.path());
        let found = c.suggestions("/session au", 11);
        assert_eq!(values(&found), ["auth-refactor", "auth-tests"]);
        assert_eq!(found[0].span, Span::new(9, 11));
        assert_eq!(c.suggestions("/session ", 9).len(), 3);
        // The list is shared: a refresh shows at once.
        c.sessions.lock().unwrap().push("auth-new".to_owned());
        assert_eq!(c.suggestions("/session auth-n", 15).len(), 1);
    }

    #[test]
    fn context_filters_and_models() {
        let dir = tempfile::tempdir().unwrap();
        let c = completer(dir.path());
        assert_eq!(
            values(&c.suggestions("/context a", 10)),
            ["all", "assistant"]
        );
        assert_eq!(
            values(&c.suggestions("/model anth", 11)),
            ["anthropic:claude-sonnet-4-5"]
        );
        // Only the first argument completes.
        assert!(c.suggestions("/context large 1", 16).is_empty());
    }

    #[test]
    fn run_completes_command_names_with_descriptions() {
        let dir = tempfile::tempdir().unwrap();
        assert!(cairn_agent::commands::find("run").is_some());
        let c = completer(dir.path()).with_run_commands(vec![
            (
                "reduce".to_owned(),
                "rewrite the context as a brief".to_owned(),
            ),
            ("review".to_owned(), String::new()),
            ("tests".to_owned(), "write tests".to_owned()),
        ]);
        let found = c.suggestions("/run re", 7);
        assert_eq!(values(&found), ["reduce", "review"]);
        assert_eq!(
            found[0].description.as_deref(),
            Some("rewrite the context as a brief")
        );
        assert_eq!(found[1].description, None);
        assert_eq!(found[0].span, Span::new(5, 7));
    }

    #[test]
    fn paths_after_image() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("shots")).unwrap();
        std::fs::write(dir.path().join("shots/one.png"), b"x").unwrap();
        std::fs::write(dir.path().join("shot.png"), b"x").unwrap();
        std::fs::write(dir.path().join(".hidden.png"), b"x").unwrap();
        let c = completer(dir.path());
        let found = c.suggestions("/image sho", 10);
        assert_eq!(values(&found), ["shot.png", "shots/"]);
        assert!(found[0].append_whitespace);
        assert!(!found[1].append_whitespace);
        assert_eq!(
            values(&c.suggestions("/image shots/", 13)),
            ["shots/one.png"]
        );
        assert!(
            c.suggestions("/image ", 7)
                .iter()
                .all(|s| !s.value.starts_with('.'))
        );
    }

    #[test]
    fn messages_and_unknown_commands_do_not_complete() {
        let dir = tempfile::tempdir().unwrap();
        let c = completer(dir.path());
        assert!(c.suggestions("hello /se", 9).is_empty());
        assert!(c.suggestions("/nope x", 7).is_empty());
        assert!(c.suggestions("/list 2", 7).is_empty());
    }
}
