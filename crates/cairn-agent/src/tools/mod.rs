//! Built-in tools the model can call to read and change the project, one file each.
//! File tools are confined to the project root ([`confine`]); `shell` runs in it and
//! needs approval ([`shell_allowed`], asked by the turn loop).
//!
//! A tool never fails the turn: whatever goes wrong becomes an error result the model
//! reads (`is_error: true`) and can react to.

mod capped_output;
pub mod confine;
pub mod delegate;
mod edit_file;
mod list_files;
mod read_file;
pub mod remember;
mod search;
mod shell;
mod write_at;
mod write_file;

use std::borrow::Cow;
use std::path::Path;

use cairn_llm::ToolDef;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use confine::Root;

pub use shell::shell_allowed;

pub const READ_FILE: &str = "read_file";
pub const LIST_FILES: &str = "list_files";
pub const SEARCH: &str = "search";
pub const WRITE_FILE: &str = "write_file";
pub const EDIT_FILE: &str = "edit_file";
pub const SHELL: &str = "shell";

/// Tool output longer than this (bytes) is cut for the model, keeping the head and
/// the tail, with a note; the session keeps the whole output.
pub const MODEL_OUTPUT_LIMIT: usize = 32 * 1024;

/// What a tool returned.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolOutput {
    pub content: String,
    pub is_error: bool,
}

impl ToolOutput {
    pub fn ok(content: impl Into<String>) -> Self {
        ToolOutput {
            content: content.into(),
            is_error: false,
        }
    }

    pub fn error(content: impl Into<String>) -> Self {
        ToolOutput {
            content: content.into(),
            is_error: true,
        }
    }
}

/// The built-in tools, bound to one project root.
#[derive(Clone, Debug)]
pub struct Toolbox {
    root: Root,
}

impl Toolbox {
    pub fn new(project_root: &Path) -> Result<Self, String> {
        Ok(Toolbox {
            root: Root::new(project_root)?,
        })
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The definitions sent to the model with every request.
    pub fn definitions() -> Vec<ToolDef> {
        vec![
            ToolDef::new(
                READ_FILE,
                "Read a text file of the project. Optionally only lines start_line..end_line \
                 (1-based, inclusive). Paths are relative to the project root.",
                json!({
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "file path relative to the project root"},
                        "start_line": {"type": "integer", "minimum": 1},
                        "end_line": {"type": "integer", "minimum": 1}
                    },
                    "required": ["path"]
                }),
            ),
            ToolDef::new(
                LIST_FILES,
                "List files of the project matching a glob (default: all), skipping what \
                 .gitignore ignores.",
                json!({
                    "type": "object",
                    "properties": {
                        "pattern": {"type": "string", "description": "glob such as **/*.rs (default **/*)"},
                        "path": {"type": "string", "description": "directory to list, relative to the project root (default .)"}
                    }
                }),
            ),
            ToolDef::new(
                SEARCH,
                "Search the project's text files for a regular expression (Rust regex \
                 syntax), skipping what .gitignore ignores. Returns path:line: text.",
                json!({
                    "type": "object",
                    "properties": {
                        "pattern": {"type": "string", "description": "regular expression"},
                        "path": {"type": "string", "description": "directory or file to search (default .)"},
                        "glob": {"type": "string", "description": "only files matching this glob, e.g. *.rs"},
                        "case_insensitive": {"type": "boolean"}
                    },
                    "required": ["pattern"]
                }),
            ),
            ToolDef::new(
                WRITE_FILE,
                "Create or replace a file of the project with the given content (parent \
                 directories are created).",
                json!({
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "content": {"type": "string"}
                    },
                    "required": ["path", "content"]
                }),
            ),
            ToolDef::new(
                EDIT_FILE,
                "Replace an exact string in a file. old_string must occur exactly once \
                 (include surrounding lines to make it unique) unless replace_all is true.",
                json!({
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "old_string": {"type": "string"},
                        "new_string": {"type": "string"},
                        "replace_all": {"type": "boolean"}
                    },
                    "required": ["path", "old_string", "new_string"]
                }),
            ),
            ToolDef::new(
                SHELL,
                "Run a shell command (sh -c) in the project root and return its exit code, \
                 stdout and stderr. The user may be asked to approve it.",
                json!({
                    "type": "object",
                    "properties": {
                        "command": {"type": "string"},
                        "timeout_secs": {"type": "integer", "minimum": 1, "maximum": 3600}
                    },
                    "required": ["command"]
                }),
            ),
            remember::definition(),
            delegate::definition(),
        ]
    }

    /// Run tool `name`. Approval of `shell` is the caller's business (see
    /// [`shell_allowed`]); this runs what it is given. Cancelling stops a running
    /// shell command.
    pub async fn run(&self, name: &str, input: &Value, cancel: &CancellationToken) -> ToolOutput {
        let result = match name {
            READ_FILE => match parse(name, input) {
                Ok(args) => read_file::run(&self.root, args),
                Err(e) => Err(e),
            },
            LIST_FILES => match parse(name, input) {
                Ok(args) => {
                    blocking(self.root.clone(), move |root| list_files::run(&root, args)).await
                }
                Err(e) => Err(e),
            },
            SEARCH => match parse(name, input) {
                Ok(args) => blocking(self.root.clone(), move |root| search::run(&root, args)).await,
                Err(e) => Err(e),
            },
            WRITE_FILE => match parse(name, input) {
                Ok(args) => write_file::run(&self.root, args),
                Err(e) => Err(e),
            },
            EDIT_FILE => match parse(name, input) {
                Ok(args) => edit_file::run(&self.root, args),
                Err(e) => Err(e),
            },
            SHELL => match parse(name, input) {
                Ok(args) => shell::run(&self.root, args, cancel).await,
                Err(e) => Err(e),
            },
            other => Err(format!(
                "unknown tool {other:?}; the tools are {READ_FILE}, {LIST_FILES}, {SEARCH}, \
                 {WRITE_FILE}, {EDIT_FILE}, {SHELL}"
            )),
        };
        match result {
            Ok(content) => ToolOutput::ok(content),
            Err(message) => ToolOutput::error(message),
        }
    }
}

/// The shell command of a `shell` tool call, if that is what it is.
pub fn shell_command(name: &str, input: &Value) -> Option<String> {
    (name == SHELL)
        .then(|| {
            input
                .get("command")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .flatten()
}

fn parse<T: DeserializeOwned>(tool: &str, input: &Value) -> Result<T, String> {
    serde_json::from_value(input.clone())
        .map_err(|e| format!("invalid input for {tool}: {e}; input was {input}"))
}

async fn blocking(
    root: Root,
    work: impl FnOnce(Root) -> Result<String, String> + Send + 'static,
) -> Result<String, String> {
    tokio::task::spawn_blocking(move || work(root))
        .await
        .unwrap_or_else(|e| Err(format!("the tool stopped unexpectedly: {e}")))
}

/// `content` as the model receives it: whole when short, otherwise the head and the
/// tail around a note saying how much was left out. Deterministic, so a resumed
/// session sends the same prompt (and hits the provider's prompt cache).
pub fn for_model(content: &str) -> Cow<'_, str> {
    if content.len() <= MODEL_OUTPUT_LIMIT {
        return Cow::Borrowed(content);
    }
    let head_end = floor_char_boundary(content, MODEL_OUTPUT_LIMIT * 3 / 4);
    let tail_start = ceil_char_boundary(content, content.len() - MODEL_OUTPUT_LIMIT / 4);
    let omitted = tail_start - head_end;
    Cow::Owned(format!(
        "{}\n\n[cairn: {omitted} of {} bytes of this output are left out here; the whole \
         output is stored in the session. Ask for a narrower range or filter if you need \
         the middle.]\n\n{}",
        &content[..head_end],
        content.len(),
        &content[tail_start..]
    ))
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Whether a file's first bytes look binary (a NUL byte).
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|b| *b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_keeps_head_and_tail_with_a_note() {
        let text: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        let cut = for_model(&text);
        assert!(cut.len() < MODEL_OUTPUT_LIMIT + 400);
        assert!(cut.starts_with("line 0\n"));
        assert!(cut.ends_with("line 19999\n"));
        assert!(cut.contains("left out"));
        assert_eq!(for_model("short"), "short");
        let wide = "é".repeat(40_000);
        assert!(for_model(&wide).contains("left out"));
    }
}
