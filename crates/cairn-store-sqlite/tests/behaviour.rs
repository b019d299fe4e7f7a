//! Behaviour of every `Store` method on a real SQLite file in a temp dir.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn_core::settings::Synchronous;
use cairn_core::{
    Compaction, ContentBlock, Error, Event, KnowledgeItem, KnowledgeKind, Message, NewEvent,
    NewSession, Payload, Project, Role, SessionFilter, SessionName, Store, Usage,
};
use cairn_store_sqlite::open_store;

struct TempStore {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Arc<dyn Store>,
}

fn temp_store() -> TempStore {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("cairn.db");
    let store = open_store(&path, Synchronous::Normal).unwrap();
    TempStore {
        _dir: dir,
        path,
        store,
    }
}

fn name(raw: &str) -> SessionName {
    SessionName::parse(raw).unwrap()
}

fn project(raw: &str) -> Project {
    Project::from_stored(raw)
}

fn new_session(raw: &str) -> NewSession {
    NewSession::new(name(raw), project("/p/one"))
}

fn text(role: Role, text: &str) -> NewEvent {
    NewEvent::now(Payload::Message(Message::text(role, text)))
}

#[tokio::test(flavor = "multi_thread")]
async fn create_append_list_and_resume() {
    let t = temp_store();
    let s = t.store.create_session(new_session("first")).await.unwrap();
    assert_eq!(s.head_seq, 0);
    assert_eq!(s.context_start_seq, 1);
    let seqs = t
        .store
        .append_events(
            s.id,
            vec![text(Role::User, "hello"), text(Role::Assistant, "hi")],
        )
        .await
        .unwrap();
    assert_eq!(seqs, vec![1, 2]);
    let seqs = t
        .store
        .append_events(s.id, vec![text(Role::User, "again")])
        .await
        .unwrap();
    assert_eq!(seqs, vec![3]);
    let live = t.store.live_context(s.id, 10).await.unwrap();
    assert_eq!(live.session.head_seq, 3);
    assert_eq!(live.session.message_count, 3);
    assert_eq!(live.events.len(), 3);
    assert!(live.compaction.is_none());
    let list = t
        .store
        .list_sessions(&SessionFilter::default())
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].message_count, 3);
    let _ = &t.path;
}
