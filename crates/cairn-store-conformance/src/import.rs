//! Importing a complete history.

use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, Error, Event, MediaBlock, Message, NewEvent, Payload, Role};
use sha2::Digest;

use crate::Fixture;
use crate::support::*;

pub async fn import_keeps_seqs_and_times_and_recomputes_totals_like_append(t: Fixture) {
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
        Payload::Command(cairn_core::CommandRecord::new("/model", &["x"])),
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

pub async fn import_refuses_gaps_duplicates_and_taken_names_and_writes_nothing(t: Fixture) {
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

pub async fn import_moves_inline_media_into_attachments(t: Fixture) {
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

/// A history of `count` user messages, the first carrying `bytes` inline as an image.
fn history_with_image(count: u64, bytes: &[u8]) -> Vec<Event> {
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    let mut history = vec![imported(
        1,
        Payload::Message(Message::new(Role::User, vec![image(&sha, Some(bytes))])),
    )];
    history.extend((2..=count).map(|seq| imported(seq, message(Role::User, "streamed"))));
    history
}

pub async fn import_stream_failing_at_the_last_item_leaves_nothing(t: Fixture) {
    // An attachment that was there before the import stays.
    let before = t
        .store
        .put_attachment("image/png", b"already here".to_vec())
        .await
        .unwrap();
    let fresh = b"new picture".to_vec();
    let fresh_sha = hex::encode(sha2::Sha256::digest(&fresh));
    let mut history = history_with_image(50, &fresh);
    history[1] = imported(
        2,
        Payload::Message(Message::new(
            Role::User,
            vec![image(&before.sha256, Some(b"already here"))],
        )),
    );
    let items: Vec<cairn_core::Result<Event>> = history
        .into_iter()
        .map(Ok)
        .chain([Err(Error::invalid("line 52: the last line is bad"))])
        .collect();
    let err = t
        .store
        .import_stream(new_session("late"), Box::new(items.into_iter()))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        Error::invalid("line 52: the last line is bad").to_string()
    );
    assert!(t.store.session(&name("late")).await.is_err());
    assert_eq!(t.store.count_sessions(None).await.unwrap(), 0);
    assert!(matches!(
        t.store.attachment(&fresh_sha).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        t.store.attachment(&before.sha256).await.unwrap().bytes,
        b"already here"
    );

    // A gap found at the last event rolls back the same way.
    let mut history = history_with_image(20, &fresh);
    history.push(imported(22, message(Role::User, "gap")));
    let err = t
        .store
        .import_stream(new_session("gap"), Box::new(history.into_iter().map(Ok)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("seq 22"), "{err}");
    assert!(t.store.session(&name("gap")).await.is_err());
    assert!(t.store.attachment(&fresh_sha).await.is_err());
}

pub async fn import_stream_rolls_back_on_a_store_error_and_keeps_seqs_dense(t: Fixture) {
    let fresh = b"picture of a taken name".to_vec();
    let fresh_sha = hex::encode(sha2::Sha256::digest(&fresh));
    // The name is taken only when the import writes: found inside the transaction.
    t.store.create_session(new_session("taken")).await.unwrap();
    let err = t
        .store
        .import_stream(
            new_session("taken"),
            Box::new(history_with_image(3, &fresh).into_iter().map(Ok)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    assert!(t.store.attachment(&fresh_sha).await.is_err());

    // A store error raised mid-way (here by the source) leaves nothing either.
    let items = history_with_image(10, &fresh)
        .into_iter()
        .map(|e| {
            if e.seq == 6 {
                Err(Error::Storage("disk went away".into()))
            } else {
                Ok(e)
            }
        })
        .collect::<Vec<_>>();
    let err = t
        .store
        .import_stream(new_session("midway"), Box::new(items.into_iter()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Storage(_)), "{err}");
    assert!(t.store.session(&name("midway")).await.is_err());
    assert!(t.store.attachment(&fresh_sha).await.is_err());

    // The same stream without the fault imports whole, seqs dense from 1.
    let s = t
        .store
        .import_stream(
            new_session("whole"),
            Box::new(history_with_image(10, &fresh).into_iter().map(Ok)),
        )
        .await
        .unwrap();
    assert_eq!(s.head_seq, 10);
    let stored = full_history(&t.store, s.id).await;
    assert_eq!(seqs(&stored), (1..=10).collect::<Vec<_>>());
    assert_eq!(t.store.attachment(&fresh_sha).await.unwrap().bytes, fresh);
}
