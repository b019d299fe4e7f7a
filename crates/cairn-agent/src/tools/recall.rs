//! The `recall` tool: the model reads this session's history again, including what
//! compaction replaced (history is lossless; the summary is not). A search returns
//! verbatim excerpts with seq, session and time; `recall(seq)` returns one event
//! whole, in parts when it is long. It reads the store, so the turn loop runs it.
//! The work is `cairn_app::recall`, which the MCP `recall` tool calls too.

use cairn_app::recall::{self, DEFAULT_RECALL_LIMIT, EVENT_BYTES, RecallScope};
use cairn_llm::ToolDef;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::ToolOutput;
use crate::AgentError;
use crate::agent::Agent;

pub const RECALL: &str = "recall";

pub fn definition() -> ToolDef {
    ToolDef::new(
        RECALL,
        "Search this session's whole history, including the parts replaced by a summary \
         when the context was compressed, and get the original words back verbatim with \
         their seq and time. Give `query` (words that must all occur); scope \"project\" \
         searches every session of this project. Give `seq` instead to read one event \
         whole (long ones come in parts: pass the `offset` the answer names).",
        super::schema_of::<Args>(),
    )
}

/// `recall`'s arguments; the tool's schema is derived from them.
#[derive(Deserialize, JsonSchema)]
struct Args {
    /// words to find; every word must occur
    #[serde(default)]
    query: Option<String>,
    /// read this one event whole instead of searching
    #[serde(default)]
    seq: Option<u64>,
    /// with seq: the byte to read on from, as a cut answer says
    #[serde(default)]
    offset: Option<u64>,
    /// default: session
    #[serde(default)]
    #[schemars(extend("enum" = ["session", "project"]))]
    scope: Option<String>,
    /// most hits to return, 1 to 50 (default 10)
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    limit: Option<u32>,
}

const EXPECTED: &str = "expected {\"query\": \"words\", \"limit\"?: 10, \"scope\"?: \"session\" | \
     \"project\"} or {\"seq\": N, \"offset\"?: BYTES}";

/// Run a `recall` call. Bad input and an unknown seq are error results the model
/// reads; only a store failure fails the turn.
pub(crate) async fn run(agent: &mut Agent, input: &Value) -> Result<ToolOutput, AgentError> {
    let args: Args = match super::parse_args(RECALL, input) {
        Ok(args) => args,
        Err(e) => return Ok(ToolOutput::error(format!("{e}; {EXPECTED}"))),
    };
    let session = agent.conversation.session().clone();
    let store = agent.store.clone();
    let query = args
        .query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty());
    match (query, args.seq) {
        (Some(_), Some(_)) => Ok(ToolOutput::error(format!(
            "give either `query` or `seq`, not both; {EXPECTED}"
        ))),
        (None, None) => Ok(ToolOutput::error(format!(
            "missing `query` (words to search for) or `seq` (an event to read); {EXPECTED}"
        ))),
        (None, Some(seq)) => {
            let offset = usize::try_from(args.offset.unwrap_or(0)).unwrap_or(usize::MAX);
            match recall::event(store.as_ref(), &session, seq, offset, EVENT_BYTES).await {
                Ok(found) => Ok(ToolOutput::ok(recall::render_event(&found))),
                Err(
                    e @ (cairn_core::Error::NotFound { .. } | cairn_core::Error::InvalidInput(_)),
                ) => Ok(ToolOutput::error(e.to_string())),
                Err(e) => Err(e.into()),
            }
        }
        (Some(query), None) => {
            if query.len() > cairn_app::inputs::MAX_QUERY_BYTES {
                return Ok(ToolOutput::error(format!(
                    "`query` is {} bytes; the limit is {} bytes",
                    query.len(),
                    cairn_app::inputs::MAX_QUERY_BYTES
                )));
            }
            let scope = match args.scope.as_deref() {
                None => RecallScope::Session,
                Some(raw) => match RecallScope::parse(raw) {
                    Some(scope) => scope,
                    None => {
                        return Ok(ToolOutput::error(format!(
                            "invalid scope {raw:?}; use \"session\" or \"project\""
                        )));
                    }
                },
            };
            let limit = args.limit.unwrap_or(DEFAULT_RECALL_LIMIT);
            let found = recall::search(store.as_ref(), &session, query, scope, limit).await?;
            Ok(ToolOutput::ok(recall::render_hits(&found)))
        }
    }
}
