//! "Where was I?": the latest state of a piece of work and a short brief an
//! agent can act on, over both checkpoint session ids (`save_progress`) and
//! cairn chat sessions. Shared by the MCP `where_was_i` tool and prompt and by
//! `cairn where`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use cairn_core::{
    Checkpoint, Error, Payload, Project, Result, Session, SessionName, SessionStatus, Store,
    Timestamp,
};

use cairn_core::display::{ago, first_line};

/// How many of the newest checkpoints are looked at when filtering by client.
const RECENT_CHECKPOINTS: u32 = 200;
/// Messages of a chat session's tail shown in the brief.
const TAIL_MESSAGES: u64 = 6;
/// Knowledge items of a chat session shown in the brief.
const KNOWLEDGE_SHOWN: usize = 8;

/// What to look for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WhereQuery {
    /// A checkpoint session id or a chat session name; `None`: the most recent.
    pub session_id: Option<String>,
    /// Only checkpoints saved by this client (its MCP `clientInfo` name).
    pub client: Option<String>,
    /// Only this project; `None`: every project.
    pub project: Option<Project>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Only checkpoints carry this id.
    Checkpoint,
    /// A cairn chat session without checkpoints.
    Chat,
    /// A chat session that also has checkpoints under its name.
    Both,
}

/// One message of a chat session's tail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TailMessage {
    pub role: String,
    pub text: String,
}

/// What a chat session adds to the brief.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatBrief {
    pub name: String,
    pub project: Project,
    pub title: Option<String>,
    pub status: SessionStatus,
    pub model: Option<String>,
    pub message_count: u64,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub updated_at: Timestamp,
    /// The summary of the latest compaction, if any.
    pub compaction_summary: Option<String>,
    /// Decisions, constraints, preferences and facts, newest last.
    pub knowledge: Vec<String>,
    pub recent_messages: Vec<TailMessage>,
    /// The command that resumes the chat.
    pub resume_command: String,
}

/// The answer to "where was I?".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WhereWasI {
    pub session_id: String,
    pub source: Source,
    pub project: Project,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub last_activity: Timestamp,
    pub latest_checkpoint: Option<Checkpoint>,
    pub chat: Option<ChatBrief>,
    /// A short paragraph the agent can act on.
    pub resume_brief: String,
}

/// Find the session and build its brief; `Ok(None)` when nothing matches.
pub async fn where_was_i(
    store: &dyn Store,
    query: &WhereQuery,
    now: Timestamp,
) -> Result<Option<WhereWasI>> {
    let (checkpoint, chat) = match &query.session_id {
        Some(id) => {
            let checkpoint = store.latest_checkpoint(id).await?;
            let checkpoint = checkpoint.filter(|c| matches_query(c, query));
            let chat = chat_session(store, id).await?;
            let chat = chat.filter(|s| query.project.as_ref().is_none_or(|p| *p == s.project));
            (checkpoint, chat)
        }
        None => {
            let checkpoint = newest_checkpoint(store, query).await?;
            // Chat sessions are cairn's own; a filter on another client skips them.
            let chat = if query.client.as_deref().is_none_or(|c| c == "cairn") {
                store.most_recent_session(query.project.as_ref()).await?
            } else {
                None
            };
            match (checkpoint, chat) {
                (Some(cp), Some(chat)) if chat.updated_at > cp.created_at => {
                    let cp = store.latest_checkpoint(chat.name.as_str()).await?;
                    (cp, Some(chat))
                }
                (Some(cp), _) => {
                    let chat = chat_session(store, &cp.session_id).await?;
                    (Some(cp), chat)
                }
                (None, chat) => {
                    let cp = match &chat {
                        Some(chat) => store.latest_checkpoint(chat.name.as_str()).await?,
                        None => None,
                    };
                    (cp, chat)
                }
            }
        }
    };
    let chat = match chat {
        Some(session) => Some(chat_brief(store, &session).await?),
        None => None,
    };
    Ok(assemble(checkpoint, chat, now))
}

fn matches_query(checkpoint: &Checkpoint, query: &WhereQuery) -> bool {
    query
        .client
        .as_ref()
        .is_none_or(|c| checkpoint.client.as_ref() == Some(c))
        && query
            .project
            .as_ref()
            .is_none_or(|p| *p == checkpoint.project)
}

async fn newest_checkpoint(store: &dyn Store, query: &WhereQuery) -> Result<Option<Checkpoint>> {
    let limit = if query.client.is_some() {
        RECENT_CHECKPOINTS
    } else {
        1
    };
    let recent = store
        .recent_checkpoints(query.project.as_ref(), limit)
        .await?;
    Ok(recent.into_iter().find(|c| matches_query(c, query)))
}

/// The chat session named `id`, if `id` is a valid name and such a session exists.
async fn chat_session(store: &dyn Store, id: &str) -> Result<Option<Session>> {
    let Ok(name) = SessionName::parse(id) else {
        return Ok(None);
    };
    match store.session(&name).await {
        Ok(session) => Ok(Some(session)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn chat_brief(store: &dyn Store, session: &Session) -> Result<ChatBrief> {
    let compaction_summary = match session.compaction_seq {
        Some(seq) => store
            .events_after(session.id, seq.saturating_sub(1), 1)
            .await?
            .into_iter()
            .find_map(|e| match e.payload {
                Payload::Compaction(c) => Some(c.summary),
                _ => None,
            }),
        None => None,
    };
    let tail = store
        .events_after(
            session.id,
            session.head_seq.saturating_sub(TAIL_MESSAGES * 2),
            (TAIL_MESSAGES * 2) as u32,
        )
        .await?;
    let mut recent_messages: Vec<TailMessage> = tail
        .iter()
        .filter_map(|e| e.payload.as_message())
        .filter_map(|m| {
            let text = m.plain_text();
            (!text.trim().is_empty()).then(|| TailMessage {
                role: m.role.as_str().to_owned(),
                text: first_line(&text),
            })
        })
        .collect();
    let skip = recent_messages.len().saturating_sub(TAIL_MESSAGES as usize);
    recent_messages.drain(..skip);
    let knowledge_events = store.knowledge(session.id).await?;
    let mut knowledge: Vec<String> = knowledge_events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::Knowledge(k) => Some(format!("{}: {}", k.knowledge_kind.as_str(), k.text)),
            _ => None,
        })
        .collect();
    let skip = knowledge.len().saturating_sub(KNOWLEDGE_SHOWN);
    knowledge.drain(..skip);
    Ok(ChatBrief {
        name: session.name.as_str().to_owned(),
        project: session.project.clone(),
        title: session.title.clone(),
        status: session.status,
        model: session.model.clone(),
        message_count: session.message_count,
        updated_at: session.updated_at,
        compaction_summary,
        knowledge,
        recent_messages,
        resume_command: format!("cairn run --resume {}", session.name.as_str()),
    })
}

fn assemble(
    checkpoint: Option<Checkpoint>,
    chat: Option<ChatBrief>,
    now: Timestamp,
) -> Option<WhereWasI> {
    let (session_id, project, source) = match (&checkpoint, &chat) {
        (Some(cp), Some(_)) => (cp.session_id.clone(), cp.project.clone(), Source::Both),
        (Some(cp), None) => (
            cp.session_id.clone(),
            cp.project.clone(),
            Source::Checkpoint,
        ),
        (None, Some(chat)) => (chat.name.clone(), chat.project.clone(), Source::Chat),
        (None, None) => return None,
    };
    let last_activity = [
        checkpoint.as_ref().map(|c| c.created_at),
        chat.as_ref().map(|c| c.updated_at),
    ]
    .into_iter()
    .flatten()
    .max()?;
    let mut found = WhereWasI {
        session_id,
        source,
        project,
        last_activity,
        latest_checkpoint: checkpoint,
        chat,
        resume_brief: String::new(),
    };
    found.resume_brief = resume_brief(&found, now);
    Some(found)
}

fn resume_brief(found: &WhereWasI, now: Timestamp) -> String {
    let mut out = format!(
        "You were working on `{}`{} (last activity {}).",
        found.session_id,
        if found.project.as_str().is_empty() {
            String::new()
        } else {
            format!(" in {}", found.project)
        },
        ago(now, found.last_activity)
    );
    if let Some(cp) = &found.latest_checkpoint {
        let _ = write!(
            out,
            " Last checkpoint (round {}): {}",
            cp.round_id,
            sentence(&first_line(&cp.summary))
        );
        if !cp.next_steps.is_empty() {
            let _ = write!(out, " Next: {}", cp.next_steps[0]);
            if cp.next_steps.len() > 1 {
                let _ = write!(out, "; then {}", cp.next_steps[1..].join("; "));
            }
            out.push('.');
        }
        if !cp.decisions_made.is_empty() {
            let _ = write!(
                out,
                " Already decided (do not re-debate): {}.",
                cp.decisions_made.join("; ")
            );
        }
        if !cp.files_touched.is_empty() {
            let _ = write!(out, " Files involved: {}.", cp.files_touched.join(", "));
        }
    }
    if let Some(chat) = &found.chat {
        if let Some(summary) = &chat.compaction_summary {
            let _ = write!(out, " Chat summary: {}", sentence(&first_line(summary)));
        }
        if let Some(last) = chat.recent_messages.last() {
            let _ = write!(out, " Last {} message: {}", last.role, sentence(&last.text));
        }
        let _ = write!(out, " Resume the chat with `{}`.", chat.resume_command);
    }
    out
}

/// Text ending like a sentence, so the brief's parts do not run together.
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?', '…', ':']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

impl WhereWasI {
    /// Readable markdown, for MCP text content, the `resume` prompt and the CLI.
    pub fn to_markdown(&self, now: Timestamp) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Where was I: `{}`\n", self.session_id);
        if !self.project.as_str().is_empty() {
            let _ = writeln!(out, "- Project: {}", self.project);
        }
        let _ = writeln!(
            out,
            "- Last activity: {} ({})",
            self.last_activity,
            ago(now, self.last_activity)
        );
        if let Some(cp) = &self.latest_checkpoint {
            let by = cp
                .client
                .as_deref()
                .map(|c| format!(", saved by {c}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- Latest checkpoint: round {} ({}){by}",
                cp.round_id, cp.checkpoint_id
            );
            let _ = writeln!(out, "\n## Summary\n{}", cp.summary);
            list_section(&mut out, "Next steps", &cp.next_steps, true);
            list_section(&mut out, "Decisions made", &cp.decisions_made, false);
            list_section(&mut out, "Files touched", &cp.files_touched, false);
        }
        if let Some(chat) = &self.chat {
            let _ = writeln!(
                out,
                "\n## Chat session `{}`{}\n- {} · {} messages{}",
                chat.name,
                chat.title
                    .as_deref()
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default(),
                chat.status.as_str(),
                chat.message_count,
                chat.model
                    .as_deref()
                    .map(|m| format!(" · {m}"))
                    .unwrap_or_default()
            );
            if let Some(summary) = &chat.compaction_summary {
                let _ = writeln!(out, "- Summary: {}", first_line(summary));
            }
            for k in &chat.knowledge {
                let _ = writeln!(out, "- {k}");
            }
            if !chat.recent_messages.is_empty() {
                let _ = writeln!(out, "\nRecent messages:");
                for m in &chat.recent_messages {
                    let _ = writeln!(out, "- {}: {}", m.role, m.text);
                }
            }
        }
        let _ = writeln!(out, "\n## Resume brief\n{}", self.resume_brief);
        out
    }
}

fn list_section(out: &mut String, title: &str, items: &[String], numbered: bool) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## {title}");
    for (i, item) in items.iter().enumerate() {
        if numbered {
            let _ = writeln!(out, "{}. {item}", i + 1);
        } else {
            let _ = writeln!(out, "- {item}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn brief_carries_next_steps_decisions_and_files() {
        let cp = Checkpoint {
            checkpoint_id: "cp1".into(),
            session_id: "auth-v2".into(),
            project: Project::from_stored("/work/app"),
            summary: "Token refresh works\nmore detail".into(),
            files_touched: vec!["src/auth.rs".into()],
            decisions_made: vec!["use JWT".into()],
            next_steps: vec!["write tests".into(), "update docs".into()],
            round_id: "3".into(),
            client: Some("claude-code".into()),
            instance: None,
            created_at: at(0),
            author: None,
        };
        let found = assemble(Some(cp), None, at(600)).unwrap();
        assert_eq!(found.source, Source::Checkpoint);
        let brief = &found.resume_brief;
        assert!(
            brief.contains("`auth-v2` in /work/app (last activity 10 min ago)"),
            "{brief}"
        );
        assert!(
            brief.contains("Next: write tests; then update docs."),
            "{brief}"
        );
        assert!(
            brief.contains("use JWT") && brief.contains("src/auth.rs"),
            "{brief}"
        );
        let md = found.to_markdown(at(600));
        assert!(
            md.contains("1. write tests") && md.contains("saved by claude-code"),
            "{md}"
        );
        assert!(assemble(None, None, at(0)).is_none());
    }
}
