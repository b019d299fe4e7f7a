//! Which tools an agent is offered: the built-in ones, `delegate` and the named
//! agents while the depth allows another level of sub-agents, narrowed to a named
//! agent's `tools` when it is one. A call to a tool that was not offered is refused.

use cairn_llm::ToolDef;

use crate::agent::Agent;
use crate::tools::Toolbox;
use crate::tools::agents::{self, AGENT_TOOL_PREFIX};
use crate::tools::delegate::DELEGATE;

/// Whether `tool` hands work to a sub-agent (`delegate` or `agent_<name>`).
pub(crate) fn is_subagent_tool(tool: &str) -> bool {
    tool == DELEGATE || tool.starts_with(AGENT_TOOL_PREFIX)
}

/// Whether this agent may start sub-agents (the depth allows one more level).
pub(crate) fn may_delegate(agent: &Agent) -> bool {
    agent.depth < agent.options.settings.delegation.max_depth
}

/// The tool definitions sent with this agent's requests.
pub(crate) fn offered(agent: &Agent) -> Vec<ToolDef> {
    let mut tools: Vec<ToolDef> = Toolbox::definitions()
        .into_iter()
        .filter(|t| t.name != DELEGATE || may_delegate(agent))
        .collect();
    tools.extend(agent.mcp.tool_defs());
    if may_delegate(agent) {
        tools.extend(
            agents::all(&agent.options.settings)
                .iter()
                .map(agents::definition),
        );
    }
    match agent.role.as_ref().and_then(|r| r.tools.as_ref()) {
        Some(allowed) => tools
            .into_iter()
            .filter(|t| allowed.iter().any(|a| a.trim() == t.name))
            .collect(),
        None => tools,
    }
}

/// `None` when this agent was offered `tool`; otherwise what the model reads.
pub(crate) fn refusal(agent: &Agent, tool: &str) -> Option<String> {
    let offered = offered(agent);
    if offered.iter().any(|t| t.name == tool) {
        return None;
    }
    // A server that stopped is started again by the call: its tools stay callable.
    let role_allows = agent
        .role
        .as_ref()
        .and_then(|r| r.tools.as_ref())
        .is_none_or(|allowed| allowed.iter().any(|a| a.trim() == tool));
    if role_allows && agent.mcp.configured(tool) {
        return None;
    }
    let names: Vec<&str> = offered.iter().map(|t| t.name.as_str()).collect();
    let whose = match &agent.role {
        Some(role) => format!("the {} agent", role.name),
        None => "this session".to_owned(),
    };
    Some(if is_subagent_tool(tool) && !may_delegate(agent) {
        format!(
            "{tool} is not available here: sub-agents may go {} level{} deep and this is \
             the last one. Do the work yourself with the other tools.",
            agent.options.settings.delegation.max_depth,
            if agent.options.settings.delegation.max_depth == 1 {
                ""
            } else {
                "s"
            }
        )
    } else {
        format!(
            "unknown tool {tool:?} for {whose}; its tools are {}",
            names.join(", ")
        )
    })
}
