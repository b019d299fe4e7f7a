//! Named agents as tools: each `[[agents]]` entry (and the built-in
//! `context_gatherer`) is offered to the model as `agent_<name>(task, context?,
//! files?)`. A call runs like `delegate` (see [`crate::subagent`]) with the agent's
//! own system prompt, model, tools and limits.

use cairn_core::agent_def::AgentDef;
use cairn_core::settings::Settings;
use cairn_llm::ToolDef;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{LIST_FILES, READ_FILE, SEARCH};

/// Tool names of named agents start with this.
pub const AGENT_TOOL_PREFIX: &str = "agent_";

/// The agent that ships with cairn: it reads, never writes.
pub const CONTEXT_GATHERER: &str = "context_gatherer";

/// The built-in agents; a configured agent of the same name replaces one.
pub fn built_in() -> Vec<AgentDef> {
    vec![AgentDef {
        name: CONTEXT_GATHERER.to_owned(),
        description: "Reads the code base and reports what is relevant to a task (files, \
                      functions, line numbers, how things connect). Read-only: it never \
                      changes files or runs commands."
            .to_owned(),
        model: None,
        system: Some(
            "You gather context. Read files, list and search them; never edit them. Report \
             what is relevant to the task: the files and symbols involved with paths and \
             line numbers, how they connect, and what is missing or surprising. Quote only \
             the lines that matter."
                .to_owned(),
        ),
        tools: Some(vec![
            READ_FILE.to_owned(),
            LIST_FILES.to_owned(),
            SEARCH.to_owned(),
        ]),
        max_turns: Some(30),
        max_spending: None,
    }]
}

/// Every agent the model can call: the built-in ones, then the configured ones.
pub fn all(settings: &Settings) -> Vec<AgentDef> {
    let mut agents: Vec<AgentDef> = built_in()
        .into_iter()
        .filter(|b| !settings.agents.iter().any(|a| a.name == b.name))
        .collect();
    agents.extend(settings.agents.iter().cloned());
    agents
}

/// The agent tool `name` calls, if it names one.
pub fn find(settings: &Settings, tool: &str) -> Option<AgentDef> {
    let name = tool.strip_prefix(AGENT_TOOL_PREFIX)?;
    all(settings).into_iter().find(|a| a.name == name)
}

pub fn tool_name(agent: &AgentDef) -> String {
    format!("{AGENT_TOOL_PREFIX}{}", agent.name)
}

/// An agent tool's input: what `delegate` takes but the model (the agent has one).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[allow(dead_code)] // read through delegate::Args; this type gives the schema
struct Args {
    /// what the agent must do and what its answer must contain
    task: String,
    /// what it needs to know from this conversation (decisions, constraints, focus)
    #[serde(default)]
    context: Option<String>,
    /// paths (relative to the project root) to start from
    #[serde(default)]
    files: Vec<String>,
}

pub fn definition(agent: &AgentDef) -> ToolDef {
    let about = if agent.description.trim().is_empty() {
        format!("The {} agent.", agent.name)
    } else {
        agent.description.trim().to_owned()
    };
    ToolDef::new(
        tool_name(agent),
        format!(
            "{about} Runs as a sub-agent with a fresh context: it sees only task, context \
             and files, and its final answer is this tool's result. Several agent or \
             delegate calls in one answer run at the same time."
        ),
        super::schema_of::<Args>(),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use cairn_core::paths::Paths;

    use super::*;

    #[test]
    fn the_context_gatherer_ships_and_a_configured_agent_replaces_it() {
        let mut settings = Settings::defaults(Paths::at(Path::new("/tmp")));
        let gatherer = find(&settings, "agent_context_gatherer").unwrap();
        assert_eq!(
            gatherer.tools.as_deref().unwrap(),
            ["read_file", "list_files", "search"]
        );
        let def = definition(&gatherer);
        assert_eq!(def.name, "agent_context_gatherer");
        assert_eq!(def.input_schema["required"], serde_json::json!(["task"]));
        assert!(def.input_schema["properties"].get("model").is_none());
        let mut mine = gatherer.clone();
        mine.system = Some("mine".into());
        settings.agents.push(mine);
        assert_eq!(all(&settings).len(), 1);
        assert_eq!(
            find(&settings, "agent_context_gatherer")
                .unwrap()
                .system
                .as_deref(),
            Some("mine")
        );
        assert!(find(&settings, "context_gatherer").is_none());
        assert!(find(&settings, "agent_nobody").is_none());
    }
}
