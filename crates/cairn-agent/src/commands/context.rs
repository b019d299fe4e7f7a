//! `/context [all|user|assistant|tool|system|large [BYTES]]`: what the model sees (the
//! live context), or with `all` the whole history, one line per event.

use cairn_core::display::grouped;
use cairn_core::event::encode_payload;
use cairn_core::live_messages::retained_knowledge;
use cairn_core::{ContentBlock, Event, LiveContext, Payload, Role};
use serde_json::{Value, json};

use super::{CommandResult, Failure, Output};
use crate::agent::Agent;
use crate::resume::shorten;

/// `large` without a size shows events of at least this many bytes.
const DEFAULT_LARGE_BYTES: u64 = 10_000;
/// Characters of each event shown.
const LINE_CHARS: usize = 160;
/// `/context all` pages through the log this many events at a time.
const PAGE: u32 = 500;

pub(super) async fn run(agent: &mut Agent, args: &[&str]) -> CommandResult {
    let mut whole_history = false;
    let mut role: Option<Role> = None;
    let mut large: Option<u64> = None;
    let mut rest = args.iter().peekable();
    while let Some(word) = rest.next() {
        match *word {
            "all" => whole_history = true,
            "user" => role = Some(Role::User),
            "assistant" => role = Some(Role::Assistant),
            "tool" => role = Some(Role::Tool),
            "system" => role = Some(Role::System),
            "large" => {
                let bytes = match rest.peek().and_then(|w| w.parse::<u64>().ok()) {
                    Some(b) => {
                        rest.next();
                        b
                    }
                    None => DEFAULT_LARGE_BYTES,
                };
                large = Some(bytes);
            }
            other => {
                return Err(Failure::Usage(format!(
                    "/context: unknown filter {other:?}; use all, user, assistant, tool, \
                     system or large [BYTES]"
                )));
            }
        }
    }
    let mut lines = Vec::new();
    let mut data = Vec::new();
    if large.is_none()
        && !whole_history
        && role.is_none()
        && let Some(text) = agent
            .conversation
            .preamble()
            .message
            .as_ref()
            .map(|m| m.plain_text())
    {
        lines.push(format!("(preamble)  {}", shorten(&text, LINE_CHARS)));
        data.push(json!({"seq": Value::Null, "kind": "preamble", "text": text}));
        // The compaction boundary and every knowledge item, one line each.
        lines.extend(preamble_lines(agent.conversation.live()));
    }
    // What the system prompt holds of the project's files (AGENTS.md).
    if large.is_none() && !whole_history && role.is_none() && !agent.project_files().is_empty() {
        lines.splice(0..0, agent.project_files().lines());
        data.push(
            json!({"seq": Value::Null, "kind": "project_files", "files": agent.project_files()}),
        );
    }
    // Slash commands, hints and other side events are kept in the log but never
    // sent to the model: listed apart, after the conversation.
    let mut side_lines = Vec::new();
    let mut push = |event: &Event, bytes: Option<u64>| {
        if let Some(wanted) = role
            && event.payload.as_message().map(|m| m.role) != Some(wanted)
        {
            return;
        }
        let (kind, text) = describe(event);
        let size = bytes.map(|b| format!(" [{b} B]")).unwrap_or_default();
        let line = format!(
            "#{:<5} {kind:<10}{size} {}",
            event.seq,
            shorten(&text, LINE_CHARS)
        );
        let to_model = reaches_the_model(&event.payload);
        if to_model {
            lines.push(line);
        } else {
            side_lines.push(line);
        }
        data.push(
            json!({"seq": event.seq, "kind": kind, "bytes": bytes, "text": text,
                         "to_model": to_model}),
        );
    };
    let scope = if whole_history {
        "whole history"
    } else {
        "live context"
    };
    if let Some(min_bytes) = large {
        for sized in agent
            .store
            .large_events(agent.conversation.session().id, min_bytes, whole_history)
            .await?
        {
            push(&sized.event, Some(sized.bytes));
        }
    } else if whole_history {
        let mut after = 0;
        loop {
            let page = agent
                .store
                .events_after(agent.conversation.session().id, after, PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for event in &page {
                push(event, None);
            }
        }
    } else {
        let events = agent.conversation.live().events.clone();
        for event in &events {
            push(event, None);
        }
    }
    let header = format!(
        "{} of session {} ({} events shown, ~{} tokens live):",
        scope,
        agent.conversation.session().name.as_str(),
        data.len(),
        agent.conversation.session().live_tokens
    );
    let mut text = header;
    for line in lines {
        text.push('\n');
        text.push_str(&line);
    }
    if !side_lines.is_empty() {
        text.push_str(&format!(
            "\n── not sent to the model: slash commands, hints and notes ({}) ──",
            side_lines.len()
        ));
        for line in side_lines {
            text.push('\n');
            text.push_str(&line);
        }
    }
    Ok(Output::new(text, json!({"scope": scope, "events": data})))
}

/// Whether the event is part of what a request carries: messages, and the
/// compaction and knowledge that make the preamble. Commands, hints, errors and
/// compressor notes are the person's and cairn's, not the model's.
fn reaches_the_model(payload: &Payload) -> bool {
    matches!(
        payload,
        Payload::Message(_) | Payload::Compaction(_) | Payload::Knowledge(_)
    )
}

/// A label and one line of text for an event.
fn describe(event: &Event) -> (String, String) {
    match &event.payload {
        Payload::Message(m) => {
            let mut parts = Vec::new();
            for block in &m.content {
                parts.push(match block {
                    ContentBlock::Text { text } => text.clone(),
                    ContentBlock::Thinking { text, .. } => format!("(thinking) {text}"),
                    ContentBlock::ToolUse { name, input, .. } => format!("→ {name} {input}"),
                    ContentBlock::ToolResult {
                        content, is_error, ..
                    } => format!(
                        "{}{}",
                        if *is_error { "(error) " } else { "" },
                        content.as_text()
                    ),
                    ContentBlock::Image(media) => format!("[image {}]", media.mime),
                    ContentBlock::Video(media) => format!("[video {}]", media.mime),
                    ContentBlock::Other(_) => format!("[{}]", block.type_name()),
                });
            }
            let mut text = parts.join(" ");
            if m.interrupted {
                text.push_str(" (interrupted)");
            }
            (m.role.as_str().to_owned(), text)
        }
        Payload::Compaction(c) => (
            "compaction".into(),
            format!("events {}–{}: {}", c.replaces[0], c.replaces[1], c.summary),
        ),
        Payload::Knowledge(k) => (
            "knowledge".into(),
            format!("{}: {}", k.knowledge_kind.as_str(), k.text),
        ),
        other => (
            other.kind().to_owned(),
            Value::Object(encode_payload(other)).to_string(),
        ),
    }
}

/// `/context`'s lines about the preamble: where the compacted range ends (and how it
/// was made), then each knowledge item the context carries.
fn preamble_lines(live: &LiveContext) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(event) = &live.compaction
        && let Payload::Compaction(c) = &event.payload
    {
        let method = c.method.as_ref().map_or("summary", |m| m.as_str());
        lines.push(format!(
            "(compacted) events #{}–#{} → compaction #{} ({method}, {} → {} tokens); the \
             live context continues after #{}",
            c.replaces[0],
            c.replaces[1],
            event.seq,
            grouped(c.tokens_before),
            grouped(c.tokens_after),
            c.replaces[1]
        ));
    }
    for item in retained_knowledge(live) {
        lines.push(format!(
            "(knowledge) [{}] {}{}",
            item.kind.as_str(),
            item.text.split_whitespace().collect::<Vec<_>>().join(" "),
            if item.pinned { " (pinned)" } else { "" }
        ));
    }
    lines
}
