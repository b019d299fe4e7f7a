//! Builders the conformance tests share.

use std::sync::Arc;

use base64::Engine;
use cairn_core::store::SearchScope;
use cairn_core::{
    Compaction, ContentBlock, Event, KnowledgeItem, KnowledgeKind, LeaseHolder, MediaBlock,
    Message, NewCheckpoint, NewEvent, NewSession, Payload, Project, Role, SessionName, Store,
    Usage,
};

pub fn name(raw: &str) -> SessionName {
    SessionName::parse(raw).unwrap()
}

pub fn project(raw: &str) -> Project {
    Project::from_stored(raw)
}

pub fn new_session(raw: &str) -> NewSession {
    NewSession::new(name(raw), project("/p/one"))
}

pub fn message(role: Role, text: &str) -> Payload {
    Payload::Message(Message::text(role, text))
}

pub fn text(role: Role, text: &str) -> NewEvent {
    NewEvent::now(message(role, text))
}

pub fn with_usage(text: &str, request_id: Option<&str>, input: u64, cost: f64) -> NewEvent {
    let mut m = Message::text(Role::Assistant, text);
    m.usage = Some(Usage {
        input_tokens: input,
        output_tokens: 1,
        ..Usage::default()
    });
    m.cost_usd = Some(cost);
    m.request_id = request_id.map(str::to_owned);
    NewEvent::now(Payload::Message(m))
}

pub fn compaction(first: u64, last: u64) -> NewEvent {
    NewEvent::now(Payload::Compaction(Compaction {
        tokens_before: 100,
        tokens_after: 10,
        ..Compaction::new([first, last], format!("summary of {first}..{last}"))
    }))
}

pub fn knowledge(text: &str, pinned: bool) -> NewEvent {
    NewEvent::now(Payload::Knowledge(KnowledgeItem {
        knowledge_kind: KnowledgeKind::Decision,
        text: text.into(),
        pinned,
        scope: Default::default(),
        extra: Default::default(),
    }))
}

pub fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

pub async fn full_history(store: &Arc<dyn Store>, id: ulid::Ulid) -> Vec<Event> {
    store.events_after(id, 0, 0).await.unwrap()
}

pub async fn scope_all(store: &Arc<dyn Store>, query: &str) -> Vec<cairn_core::store::SearchHit> {
    store
        .search(
            query,
            &SearchScope {
                project: None,
                limit: 20,
            },
        )
        .await
        .unwrap()
}

pub fn imported(seq: u64, payload: Payload) -> Event {
    Event {
        seq,
        ts: format!("2026-11-20T09:00:{:02}.123456789Z", seq % 60)
            .parse()
            .unwrap(),
        payload,
    }
}

pub fn image(sha256: &str, data: Option<&[u8]>) -> ContentBlock {
    ContentBlock::Image(MediaBlock {
        sha256: sha256.into(),
        mime: "image/png".into(),
        data_base64: data.map(|d| base64::engine::general_purpose::STANDARD.encode(d)),
    })
}

pub fn checkpoint(session_id: &str, project_key: &str, round: Option<&str>) -> NewCheckpoint {
    NewCheckpoint {
        session_id: session_id.into(),
        project: project(project_key),
        summary: format!("progress on {session_id}"),
        files_touched: vec!["src/a.rs".into()],
        decisions_made: vec!["use JWT".into()],
        next_steps: vec!["tests".into(), "docs".into()],
        round_id: round.map(str::to_owned),
        client: Some("claude-code".into()),
        instance: None,
    }
}

pub fn holder(pid: u32, token: &str) -> LeaseHolder {
    LeaseHolder {
        pid,
        host: "devbox".into(),
        token: token.into(),
    }
}
