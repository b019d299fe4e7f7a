//! The `remember` tool: the model pins a decision, constraint, preference or fact to
//! every future context of the session, as the person does with `/remember`. It needs
//! the session's store, so the turn loop runs it (not [`super::Toolbox`]).

use cairn_core::knowledge::{checked_text, parse_kind};
use cairn_core::{KnowledgeItem, KnowledgeScope};
use cairn_llm::ToolDef;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::ToolOutput;
use crate::AgentError;
use crate::agent::Agent;
use crate::commands::knowledge::remember_item;

pub const REMEMBER: &str = "remember";

pub fn definition() -> ToolDef {
    ToolDef::new(
        REMEMBER,
        "Keep one durable item in every future context of this session, across context \
         compressions: a decision (with its reason), a constraint the work must respect, a \
         preference of the user, or a fact about the project. Use it for what must not be \
         forgotten, one statement per call; the user can list items with /knowledge. With \
         scope \"project\" the item belongs to the project: every new session of this \
         project starts with it (for lasting decisions and conventions of the code base).",
        super::schema_of::<Args>(),
    )
}

/// `remember`'s arguments; the tool's schema is derived from them.
#[derive(Deserialize, JsonSchema)]
struct Args {
    /// default: fact
    #[serde(default)]
    #[schemars(extend("enum" = ["decision", "constraint", "preference", "fact"]))]
    kind: Option<String>,
    /// one statement, at most 2000 characters
    text: String,
    /// default: session
    #[serde(default)]
    #[schemars(extend("enum" = ["session", "project"]))]
    scope: Option<String>,
}

/// Run a `remember` call. Bad input is an error result the model reads; only a store
/// failure fails the turn.
pub(crate) async fn run(agent: &mut Agent, input: &Value) -> Result<ToolOutput, AgentError> {
    let args: Args = match super::parse_args(REMEMBER, input) {
        Ok(args) => args,
        Err(e) => {
            return Ok(ToolOutput::error(format!(
                "{e}; expected {{\"kind\": \"decision\" | \
                 \"constraint\" | \"preference\" | \"fact\", \"text\": \"...\", \
                 \"scope\"?: \"session\" | \"project\"}}"
            )));
        }
    };
    let kind = match args.kind.as_deref() {
        None => cairn_core::KnowledgeKind::Fact,
        Some(raw) => match parse_kind(raw) {
            Some(kind) => kind,
            None => {
                return Ok(ToolOutput::error(format!(
                    "invalid kind {raw:?}; use decision, constraint, preference or fact"
                )));
            }
        },
    };
    let scope = match args.scope.as_deref().map(str::trim) {
        None | Some("session") => KnowledgeScope::Session,
        Some("project") => KnowledgeScope::Project,
        Some(raw) => {
            return Ok(ToolOutput::error(format!(
                "invalid scope {raw:?}; use \"session\" (the default) or \"project\""
            )));
        }
    };
    let text = match checked_text(&args.text) {
        Ok(text) => text,
        Err(e) => return Ok(ToolOutput::error(e.to_string())),
    };
    let item = KnowledgeItem {
        knowledge_kind: kind,
        text,
        pinned: true,
        scope,
        extra: Default::default(),
    };
    Ok(ToolOutput::ok(remember_item(agent, item).await?))
}
