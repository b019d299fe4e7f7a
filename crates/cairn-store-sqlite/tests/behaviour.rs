//! Behaviour of every `Store` method on a real SQLite file in a temp dir,
//! including the hostile cases.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use cairn_core::context::live_view;
use cairn_core::event::ToolResultContent;
use cairn_store_sqlite::Synchronous;
use cairn_core::store::{SearchScope, SessionUpdate};
use cairn_core::{
    Compaction, ContentBlock, Error, Event, KnowledgeItem, KnowledgeKind, LeaseHolder, MediaBlock,
    Message, NewCheckpoint, NewEvent, NewPoolSignal, NewSession, Payload, PoolAction, Project,
    Role, SessionFilter, SessionName, SessionStatus, Store, Timestamp, Usage,
};
use cairn_store_sqlite::{SqliteStore, open_store};
use sha2::Digest;

struct TempStore {
    dir: tempfile::TempDir,
    path: PathBuf,
    store: Arc<dyn Store>,
}

fn temp_store() -> TempStore {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("cairn.db");
    let store = open_store(&path, Synchronous::Normal).unwrap();
    TempStore { dir, path, store }
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

fn message(role: Role, text: &str) -> Payload {
    Payload::Message(Message::text(role, text))
}

fn text(role: Role, text: &str) -> NewEvent {
    NewEvent::now(message(role, text))
}

fn with_usage(text: &str, request_id: Option<&str>, input: u64, cost: f64) -> NewEvent {
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

fn compaction(first: u64, last: u64) -> NewEvent {
    NewEvent::now(Payload::Compaction(Compaction {
        replaces: [first, last],
        summary: format!("summary of {first}..{last}"),
        knowledge: vec![],
        tokens_before: 100,
        tokens_after: 10,
        extra: Default::default(),
    }))
}

fn knowledge(text: &str, pinned: bool) -> NewEvent {
    NewEvent::now(Payload::Knowledge(KnowledgeItem {
        knowledge_kind: KnowledgeKind::Decision,
        text: text.into(),
        pinned,
        extra: Default::default(),
    }))
}

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

async fn full_history(store: &Arc<dyn Store>, id: ulid::Ulid) -> Vec<Event> {
    store.events_after(id, 0, 0).await.unwrap()
}

#[tokio::test]
async fn create_append_list_and_resume_on_a_current_thread_runtime() {
    let t = temp_store();
    let s = t.store.create_session(new_session("first")).await.unwrap();
    assert_eq!(
        (s.head_seq, s.context_start_seq, s.compaction_seq),
        (0, 1, None)
    );
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
    assert_eq!(list[0].updated_at, live.events[2].ts);

    // Everything survives a reopen.
    drop(t.store);
    let store = open_store(&t.path, Synchronous::Full).unwrap();
    let again = store.session(&name("first")).await.unwrap();
    assert_eq!(again.head_seq, 3);
    assert_eq!(full_history(&store, s.id).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn names_are_unique_and_missing_sessions_are_not_found() {
    let t = temp_store();
    let a = t.store.create_session(new_session("a")).await.unwrap();
    t.store.create_session(new_session("b")).await.unwrap();
    let err = t.store.create_session(new_session("a")).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("a"), "{err}");

    let err = t
        .store
        .rename_session(&name("a"), &name("b"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    let err = t
        .store
        .rename_session(&name("zz"), &name("c"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert_eq!(err.exit_code(), 3);

    let renamed = t
        .store
        .rename_session(&name("a"), &name("c"))
        .await
        .unwrap();
    assert_eq!(renamed.id, a.id);
    assert_eq!(renamed.name, name("c"));
    assert!(matches!(
        t.store.session(&name("a")).await.unwrap_err(),
        Error::NotFound { .. }
    ));
    assert_eq!(t.store.session(&name("c")).await.unwrap().id, a.id);
    assert!(matches!(
        t.store.session_by_id(ulid::Ulid::new()).await.unwrap_err(),
        Error::NotFound { .. }
    ));
    assert!(matches!(
        t.store
            .append_events(ulid::Ulid::new(), vec![text(Role::User, "x")])
            .await
            .unwrap_err(),
        Error::NotFound { .. }
    ));
    assert!(matches!(
        t.store.delete_session(&name("nope")).await.unwrap_err(),
        Error::NotFound { .. }
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_is_newest_activity_first_with_pages_and_projects() {
    let t = temp_store();
    let mut ids = Vec::new();
    for (i, p) in ["/p/one", "/p/two", "/p/one", "/p/two", "/p/one"]
        .iter()
        .enumerate()
    {
        let mut new = NewSession::new(name(&format!("s{i}")), project(p));
        new.created_at = Some(Timestamp::from_second(1_000 + i as i64).unwrap());
        ids.push(t.store.create_session(new).await.unwrap().id);
    }
    // Activity on s0 makes it the newest.
    t.store
        .append_events(ids[0], vec![text(Role::User, "bump")])
        .await
        .unwrap();
    let all = t
        .store
        .list_sessions(&SessionFilter::default())
        .await
        .unwrap();
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["s0", "s4", "s3", "s2", "s1"]);

    let page = t
        .store
        .list_sessions(&SessionFilter {
            project: None,
            limit: 2,
            offset: 1,
        })
        .await
        .unwrap();
    let names: Vec<&str> = page.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["s4", "s3"]);

    let one = t
        .store
        .list_sessions(&SessionFilter {
            project: Some(project("/p/one")),
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap();
    let names: Vec<&str> = one.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["s0", "s4", "s2"]);

    assert_eq!(t.store.count_sessions(None).await.unwrap(), 5);
    assert_eq!(
        t.store
            .count_sessions(Some(&project("/p/two")))
            .await
            .unwrap(),
        2
    );
    let recent = t
        .store
        .most_recent_session(Some(&project("/p/two")))
        .await
        .unwrap();
    assert_eq!(recent.unwrap().name, name("s3"));
    assert_eq!(
        t.store
            .most_recent_session(None)
            .await
            .unwrap()
            .unwrap()
            .name,
        name("s0")
    );
    assert!(
        t.store
            .most_recent_session(Some(&project("/p/none")))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_session_changes_only_given_fields() {
    let t = temp_store();
    let s = t.store.create_session(new_session("u")).await.unwrap();
    let updated = t
        .store
        .update_session(
            s.id,
            SessionUpdate {
                title: Some(Some("Auth refactor".into())),
                model: Some(Some("openai:gpt-4.1".into())),
                status: Some(SessionStatus::Done),
                live_tokens: Some(1234),
                spend_checkpoint_usd: Some(0.5),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.title.as_deref(), Some("Auth refactor"));
    assert_eq!(updated.model.as_deref(), Some("openai:gpt-4.1"));
    assert_eq!(updated.status, SessionStatus::Done);
    assert_eq!(updated.live_tokens, 1234);
    assert_eq!(updated.spend_checkpoint_usd, 0.5);
    let again = t
        .store
        .update_session(
            s.id,
            SessionUpdate {
                title: Some(None),
                ..SessionUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(again.title, None);
    assert_eq!(again.model.as_deref(), Some("openai:gpt-4.1"));
    let summary = &t
        .store
        .list_sessions(&SessionFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(summary.live_tokens, 1234);
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_is_counted_once_per_request_id() {
    let t = temp_store();
    let s = t.store.create_session(new_session("u")).await.unwrap();
    let other = t.store.create_session(new_session("v")).await.unwrap();
    t.store
        .append_events(
            s.id,
            vec![
                with_usage("a", Some("req-1"), 100, 0.25),
                with_usage("b", Some("req-1"), 100, 0.25),
                with_usage("c", Some("req-2"), 10, 0.5),
                with_usage("d", None, 1, 1.0),
                with_usage("e", None, 1, 1.0),
            ],
        )
        .await
        .unwrap();
    // The same request id in a later append is still a duplicate.
    t.store
        .append_events(s.id, vec![with_usage("f", Some("req-2"), 10, 0.5)])
        .await
        .unwrap();
    // ... but another session counts it for itself.
    t.store
        .append_events(other.id, vec![with_usage("g", Some("req-1"), 100, 0.25)])
        .await
        .unwrap();
    let s = t.store.session_by_id(s.id).await.unwrap();
    assert_eq!(s.usage.input_tokens, 112);
    assert_eq!(s.usage.output_tokens, 4);
    assert!((s.cost_usd - 2.75).abs() < 1e-9, "{}", s.cost_usd);
    assert_eq!(s.message_count, 6);
    let o = t.store.session_by_id(other.id).await.unwrap();
    assert_eq!(o.usage.input_tokens, 100);
    let summary = t
        .store
        .list_sessions(&SessionFilter {
            project: None,
            limit: 0,
            offset: 0,
        })
        .await
        .unwrap();
    let u = summary.iter().find(|x| x.name == name("u")).unwrap();
    assert_eq!(u.tokens, 116);
}

#[tokio::test(flavor = "multi_thread")]
async fn absurd_usage_or_cost_is_refused_and_writes_nothing() {
    let t = temp_store();
    let s = t.store.create_session(new_session("absurd")).await.unwrap();
    let mut huge = with_usage("a", Some("r"), u64::MAX, 0.1);
    let err = t
        .store
        .append_events(s.id, vec![text(Role::User, "first"), huge.clone()])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    assert!(err.to_string().contains("input_tokens"), "{err}");
    assert!(err.to_string().contains("seq 2"), "{err}");
    if let Payload::Message(m) = &mut huge.payload {
        m.usage = None;
        m.cost_usd = Some(f64::NAN);
    }
    let err = t.store.append_events(s.id, vec![huge]).await.unwrap_err();
    assert!(err.to_string().contains("cost_usd"), "{err}");
    let s = t.store.session_by_id(s.id).await.unwrap();
    assert_eq!((s.head_seq, s.usage.total(), s.cost_usd), (0, 0, 0.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_calls_and_compactions_are_counted() {
    let t = temp_store();
    let s = t.store.create_session(new_session("tools")).await.unwrap();
    let calls = Message::new(
        Role::Assistant,
        vec![
            ContentBlock::text("reading"),
            ContentBlock::ToolUse {
                id: "t1".into(),
                name: "read_file".into(),
                input: serde_json::json!({"path": "a"}),
            },
            ContentBlock::ToolUse {
                id: "t2".into(),
                name: "read_file".into(),
                input: serde_json::json!({"path": "b"}),
            },
        ],
    );
    let result = Message::new(
        Role::Tool,
        vec![ContentBlock::ToolResult {
            tool_use_id: "t1".into(),
            content: ToolResultContent::Text("file a".into()),
            is_error: false,
        }],
    );
    t.store
        .append_events(
            s.id,
            vec![
                NewEvent::now(Payload::Message(calls)),
                NewEvent::now(Payload::Message(result)),
                compaction(1, 2),
            ],
        )
        .await
        .unwrap();
    let s = t.store.session_by_id(s.id).await.unwrap();
    assert_eq!(s.tool_call_count, 2);
    assert_eq!(s.message_count, 2);
    assert_eq!(s.compaction_count, 1);
    assert_eq!(s.compaction_seq, Some(3));
    assert_eq!(s.context_start_seq, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compaction_must_replace_earlier_events_and_a_bad_one_writes_nothing() {
    let t = temp_store();
    let s = t.store.create_session(new_session("c")).await.unwrap();
    for (first, last) in [(1, 5), (0, 1), (2, 1)] {
        let err = t
            .store
            .append_events(s.id, vec![text(Role::User, "a"), compaction(first, last)])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("replaces"), "{err}");
        assert!(err.to_string().contains("seq 2"), "{err}");
    }
    let s = t.store.session_by_id(s.id).await.unwrap();
    assert_eq!(s.head_seq, 0);
    assert!(full_history(&t.store, s.id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn live_context_after_several_compactions_equals_the_live_view() {
    let t = temp_store();
    let s = t.store.create_session(new_session("long")).await.unwrap();
    let mut seq = 0u64;
    for round in 0..5u64 {
        let batch: Vec<NewEvent> = (0..7)
            .map(|i| text(Role::User, &format!("round {round} message {i}")))
            .collect();
        seq += t.store.append_events(s.id, batch).await.unwrap().len() as u64;
        // Each compaction keeps the last two events of the round verbatim.
        let last = seq - 2;
        seq += t
            .store
            .append_events(s.id, vec![compaction(1, last)])
            .await
            .unwrap()
            .len() as u64;
        let full = full_history(&t.store, s.id).await;
        let (latest, tail) = live_view(&full);
        let live = t.store.live_context(s.id, 10).await.unwrap();
        assert_eq!(live.compaction.as_ref(), latest);
        assert_eq!(
            seqs(&live.events),
            tail.iter().map(|e| e.seq).collect::<Vec<_>>()
        );
        assert_eq!(live.events, tail.into_iter().cloned().collect::<Vec<_>>());
    }
    t.store
        .append_events(s.id, vec![text(Role::User, "after")])
        .await
        .unwrap();
    let full = full_history(&t.store, s.id).await;
    let (latest, tail) = live_view(&full);
    let live = t.store.live_context(s.id, 10).await.unwrap();
    assert_eq!(live.compaction.as_ref(), latest);
    assert_eq!(live.events, tail.into_iter().cloned().collect::<Vec<_>>());
    assert_eq!(live.session.compaction_count, 5);
    assert_eq!(full.len() as u64, live.session.head_seq);
    assert_eq!(seqs(&full), (1..=live.session.head_seq).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn knowledge_retention_keeps_the_newest_and_every_pinned_item() {
    let t = temp_store();
    let s = t.store.create_session(new_session("k")).await.unwrap();
    t.store
        .append_events(
            s.id,
            vec![
                knowledge("k1", false),
                knowledge("k2", true),
                text(Role::User, "chat"),
                knowledge("k3", false),
                knowledge("k4", false),
                knowledge("k5", false),
            ],
        )
        .await
        .unwrap();
    t.store
        .append_events(s.id, vec![compaction(1, 6)])
        .await
        .unwrap();
    let live = t.store.live_context(s.id, 2).await.unwrap();
    assert_eq!(seqs(&live.knowledge), vec![2, 5, 6]);
    assert!(live.events.is_empty());
    let live = t.store.live_context(s.id, 0).await.unwrap();
    assert_eq!(seqs(&live.knowledge), vec![2]);

    // Pin k1, unpin k2.
    t.store.set_knowledge_pinned(s.id, 1, true).await.unwrap();
    t.store.set_knowledge_pinned(s.id, 2, false).await.unwrap();
    let live = t.store.live_context(s.id, 1).await.unwrap();
    assert_eq!(seqs(&live.knowledge), vec![1, 6]);
    let all = t.store.knowledge(s.id).await.unwrap();
    assert_eq!(seqs(&all), vec![1, 2, 4, 5, 6]);
    let pinned: Vec<bool> = all
        .iter()
        .map(|e| match &e.payload {
            Payload::Knowledge(k) => k.pinned,
            _ => panic!("not knowledge"),
        })
        .collect();
    assert_eq!(pinned, vec![true, false, false, false, false]);

    let err = t
        .store
        .set_knowledge_pinned(s.id, 3, true)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let err = t
        .store
        .set_knowledge_pinned(s.id, 99, true)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn large_events_of_the_live_context_or_the_whole_history() {
    let t = temp_store();
    let s = t.store.create_session(new_session("big")).await.unwrap();
    let big = "x".repeat(5000);
    t.store
        .append_events(
            s.id,
            vec![
                text(Role::Tool, &big),
                text(Role::User, "small"),
                compaction(1, 2),
                text(Role::Tool, &big),
                text(Role::User, "tiny"),
            ],
        )
        .await
        .unwrap();
    let live = t.store.large_events(s.id, 1000, false).await.unwrap();
    assert_eq!(
        live.iter().map(|e| e.event.seq).collect::<Vec<_>>(),
        vec![4]
    );
    assert!(live[0].bytes >= 5000);
    let all = t.store.large_events(s.id, 1000, true).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.event.seq).collect::<Vec<_>>(),
        vec![1, 4]
    );
    let page = t.store.events_after(s.id, 1, 2).await.unwrap();
    assert_eq!(seqs(&page), vec![2, 3]);
}

async fn scope_all(store: &Arc<dyn Store>, query: &str) -> Vec<cairn_core::store::SearchHit> {
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

#[tokio::test(flavor = "multi_thread")]
async fn search_is_newest_first_with_highlights_and_scoped_by_project() {
    let t = temp_store();
    let a = t.store.create_session(new_session("alpha")).await.unwrap();
    let mut other = new_session("beta");
    other.project = project("/p/two");
    let b = t.store.create_session(other).await.unwrap();
    t.store
        .append_events(
            a.id,
            vec![
                text(Role::User, "the tokenizer handles JWT refresh tokens"),
                text(Role::Assistant, "nothing here"),
            ],
        )
        .await
        .unwrap();
    t.store
        .append_events(b.id, vec![text(Role::User, "rotate the JWT signing key")])
        .await
        .unwrap();
    t.store
        .append_events(a.id, vec![text(Role::Assistant, "JWT decided")])
        .await
        .unwrap();
    let hits = scope_all(&t.store, "jwt").await;
    let found: Vec<(&str, u64)> = hits.iter().map(|h| (h.session.as_str(), h.seq)).collect();
    assert_eq!(found, vec![("alpha", 3), ("beta", 1), ("alpha", 1)]);
    assert!(hits[0].snippet.contains("[JWT]"), "{}", hits[0].snippet);
    assert_eq!(hits[0].role, Some(Role::Assistant));
    assert_eq!(hits[1].project, project("/p/two"));

    let scoped = t
        .store
        .search(
            "JWT",
            &SearchScope {
                project: Some(project("/p/two")),
                limit: 20,
            },
        )
        .await
        .unwrap();
    assert_eq!(scoped.len(), 1);
    assert_eq!(scoped[0].session, name("beta"));

    let limited = t
        .store
        .search(
            "jwt",
            &SearchScope {
                project: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].seq, 3);

    // Two words must both occur.
    let both = scope_all(&t.store, "jwt refresh").await;
    assert_eq!(both.len(), 1);
    assert!(both[0].snippet.contains("[JWT]") && both[0].snippet.contains("[refresh]"));
}

#[tokio::test(flavor = "multi_thread")]
async fn search_takes_fts_syntax_literally() {
    let t = temp_store();
    let s = t.store.create_session(new_session("syntax")).await.unwrap();
    t.store
        .append_events(
            s.id,
            vec![
                text(Role::User, r#"she said "quoted words" AND then (left)"#),
                text(Role::User, "star* power NEAR the col:umn"),
                text(Role::User, "plain and simple"),
            ],
        )
        .await
        .unwrap();
    for query in [
        "\"",
        "\"\"",
        "*",
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "NEAR(",
        "\"quoted",
        "quoted\"",
        "(left",
        "star*",
        "col:umn",
        "^",
        "-",
        "a AND",
        "AND OR NOT",
        "{x}",
        "'",
        ":",
        "\u{0}",
        "   ",
    ] {
        let result = t
            .store
            .search(
                query,
                &SearchScope {
                    project: None,
                    limit: 10,
                },
            )
            .await;
        assert!(result.is_ok(), "query {query:?}: {result:?}");
    }
    // Operators are words: "AND" finds the messages containing the word "and".
    let hits = scope_all(&t.store, "AND").await;
    assert_eq!(hits.len(), 2);
    let hits = scope_all(&t.store, "\"quoted").await;
    assert_eq!(hits.len(), 1);
    assert!(hits[0].snippet.contains("[quoted]"), "{}", hits[0].snippet);
    let hits = scope_all(&t.store, "star*").await;
    assert_eq!(hits.len(), 1);
    // `*` is not a prefix operator: "sta*" does not find "star".
    assert!(scope_all(&t.store, "sta*").await.is_empty());
    let hits = scope_all(&t.store, "(left)").await;
    assert_eq!(hits.len(), 1);
    assert!(scope_all(&t.store, "*").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_session_removes_its_events_and_search_entries() {
    let t = temp_store();
    let a = t.store.create_session(new_session("gone")).await.unwrap();
    let b = t.store.create_session(new_session("kept")).await.unwrap();
    t.store
        .append_events(
            a.id,
            vec![
                text(Role::User, "unicorn gone"),
                knowledge("unicorn fact", false),
                with_usage("u", Some("r1"), 1, 0.1),
            ],
        )
        .await
        .unwrap();
    t.store
        .append_events(b.id, vec![text(Role::User, "unicorn kept")])
        .await
        .unwrap();
    assert_eq!(scope_all(&t.store, "unicorn").await.len(), 3);
    t.store.delete_session(&name("gone")).await.unwrap();
    let hits = scope_all(&t.store, "unicorn").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].session, name("kept"));
    assert!(matches!(
        t.store.session(&name("gone")).await.unwrap_err(),
        Error::NotFound { .. }
    ));
    // The name is free again and the new session starts empty.
    let again = t.store.create_session(new_session("gone")).await.unwrap();
    assert_eq!(again.head_seq, 0);
    assert!(full_history(&t.store, again.id).await.is_empty());
    t.store
        .append_events(again.id, vec![with_usage("u", Some("r1"), 1, 0.1)])
        .await
        .unwrap();
    assert_eq!(
        t.store
            .session_by_id(again.id)
            .await
            .unwrap()
            .usage
            .input_tokens,
        1
    );
    let conn = rusqlite::Connection::open(&t.path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // The full-text index still matches the events exactly.
    SqliteStore::open(&t.path, Synchronous::Normal)
        .unwrap()
        .check_integrity()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_integrity_check_finds_a_damaged_full_text_index() {
    let t = temp_store();
    let s = t.store.create_session(new_session("ok")).await.unwrap();
    t.store
        .append_events(s.id, vec![text(Role::User, "indexed words")])
        .await
        .unwrap();
    let store = SqliteStore::open(&t.path, Synchronous::Normal).unwrap();
    store.check_integrity().await.unwrap();
    // Change an event behind the index's back.
    let conn = rusqlite::Connection::open(&t.path).unwrap();
    conn.execute(
        r#"UPDATE events SET body = '{"role":"user","content":[{"type":"text","text":"other"}]}'"#,
        [],
    )
    .unwrap();
    let err = store.check_integrity().await.unwrap_err();
    assert!(matches!(err, Error::StoreUnusable { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_scope_excludes_nested_and_sibling_projects() {
    let t = temp_store();
    for (session, key) in [
        ("top", "/p/one"),
        ("nested", "/p/one/sub"),
        ("sibling", "/p/onex"),
    ] {
        let mut new = new_session(session);
        new.project = project(key);
        let s = t.store.create_session(new).await.unwrap();
        t.store
            .append_events(s.id, vec![text(Role::User, "common word")])
            .await
            .unwrap();
    }
    for (key, expected) in [
        ("/p/one", "top"),
        ("/p/one/sub", "nested"),
        ("/p/onex", "sibling"),
    ] {
        let hits = t
            .store
            .search(
                "common",
                &SearchScope {
                    project: Some(project(key)),
                    limit: 10,
                },
            )
            .await
            .unwrap();
        let names: Vec<&str> = hits.iter().map(|h| h.session.as_str()).collect();
        assert_eq!(names, [expected]);
    }
    assert_eq!(scope_all(&t.store, "common").await.len(), 3);
    // The project token is not searchable text.
    assert!(scope_all(&t.store, "p").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_are_content_addressed() {
    let t = temp_store();
    let bytes = b"\x89PNG fake image".to_vec();
    let first = t
        .store
        .put_attachment("image/png", bytes.clone())
        .await
        .unwrap();
    let second = t
        .store
        .put_attachment("image/png", bytes.clone())
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(first.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(first.size, bytes.len() as u64);
    let got = t.store.attachment(&first.sha256).await.unwrap();
    assert_eq!(got.bytes, bytes);
    assert_eq!(got.reference, first);
    let conn = rusqlite::Connection::open(&t.path).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM attachments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let err = t.store.attachment(&"0".repeat(64)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

fn imported(seq: u64, payload: Payload) -> Event {
    Event {
        seq,
        ts: format!("2026-11-20T09:00:{:02}.123456789Z", seq % 60)
            .parse()
            .unwrap(),
        payload,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn import_keeps_seqs_and_times_and_recomputes_totals_like_append() {
    let t = temp_store();
    let usage = |text: &str, req: &str| match with_usage(text, Some(req), 7, 0.5).payload {
        p @ Payload::Message(_) => p,
        _ => unreachable!(),
    };
    let payloads = vec![
        message(Role::User, "hello import"),
        usage("a", "r1"),
        usage("b", "r1"),
        knowledge("imported fact", true).payload,
        compaction(1, 3).payload,
        Payload::Other {
            kind: "command".into(),
            fields: serde_json::from_str(r#"{"name":"/model","args":["x"]}"#).unwrap(),
        },
        message(Role::User, "after compaction"),
    ];
    let history: Vec<Event> = payloads
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, p)| imported(i as u64 + 1, p))
        .collect();
    let mut new = new_session("imported");
    new.created_at = Some("2026-11-20T08:59:00.000000001Z".parse().unwrap());
    let s = t.store.import_session(new, history.clone()).await.unwrap();
    assert_eq!(s.created_at.to_string(), "2026-11-20T08:59:00.000000001Z");
    assert_eq!(s.updated_at, history[6].ts);
    assert_eq!(full_history(&t.store, s.id).await, history);

    // The same events appended one by one give the same totals.
    let appended = t
        .store
        .create_session(new_session("appended"))
        .await
        .unwrap();
    for p in payloads {
        t.store
            .append_events(appended.id, vec![NewEvent::now(p)])
            .await
            .unwrap();
    }
    let appended = t.store.session_by_id(appended.id).await.unwrap();
    assert_eq!(s.usage, appended.usage);
    assert_eq!(s.cost_usd, appended.cost_usd);
    assert_eq!(
        (s.head_seq, s.context_start_seq, s.compaction_seq),
        (
            appended.head_seq,
            appended.context_start_seq,
            appended.compaction_seq
        )
    );
    assert_eq!(
        (s.message_count, s.tool_call_count, s.compaction_count),
        (
            appended.message_count,
            appended.tool_call_count,
            appended.compaction_count
        )
    );
    assert_eq!(s.usage.input_tokens, 7);
    let live = t.store.live_context(s.id, 5).await.unwrap();
    assert_eq!(seqs(&live.events), vec![4, 6, 7]);
    assert_eq!(seqs(&live.knowledge), vec![4]);
    // Both sessions indexed their text: the knowledge item is found in each.
    let hits = scope_all(&t.store, "imported fact").await;
    let found: Vec<(&str, u64)> = hits.iter().map(|h| (h.session.as_str(), h.seq)).collect();
    assert_eq!(found, vec![("appended", 4), ("imported", 4)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn import_refuses_gaps_duplicates_and_taken_names_and_writes_nothing() {
    let t = temp_store();
    let good = |seq| imported(seq, message(Role::User, "x"));
    for (history, bad_seq) in [
        (vec![good(1), good(3)], 3),
        (vec![good(1), good(1)], 1),
        (vec![good(2)], 2),
    ] {
        let err = t
            .store
            .import_session(new_session("bad"), history)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
        assert!(err.to_string().contains(&format!("seq {bad_seq}")), "{err}");
    }
    assert_eq!(t.store.count_sessions(None).await.unwrap(), 0);
    t.store.create_session(new_session("taken")).await.unwrap();
    let err = t
        .store
        .import_session(new_session("taken"), vec![good(1)])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    // A bad compaction in the middle rolls back the whole import.
    let err = t
        .store
        .import_session(
            new_session("half"),
            vec![good(1), imported(2, compaction(1, 2).payload)],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("seq 2"), "{err}");
    assert!(t.store.session(&name("half")).await.is_err());
}

fn image(sha256: &str, data: Option<&[u8]>) -> ContentBlock {
    ContentBlock::Image(MediaBlock {
        sha256: sha256.into(),
        mime: "image/png".into(),
        data_base64: data.map(|d| base64::engine::general_purpose::STANDARD.encode(d)),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn import_moves_inline_media_into_attachments() {
    let t = temp_store();
    let bytes = b"pretend png".to_vec();
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let nested = ContentBlock::ToolResult {
        tool_use_id: "t1".into(),
        content: ToolResultContent::Blocks(vec![
            ContentBlock::text("screenshot"),
            image(&sha, Some(&bytes)),
        ]),
        is_error: false,
    };
    let history = vec![
        imported(
            1,
            Payload::Message(Message::new(Role::User, vec![image(&sha, Some(&bytes))])),
        ),
        imported(2, Payload::Message(Message::new(Role::Tool, vec![nested]))),
    ];
    let s = t
        .store
        .import_session(new_session("media"), history)
        .await
        .unwrap();
    let stored = full_history(&t.store, s.id).await;
    let Payload::Message(m) = &stored[0].payload else {
        panic!("not a message")
    };
    assert_eq!(m.content, vec![image(&sha, None)]);
    let Payload::Message(m) = &stored[1].payload else {
        panic!("not a message")
    };
    let ContentBlock::ToolResult {
        content: ToolResultContent::Blocks(blocks),
        ..
    } = &m.content[0]
    else {
        panic!("not a tool result")
    };
    assert_eq!(blocks[1], image(&sha, None));
    assert_eq!(t.store.attachment(&sha).await.unwrap().bytes, bytes);

    // Data that does not hash to the declared sha256 is refused; nothing imported.
    let wrong = vec![imported(
        1,
        Payload::Message(Message::new(
            Role::User,
            vec![image(&"a".repeat(64), Some(b"other bytes"))],
        )),
    )];
    let err = t
        .store
        .import_session(new_session("wrong"), wrong)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sha256"), "{err}");
    assert!(err.to_string().contains("seq 1"), "{err}");
    assert!(t.store.session(&name("wrong")).await.is_err());
    let err = t
        .store
        .import_session(
            new_session("wrong"),
            vec![imported(
                1,
                Payload::Message(Message::new(
                    Role::User,
                    vec![ContentBlock::Image(MediaBlock {
                        sha256: sha.clone(),
                        mime: "image/png".into(),
                        data_base64: Some("***not base64***".into()),
                    })],
                )),
            )],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("base64"), "{err}");
}

fn checkpoint(session_id: &str, project_key: &str, round: Option<&str>) -> NewCheckpoint {
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

#[tokio::test(flavor = "multi_thread")]
async fn checkpoints_number_their_rounds_per_session_id() {
    let t = temp_store();
    let c1 = t
        .store
        .save_checkpoint(checkpoint("auth-v2", "/p/one", None))
        .await
        .unwrap();
    let c2 = t
        .store
        .save_checkpoint(checkpoint("auth-v2", "/p/one", None))
        .await
        .unwrap();
    let other = t
        .store
        .save_checkpoint(checkpoint("billing", "/p/two", None))
        .await
        .unwrap();
    let named = t
        .store
        .save_checkpoint(checkpoint("auth-v2", "/p/one", Some("design")))
        .await
        .unwrap();
    let c4 = t
        .store
        .save_checkpoint(checkpoint("auth-v2", "/p/one", None))
        .await
        .unwrap();
    assert_eq!(
        [&c1, &c2, &other, &named, &c4].map(|c| c.round_id.as_str()),
        ["1", "2", "1", "design", "3"]
    );
    assert_ne!(c1.checkpoint_id, c2.checkpoint_id);
    assert!(ulid::Ulid::from_string(&c1.checkpoint_id).is_ok());
    assert_eq!(c1.next_steps, vec!["tests".to_string(), "docs".to_string()]);
    assert_eq!(c1.client.as_deref(), Some("claude-code"));

    let all = t.store.checkpoints("auth-v2").await.unwrap();
    assert_eq!(all, vec![c1, c2, named, c4.clone()]);
    assert_eq!(
        t.store.latest_checkpoint("auth-v2").await.unwrap(),
        Some(c4.clone())
    );
    assert_eq!(t.store.latest_checkpoint("nobody").await.unwrap(), None);

    let recent = t.store.recent_checkpoints(None, 10).await.unwrap();
    assert_eq!(recent, vec![c4.clone(), other.clone()]);
    let recent = t
        .store
        .recent_checkpoints(Some(&project("/p/two")), 10)
        .await
        .unwrap();
    assert_eq!(recent, vec![other]);
    let recent = t.store.recent_checkpoints(None, 1).await.unwrap();
    assert_eq!(recent, vec![c4]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pool_signals_and_instances() {
    let t = temp_store();
    let before = Timestamp::now() - jiff::SignedDuration::from_secs(1);
    let signal = |p: &str, topic: &str| NewPoolSignal {
        project: project(p),
        topic: topic.into(),
        action: PoolAction::Claimed,
        summary: format!("working on {topic}"),
        affects: vec!["src/auth.rs".into()],
        instance: "inst-1".into(),
        session_id: Some("auth-v2".into()),
        expires_at: Some("2030-01-01T00:00:00Z".parse().unwrap()),
    };
    let a = t
        .store
        .add_pool_signal(signal("/p/one", "auth"))
        .await
        .unwrap();
    let b = t
        .store
        .add_pool_signal(signal("/p/two", "billing"))
        .await
        .unwrap();
    assert!(b.id > a.id);
    assert_eq!(a.affects, vec!["src/auth.rs".to_string()]);
    assert_eq!(a.expires_at, Some("2030-01-01T00:00:00Z".parse().unwrap()));
    let all = t.store.pool_signals(None, before).await.unwrap();
    assert_eq!(all, vec![a.clone(), b.clone()]);
    let one = t
        .store
        .pool_signals(Some(&project("/p/one")), before)
        .await
        .unwrap();
    assert_eq!(one, vec![a.clone()]);
    let later = b.created_at + jiff::SignedDuration::from_micros(1);
    assert!(t.store.pool_signals(None, later).await.unwrap().is_empty());

    t.store
        .touch_instance(&project("/p/one"), "inst-1", Some("cursor"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    t.store
        .touch_instance(&project("/p/one"), "inst-2", None)
        .await
        .unwrap();
    t.store
        .touch_instance(&project("/p/two"), "inst-3", None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Touching again without a client keeps the known one and moves it first.
    t.store
        .touch_instance(&project("/p/one"), "inst-1", None)
        .await
        .unwrap();
    let seen = t
        .store
        .pool_instances(Some(&project("/p/one")), before)
        .await
        .unwrap();
    let names: Vec<&str> = seen.iter().map(|i| i.instance.as_str()).collect();
    assert_eq!(names, ["inst-1", "inst-2"]);
    assert_eq!(seen[0].client.as_deref(), Some("cursor"));
    assert_eq!(t.store.pool_instances(None, before).await.unwrap().len(), 3);
    let future = Timestamp::now() + jiff::SignedDuration::from_secs(60);
    assert!(
        t.store
            .pool_instances(None, future)
            .await
            .unwrap()
            .is_empty()
    );
}

fn holder(pid: u32, token: &str) -> LeaseHolder {
    LeaseHolder {
        pid,
        host: "devbox".into(),
        token: token.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn leases_refuse_a_second_writer_unless_forced_or_stale() {
    let t = temp_store();
    let s = t.store.create_session(new_session("leased")).await.unwrap();
    let first = holder(100, "aaa");
    let second = holder(200, "bbb");
    let minute = Duration::from_secs(60);
    let lease = t
        .store
        .acquire_lease(s.id, &first, minute, false)
        .await
        .unwrap();
    assert_eq!(lease.holder, first);
    // The holder may take it again.
    t.store
        .acquire_lease(s.id, &first, minute, false)
        .await
        .unwrap();
    let err = t
        .store
        .acquire_lease(s.id, &second, minute, false)
        .await
        .unwrap_err();
    let Error::LeaseHeld {
        session,
        holder: held_by,
        ..
    } = &err
    else {
        panic!("expected LeaseHeld, got {err}")
    };
    assert_eq!(session, "leased");
    assert_eq!(held_by, "pid 100@devbox");
    assert!(err.to_string().contains("--force"), "{err}");

    t.store.heartbeat_lease(s.id, &first).await.unwrap();
    // Forced takeover: the old holder's heartbeat now fails.
    t.store
        .acquire_lease(s.id, &second, minute, true)
        .await
        .unwrap();
    let err = t.store.heartbeat_lease(s.id, &first).await.unwrap_err();
    assert!(matches!(err, Error::LeaseHeld { .. }), "{err}");
    assert!(err.to_string().contains("pid 200@devbox"), "{err}");
    // Releasing someone else's lease changes nothing.
    t.store.release_lease(s.id, &first).await.unwrap();
    assert!(
        t.store
            .acquire_lease(s.id, &first, minute, false)
            .await
            .is_err()
    );
    t.store.release_lease(s.id, &second).await.unwrap();
    t.store
        .acquire_lease(s.id, &first, minute, false)
        .await
        .unwrap();

    // A stale lease is taken over without force.
    tokio::time::sleep(Duration::from_millis(30)).await;
    t.store
        .acquire_lease(s.id, &second, Duration::from_millis(10), false)
        .await
        .unwrap();
    // Same pid and host but another token is another holder (recycled pid).
    let recycled = holder(200, "ccc");
    assert!(
        t.store
            .acquire_lease(s.id, &recycled, minute, false)
            .await
            .is_err()
    );
    assert!(matches!(
        t.store
            .acquire_lease(ulid::Ulid::new(), &first, minute, false)
            .await
            .unwrap_err(),
        Error::NotFound { .. }
    ));
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_is_private_to_the_user() {
    let t = temp_store();
    let s = t.store.create_session(new_session("p")).await.unwrap();
    t.store
        .append_events(s.id, vec![text(Role::User, "secret plans")])
        .await
        .unwrap();
    assert_eq!(mode(t.path.parent().unwrap()), 0o700);
    assert_eq!(mode(&t.path), 0o600);
    let wal = t.path.with_extension("db-wal");
    let shm = t.path.with_extension("db-shm");
    assert!(wal.exists() && shm.exists());
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(mode(&shm), 0o600);
    let _ = t.dir.path();
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let content: Vec<u8> = b"this is my diary, not a database\n"
        .iter()
        .copied()
        .cycle()
        .take(10_000)
        .collect();
    std::fs::write(&path, &content).unwrap();
    let err = match open_store(&path, Synchronous::Normal) {
        Ok(_) => panic!("opened a non-database"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::StoreUnusable { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a SQLite database"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), content);
    assert!(!path.with_extension("db-wal").exists());
}

#[tokio::test]
async fn a_newer_schema_or_a_foreign_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    drop(open_store(&path, Synchronous::Normal).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 999").unwrap();
    }
    let err = match open_store(&path, Synchronous::Normal) {
        Ok(_) => panic!("opened a newer schema"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::StoreUnusable { .. }), "{err}");
    assert!(err.to_string().contains("999"), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");

    let foreign = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch("CREATE TABLE moz_places (id INTEGER)")
            .unwrap();
    }
    let before = std::fs::read(&foreign).unwrap();
    let err = match open_store(&foreign, Synchronous::Normal) {
        Ok(_) => panic!("opened a foreign database"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::StoreUnusable { .. }), "{err}");
    assert_eq!(std::fs::read(&foreign).unwrap(), before);
}

#[tokio::test]
async fn an_empty_file_becomes_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    std::fs::write(&path, b"").unwrap();
    let store = open_store(&path, Synchronous::Normal).unwrap();
    store.create_session(new_session("fresh")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_kinds_fields_and_blocks_are_stored_losslessly() {
    let t = temp_store();
    let lines = [
        r#"{"seq":1,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"assistant","content":[{"type":"thinking","text":"hmm","signature":"sig"},{"type":"hologram","x":[1,2]},{"type":"tool_use","id":"t1","name":"grep","input":{"q":"a","n":1.5}}],"usage":{"input_tokens":3,"output_tokens":4,"cache_read_tokens":5,"cache_write_tokens":6,"reasoning_tokens":7},"cost_usd":0.125,"model":"openai:gpt-4.1","request_id":"req-9","future_field":{"a":[1,2]}}"#,
        r#"{"seq":2,"ts":"2026-11-20T09:00:02.5Z","kind":"message","role":"tool","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"found it"}],"is_error":true}]}"#,
        r#"{"seq":3,"ts":"2026-11-20T09:00:03Z","kind":"command","name":"/model","args":["x"],"nested":{"deep":null}}"#,
        r#"{"seq":4,"ts":"2026-11-20T09:00:04Z","kind":"knowledge","knowledge_kind":"preference","text":"tabs","pinned":false,"source":"user"}"#,
    ];
    let history: Vec<Event> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let s = t
        .store
        .import_session(new_session("lossless"), history)
        .await
        .unwrap();
    let stored = full_history(&t.store, s.id).await;
    let written: Vec<String> = stored
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert_eq!(written, lines);
    assert_eq!(s.usage.reasoning_tokens, 7);
    assert_eq!(s.tool_call_count, 1);
    // Thinking and tool results are searchable too.
    assert_eq!(scope_all(&t.store, "found").await.len(), 1);
    assert_eq!(scope_all(&t.store, "hmm").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tasks_in_one_process_share_the_store() {
    let t = temp_store();
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            t.store
                .create_session(new_session(&format!("task-{i}")))
                .await
                .unwrap()
                .id,
        );
    }
    let mut tasks = Vec::new();
    for task in 0..16 {
        let store = Arc::clone(&t.store);
        let id = ids[task % 4];
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                store
                    .append_events(id, vec![text(Role::User, &format!("t{task}-{i}"))])
                    .await
                    .unwrap();
                store.live_context(id, 5).await.unwrap();
                store
                    .list_sessions(&SessionFilter::default())
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for id in ids {
        let events = full_history(&t.store, id).await;
        assert_eq!(seqs(&events), (1..=100).collect::<Vec<_>>());
        let s = t.store.session_by_id(id).await.unwrap();
        assert_eq!((s.head_seq, s.message_count), (100, 100));
    }
}
