//! The merged search and listing over a real store: hits and sessions come newest
//! first by their instants, whatever the text of their times.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use cairn_app::sessions::{self, Kind};
use cairn_app::{ImportRequest, JsonlV1, import_session};
use cairn_core::Store;
use cairn_store_conformance::support::{checkpoint, project};

fn store(dir: &Path) -> Arc<dyn Store> {
    cairn_store_sqlite::open_store(
        &dir.join("cairn.db"),
        cairn_store_sqlite::Synchronous::Normal,
    )
    .unwrap()
}

/// A chat session whose two messages are half a second apart: as text,
/// `09:00:00Z` sorts after `09:00:00.5Z`, though it is the earlier time.
async fn import_chat(store: &dyn Store, dir: &Path) {
    let path = dir.join("s.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for l in [
        r#"{"format":"cairn.session","version":1,"name":"s","project":"/p","model":"openai:gpt-4.1","created_at":"2025-03-01T09:00:00Z"}"#,
        r#"{"seq":1,"ts":"2025-03-01T09:00:00Z","kind":"message","role":"user","content":[{"type":"text","text":"needle earlier"}]}"#,
        r#"{"seq":2,"ts":"2025-03-01T09:00:00.5Z","kind":"message","role":"user","content":[{"type":"text","text":"needle later"}]}"#,
    ] {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    import_session(
        store,
        Box::new(JsonlV1::open(&path).unwrap()),
        ImportRequest {
            name: None,
            project: project("/tmp/project"),
            knowledge_retention: 2,
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn search_hits_come_newest_first_by_instant() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    import_chat(store.as_ref(), dir.path()).await;
    let found = sessions::search(store.as_ref(), "needle", None, 10)
        .await
        .unwrap();
    let seqs: Vec<Option<u64>> = found.hits.iter().map(|h| h.seq).collect();
    assert_eq!(seqs, [Some(2), Some(1)], "{:?}", found.hits);
    assert!(found.hits.iter().all(|h| h.kind == Kind::Chat));
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoints_and_chats_are_listed_and_searched_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    import_chat(store.as_ref(), dir.path()).await;
    let mut saved = checkpoint("auth-v2", "/tmp/project", None);
    saved.summary = "Needle in the summary".into();
    store.save_checkpoint(saved).await.unwrap();
    let listed = sessions::list(store.as_ref(), None, 10).await.unwrap();
    let kinds: Vec<(Kind, &str)> = listed
        .sessions
        .iter()
        .map(|s| (s.kind, s.id.as_str()))
        .collect();
    assert_eq!(kinds, [(Kind::Checkpoint, "auth-v2"), (Kind::Chat, "s")]);
    let found = sessions::search(store.as_ref(), "needle", None, 10)
        .await
        .unwrap();
    assert_eq!(found.hits.len(), 3, "{:?}", found.hits);
    assert_eq!(found.hits[0].kind, Kind::Checkpoint);
    assert!(
        found.hits[0].snippet.starts_with("round 1: ")
            && found.hits[0].snippet.contains("[Needle] in the summary"),
        "{}",
        found.hits[0].snippet
    );
}
