//! A summary that is empty or malformed is refused and cairn's extractive summary
//! takes over; so it does when the compressor fails. When even that cannot reach the
//! target, nothing is appended and the person is told.

use cairn_agent::frontend::Collect;
use cairn_core::{CompactionMethod, CompressionOutcome, Payload};
use cairn_testkit::fake_llm::{FakeUsage, Reply, Turn};

use crate::support::*;

async fn grown(w: &World, name: &str, turns: usize, ui: &mut Collect) -> cairn_agent::Agent {
    let mut agent = w.open(name, ui).await;
    for turn in 0..turns {
        w.chat.push(answer(words(&format!("answer {turn}"), 150)));
        say(&mut agent, ui, &words(&format!("request {turn}"), 60)).await;
    }
    agent
}

fn bad_answer(text: &str) -> Turn {
    let mut reply = Reply::new().usage(FakeUsage {
        input: 700,
        output: 30,
        ..FakeUsage::default()
    });
    if !text.is_empty() {
        reply = reply.text(text);
    }
    reply.into()
}

#[tokio::test]
async fn malformed_empty_or_failed_summaries_fall_back_to_the_extractive_one() {
    let cases: [(&str, Turn, &str); 4] = [
        (
            "prose",
            bad_answer("I could not summarize this."),
            "no JSON object",
        ),
        ("empty", bad_answer(""), "answered nothing"),
        (
            "wrong-type",
            bad_answer(r#"{"goal": "g", "decisions": "x", "files": 7}"#),
            "\"files\" is a number",
        ),
        ("server", Turn::error(500, "the model is down"), "failed"),
    ];
    for (name, compressor_answer, reason) in cases {
        let w = World::new(OPENAI_MODEL);
        let mut ui = Collect::default();
        let mut agent = grown(&w, name, 8, &mut ui).await;
        let before = agent.session().live_tokens;
        let cost_before = agent.session().cost_usd;
        w.chat.push(compressor_answer);
        say(&mut agent, &mut ui, "/summarize").await;
        let (text, data) = command_output(&ui);
        assert!(text.contains("extractive summary"), "{name}: {text}");
        assert!(text.contains(reason), "{name}: {text}");
        assert_eq!(data["method"], "extractive", "{name}");
        let history = w.history(name).await;
        let all = compactions(&history);
        assert_eq!(all.len(), 1, "{name}");
        let (_, c) = &all[0];
        assert!(
            c.summary
                .contains("Extractive summary made by cairn without a model")
        );
        assert!(
            c.fallback_reason.as_deref().unwrap().contains(reason),
            "{name}"
        );
        assert!(
            c.tokens_after <= before / 2,
            "{name}: {} of {before}",
            c.tokens_after
        );
        assert_eq!(agent.session().live_tokens, c.tokens_after);
        // A refused answer was still paid for: its usage is on the compaction and in
        // the session's cost. A failed request cost nothing.
        if name == "server" {
            assert!(c.request.usage.is_none(), "{c:?}");
            assert!((agent.session().cost_usd - cost_before).abs() < 1e-12);
        } else {
            assert_eq!(c.request.usage.unwrap().input_tokens, 700, "{name}");
            let paid = (700.0 * 2.0 + 30.0 * 8.0) / 1e6;
            assert!(
                (agent.session().cost_usd - cost_before - paid).abs() < 1e-9,
                "{name}: {} → {}",
                cost_before,
                agent.session().cost_usd
            );
        }
        // The session goes on with the extractive summary as its context.
        w.chat.push(answer("still here"));
        say(&mut agent, &mut ui, "continue").await;
        let sent = sent_text(&w.chat.requests().last().unwrap().body);
        assert!(sent.contains("Extractive summary made by cairn"), "{name}");
        assert!(
            sent.contains(&words("request 7", 60)),
            "{name}: the last turn is kept"
        );
    }
}

#[tokio::test]
async fn a_bad_summary_under_pressure_also_falls_back() {
    let w = World::new(OPENAI_MODEL)
        .compressor("anthropic:claude-haiku-4-5")
        .levels(&[(2_500, 2.0)]);
    let compressor = w.compressor.as_ref().unwrap();
    let mut ui = Collect::default();
    let mut agent = w.open("pressed", &mut ui).await;
    let mut turn = 0;
    while agent.session().compaction_count == 0 {
        assert!(turn < 30, "never compressed");
        w.chat.push(answer(words(&format!("answer {turn}"), 150)));
        if compressor.remaining() == 0 {
            compressor.push(bad_answer("no summary today"));
        }
        say(&mut agent, &mut ui, &words(&format!("request {turn}"), 60)).await;
        turn += 1;
    }
    let history = w.history("pressed").await;
    let (_, c) = compactions(&history).pop().unwrap();
    assert_eq!(c.method, Some(CompactionMethod::Extractive));
    assert!(c.tokens_after <= c.tokens_before / 2);
    assert!(
        notices(&ui)
            .iter()
            .any(|n| n.contains("extractive summary")),
        "{:?}",
        notices(&ui)
    );
}

#[tokio::test]
async fn when_nothing_reaches_the_target_nothing_changes_and_the_user_is_told() {
    let w = World::new(OPENAI_MODEL);
    let mut ui = Collect::default();
    // Nothing to compress in a new session.
    let mut agent = w.open("tight", &mut ui).await;
    say(&mut agent, &mut ui, "/summarize").await;
    assert!(
        errors(&ui).last().unwrap().contains("nothing to compress"),
        "{:?}",
        errors(&ui)
    );

    // Knowledge that alone is larger than the target: the extractive summary cannot
    // reach it, and the model answered badly.
    for i in 0..10 {
        let long = format!("fact: item {i} {}", words("detail", 300));
        say(&mut agent, &mut ui, &format!("/remember {long}")).await;
    }
    for turn in 0..3 {
        w.chat.push(answer(words(&format!("answer {turn}"), 100)));
        say(&mut agent, &mut ui, &words(&format!("request {turn}"), 40)).await;
    }
    let events_before = w.history("tight").await.len();
    w.chat.push(bad_answer("sorry"));
    say(&mut agent, &mut ui, "/summarize").await;
    let message = errors(&ui).last().unwrap().clone();
    assert!(
        message.contains("the context was not compressed"),
        "{message}"
    );
    assert!(message.contains("Nothing was changed"), "{message}");
    let history = w.history("tight").await;
    assert!(compactions(&history).is_empty());
    // Only the command and the record of the paid, unused answer were added.
    let added: Vec<&str> = history[events_before..]
        .iter()
        .map(|e| e.payload.kind())
        .collect();
    assert_eq!(added, vec!["command", "compression"]);
    let Payload::Compression(c) = &history.last().unwrap().payload else {
        panic!()
    };
    assert_eq!(c.outcome, CompressionOutcome::NotApplied);
    assert_eq!(c.request.usage.unwrap().input_tokens, 700);
}

#[tokio::test]
async fn a_compression_that_cannot_help_is_not_retried_every_turn() {
    let w = World::new(OPENAI_MODEL)
        .compressor("anthropic:claude-haiku-4-5")
        .levels(&[(4_000, 2.0)]);
    let compressor = w.compressor.as_ref().unwrap();
    let mut ui = Collect::default();
    let mut agent = w.open("stuck", &mut ui).await;
    // Knowledge alone is larger than the target of any compression at this level.
    for i in 0..8 {
        let long = format!("fact: item {i} {}", words("detail", 150));
        say(&mut agent, &mut ui, &format!("/remember {long}")).await;
    }
    let mut turn = 0;
    while compressor.requests().is_empty() {
        assert!(turn < 40, "never tried to compress");
        w.chat.push(answer(words(&format!("answer {turn}"), 60)));
        if compressor.remaining() == 0 {
            compressor.push(bad_answer("no"));
        }
        say(&mut agent, &mut ui, &words(&format!("request {turn}"), 20)).await;
        turn += 1;
    }
    assert_eq!(errors(&ui).len(), 1, "{:?}", errors(&ui));
    assert!(errors(&ui)[0].contains("the context was not compressed"));
    let stuck_at = agent.session().live_tokens;
    // A few more small turns: no new attempt until the context grew by a tenth.
    for extra in 0..3 {
        w.chat.push(answer("short"));
        say(&mut agent, &mut ui, &format!("small {extra}")).await;
    }
    assert!(agent.session().live_tokens < stuck_at + stuck_at / 10);
    assert_eq!(compressor.requests().len(), 1);
    assert_eq!(errors(&ui).len(), 1);
    assert_eq!(agent.session().compaction_count, 0);
}
