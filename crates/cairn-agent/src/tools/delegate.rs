//! The `delegate` tool: the model hands a self-contained task to a sub-agent with a
//! context of its own (see [`crate::subagent`], which runs it: it needs the store,
//! the face and the parent's spending, so the turn loop runs it, not
//! [`super::Toolbox`]).

use cairn_llm::ToolDef;
use schemars::JsonSchema;
use serde::Deserialize;

pub const DELEGATE: &str = "delegate";

/// Longest task (with its context) a sub-agent is given, in bytes.
pub const MAX_TASK_BYTES: usize = 64 * 1024;

/// Most files named as a starting point.
pub const MAX_FILES: usize = 50;

pub fn definition() -> ToolDef {
    ToolDef::new(
        DELEGATE,
        "Hand a self-contained task to a sub-agent and get its final answer back as this \
         tool's result. The sub-agent starts with a fresh context: it does NOT see this \
         conversation, only what you write in task, context and files. It has the same \
         tools in the same project. Use it for work that would fill \
         this context with detail: investigating a question across many files, reviewing \
         a module, a focused change. Say exactly what to do and what to report back.",
        super::schema_of::<Args>(),
    )
}

/// A `delegate` call's input.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub(crate) struct Args {
    /// what the sub-agent must do and what its answer must contain
    pub task: String,
    /// what it needs to know from this conversation (decisions, constraints, focus)
    #[serde(default)]
    pub context: Option<String>,
    /// paths (relative to the project root) to start from
    #[serde(default)]
    pub files: Vec<String>,
    /// provider:model for the sub-agent (default: this session's model)
    #[serde(default)]
    pub model: Option<String>,
}

impl Args {
    /// Parse and check the input of a call of tool `tool` (`delegate` or
    /// `agent_<name>`); the error is what the model reads, naming the tool.
    pub(crate) fn parse_as(tool: &str, input: &serde_json::Value) -> Result<Args, String> {
        let args: Args = super::parse_args(tool, input).map_err(|e| {
            format!(
                "{e}; expected {{\"task\": \"...\", \
                 \"context\": \"...\" (optional), \"files\": [\"path\", ...] (optional)}}"
            )
        })?;
        if args.task.trim().is_empty() {
            return Err(format!("{tool}: task is empty; describe the work to do"));
        }
        let size = args.task.len()
            + args.context.as_ref().map_or(0, String::len)
            + args.files.iter().map(String::len).sum::<usize>();
        if size > MAX_TASK_BYTES {
            return Err(format!(
                "{tool}: task, context and files take {size} bytes; the limit is \
                 {MAX_TASK_BYTES}. Name files for the sub-agent to read instead of pasting them"
            ));
        }
        if args.files.len() > MAX_FILES {
            return Err(format!(
                "{tool}: {} files named; at most {MAX_FILES}",
                args.files.len()
            ));
        }
        Ok(args)
    }

    /// The first message of the sub-agent's session.
    pub(crate) fn message(&self) -> String {
        let mut text = format!("Task:\n{}", self.task.trim());
        if let Some(context) = self.context.as_deref().map(str::trim)
            && !context.is_empty()
        {
            text.push_str("\n\nContext from the calling agent:\n");
            text.push_str(context);
        }
        let files: Vec<&str> = self
            .files
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .collect();
        if !files.is_empty() {
            text.push_str("\n\nFiles to start from:");
            for file in files {
                text.push_str("\n- ");
                text.push_str(file);
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_task_message_carries_task_context_and_files() {
        let args = Args::parse_as(
            DELEGATE,
            &json!({
                "task": " find the expiry ",
                "context": "JWT",
                "files": ["src/auth.rs", " "]
            }),
        )
        .unwrap();
        assert_eq!(
            args.message(),
            "Task:\nfind the expiry\n\nContext from the calling agent:\nJWT\n\n\
             Files to start from:\n- src/auth.rs"
        );
        assert!(
            Args::parse_as(DELEGATE, &json!({"task": "  "}))
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            Args::parse_as(DELEGATE, &json!({"files": []}))
                .unwrap_err()
                .contains("task")
        );
        let huge = "x".repeat(MAX_TASK_BYTES + 1);
        assert!(
            Args::parse_as(DELEGATE, &json!({ "task": huge }))
                .unwrap_err()
                .contains("limit")
        );
    }
}
