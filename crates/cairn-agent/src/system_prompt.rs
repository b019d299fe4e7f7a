//! The system prompt sent with every request. It does not change between requests
//! of a session (no clock in it), so providers can cache the prompt prefix.

use std::path::Path;

use cairn_core::agent_def::AgentDef;

pub fn system_prompt(project_root: &Path, session_name: &str) -> String {
    format!(
        "You are cairn, an AI coding agent working with a developer on the project at {root}.\n\
         This is the durable session \"{session_name}\": the conversation may span days, and \
         earlier messages (or a summary of them) above are real history you can rely on.\n\n\
         Use the tools to look before you answer: list_files and search to find things, \
         read_file to read them, edit_file for exact, unique replacements and write_file for \
         new files, shell to build and test (the developer may have to approve each command). \
         Paths are relative to the project root and cannot leave it.\n\
         Be concise. When you change files, say what you changed and why. When something \
         is decided, state the decision plainly so it can be found later.",
        root = project_root.display()
    )
}

/// The system prompt of a sub-agent (a `delegate` or `agent_<name>` call): a fresh
/// context for one task, whose final answer goes back to the agent that called it.
/// A named agent's own prompt follows.
pub fn subagent_system_prompt(
    project_root: &Path,
    session_name: &str,
    may_delegate: bool,
    role: Option<&AgentDef>,
) -> String {
    let mut prompt = format!(
        "You are a cairn sub-agent (session \"{session_name}\") working on the project at \
         {root}. Another agent handed you the task in the first message; you do not see its \
         conversation, only what it wrote there.\n\n\
         Use the tools you are given to do the task yourself. Paths are relative to the \
         project root and cannot leave it; shell commands may need approval. {delegation}\n\
         When you are done, answer with your final report: what you found or changed (with \
         file paths and line numbers), decisions taken and anything left open. That answer \
         is returned to the calling agent as it is; your tool calls are not, so put \
         everything it needs in the answer, and keep it concise.",
        root = project_root.display(),
        delegation = if may_delegate {
            "You may hand a part of the task to a sub-agent of your own."
        } else {
            "You cannot delegate further."
        },
    );
    if let Some(role) = role {
        prompt.push_str(&format!("\n\nYou are the {} agent.", role.name));
        if let Some(system) = role.system.as_deref().map(str::trim)
            && !system.is_empty()
        {
            prompt.push('\n');
            prompt.push_str(system);
        }
    }
    prompt
}
