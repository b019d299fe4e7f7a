//! Opening a session: by name, create-or-resume, the most recent of the project, or a
//! new one with a generated name; repairing tool calls a dead process left without a
//! result; the recap shown on resume. Everything here reads O(live context).

use std::collections::HashSet;
use std::sync::Arc;

use cairn_core::event::ToolResultContent;
use cairn_core::{
    ContentBlock, Error, LiveContext, Message, NewEvent, NewSession, Payload, Project, Role,
    Session, SessionName, Store,
};
use cairn_llm::ModelRef;

use crate::SessionTarget;
use crate::events::Recap;

/// The text of the result given to a tool call that never finished.
pub const INTERRUPTED_TOOL_RESULT: &str = "interrupted: this tool call did not finish (the session was stopped before it \
     returned), so it has no result. Run it again if it is still needed.";

/// Characters of each side of the last exchange shown in a recap.
const RECAP_CHARS: usize = 300;

/// The existing session a target names: `Some` for `--resume`, `--resume-recent` and
/// an existing `--name`; `None` when a session must be created. Read-only, so a model
/// that cannot be used is reported before anything is created.
pub async fn find_session(
    store: &Arc<dyn Store>,
    project: &Project,
    target: &SessionTarget,
) -> Result<Option<Session>, Error> {
    match target {
        SessionTarget::Resume(name) => Ok(Some(store.session(name).await?)),
        SessionTarget::CreateOrResume(name) => match store.session(name).await {
            Ok(session) => Ok(Some(session)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        },
        SessionTarget::ResumeRecent => match store.most_recent_session(Some(project)).await? {
            Some(session) => Ok(Some(session)),
            None => Err(Error::not_found(
                "session of this project",
                format!("{project} (start one with `cairn run` or `cairn run --name NAME`)"),
            )),
        },
        SessionTarget::New => Ok(None),
    }
}

/// Create the session a target asks for: its name, or a generated one.
pub async fn create_session(
    store: &Arc<dyn Store>,
    project: &Project,
    name: Option<SessionName>,
    model: Option<&ModelRef>,
) -> Result<Session, Error> {
    if let Some(name) = name {
        return create(store, project, name, model).await;
    }
    // A generated name collides only within the same minute and 16 random bits;
    // try a few times rather than fail.
    let mut last = None;
    for _ in 0..8 {
        let name = generated_name(project, jiff::Zoned::now());
        match create(store, project, name, model).await {
            Ok(session) => return Ok(session),
            Err(e @ Error::AlreadyExists { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::invalid("cannot generate a free session name")))
}

async fn create(
    store: &Arc<dyn Store>,
    project: &Project,
    name: SessionName,
    model: Option<&ModelRef>,
) -> Result<Session, Error> {
    let mut new = NewSession::new(name, project.clone());
    new.model = model.map(ModelRef::to_string);
    store.create_session(new).await
}

/// `YYYYMMDD-<project>-HHMM-xxxx` in local time: the project's folder name reduced to
/// name characters (at most 40), and four random hex digits.
pub fn generated_name(project: &Project, now: jiff::Zoned) -> SessionName {
    let mut folder: String = project
        .short_name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    folder = folder.trim_matches(|c| c == '-' || c == '.').to_owned();
    if folder.is_empty() {
        folder = "project".into();
    }
    let suffix: u16 = rand::random();
    let raw = format!(
        "{}-{folder}-{}-{suffix:04x}",
        now.strftime("%Y%m%d"),
        now.strftime("%H%M")
    );
    // Every character is allowed and the length is at most 8+1+40+1+4+1+4.
    SessionName::parse(&raw).unwrap_or_else(|_| {
        SessionName::parse(&format!("{}-session-{suffix:04x}", now.strftime("%Y%m%d")))
            .unwrap_or_else(|_| unreachable_name())
    })
}

fn unreachable_name() -> SessionName {
    // "session" always satisfies the name rule.
    match SessionName::parse("session") {
        Ok(name) => name,
        Err(_) => unreachable!("\"session\" is a valid name"),
    }
}

/// Tool calls of the live context that have no result, in order.
pub fn dangling_tool_calls(live: &LiveContext) -> Vec<(String, String)> {
    let answered: HashSet<&str> = live
        .events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .flat_map(Message::tool_result_ids)
        .collect();
    live.events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .filter(|m| m.role == Role::Assistant)
        .flat_map(|m| m.tool_uses())
        .filter(|(id, _, _)| !answered.contains(id))
        .map(|(id, name, _)| (id.to_owned(), name.to_owned()))
        .collect()
}

/// The tool message that answers a call that never finished.
pub fn interrupted_result(tool_use_id: &str) -> Message {
    let mut message = Message::new(
        Role::Tool,
        vec![ContentBlock::ToolResult {
            tool_use_id: tool_use_id.to_owned(),
            content: ToolResultContent::Text(INTERRUPTED_TOOL_RESULT.to_owned()),
            is_error: true,
        }],
    );
    message.interrupted = true;
    message
}

/// Append an "interrupted" result for every dangling tool call so providers accept
/// the history; returns how many were repaired. `live` is updated in place.
pub async fn repair_dangling(
    store: &Arc<dyn Store>,
    live: &mut LiveContext,
) -> Result<usize, Error> {
    let dangling = dangling_tool_calls(live);
    if dangling.is_empty() {
        return Ok(0);
    }
    let messages: Vec<Message> = dangling
        .iter()
        .map(|(id, _)| interrupted_result(id))
        .collect();
    let events: Vec<NewEvent> = messages
        .iter()
        .cloned()
        .map(|m| NewEvent::now(Payload::Message(m)))
        .collect();
    let seqs = store.append_events(live.session.id, events).await?;
    let now = jiff::Timestamp::now();
    for (seq, message) in seqs.into_iter().zip(messages) {
        live.events.push(cairn_core::Event {
            seq,
            ts: now,
            payload: Payload::Message(message),
        });
    }
    Ok(dangling.len())
}

/// Where a session stands, from its index row and live context.
pub fn recap(session: &Session, live: &LiveContext) -> Recap {
    let messages: Vec<&Message> = live
        .events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .collect();
    let last_text = |role: Role| {
        messages
            .iter()
            .rev()
            .filter(|m| m.role == role)
            .map(|m| m.plain_text())
            .find(|t| !t.trim().is_empty())
            .map(|t| shorten(&t, RECAP_CHARS))
    };
    Recap {
        name: session.name.as_str().to_owned(),
        title: session.title.clone(),
        model: session.model.clone(),
        last_active: session.updated_at,
        messages: session.message_count,
        cost_usd: session.cost_usd,
        last_user: last_text(Role::User),
        last_assistant: last_text(Role::Assistant),
    }
}

/// At most `max` characters, whitespace folded, ending in `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= max {
        return folded;
    }
    let mut out: String = folded.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_follow_the_pattern() {
        let project = Project::from_stored("/home/me/My Project!");
        let now: jiff::Zoned = "2026-11-20T09:07:00[UTC]".parse().unwrap();
        let name = generated_name(&project, now);
        let re = regex::Regex::new(r"^20261120-My-Project-0907-[0-9a-f]{4}$").unwrap();
        assert!(re.is_match(name.as_str()), "{}", name.as_str());
        let odd = Project::from_stored("/");
        let now: jiff::Zoned = "2026-11-20T09:07:00[UTC]".parse().unwrap();
        assert!(generated_name(&odd, now).as_str().starts_with("20261120-"));
    }
}
