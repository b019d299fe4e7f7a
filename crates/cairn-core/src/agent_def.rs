//! Named agents (`[[agents]]`) and how far delegation goes (`[delegation]`): the
//! config shapes and their checks. The engine (cairn-agent) offers each agent as a
//! tool `agent_<name>` and runs it as a child session.

use serde::{Deserialize, Serialize};

/// The longest agent name: `agent_` + name must fit a provider's 64-character tool
/// name.
pub const MAX_AGENT_NAME_CHARS: usize = 58;

/// Sub-agents that run at once when one answer calls several.
pub const DEFAULT_MAX_PARALLEL: usize = 4;

/// How many levels of sub-agents: 2 lets a sub-agent delegate once more.
pub const DEFAULT_MAX_DEPTH: u32 = 2;

/// One `[[agents]]` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentDef {
    /// `[a-z0-9_-]`, offered to the model as the tool `agent_<name>`.
    pub name: String,
    /// What the agent is for; the tool's description.
    #[serde(default)]
    pub description: String,
    /// `provider:model`; default: the calling session's model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The agent's system prompt (added to what every sub-agent is told).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The tools it may use; default: every tool the caller could give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Requests one call may make.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// USD one call may spend (its own requests and its sub-agents').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_spending: Option<f64>,
}

/// `[delegation]` as one layer sets it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationLayer {
    pub max_parallel: Option<usize>,
    pub max_depth: Option<u32>,
}

/// How delegation may go, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delegation {
    /// Sub-agents of one answer that run at once (the others wait their turn).
    pub max_parallel: usize,
    /// Levels of sub-agents below the session a person drives.
    pub max_depth: u32,
}

impl Default for Delegation {
    fn default() -> Self {
        Delegation {
            max_parallel: DEFAULT_MAX_PARALLEL,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

impl AgentDef {
    /// Why this entry cannot be used, naming the agent and the field.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        let valid = !name.is_empty()
            && name.len() <= MAX_AGENT_NAME_CHARS
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            return Err(format!(
                "agents: name {name:?}: use 1 to {MAX_AGENT_NAME_CHARS} characters a-z, 0-9, _ \
                 or - (the model calls it as the tool agent_<name>)"
            ));
        }
        if self.max_turns == Some(0) {
            return Err(format!("agents `{name}`: max_turns must be at least 1"));
        }
        if let Some(usd) = self.max_spending
            && !(usd.is_finite() && usd >= 0.0)
        {
            return Err(format!(
                "agents `{name}`: max_spending must be a number of USD, 0 or more"
            ));
        }
        if let Some(tools) = &self.tools
            && let Some(blank) = tools.iter().find(|t| t.trim().is_empty())
        {
            return Err(format!(
                "agents `{name}`: tools has an empty entry ({blank:?})"
            ));
        }
        Ok(())
    }
}

/// Check a layer's agents: each entry valid, no name twice.
pub fn check_agents(agents: &[AgentDef]) -> Result<(), String> {
    for (i, agent) in agents.iter().enumerate() {
        agent.check()?;
        if agents[..i].iter().any(|a| a.name == agent.name) {
            return Err(format!("agents: `{}` is defined twice", agent.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str) -> AgentDef {
        AgentDef {
            name: name.into(),
            description: String::new(),
            model: None,
            system: None,
            tools: None,
            max_turns: None,
            max_spending: None,
        }
    }

    #[test]
    fn names_limits_and_duplicates_are_checked() {
        assert!(check_agents(&[def("context_gatherer"), def("review-2")]).is_ok());
        for bad in ["", "Upper", "has space", "dot.ted", &"a".repeat(59)] {
            let err = def(bad).check().unwrap_err();
            assert!(err.contains("a-z"), "{bad}: {err}");
        }
        let err = check_agents(&[def("a"), def("a")]).unwrap_err();
        assert!(err.contains("twice"), "{err}");
        let mut zero = def("z");
        zero.max_turns = Some(0);
        assert!(zero.check().unwrap_err().contains("max_turns"));
        let mut nan = def("n");
        nan.max_spending = Some(f64::NAN);
        assert!(nan.check().unwrap_err().contains("max_spending"));
        let mut blank = def("b");
        blank.tools = Some(vec!["read_file".into(), " ".into()]);
        assert!(blank.check().unwrap_err().contains("tools"));
    }
}
