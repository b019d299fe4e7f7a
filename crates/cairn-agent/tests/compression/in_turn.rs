//! Compression inside a turn: a turn that reads many large files outgrows the
//! pressure level before it ends. The context is checked before every request of the
//! tool loop and compressed there, keeping the turn's latest tool call and result
//! verbatim; a context that not even compression can fit in the window stops the turn
//! with nothing lost.

use std::collections::HashSet;

use cairn_agent::frontend::Collect;
use cairn_agent::{AgentEvent, Outcome, StopCause};
use cairn_core::{Payload, Role};
use cairn_testkit::fake_llm::{FakeUsage, Reply};
use serde_json::{Value, json};

use crate::support::*;

const LEVEL: u64 = 4_000;

/// A tool-calling answer that reports no prompt size (cairn counts the context).
fn reads(calls: &[(String, String)]) -> Reply {
    let mut reply = Reply::new();
    for (id, path) in calls {
        reply = reply.tool_call(id, "read_file", json!({ "path": path }));
    }
    reply
        .usage(FakeUsage {
            input: 0,
            output: 10,
            ..FakeUsage::default()
        })
        .chunk_size(1_000_000)
}

/// A file of about `bytes` bytes whose every line names it (`marker`).
fn file_body(marker: &str, bytes: usize) -> String {
    let line = format!("{marker} holds this line of the module\n");
    line.repeat(bytes / line.len() + 1)
}

/// Check an Anthropic request's messages: it starts with the user, every `tool_use`
/// is answered in the very next message, and every `tool_result` answers a `tool_use`
/// of the message right before it.
fn assert_pairing_valid(body: &Value) {
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "user", "{body}");
    let blocks = |m: &Value, kind: &str, key: &str| -> HashSet<String> {
        m["content"]
            .as_array()
            .map(|parts| {
                parts
                    .iter()
                    .filter(|p| p["type"] == kind)
                    .map(|p| p[key].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    for (i, message) in messages.iter().enumerate() {
        let results = blocks(message, "tool_result", "tool_use_id");
        let previous_calls = match i {
            0 => HashSet::new(),
            _ => blocks(&messages[i - 1], "tool_use", "id"),
        };
        assert!(
            results.is_subset(&previous_calls),
            "message {i} answers calls {results:?} not made just before ({previous_calls:?})"
        );
        let calls = blocks(message, "tool_use", "id");
        if !calls.is_empty() {
            let next = messages
                .get(i + 1)
                .map(|m| blocks(m, "tool_result", "tool_use_id"))
                .unwrap_or_default();
            assert_eq!(calls, next, "message {i}: calls without their results");
        }
    }
}

/// Rough tokens of what a request carries in its messages (3.5 bytes a token, as
/// cairn's own estimate for Anthropic models).
fn message_tokens(body: &Value) -> u64 {
    (sent_text(&json!({"messages": body["messages"]})).len() as u64 * 2).div_ceil(7)
}

#[tokio::test]
async fn a_turn_of_many_large_reads_is_compressed_inside_the_turn_and_completes() {
    let w = World::new(ANTHROPIC_MODEL)
        .compressor("openai:gpt-4.1-mini")
        .levels(&[(LEVEL, 4.0)]);
    const FILES: usize = 12;
    for i in 0..FILES {
        let body = file_body(&format!("module-{i:02}"), 5_000);
        std::fs::write(w.project.path().join(format!("src/m{i:02}.rs")), body).unwrap();
    }
    // The model reads the twelve files one request at a time, then answers.
    for i in 0..FILES {
        w.chat.push(reads(&[(
            format!("call_{i:02}"),
            format!("src/m{i:02}.rs"),
        )]));
    }
    w.chat.push(answer("all twelve modules read"));
    let compressor = w.compressor.as_ref().unwrap();
    for n in 0..FILES {
        compressor.push(summary(
            &format!("read every module, summary #{n}#"),
            &["read the modules in order"],
            &[("fact", "every module holds lines naming it")],
        ));
    }
    let mut ui = Collect::default();
    let mut agent = w.open("many-reads", &mut ui).await;
    let outcome = say(&mut agent, &mut ui, "read all twelve modules, one by one").await;

    // The turn completed: one user message, the final answer, `done` last.
    assert_eq!(outcome, Outcome::Answered, "{:?}", errors(&ui));
    assert!(matches!(
        ui.events.last(),
        Some(AgentEvent::Done { stop_reason }) if stop_reason == "end_turn"
    ));
    let history = w.history("many-reads").await;
    let users: Vec<&cairn_core::Message> = history
        .iter()
        .filter_map(|e| e.payload.as_message())
        .filter(|m| m.role == Role::User)
        .collect();
    assert_eq!(users.len(), 1, "a single turn");

    // Compactions happened inside the turn, before its final answer, each reported
    // like one between turns.
    let all = compactions(&history);
    assert!(!all.is_empty(), "no compaction in a turn of 60,000 bytes");
    let final_answer = history
        .iter()
        .rev()
        .find(|e| matches!(&e.payload, Payload::Message(m) if m.role == Role::Assistant))
        .unwrap()
        .seq;
    assert!(all.iter().all(|(seq, _)| *seq < final_answer));
    let reported = notices(&ui)
        .iter()
        .filter(|n| n.starts_with("compressed the live context"))
        .count();
    assert_eq!(reported, all.len(), "{:?}", notices(&ui));
    assert_eq!(compressor.requests().len(), all.len());

    // The request after each compaction: under the level (the window is far larger),
    // calls paired with their results, the latest read carried verbatim, the earlier
    // reads only as the summary.
    let requests = w.chat.requests();
    assert_eq!(requests.len(), FILES + 1, "every read got its request");
    let mut checked = 0;
    let mut compactions_seen = 0;
    for (n, request) in requests.iter().enumerate() {
        let body = &request.body;
        assert_pairing_valid(body);
        let text = sent_text(body);
        let compacted = text.contains("# Summary of earlier work");
        if !compacted {
            continue;
        }
        let summary_no = (0..FILES)
            .rev()
            .find(|k| text.contains(&format!("summary #{k}#")))
            .unwrap();
        if summary_no + 1 > compactions_seen {
            // The first request after this compaction.
            compactions_seen = summary_no + 1;
            checked += 1;
            let tokens = message_tokens(body);
            assert!(tokens < LEVEL, "request {n} carries ~{tokens} tokens");
            // Request n follows the result of read n-1: that read is in it whole.
            let latest = format!("module-{:02} holds", n - 1);
            assert!(text.contains(&latest), "request {n} lost the latest read");
            assert!(
                !text.contains("module-00 holds"),
                "request {n} still carries the first read"
            );
        }
    }
    assert_eq!(checked, all.len(), "a request followed every compaction");

    // The history keeps every read whole.
    for i in 0..FILES {
        let marker = format!("module-{i:02} holds");
        assert!(
            history
                .iter()
                .any(|e| matches!(&e.payload, Payload::Message(m)
                if m.role == Role::Tool && serde_json::to_string(m).unwrap().contains(&marker))),
            "{marker}"
        );
    }
}

#[tokio::test]
async fn a_turn_that_not_even_compression_fits_in_the_window_stops_with_nothing_lost() {
    // Claude's window is 200,000 tokens; one answer asks for 26 reads of 40 KB, whose
    // results (cut to 32 KB each for the model) must stay verbatim with their calls.
    let w = World::new(ANTHROPIC_MODEL).compressor("openai:gpt-4.1-mini");
    const FILES: usize = 26;
    let mut calls = Vec::new();
    for i in 0..FILES {
        let body = file_body(&format!("huge-{i:02}"), 40_000);
        std::fs::write(w.project.path().join(format!("src/h{i:02}.rs")), body).unwrap();
        calls.push((format!("call_{i:02}"), format!("src/h{i:02}.rs")));
    }
    w.chat.push(reads(&calls));
    w.chat.push(answer("never sent"));
    w.compressor
        .as_ref()
        .unwrap()
        .push(summary("read the huge files", &[], &[]));
    let mut ui = Collect::default();
    let mut agent = w.open("too-big", &mut ui).await;
    let outcome = say(&mut agent, &mut ui, "read every huge file at once").await;

    assert_eq!(
        outcome,
        Outcome::Stopped {
            reason: StopCause::ContextTooLong
        }
    );
    let errors = errors(&ui);
    let message = errors
        .iter()
        .find(|m| m.contains("window"))
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert!(message.contains("it was not sent"), "{message}");
    assert!(message.contains("Nothing was lost"), "{message}");
    assert!(matches!(
        ui.events.last(),
        Some(AgentEvent::Done { stop_reason }) if stop_reason == "context_too_long"
    ));
    // Only the first request went out; every result is stored.
    assert_eq!(w.chat.requests().len(), 1);
    assert_eq!(w.chat.remaining(), 1);
    let history = w.history("too-big").await;
    let results = history
        .iter()
        .filter_map(|e| e.payload.as_message())
        .filter(|m| m.role == Role::Tool)
        .count();
    assert_eq!(results, FILES);
}
