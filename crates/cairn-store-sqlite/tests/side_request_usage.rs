//! Requests that are not chat turns still cost money: a compaction carries its
//! compressor's usage and cost, and a compression whose answer was unusable records
//! its spend as an event of its own. Both count in the session's totals (so toward
//! spending limits), once per provider request id.

use cairn_core::{
    Compaction, CompressionOutcome, CompressionRecord, Message, NewEvent, NewSession, Payload,
    Project, RequestRecord, Role, SessionName, Usage,
};
use cairn_store_sqlite::Synchronous;
use cairn_store_sqlite::open_store;
use serde_json::{Map, Value, json};

fn side_request(input: u64, cost: f64, request_id: &str) -> RequestRecord {
    serde_json::from_value(Value::Object(side_fields(input, cost, request_id))).unwrap()
}

fn side_fields(input: u64, cost: f64, request_id: &str) -> Map<String, Value> {
    let Value::Object(map) = json!({
        "model": "openai:gpt-4.1-mini",
        "usage": {"input_tokens": input, "output_tokens": 50},
        "cost_usd": cost,
        "request_id": request_id,
    }) else {
        unreachable!()
    };
    map
}

#[tokio::test]
async fn compaction_and_compression_spend_count_once_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("cairn.db"), Synchronous::Normal).unwrap();
    let session = store
        .create_session(NewSession::new(
            SessionName::parse("s").unwrap(),
            Project::from_stored("/tmp/p"),
        ))
        .await
        .unwrap();
    let mut answer = Message::text(Role::Assistant, "hello");
    answer.usage = Some(Usage {
        input_tokens: 1_000,
        output_tokens: 10,
        ..Usage::default()
    });
    answer.cost_usd = Some(0.5);
    answer.request_id = Some("req-chat".into());
    let compaction = Payload::Compaction(Compaction {
        tokens_before: 1_000,
        tokens_after: 100,
        request: side_request(900, 0.25, "req-compress"),
        ..Compaction::new([1, 2], "## Goal\ngreet")
    });
    let events = vec![
        NewEvent::now(Payload::Message(Message::text(Role::User, "hi"))),
        NewEvent::now(Payload::Message(answer)),
        NewEvent::now(compaction.clone()),
    ];
    store.append_events(session.id, events).await.unwrap();
    let after = store.session_by_id(session.id).await.unwrap();
    assert_eq!(after.usage.input_tokens, 1_900);
    assert_eq!(after.usage.output_tokens, 60);
    assert!((after.cost_usd - 0.75).abs() < 1e-9, "{}", after.cost_usd);
    assert_eq!(after.compaction_count, 1);

    // A failed compression's spend counts too; the same request id counts once,
    // whether the event carrying it is typed or not.
    let failed = Payload::Compression(CompressionRecord {
        outcome: CompressionOutcome::NotApplied,
        reason: "no gain".into(),
        request: side_request(300, 0.125, "req-failed"),
        extra: Map::new(),
    });
    let again = Payload::Other {
        kind: "compression".into(),
        fields: side_fields(300, 0.125, "req-failed"),
    };
    store
        .append_events(
            session.id,
            vec![NewEvent::now(failed), NewEvent::now(again)],
        )
        .await
        .unwrap();
    let after = store.session_by_id(session.id).await.unwrap();
    assert_eq!(after.usage.input_tokens, 2_200);
    assert!((after.cost_usd - 0.875).abs() < 1e-9, "{}", after.cost_usd);

    // A malformed figure is refused, naming the event and the field; nothing is kept.
    let mut bad = side_fields(1, 0.1, "req-bad");
    bad.insert("usage".into(), json!({"input_tokens": "many"}));
    let err = store
        .append_events(
            session.id,
            vec![NewEvent::now(Payload::Other {
                kind: "compression".into(),
                fields: bad,
            })],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("seq 6") && err.contains("usage"), "{err}");
    let after = store.session_by_id(session.id).await.unwrap();
    assert_eq!(after.head_seq, 5);
}
