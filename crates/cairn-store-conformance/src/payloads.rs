//! Large event payloads (tool outputs, long messages): every `Store` caller gets
//! them back byte for byte, however a backend keeps them (compressed, stored once
//! per content), and removing one session never takes what another still shows.

use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, Event, KnowledgeItem, KnowledgeKind, Message, Payload, Role};

use crate::Fixture;
use crate::support::*;

/// About `lines` lines of source-like text with everything JSON escapes: quotes,
/// backslashes, tabs, control characters and non-ASCII.
pub fn source_text(lines: usize, salt: &str) -> String {
    let mut out = String::from(include_str!("events.rs"));
    for i in 0..lines {
        out.push_str(&format!(
            "    let v{i} = \"q\\\\{salt}{}\"; // ünï ✓ \t\u{1} {}\n",
            i * 7919 % 1000,
            i * 31
        ));
    }
    out
}

pub fn tool_output(tool_use_id: &str, output: &str) -> Payload {
    Payload::Message(Message::new(
        Role::User,
        vec![ContentBlock::ToolResult {
            tool_use_id: tool_use_id.into(),
            content: ToolResultContent::Text(output.into()),
            is_error: false,
        }],
    ))
}

pub async fn a_large_payload_round_trips_byte_identical(t: Fixture) {
    let big = source_text(3000, "a");
    let other = source_text(200, "b");
    let two_large_blocks = Payload::Message(Message::new(
        Role::Assistant,
        vec![
            ContentBlock::text(other.clone()),
            ContentBlock::text(big.clone()),
        ],
    ));
    let long_knowledge = Payload::Knowledge(KnowledgeItem {
        knowledge_kind: KnowledgeKind::Decision,
        text: format!("quokka rule {}", other),
        pinned: false,
        scope: Default::default(),
        extra: Default::default(),
    });
    let events = vec![
        imported(1, message(Role::User, "read it")),
        imported(2, tool_output("toolu_1", &big)),
        imported(3, two_large_blocks),
        imported(4, long_knowledge),
        imported(5, tool_output("toolu_2", "")),
    ];
    let session = t
        .store
        .import_session(new_session("big"), events.clone())
        .await
        .unwrap();
    assert_eq!(full_history(&t.store, session.id).await, events);
    let live = t.store.live_context(session.id, 10).await.unwrap();
    assert_eq!(live.events, events);
    // Pinning rewrites a stored body; it still reads back whole.
    t.store
        .set_knowledge_pinned(session.id, 4, true)
        .await
        .unwrap();
    let knowledge: Vec<Event> = t.store.knowledge(session.id).await.unwrap();
    let Payload::Knowledge(item) = &knowledge[0].payload else {
        panic!("{knowledge:?}")
    };
    assert!(item.pinned);
    assert_eq!(item.text, format!("quokka rule {}", other));
    // Search reads the text inside the payload.
    let hits = scope_all(&t.store, "a999").await;
    assert_eq!(hits.len(), 2, "{hits:?}");
    let reopened = t.reopen.open();
    assert_eq!(full_history(&reopened, session.id).await[..3], events[..3]);
}

pub async fn removing_one_of_two_sessions_sharing_a_payload_keeps_the_other(t: Fixture) {
    let big = source_text(2000, "s");
    let alpha = t
        .store
        .import_session(
            new_session("alpha"),
            vec![
                imported(1, tool_output("toolu_a", &big)),
                imported(2, tool_output("toolu_a2", &big)),
            ],
        )
        .await
        .unwrap();
    let beta_events = vec![
        imported(1, tool_output("toolu_b", &big)),
        imported(2, message(Role::Assistant, "done")),
    ];
    let beta = t
        .store
        .import_session(new_session("beta"), beta_events.clone())
        .await
        .unwrap();
    assert_eq!(scope_all(&t.store, "s999").await.len(), 3);
    t.store.delete_session(&name("alpha")).await.unwrap();
    assert!(t.store.events_after(alpha.id, 0, 0).await.is_err());
    t.store.collect_attachments(true).await.unwrap();
    assert_eq!(full_history(&t.store, beta.id).await, beta_events);
    let hits = scope_all(&t.store, "s999").await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].session, name("beta"));
    t.store.delete_session(&name("beta")).await.unwrap();
    assert!(scope_all(&t.store, "s999").await.is_empty());
}
