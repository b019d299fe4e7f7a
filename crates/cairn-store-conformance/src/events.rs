//! The event log: compactions, live context, knowledge, sizes, attachments, lossless storage.

use cairn_core::context::live_view;
use cairn_core::{Error, Event, NewEvent, Payload, Role};
use sha2::Digest;

use crate::Fixture;
use crate::support::*;

pub async fn a_compaction_must_replace_earlier_events_and_a_bad_one_writes_nothing(t: Fixture) {
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

pub async fn live_context_after_several_compactions_equals_the_live_view(t: Fixture) {
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

pub async fn knowledge_retention_keeps_the_newest_and_every_pinned_item(t: Fixture) {
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

pub async fn large_events_of_the_live_context_or_the_whole_history(t: Fixture) {
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

pub async fn attachments_are_content_addressed(t: Fixture) {
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
    let err = t.store.attachment(&"0".repeat(64)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

pub async fn unknown_kinds_fields_and_blocks_are_stored_losslessly(t: Fixture) {
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
