//! The import use case over a real store: the JSONL v1 importer names the file and
//! line of a bad item, and the live-context size an import records is the one the
//! whole live context gives.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use cairn_app::{ImportRequest, JsonlV1, import_session};
use cairn_core::tokens::TokenCounter;
use cairn_core::{NewEvent, Payload, Role, Store};
use cairn_store_conformance::support::{compaction, knowledge, message, new_session, project};

fn store(dir: &Path) -> Arc<dyn Store> {
    cairn_store_sqlite::open_store(
        &dir.join("cairn.db"),
        cairn_store_sqlite::Synchronous::Normal,
    )
    .unwrap()
}

fn request() -> ImportRequest {
    ImportRequest {
        name: None,
        project: project("/tmp/project"),
        knowledge_retention: 2,
    }
}

const HEADER: &str = r#"{"format":"cairn.session","version":1,"name":"s","project":"/elsewhere","model":"openai:gpt-4.1","created_at":"2025-03-01T09:00:00Z"}"#;

fn line(seq: u64, text: &str) -> String {
    format!(
        r#"{{"seq":{seq},"ts":"2025-03-01T09:00:0{seq}Z","kind":"message","role":"user","content":[{{"type":"text","text":"{text}"}}]}}"#
    )
}

fn file(dir: &Path, lines: &[String]) -> std::path::PathBuf {
    let path = dir.join("s.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_line_is_named_with_its_file_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let path = file(
        dir.path(),
        &[
            HEADER.into(),
            line(1, "a"),
            line(2, "b"),
            "{not json".into(),
        ],
    );
    // The survey checks media only; the import's one transaction meets the bad
    // line and rolls back.
    let importer = JsonlV1::open(&path).unwrap();
    let shown = path.display().to_string();
    let err = import_session(store.as_ref(), Box::new(importer), request())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!("{shown}: line 4")),
        "{err}"
    );
    assert_eq!(store.count_sessions(None).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_keeps_the_callers_project_and_counts_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let path = file(dir.path(), &[HEADER.into(), line(1, "a"), line(2, "b")]);
    let imported = import_session(
        store.as_ref(),
        Box::new(JsonlV1::open(&path).unwrap()),
        request(),
    )
    .await
    .unwrap();
    assert_eq!(imported.events, 2);
    assert_eq!(imported.session.project.as_str(), "/tmp/project");
    assert_eq!(imported.source_project.as_str(), "/elsewhere");
    assert_eq!(imported.session.head_seq, 2);
}

/// The paged count equals `count_live_context` of the whole live context, with a
/// compaction, pinned and unpinned knowledge beyond the retention, and a tail
/// longer than one page.
#[tokio::test(flavor = "multi_thread")]
async fn live_tokens_are_counted_as_the_live_context_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut new = new_session("live");
    new.model = Some("openai:gpt-4.1".into());
    let session = store.create_session(new).await.unwrap();
    let mut events: Vec<NewEvent> = vec![
        NewEvent::now(message(Role::User, "first")),
        knowledge("pinned early", true),
        knowledge("old one", false),
        NewEvent::now(message(Role::Assistant, "second")),
        compaction(1, 4),
        knowledge("newer", false),
        knowledge("newest", false),
    ];
    for i in 0..80 {
        events.push(NewEvent::now(message(
            Role::User,
            &format!("tail message {i} with some words"),
        )));
    }
    store.append_events(session.id, events).await.unwrap();
    let session = store.session_by_id(session.id).await.unwrap();
    let live = store.live_context(session.id, 2).await.unwrap();
    let counter = session
        .model
        .as_deref()
        .and_then(|m| cairn_llm::ModelRef::parse(m).ok())
        .map_or_else(TokenCounter::estimate, |m| m.token_counter());
    let expected = counter.count_live_context(&live).tokens;
    let counted = cairn_app::live_tokens::live_tokens(store.as_ref(), &session, 2)
        .await
        .unwrap();
    assert_eq!(counted, expected);
    assert!(matches!(
        live.compaction.map(|e| e.payload),
        Some(Payload::Compaction(_))
    ));
}
