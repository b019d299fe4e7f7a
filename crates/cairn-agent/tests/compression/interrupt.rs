//! `/summarize`, `/done` and `/run NAME` wait for a model; Ctrl+C (the face's cancel
//! token, the same one a turn uses) stops them with the session unchanged: no
//! compaction, no checkpoint, no status change, the same live context.

use std::time::{Duration, Instant};

use cairn_agent::frontend::Collect;
use cairn_agent::{Agent, AgentEvent, Outcome};
use cairn_core::{Payload, SessionStatus};
use cairn_testkit::fake_llm::{FakeUsage, Reply, Turn};
use tokio_util::sync::CancellationToken;

use crate::support::*;

/// The compressor (or `/run`) answer, arriving only after five seconds.
fn slow(turn: Turn) -> Turn {
    match turn {
        Turn::Reply(reply) => reply.headers_delay_ms(5_000).into(),
        other => other,
    }
}

/// Run `line` and press Ctrl+C 200 ms later; returns the outcome and how long it took.
async fn interrupted(agent: &mut Agent, ui: &mut Collect, line: &str) -> (Outcome, Duration) {
    let cancel = CancellationToken::new();
    let pressing = cancel.clone();
    let ctrl_c = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        pressing.cancel();
    });
    let started = Instant::now();
    let outcome = agent.submit(line, ui, &cancel).await.unwrap();
    ctrl_c.await.unwrap();
    (outcome, started.elapsed())
}

/// A session of a few turns, to have something to compress.
async fn grown(w: &World, name: &str, ui: &mut Collect) -> Agent {
    let mut agent = w.open(name, ui).await;
    for turn in 0..3 {
        w.chat.push(answer(words(&format!("answer {turn}"), 120)));
        say(&mut agent, ui, &words(&format!("request {turn}"), 40)).await;
    }
    agent
}

/// What "the session is unchanged" means here: the live context's events, the
/// compactions in the history, the session's status and sizes.
#[derive(Debug, PartialEq)]
struct Snapshot {
    live: Vec<u64>,
    compactions: usize,
    status: SessionStatus,
    compaction_count: u64,
    live_tokens: u64,
    messages: usize,
}

async fn snapshot(w: &World, agent: &Agent, name: &str) -> Snapshot {
    let history = w.history(name).await;
    let session = w.store.session(&named(name)).await.unwrap();
    Snapshot {
        live: agent
            .live_context()
            .events
            .iter()
            .filter(|e| matches!(e.payload, Payload::Message(_)))
            .map(|e| e.seq)
            .collect(),
        compactions: compactions(&history).len(),
        status: session.status,
        compaction_count: session.compaction_count,
        live_tokens: session.live_tokens,
        messages: history
            .iter()
            .filter(|e| matches!(e.payload, Payload::Message(_)))
            .count(),
    }
}

fn assert_told_interrupted(ui: &Collect, command: &str) {
    let notices = notices(ui);
    assert!(
        notices
            .iter()
            .any(|n| n.starts_with(&format!("{command} was interrupted"))
                && n.contains("nothing changed")),
        "{notices:?}"
    );
    assert!(ui.events.iter().any(|e| matches!(
        e,
        AgentEvent::Interrupted {
            partial_kept: false
        }
    )));
    assert!(matches!(
        ui.events.last(),
        Some(AgentEvent::Done { stop_reason }) if stop_reason == "interrupted"
    ));
}

#[tokio::test]
async fn summarize_interrupted_changes_nothing_and_can_run_again() {
    let w = World::new(OPENAI_MODEL);
    let mut ui = Collect::default();
    let mut agent = grown(&w, "sum", &mut ui).await;
    let before = snapshot(&w, &agent, "sum").await;

    w.chat.push(slow(summary("grow", &["keep it"], &[])));
    ui.events.clear();
    let (outcome, took) = interrupted(&mut agent, &mut ui, "/summarize the parser").await;
    assert_eq!(outcome, Outcome::Interrupted);
    assert!(took < Duration::from_secs(3), "not interrupted: {took:?}");
    assert_told_interrupted(&ui, "/summarize");
    assert!(
        !ui.events
            .iter()
            .any(|e| matches!(e, AgentEvent::CommandOutput { .. })),
        "{:?}",
        ui.events
    );
    assert_eq!(snapshot(&w, &agent, "sum").await, before);

    // The session goes on: the next /summarize compresses.
    w.chat.push(summary("grow", &["keep it"], &[]));
    ui.events.clear();
    say(&mut agent, &mut ui, "/summarize").await;
    let after = snapshot(&w, &agent, "sum").await;
    assert_eq!(after.compactions, 1, "{:?}", ui.events);
}

#[tokio::test]
async fn done_interrupted_saves_no_checkpoint_and_keeps_the_status() {
    let w = World::new(OPENAI_MODEL);
    let mut ui = Collect::default();
    let mut agent = grown(&w, "fin", &mut ui).await;
    let before = snapshot(&w, &agent, "fin").await;
    assert_eq!(before.status, SessionStatus::Active);

    w.chat.push(slow(summary("finish", &[], &[])));
    ui.events.clear();
    let (outcome, took) = interrupted(&mut agent, &mut ui, "/done all finished").await;
    assert_eq!(outcome, Outcome::Interrupted);
    assert!(took < Duration::from_secs(3), "not interrupted: {took:?}");
    assert_told_interrupted(&ui, "/done");
    assert_eq!(snapshot(&w, &agent, "fin").await, before);
    assert!(w.store.latest_checkpoint("fin").await.unwrap().is_none());
}

#[tokio::test]
async fn run_reduce_interrupted_keeps_the_live_context() {
    let w = World::new(OPENAI_MODEL);
    let mut ui = Collect::default();
    let mut agent = grown(&w, "red", &mut ui).await;
    let before = snapshot(&w, &agent, "red").await;

    w.chat.push(slow(
        Reply::new()
            .text("# Brief\nthe reduced context")
            .usage(FakeUsage {
                input: 0,
                output: 30,
                ..FakeUsage::default()
            })
            .into(),
    ));
    ui.events.clear();
    let (outcome, took) = interrupted(&mut agent, &mut ui, "/run reduce").await;
    assert_eq!(outcome, Outcome::Interrupted);
    assert!(took < Duration::from_secs(3), "not interrupted: {took:?}");
    assert_told_interrupted(&ui, "/run reduce");
    assert_eq!(snapshot(&w, &agent, "red").await, before);
}

/// Issue 14: a compressor request interrupted after the provider started answering
/// is billed all the same; its usage never arrives, so cairn records an estimate
/// (the request as sent, the text streamed so far), marked as estimated, and it
/// counts toward the session's totals. The live context is still unchanged.
#[tokio::test]
async fn an_interrupted_answer_already_started_is_recorded_as_an_estimate() {
    let w = World::new(OPENAI_MODEL);
    let mut ui = Collect::default();
    let mut agent = grown(&w, "est", &mut ui).await;
    let before = snapshot(&w, &agent, "est").await;
    let cost_before = w.store.session(&named("est")).await.unwrap();

    // Headers and the first words at once, the rest far too slowly.
    let started = match summary("grow", &["keep it"], &[]) {
        Turn::Reply(reply) => reply.chunk_size(16).chunk_delay_ms(5_000).into(),
        other => other,
    };
    w.chat.push(started);
    ui.events.clear();
    let (outcome, took) = interrupted(&mut agent, &mut ui, "/summarize").await;
    assert_eq!(outcome, Outcome::Interrupted);
    assert!(took < Duration::from_secs(4), "not interrupted: {took:?}");
    assert_eq!(snapshot(&w, &agent, "est").await.live, before.live);
    assert_eq!(snapshot(&w, &agent, "est").await.compactions, 0);

    let history = w.history("est").await;
    let record = history
        .iter()
        .find_map(|e| match &e.payload {
            Payload::Compression(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no compression event in {history:?}"));
    assert_eq!(record.extra["usage_estimated"], serde_json::json!(true));
    assert!(record.reason.contains("estimated"), "{}", record.reason);
    let usage = record.request.usage.unwrap();
    assert!(usage.input_tokens > 100, "{usage:?}");
    let after = w.store.session(&named("est")).await.unwrap();
    assert_eq!(
        after.usage.input_tokens,
        cost_before.usage.input_tokens + usage.input_tokens
    );
}
