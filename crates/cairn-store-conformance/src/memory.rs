//! What recall and project memory need from a store: search over one session's
//! whole history (`search_session`), and the knowledge a project shares between its
//! sessions (`project_knowledge`).

use cairn_core::{
    KnowledgeItem, KnowledgeKind, KnowledgeScope, NewEvent, NewSession, Payload, Project, Role,
};

use crate::Fixture;
use crate::support::*;

fn project_item(text: &str) -> NewEvent {
    NewEvent::now(Payload::Knowledge(KnowledgeItem {
        knowledge_kind: KnowledgeKind::Decision,
        text: text.into(),
        pinned: false,
        scope: KnowledgeScope::Project,
        extra: Default::default(),
    }))
}

/// A session's search finds events a compaction replaced, never another session's,
/// and a fork finds its parent's history up to the fork point only.
pub async fn session_search_covers_the_whole_history_of_one_session(t: Fixture) {
    let s = t.store.create_session(new_session("main")).await.unwrap();
    let other = t.store.create_session(new_session("other")).await.unwrap();
    t.store
        .append_events(
            s.id,
            vec![
                text(Role::User, "the staging port is 8443"),
                text(Role::Assistant, "noted the port"),
                compaction(1, 2),
                text(Role::User, "what was the port again"),
            ],
        )
        .await
        .unwrap();
    t.store
        .append_events(other.id, vec![text(Role::User, "port 9000 elsewhere")])
        .await
        .unwrap();
    let hits = t.store.search_session(s.id, "port", 10).await.unwrap();
    let found: Vec<(&str, u64)> = hits.iter().map(|h| (h.session.as_str(), h.seq)).collect();
    assert_eq!(found, vec![("main", 4), ("main", 2), ("main", 1)]);
    assert!(hits[2].snippet.contains("[port]"), "{}", hits[2].snippet);
    let one = t.store.search_session(s.id, "port", 1).await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].seq, 4);
    assert!(
        t.store
            .search_session(s.id, "\"(", 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A fork at seq 2 sees seqs 1..=2 of its parent and its own events, not seq 4.
    let fork = t
        .store
        .fork_session(
            s.id,
            Some(2),
            NewSession::new(name("side"), s.project.clone()),
        )
        .await
        .unwrap();
    t.store
        .append_events(fork.id, vec![text(Role::User, "the fork's port note")])
        .await
        .unwrap();
    let hits = t.store.search_session(fork.id, "port", 10).await.unwrap();
    let found: Vec<(&str, u64)> = hits.iter().map(|h| (h.session.as_str(), h.seq)).collect();
    assert_eq!(found, vec![("side", 3), ("main", 2), ("main", 1)]);
    // The parent does not see the fork's events.
    let parent = t.store.search_session(s.id, "fork's", 10).await.unwrap();
    assert!(parent.is_empty(), "{parent:?}");
    // An unknown session is NotFound.
    let missing = t.store.search_session(ulid::Ulid::new(), "port", 10).await;
    assert!(
        matches!(missing, Err(cairn_core::Error::NotFound { .. })),
        "{missing:?}"
    );
}

/// Project knowledge is found in every session of the project key (oldest first,
/// with its session), not session knowledge and not another project's; unpinning
/// shows.
pub async fn project_knowledge_is_shared_by_the_sessions_of_a_project_key(t: Fixture) {
    let key = "github.com/acme/app";
    let mut first = new_session("first");
    first.project = Project::from_parts("/home/a/app", key);
    let first = t.store.create_session(first).await.unwrap();
    let mut second = new_session("second");
    second.project = Project::from_parts("/home/b/checkout", key);
    let second = t.store.create_session(second).await.unwrap();
    let mut elsewhere = new_session("elsewhere");
    elsewhere.project = Project::from_parts("/home/a/other", "github.com/acme/other");
    let elsewhere = t.store.create_session(elsewhere).await.unwrap();
    t.store
        .append_events(
            first.id,
            vec![
                text(Role::User, "hello"),
                project_item("use PostgreSQL 16"),
                knowledge("only this session", true),
            ],
        )
        .await
        .unwrap();
    t.store
        .append_events(second.id, vec![project_item("tabs, not spaces")])
        .await
        .unwrap();
    t.store
        .append_events(elsewhere.id, vec![project_item("not ours")])
        .await
        .unwrap();

    let found = t
        .store
        .project_knowledge(&Project::from_parts("/somewhere/else", key))
        .await
        .unwrap();
    let texts: Vec<(&str, u64, &str)> = found
        .iter()
        .map(|k| match &k.event.payload {
            Payload::Knowledge(item) => (k.session.as_str(), k.event.seq, item.text.as_str()),
            other => panic!("not knowledge: {other:?}"),
        })
        .collect();
    assert_eq!(
        texts,
        vec![
            ("first", 2, "use PostgreSQL 16"),
            ("second", 1, "tabs, not spaces")
        ]
    );
    assert_eq!(found[0].session_id, first.id);

    t.store
        .set_knowledge_pinned(first.id, 2, true)
        .await
        .unwrap();
    let found = t.store.project_knowledge(&first.project).await.unwrap();
    match &found[0].event.payload {
        Payload::Knowledge(item) => {
            assert!(item.pinned);
            assert_eq!(item.scope, KnowledgeScope::Project);
        }
        other => panic!("not knowledge: {other:?}"),
    }
    assert!(
        t.store
            .project_knowledge(&Project::from_parts("/x", "nobody"))
            .await
            .unwrap()
            .is_empty()
    );
}
