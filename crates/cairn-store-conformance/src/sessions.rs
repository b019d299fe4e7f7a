//! Sessions: create, name, list, update, totals, concurrency.

use std::sync::Arc;

use cairn_core::event::ToolResultContent;
use cairn_core::store::SessionUpdate;
use cairn_core::{
    ContentBlock, Error, Message, NewEvent, NewSession, Payload, Role, SessionFilter,
    SessionStatus, Timestamp,
};

use crate::Fixture;
use crate::support::*;

pub async fn create_append_list_and_resume_on_a_current_thread_runtime(t: Fixture) {
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
    let store = t.reopen.open();
    let again = store.session(&name("first")).await.unwrap();
    assert_eq!(again.head_seq, 3);
    assert_eq!(full_history(&store, s.id).await.len(), 3);
}

pub async fn names_are_unique_and_missing_sessions_are_not_found(t: Fixture) {
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

pub async fn listing_is_newest_activity_first_with_pages_and_projects(t: Fixture) {
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

pub async fn update_session_changes_only_given_fields(t: Fixture) {
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

pub async fn usage_is_counted_once_per_request_id(t: Fixture) {
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

pub async fn absurd_usage_or_cost_is_refused_and_writes_nothing(t: Fixture) {
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
    let err = t
        .store
        .append_events(s.id, vec![huge.clone()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cost_usd"), "{err}");
    // A negative cost would lower the session's spend, and so lift its limits.
    if let Payload::Message(m) = &mut huge.payload {
        m.cost_usd = Some(-5.0);
    }
    let err = t.store.append_events(s.id, vec![huge]).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    assert!(err.to_string().contains("cost_usd"), "{err}");
    let s = t.store.session_by_id(s.id).await.unwrap();
    assert_eq!((s.head_seq, s.usage.total(), s.cost_usd), (0, 0, 0.0));
}

pub async fn tool_calls_and_compactions_are_counted(t: Fixture) {
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

pub async fn concurrent_tasks_in_one_process_share_the_store(t: Fixture) {
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
