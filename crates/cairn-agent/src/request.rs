//! How the live context becomes the request sent to the model: the system prompt,
//! the live messages (compaction summary and knowledge first), the tool definitions
//! and the bytes of any attached media. Tool outputs are cut for the model here (they
//! are stored whole), and a tool call without a result gets an "interrupted" one, so
//! a provider never sees an unpaired call.

use std::collections::HashSet;

use cairn_core::event::ToolResultContent;
use cairn_core::live_messages;
use cairn_core::{ContentBlock, Message, Role};
use cairn_llm::ChatRequest;

use crate::AgentError;
use crate::agent::Agent;
use crate::resume::interrupted_result;
use crate::system_prompt::{subagent_system_prompt, system_prompt};
use crate::tools::for_model;

pub(crate) async fn build(agent: &mut Agent) -> Result<ChatRequest, AgentError> {
    let conversation = &agent.conversation;
    let messages = prepare(live_messages::assemble_after(
        conversation.preamble().message.clone(),
        conversation.live(),
    ));
    let system = if agent.depth == 0 {
        let mut prompt = system_prompt(
            agent.toolbox.root(),
            agent.conversation.session().name.as_str(),
        );
        if let Some(section) = agent.project_files.prompt_section() {
            prompt.push_str(&section);
        }
        prompt
    } else {
        subagent_system_prompt(
            agent.toolbox.root(),
            agent.conversation.session().name.as_str(),
            crate::toolset::may_delegate(agent),
            agent.role.as_deref(),
        )
    };
    // MCP servers start on first use: when their tools are first listed.
    if !agent.mcp.is_empty() {
        agent.mcp.start_all().await;
    }
    // At the depth limit the model is not offered `delegate` at all.
    let tools = crate::toolset::offered(agent);
    let mut request = ChatRequest::new(agent.model.to_string())
        .with_system(system)
        .with_tools(tools);
    let mut wanted = Vec::new();
    for message in &messages {
        stored_media(&message.content, &mut wanted);
    }
    for sha in wanted {
        if !agent.media_cache.contains_key(&sha) {
            let attachment = agent.store.attachment(&sha).await?;
            agent.media_cache.insert(sha.clone(), attachment.bytes);
        }
        if let Some(bytes) = agent.media_cache.get(&sha) {
            request.media.insert(sha, bytes.clone());
        }
    }
    request.messages = messages;
    Ok(request)
}

/// The sha256 of every media block stored by reference, tool results' images included.
fn stored_media(blocks: &[ContentBlock], out: &mut Vec<String>) {
    for block in blocks {
        match block {
            ContentBlock::Image(m) | ContentBlock::Video(m) if m.data_base64.is_none() => {
                out.push(m.sha256.clone());
            }
            ContentBlock::ToolResult {
                content: ToolResultContent::Blocks(inner),
                ..
            } => stored_media(inner, out),
            _ => {}
        }
    }
}

/// Cut long tool outputs and pair every tool call with a result.
pub(crate) fn prepare(messages: Vec<Message>) -> Vec<Message> {
    let answered: HashSet<String> = messages
        .iter()
        .flat_map(Message::tool_result_ids)
        .map(str::to_owned)
        .collect();
    let mut out = Vec::with_capacity(messages.len());
    let mut unanswered: Vec<String> = Vec::new();
    for mut message in messages {
        // Results owed to the previous assistant message go right after it.
        if message.role != Role::Tool {
            for id in unanswered.drain(..) {
                out.push(interrupted_result(&id));
            }
        }
        for block in &mut message.content {
            if let ContentBlock::ToolResult { content, .. } = block {
                cut_for_model(content);
            }
        }
        if message.role == Role::Assistant {
            unanswered.extend(
                message
                    .tool_uses()
                    .map(|(id, _, _)| id.to_owned())
                    .filter(|id| !answered.contains(id)),
            );
        }
        if !message.content.is_empty() {
            out.push(message);
        }
    }
    for id in unanswered {
        out.push(interrupted_result(&id));
    }
    out
}

fn cut_for_model(content: &mut ToolResultContent) {
    match content {
        ToolResultContent::Text(text) => {
            if let std::borrow::Cow::Owned(cut) = for_model(text) {
                *text = cut;
            }
        }
        ToolResultContent::Blocks(blocks) => {
            for block in blocks {
                if let ContentBlock::Text { text } = block
                    && let std::borrow::Cow::Owned(cut) = for_model(text)
                {
                    *text = cut;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool_use(id: &str) -> Message {
        Message::new(
            Role::Assistant,
            vec![ContentBlock::ToolUse {
                id: id.into(),
                name: "read_file".into(),
                input: json!({"path": "a"}),
            }],
        )
    }

    fn result(id: &str, text: &str) -> Message {
        Message::new(
            Role::Tool,
            vec![ContentBlock::ToolResult {
                tool_use_id: id.into(),
                content: ToolResultContent::Text(text.into()),
                is_error: false,
            }],
        )
    }

    #[test]
    fn unpaired_calls_get_results_and_long_outputs_are_cut() {
        let long = "x".repeat(crate::tools::MODEL_OUTPUT_LIMIT * 2);
        let messages = vec![
            Message::text(Role::User, "hi"),
            tool_use("a"),
            Message::text(Role::User, "next"),
            tool_use("b"),
            result("b", &long),
            tool_use("c"),
        ];
        let out = prepare(messages);
        let roles: Vec<Role> = out.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            vec![
                Role::User,
                Role::Assistant,
                Role::Tool,
                Role::User,
                Role::Assistant,
                Role::Tool,
                Role::Assistant,
                Role::Tool
            ]
        );
        let ContentBlock::ToolResult { content, .. } = &out[5].content[0] else {
            panic!()
        };
        assert!(content.as_text().len() < long.len());
        let ContentBlock::ToolResult {
            tool_use_id,
            is_error,
            ..
        } = &out[7].content[0]
        else {
            panic!()
        };
        assert_eq!((tool_use_id.as_str(), *is_error), ("c", true));
    }
}
