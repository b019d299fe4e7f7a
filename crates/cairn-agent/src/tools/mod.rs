//! Built-in tools the model can call to read and change the project, one file each.
//! File tools are confined to the project root ([`confine`]); `shell` runs in it and
//! needs approval ([`shell_allowed`], asked by the turn loop).
//!
//! A tool never fails the turn: whatever goes wrong becomes an error result the model
//! reads (`is_error: true`) and can react to.

pub mod agents;
mod capped_output;
pub mod confine;
pub mod delegate;
mod edit_file;
mod list_files;
mod read_file;
pub mod recall;
pub mod remember;
mod search;
mod shell;
mod write_at;
mod write_file;

use std::path::Path;

use cairn_llm::ToolDef;
use schemars::generate::SchemaSettings;
use schemars::transform::{RecursiveTransform, Transform};
use schemars::{JsonSchema, Schema};
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

/// How long tool output is cut for the model: in core, so that the context
/// measure counts what requests carry.
pub use cairn_core::tool_output::{MODEL_OUTPUT_LIMIT, for_model};

/// What a tool returned.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolOutput {
    pub content: String,
    pub is_error: bool,
    /// What came besides the text (an MCP server's images, structured content),
    /// stored with the result.
    pub extra: Vec<ToolExtra>,
}

/// Part of a tool's result that is not its text.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolExtra {
    /// An image: stored as an attachment and shown to models that take images.
    Image { mime: String, bytes: Vec<u8> },
    /// Kept whole in the session and not sent to the model (its text says what
    /// it is); `type` names it.
    Kept(serde_json::Map<String, Value>),
}

impl ToolOutput {
    pub fn ok(content: impl Into<String>) -> Self {
        ToolOutput {
            content: content.into(),
            is_error: false,
            extra: Vec::new(),
        }
    }

    pub fn error(content: impl Into<String>) -> Self {
        ToolOutput {
            content: content.into(),
            is_error: true,
            extra: Vec::new(),
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

    /// The definitions sent to the model with every request; each schema is
    /// derived from the arguments type the call is parsed into.
    pub fn definitions() -> Vec<ToolDef> {
        vec![
            ToolDef::new(
                READ_FILE,
                "Read a text file of the project. Optionally only lines start_line..end_line \
                 (1-based, inclusive). Paths are relative to the project root.",
                schema_of::<read_file::Args>(),
            ),
            ToolDef::new(
                LIST_FILES,
                "List files of the project matching a glob (default: all), skipping what \
                 .gitignore ignores.",
                schema_of::<list_files::Args>(),
            ),
            ToolDef::new(
                SEARCH,
                "Search the project's text files for a regular expression (Rust regex \
                 syntax), skipping what .gitignore ignores. Returns path:line: text.",
                schema_of::<search::Args>(),
            ),
            ToolDef::new(
                WRITE_FILE,
                "Create or replace a file of the project with the given content (parent \
                 directories are created).",
                schema_of::<write_file::Args>(),
            ),
            ToolDef::new(
                EDIT_FILE,
                "Replace an exact string in a file. old_string must occur exactly once \
                 (include surrounding lines to make it unique) unless replace_all is true.",
                schema_of::<edit_file::Args>(),
            ),
            ToolDef::new(
                SHELL,
                "Run a shell command (sh -c) in the project root and return its exit code, \
                 stdout and stderr. The user may be asked to approve it.",
                schema_of::<shell::Args>(),
            ),
            remember::definition(),
            recall::definition(),
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
        .then(|| parse_args::<shell::Args>(SHELL, input).ok())
        .flatten()
        .map(|args| args.command)
}

fn parse<T: DeserializeOwned>(tool: &str, input: &Value) -> Result<T, String> {
    parse_args(tool, input).map_err(|e| format!("{e}; input was {input}"))
}

/// A call's input read into its arguments type, in one pass; a refusal names
/// the field (`invalid input for read_file: field `start_line`: …`).
pub(crate) fn parse_args<T: DeserializeOwned>(tool: &str, input: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("invalid input for {tool}: {}", e.inner())
        } else {
            format!("invalid input for {tool}: field `{path}`: {}", e.inner())
        }
    })
}

/// The JSON Schema of a tool's arguments type, as providers take it: every
/// subschema inline (no `$ref`/`$defs`), optional fields of their own type
/// (not `null`-able), no title, description or `$schema` at the root, and no
/// integer-width `format`
/// (`uint64` is not a JSON Schema format; the bounds are `minimum`/`maximum`).
pub(crate) fn schema_of<T: JsonSchema>() -> Value {
    let settings = SchemaSettings::draft07().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let mut schema = settings.into_generator().into_root_schema_for::<T>();
    // The tool's own description says what it does; the type's doc is for Rust.
    schema.remove("title");
    schema.remove("description");
    RecursiveTransform(plain).transform(&mut schema);
    schema.to_value()
}

/// An optional field is left out, not sent as `null`: `["string", "null"]` is
/// `"string"`. Integer widths go (see [`schema_of`]).
fn plain(schema: &mut Schema) {
    if let Some(Value::Array(types)) = schema.get("type")
        && types.len() == 2
        && types.contains(&json!("null"))
        && let Some(other) = types.iter().find(|t| *t != "null").cloned()
    {
        schema.insert("type".to_owned(), other);
    }
    let integer_width = schema
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| f.starts_with("int") || f.starts_with("uint"));
    if integer_width {
        schema.remove("format");
    }
}

async fn blocking(
    root: Root,
    work: impl FnOnce(Root) -> Result<String, String> + Send + 'static,
) -> Result<String, String> {
    tokio::task::spawn_blocking(move || work(root))
        .await
        .unwrap_or_else(|e| Err(format!("the tool stopped unexpectedly: {e}")))
}

/// Whether a file's first bytes look binary (a NUL byte).
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|b| *b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subschema, depth first.
    fn walk<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
        match value {
            Value::Object(map) => {
                out.push(value);
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }

    #[test]
    fn schemas_are_derived_inline_and_plain_for_providers() {
        let defs = Toolbox::definitions();
        assert_eq!(defs.len(), 9);
        for def in &defs {
            let schema = &def.input_schema;
            assert_eq!(schema["type"], "object", "{}: {schema}", def.name);
            assert!(
                schema.get("description").is_none(),
                "{}: {schema}",
                def.name
            );
            let mut all = Vec::new();
            walk(schema, &mut all);
            for sub in all {
                for key in ["$ref", "$defs", "$schema", "format", "title"] {
                    assert!(sub.get(key).is_none(), "{}: {key} in {schema}", def.name);
                }
                assert_ne!(
                    sub.get("type"),
                    Some(&json!(["string", "null"])),
                    "{}",
                    def.name
                );
            }
        }
        let read = &defs[0].input_schema;
        assert_eq!(read["required"], json!(["path"]));
        assert_eq!(
            read["properties"]["start_line"],
            json!({"type": "integer", "minimum": 1, "description": "first line to read (1-based)"})
        );
        let shell = defs.iter().find(|d| d.name == SHELL).unwrap();
        assert_eq!(
            shell.input_schema["properties"]["timeout_secs"]["maximum"],
            3600
        );
        let remember = defs.iter().find(|d| d.name == remember::REMEMBER).unwrap();
        assert_eq!(
            remember.input_schema["properties"]["kind"]["enum"],
            json!(["decision", "constraint", "preference", "fact"])
        );
        let delegate = defs.iter().find(|d| d.name == delegate::DELEGATE).unwrap();
        assert_eq!(delegate.input_schema["required"], json!(["task"]));
        assert_eq!(
            delegate.input_schema["properties"]["files"]["items"]["type"],
            "string"
        );
    }

    #[tokio::test]
    async fn a_bad_argument_is_refused_naming_its_field() {
        let tmp = tempfile::tempdir().unwrap();
        let tools = Toolbox::new(tmp.path()).unwrap();
        let out = tools
            .run(
                READ_FILE,
                &json!({"path": "a.rs", "start_line": "three"}),
                &CancellationToken::new(),
            )
            .await;
        assert!(out.is_error);
        assert!(
            out.content
                .starts_with("invalid input for read_file: field `start_line`: invalid type"),
            "{}",
            out.content
        );
        let out = tools
            .run(
                EDIT_FILE,
                &json!({"path": "a.rs"}),
                &CancellationToken::new(),
            )
            .await;
        assert!(
            out.content.contains("missing field `old_string`"),
            "{}",
            out.content
        );
        assert_eq!(
            shell_command(SHELL, &json!({"command": "ls -l"})).as_deref(),
            Some("ls -l")
        );
        assert_eq!(shell_command(SHELL, &json!({"command": 3})), None);
    }

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
