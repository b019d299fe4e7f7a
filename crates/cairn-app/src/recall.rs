//! Recall: a model (the chat agent's `recall` tool, or an MCP client's) reads what a
//! session said before, including what compaction replaced. History is lossless
//! (invariant 2); this is how the model gets it back, verbatim.
//!
//! - [`search`]: full-text search over one session's whole history (a fork's
//!   includes its parent's up to the fork point), or over every session of its
//!   project; each hit is an excerpt of the event's own text around the match.
//! - [`event`]: one event whole, from `offset`, cut at a size a model can take with
//!   a note that says how to read on.

use std::collections::HashMap;

use cairn_core::store::{SearchHit, SearchScope};
use cairn_core::{Error, Event, Payload, Result, Session, SessionName, Store, Timestamp};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// Hits a search returns unless told otherwise, and at most.
pub const DEFAULT_RECALL_LIMIT: u32 = 10;
pub const MAX_RECALL_LIMIT: u32 = 50;
/// Bytes of an event's text a search hit shows around the match.
pub const EXCERPT_BYTES: usize = 1_200;
/// Bytes of one event `recall(seq)` returns at a time.
pub const EVENT_BYTES: usize = 16 * 1024;

/// Where a search looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum RecallScope {
    /// This session's whole history (the default).
    #[default]
    Session,
    /// Every session of the project (its key: every checkout of the repository).
    Project,
}

impl RecallScope {
    pub fn parse(raw: &str) -> Option<RecallScope> {
        match raw.trim() {
            "session" => Some(RecallScope::Session),
            "project" => Some(RecallScope::Project),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RecallScope::Session => "session",
            RecallScope::Project => "project",
        }
    }
}

/// One hit: where it is and the verbatim text around the match.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RecallHit {
    pub session: String,
    pub seq: u64,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
    /// `user`, `assistant`, `tool`, or the event's kind (`compaction`, `knowledge`).
    pub from: String,
    /// The event's text, verbatim; a window around the first match when longer.
    pub excerpt: String,
    /// Whether the excerpt is only part of the event (read it whole by its seq).
    pub cut: bool,
}

/// A search's answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Recalled {
    pub query: String,
    pub scope: RecallScope,
    /// The session searched (scope `session`) or whose project was.
    pub session: String,
    /// Newest first.
    pub hits: Vec<RecallHit>,
}

/// One event, or the part of it from `offset`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RecalledEvent {
    pub session: String,
    pub seq: u64,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
    pub from: String,
    /// The event's text (a message's text, tool calls and results; other kinds as
    /// their JSON line), from byte `offset`.
    pub text: String,
    pub offset: usize,
    /// The whole text's size in bytes.
    pub total_bytes: usize,
    /// Where the next part starts when this one was cut.
    pub next_offset: Option<usize>,
}

/// What the MCP `recall` tool answers: a search, or one event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RecallResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<Recalled>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<RecalledEvent>,
}

/// Search `session`'s whole history (or its project's sessions) for `query`.
pub async fn search(
    store: &dyn Store,
    session: &Session,
    query: &str,
    scope: RecallScope,
    limit: u32,
) -> Result<Recalled> {
    let limit = limit.clamp(1, MAX_RECALL_LIMIT);
    let hits = match scope {
        RecallScope::Session => store.search_session(session.id, query, limit).await?,
        RecallScope::Project => {
            store
                .search(
                    query,
                    &SearchScope {
                        project: Some(session.project.clone()),
                        limit,
                    },
                )
                .await?
        }
    };
    let mut ids: HashMap<SessionName, Ulid> = HashMap::new();
    ids.insert(session.name.clone(), session.id);
    let mut out = Vec::with_capacity(hits.len());
    for hit in hits {
        // A fork's hit in its parent's part has the same seq in the fork's history.
        let id = match scope {
            RecallScope::Session => session.id,
            RecallScope::Project => match ids.get(&hit.session) {
                Some(id) => *id,
                None => {
                    let id = store.session(&hit.session).await?.id;
                    ids.insert(hit.session.clone(), id);
                    id
                }
            },
        };
        out.push(excerpt_of(store, id, &hit, query).await?);
    }
    Ok(Recalled {
        query: query.to_owned(),
        scope,
        session: session.name.as_str().to_owned(),
        hits: out,
    })
}

async fn excerpt_of(
    store: &dyn Store,
    id: Ulid,
    hit: &SearchHit,
    query: &str,
) -> Result<RecallHit> {
    let event = event_at(store, id, hit.seq).await?;
    let text = event.as_ref().map(event_text).unwrap_or_default();
    let (excerpt, cut) = if text.is_empty() {
        (hit.snippet.clone(), true)
    } else {
        window(&text, query, EXCERPT_BYTES)
    };
    Ok(RecallHit {
        session: hit.session.as_str().to_owned(),
        seq: hit.seq,
        at: hit.ts,
        from: event
            .as_ref()
            .map_or_else(|| hit.role.map_or("event", |r| r.as_str()).to_owned(), from),
        excerpt,
        cut,
    })
}

/// Event `seq` of `session` (its fork chain's), from byte `offset` of its text, at
/// most `max_bytes` of it. `NotFound` names the seqs the session has.
pub async fn event(
    store: &dyn Store,
    session: &Session,
    seq: u64,
    offset: usize,
    max_bytes: usize,
) -> Result<RecalledEvent> {
    let Some(event) = event_at(store, session.id, seq).await? else {
        return Err(Error::not_found(
            "event",
            format!(
                "seq {seq} of session {} (its events are 1 to {})",
                session.name.as_str(),
                session.head_seq
            ),
        ));
    };
    let text = event_text(&event);
    let total_bytes = text.len();
    if offset > total_bytes {
        return Err(Error::invalid(format!(
            "offset {offset} is past the end of event {seq} ({total_bytes} bytes)"
        )));
    }
    let start = floor_boundary(&text, offset);
    let end = floor_boundary(&text, start.saturating_add(max_bytes.max(1)));
    // A window smaller than one character still moves on.
    let end = if end == start && start < total_bytes {
        text[start..]
            .chars()
            .next()
            .map_or(total_bytes, |c| start + c.len_utf8())
    } else {
        end
    };
    Ok(RecalledEvent {
        session: session.name.as_str().to_owned(),
        seq,
        at: event.ts,
        from: from(&event),
        text: text[start..end].to_owned(),
        offset: start,
        total_bytes,
        next_offset: (end < total_bytes).then_some(end),
    })
}

async fn event_at(store: &dyn Store, session: Ulid, seq: u64) -> Result<Option<Event>> {
    if seq == 0 {
        return Ok(None);
    }
    Ok(store
        .events_after(session, seq - 1, 1)
        .await?
        .into_iter()
        .find(|e| e.seq == seq))
}

fn from(event: &Event) -> String {
    match &event.payload {
        Payload::Message(m) => m.role.as_str().to_owned(),
        other => other.kind().to_owned(),
    }
}

/// What a model reads of an event: a message's text (with its tool calls and
/// results), a summary, a knowledge item; other kinds as their JSON line.
pub fn event_text(event: &Event) -> String {
    match &event.payload {
        Payload::Message(m) => {
            let mut parts: Vec<String> = Vec::new();
            for block in &m.content {
                match block {
                    cairn_core::ContentBlock::Text { text } => parts.push(text.clone()),
                    cairn_core::ContentBlock::Thinking { text, .. } => {
                        parts.push(format!("[thinking] {text}"));
                    }
                    cairn_core::ContentBlock::ToolUse { name, input, .. } => {
                        parts.push(format!("[tool call {name}] {input}"));
                    }
                    cairn_core::ContentBlock::ToolResult {
                        content, is_error, ..
                    } => {
                        let label = if *is_error { "[tool error] " } else { "" };
                        parts.push(format!("{label}{}", content.as_text()));
                    }
                    cairn_core::ContentBlock::Image(media)
                    | cairn_core::ContentBlock::Video(media) => {
                        parts.push(format!("[{} {}]", media.mime, media.sha256));
                    }
                    _ => {}
                }
            }
            parts.join("\n")
        }
        Payload::Compaction(c) => c.summary.clone(),
        Payload::Knowledge(k) => format!("[{}] {}", k.knowledge_kind.as_str(), k.text),
        _ => serde_json::to_string(event).unwrap_or_default(),
    }
}

/// `text` when it fits in `max` bytes; otherwise a window of about `max` bytes
/// around the first word of `query` found in it (case-insensitive), with `…` at a
/// cut end. Returns whether it was cut.
fn window(text: &str, query: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_owned(), false);
    }
    let lower = text.to_lowercase();
    // Positions in `lower` are positions in `text` only when lower-casing kept sizes.
    let at = if lower.len() == text.len() {
        query
            .split_whitespace()
            .filter_map(|w| lower.find(&w.to_lowercase()))
            .min()
            .unwrap_or(0)
    } else {
        0
    };
    let start = floor_boundary(text, at.saturating_sub(max / 3));
    let end = floor_boundary(text, start.saturating_add(max));
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(&text[start..end]);
    if end < text.len() {
        out.push('…');
    }
    (out, true)
}

fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The hits as the model reads them.
pub fn render_hits(found: &Recalled) -> String {
    if found.hits.is_empty() {
        return format!(
            "no match for {:?} in the {} ({}). Try other words: every word must occur.",
            found.query,
            match found.scope {
                RecallScope::Session => "history of session",
                RecallScope::Project => "sessions of the project of session",
            },
            found.session
        );
    }
    let mut out = format!(
        "{} match(es) for {:?}, newest first (verbatim; recall(seq=N) reads one event whole):\n",
        found.hits.len(),
        found.query
    );
    for hit in &found.hits {
        let whose = if found.scope == RecallScope::Project {
            format!("session {} ", hit.session)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "\n--- {whose}seq {} · {} · {}{}\n{}\n",
            hit.seq,
            hit.at.strftime("%Y-%m-%d %H:%M UTC"),
            hit.from,
            if hit.cut { " · excerpt" } else { "" },
            hit.excerpt
        ));
    }
    out
}

/// One event as the model reads it, with how to read on when it was cut.
pub fn render_event(found: &RecalledEvent) -> String {
    let mut out = format!(
        "seq {} of session {} · {} · {}\n",
        found.seq,
        found.session,
        found.at.strftime("%Y-%m-%d %H:%M UTC"),
        found.from
    );
    if found.offset > 0 {
        out.push_str(&format!("(from byte {})\n", found.offset));
    }
    out.push_str(&found.text);
    if let Some(next) = found.next_offset {
        out.push_str(&format!(
            "\n[cairn] cut: this is bytes {}–{} of {}; read on with recall(seq={}, offset={next})",
            found.offset, next, found.total_bytes, found.seq
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_around_the_match_and_on_char_boundaries() {
        let text = format!("{}the port is 8443{}", "é".repeat(2000), "x".repeat(3000));
        let (out, cut) = window(&text, "PORT", 200);
        assert!(cut);
        // Lower-casing kept sizes? "é" stays 2 bytes, so the match is found.
        assert!(out.contains("the port is 8443"), "{out}");
        assert!(out.starts_with('…') && out.ends_with('…'));
        let (whole, cut) = window("short", "x", 200);
        assert_eq!((whole.as_str(), cut), ("short", false));
    }
}
