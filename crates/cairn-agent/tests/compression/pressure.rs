//! Pressure levels: a session grown past two levels compresses right where each is
//! crossed, to about 1/target_ratio of its size, and keeps every original event.
//! Hints appear once per level and growth cycle.

use cairn_agent::AgentEvent;
use cairn_agent::frontend::Collect;
use cairn_core::{CompactionMethod, Payload, Role};
use cairn_testkit::fake_llm::{FakeUsage, Reply};
use serde_json::json;

use crate::support::*;

const L1: u64 = 3_000;
const L2: u64 = 6_000;

#[tokio::test]
async fn two_pressure_levels_compress_at_the_right_points_to_the_right_size() {
    let w = World::new(OPENAI_MODEL)
        .compressor("anthropic:claude-haiku-4-5")
        .levels(&[(L2, 4.0), (L1, 2.0)]);
    // A file whose reading pushes the context past the second level in one turn.
    let big: String = (0..1_400)
        .map(|i| format!("line {i} of the log\n"))
        .collect();
    std::fs::write(w.project.path().join("src/big.txt"), &big).unwrap();
    let compressor = w.compressor.as_ref().unwrap();
    let mut ui = Collect::default();
    let mut agent = w.open("grow", &mut ui).await;

    let mut level_hits = Vec::new();
    let mut seen = 0;
    for turn in 0..40 {
        let before = agent.session().live_tokens;
        if turn == 25 {
            // One turn reads the big file: from under L1 to past L2 at once.
            w.chat.push(
                Reply::new()
                    .tool_call("call_big", "read_file", json!({"path": "src/big.txt"}))
                    .usage(FakeUsage {
                        input: 0,
                        output: 10,
                        ..FakeUsage::default()
                    }),
            );
        }
        w.chat.push(answer(words(&format!("answer {turn}"), 120)));
        // Turn 25 compresses twice (inside the turn, then after it).
        let wanted = if turn == 25 { 2 } else { 1 };
        while compressor.remaining() < wanted {
            compressor.push(summary(
                &format!("grow the context, summary after turn {turn}"),
                &["use JWT"],
                &[],
            ));
        }
        ui.events.clear();
        say(&mut agent, &mut ui, &words(&format!("request {turn}"), 60)).await;
        let history = w.history("grow").await;
        let all = compactions(&history);
        let after = agent.session().live_tokens;
        // `done` ends the turn, after what the automatic compression reported.
        assert!(
            matches!(ui.events.last(), Some(AgentEvent::Done { .. })),
            "turn {turn}: {:?}",
            ui.events.last()
        );
        if all.len() > seen {
            assert!(
                ui.events.iter().any(
                    |e| matches!(e, AgentEvent::Notice { message } if message.contains("compress"))
                ),
                "turn {turn}: the compression was not reported in the turn: {:?}",
                ui.events
            );
            // One compaction per turn, except in the turn that reads the big file: the
            // context passes L2 inside the turn, before the request that carries the
            // file, and that compaction keeps the file's result verbatim (the model has
            // not seen it yet); once the turn is over it can be summarized too.
            let new = &all[seen..];
            if turn == 25 {
                assert_eq!(new.len(), 2, "turn {turn}: {new:?}");
                let (_, mid) = &new[0];
                assert!(mid.tokens_before >= L2, "{mid:?}");
                let big_result = history
                    .iter()
                    .find(|e| {
                        matches!(&e.payload, Payload::Message(m) if m.role == Role::Tool
                        && serde_json::to_string(m).unwrap().contains("line 1399 of the log"))
                    })
                    .unwrap()
                    .seq;
                assert!(
                    mid.replaces[1] < big_result - 1,
                    "the mid-turn compaction replaced the call or its result: {mid:?}"
                );
            } else {
                assert_eq!(new.len(), 1, "turn {turn}: one compaction per turn at most");
            }
            seen = all.len();
            let (compaction_seq, c) = all.last().unwrap();
            assert!(
                before < L1,
                "turn {turn}: compressed late (was {before} before the turn)"
            );
            let (threshold, ratio) = if c.tokens_before >= L2 {
                (L2, 4.0)
            } else {
                (L1, 2.0)
            };
            assert!(c.tokens_before >= threshold, "{c:?}");
            let target = (c.tokens_before as f64 / ratio) as u64;
            assert!(
                c.tokens_after <= target,
                "turn {turn}: {} → {} misses the target {target}",
                c.tokens_before,
                c.tokens_after
            );
            assert_eq!(c.method, Some(CompactionMethod::Model));
            assert_eq!(
                c.request.model.as_deref(),
                Some("anthropic:claude-haiku-4-5")
            );
            // A compaction after the answer leaves the stored size at the compacted
            // one; one before the first request (the request itself reached the level)
            // is followed by the answer, and the context stays under the level.
            let last_message = history
                .iter()
                .rev()
                .find(|e| e.payload.as_message().is_some())
                .unwrap()
                .seq;
            if *compaction_seq > last_message {
                assert_eq!(
                    after, c.tokens_after,
                    "the stored size is the compacted one"
                );
            } else {
                assert!(
                    after > c.tokens_after && after < L1,
                    "turn {turn}: compacted to {} inside the turn, {after} after it",
                    c.tokens_after
                );
            }
            level_hits.push((turn, threshold));
        } else {
            assert!(after < L1, "turn {turn}: {after} tokens and no compression");
        }
    }
    let thresholds: Vec<u64> = level_hits.iter().map(|(_, t)| *t).collect();
    assert!(
        thresholds.contains(&L1) && thresholds.contains(&L2),
        "{level_hits:?}"
    );
    assert!(
        level_hits.iter().any(|&(turn, t)| turn == 25 && t == L2),
        "{level_hits:?}"
    );
    assert!(level_hits.len() >= 3, "{level_hits:?}");

    // Every original event is still in the history, in order, unchanged; the
    // compactions only added events.
    let history = w.history("grow").await;
    let seqs: Vec<u64> = history.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=history.len() as u64).collect::<Vec<_>>());
    let users: Vec<String> = history
        .iter()
        .filter_map(|e| e.payload.as_message())
        .filter(|m| m.role == Role::User)
        .map(|m| m.plain_text())
        .collect();
    assert_eq!(users.len(), 40);
    for (i, text) in users.iter().enumerate() {
        assert_eq!(text, &words(&format!("request {i}"), 60));
    }
    assert!(
        history
            .iter()
            .any(|e| matches!(&e.payload, Payload::Message(m)
        if m.role == Role::Tool
            && serde_json::to_string(m).unwrap().contains("line 1399 of the log")))
    );

    // The compressor was asked with the replaced transcript and the previous summary.
    let asked = compressor.requests();
    assert_eq!(
        asked.len(),
        level_hits.len() + 1,
        "one more, inside turn 25"
    );
    let second = sent_text(&asked[1].body);
    assert!(
        second.contains("Summary of the events before these"),
        "{second}"
    );
    assert!(second.contains("summary after turn"), "{second}");

    // The chat model gets the summary instead of the replaced turns.
    let last = w.chat.requests().last().unwrap().body.clone();
    let text = sent_text(&last);
    assert!(text.contains("# Summary of earlier work"), "{text}");
    assert!(!text.contains(&words("request 0", 60)));

    // /info reports the compactions, the tokens saved and the compressor's cost.
    say(&mut agent, &mut ui, "/info").await;
    let (info, data) = command_output(&ui);
    assert!(
        info.contains(&format!("over {} compactions", asked.len())),
        "{info}"
    );
    let c = &data["compression"];
    assert_eq!(c["compactions"], asked.len() as u64);
    assert!(c["tokens_saved"].as_u64().unwrap() > 3_000, "{c}");
    // claude-haiku-4-5: 900 in, 120 out per summary at $1/$5 per million.
    let expected = asked.len() as f64 * (900.0 * 1.0 + 120.0 * 5.0) / 1e6;
    let usd = c["compressor_cost_usd"].as_f64().unwrap();
    assert!((usd - expected).abs() < 1e-9, "{usd} vs {expected}");
    // The compressor's cost is part of the session's cost (spending limits count it).
    let chat_cost = 40.0 * 8.0 / 1e6 * 40.0 + 10.0 * 8.0 / 1e6;
    let session_cost = agent.session().cost_usd;
    assert!(
        (session_cost - (chat_cost + expected)).abs() < 1e-9,
        "{session_cost} vs {}",
        chat_cost + expected
    );
}

#[tokio::test]
async fn hints_appear_once_per_level_and_cycle() {
    let w = World::new(OPENAI_MODEL)
        .compressor("anthropic:claude-haiku-4-5")
        .levels(&[(L1, 2.0)]);
    let compressor = w.compressor.as_ref().unwrap();
    let mut ui = Collect::default();
    let mut agent = w.open("hints", &mut ui).await;
    let is_hint = |n: &String| n.starts_with("context: ") && n.contains("/summarize");
    let mut hints_per_cycle = vec![0usize];
    let mut in_band_turns = vec![0usize];
    for turn in 0..50 {
        w.chat.push(answer(words(&format!("answer {turn}"), 40)));
        if compressor.remaining() == 0 {
            compressor.push(summary("see hints", &[], &[]));
        }
        let shown_before = notices(&ui).iter().filter(|n| is_hint(n)).count();
        let compactions_before = agent.session().compaction_count;
        say(&mut agent, &mut ui, &words(&format!("request {turn}"), 30)).await;
        let hints = notices(&ui).iter().filter(|n| is_hint(n)).count() - shown_before;
        if agent.session().compaction_count > compactions_before {
            assert_eq!(hints, 0, "no hint on the turn that compresses");
            hints_per_cycle.push(0);
            in_band_turns.push(0);
            continue;
        }
        let live = agent.session().live_tokens;
        if live * 5 >= L1 * 4 {
            *in_band_turns.last_mut().unwrap() += 1;
        }
        *hints_per_cycle.last_mut().unwrap() += hints;
    }
    assert!(hints_per_cycle.len() >= 3, "{hints_per_cycle:?}");
    // Every completed cycle passed 80% of the threshold for more than one turn, and
    // hinted exactly once.
    let completed = hints_per_cycle.len() - 1;
    assert!(
        in_band_turns[..completed].iter().all(|&n| n >= 2),
        "{in_band_turns:?}"
    );
    assert!(
        hints_per_cycle[..completed].iter().all(|&n| n == 1),
        "{hints_per_cycle:?}"
    );
    let hint = notices(&ui).into_iter().find(|n| is_hint(n)).unwrap();
    assert!(hint.contains("of 3,000 tokens"), "{hint}");

    // With hints_enabled = false, none.
    let mut quiet = World::new(OPENAI_MODEL)
        .compressor("anthropic:claude-haiku-4-5")
        .levels(&[(L1, 2.0)]);
    quiet.settings.compression.hints_enabled = false;
    let mut ui = Collect::default();
    let mut agent = quiet.open("quiet", &mut ui).await;
    for turn in 0..20 {
        quiet
            .chat
            .push(answer(words(&format!("answer {turn}"), 40)));
        quiet
            .compressor
            .as_ref()
            .unwrap()
            .push(summary("quiet", &[], &[]));
        say(&mut agent, &mut ui, &words(&format!("request {turn}"), 30)).await;
    }
    assert!(
        notices(&ui).iter().all(|n| !is_hint(n)),
        "{:?}",
        notices(&ui)
    );
}

#[tokio::test]
async fn a_resumed_session_does_not_repeat_a_hint_it_showed() {
    let w = World::new(OPENAI_MODEL)
        .compressor("anthropic:claude-haiku-4-5")
        .levels(&[(L1, 2.0)]);
    let is_hint = |n: &String| n.starts_with("context: ") && n.contains("/summarize");
    let mut ui = Collect::default();
    let mut agent = w.open("resumed-hints", &mut ui).await;
    let mut turn = 0;
    while !notices(&ui).iter().any(is_hint) {
        assert!(turn < 40, "no hint after {turn} turns");
        w.chat.push(answer(words(&format!("answer {turn}"), 40)));
        say(&mut agent, &mut ui, &words(&format!("request {turn}"), 30)).await;
        turn += 1;
    }
    assert_eq!(agent.session().compaction_count, 0);
    agent.close().await.unwrap();

    // Resumed, one more turn still between 80% and the threshold: no second hint.
    let mut ui = Collect::default();
    let mut agent = w.open("resumed-hints", &mut ui).await;
    w.chat.push(answer(words("answer after resume", 40)));
    say(&mut agent, &mut ui, &words("request after resume", 30)).await;
    let live = agent.session().live_tokens;
    assert_eq!(agent.session().compaction_count, 0, "the turn compressed");
    assert!(
        live * 5 >= L1 * 4 && live < L1,
        "{live} tokens: not in the hint band, the check proves nothing"
    );
    assert!(!notices(&ui).iter().any(is_hint), "{:?}", notices(&ui));

    // After a compression, the next cycle hints again, resumed or not.
    w.compressor
        .as_ref()
        .unwrap()
        .push(summary("see hints", &[], &[]));
    say(&mut agent, &mut ui, "/summarize").await;
    assert_eq!(agent.session().compaction_count, 1);
    agent.close().await.unwrap();
    let mut ui = Collect::default();
    let mut agent = w.open("resumed-hints", &mut ui).await;
    let mut turn = 0;
    while !notices(&ui).iter().any(is_hint) {
        assert!(turn < 40, "no hint in the new cycle after {turn} turns");
        w.chat.push(answer(words(&format!("again {turn}"), 40)));
        say(&mut agent, &mut ui, &words(&format!("more {turn}"), 30)).await;
        turn += 1;
    }
    assert_eq!(agent.session().compaction_count, 1, "{:?}", notices(&ui));
}

/// Grows session `name` to `words_total` words with a level far above it, then resumes
/// it under level `L1` (which it has passed) and runs one turn. Returns the compactions
/// after that turn and whether the turn's chat request still carried the old notes
/// verbatim (sent before compressing) rather than their summary.
async fn resume_past_a_level(model: &str, name: &str, words_total: usize) -> (u64, bool) {
    let w = World::new(model)
        .compressor("anthropic:claude-haiku-4-5")
        .levels(&[(120_000, 2.0)]);
    let mut ui = Collect::default();
    let mut agent = w.open(name, &mut ui).await;
    w.chat.push(answer("noted"));
    say(&mut agent, &mut ui, &words("notes", words_total)).await;
    assert_eq!(agent.session().compaction_count, 0);
    agent.close().await.unwrap();

    let w = w.levels(&[(L1, 2.0)]);
    let compressor = w.compressor.as_ref().unwrap();
    compressor.push(summary("resume past a level", &["use JWT"], &[]));
    let mut ui = Collect::default();
    let mut agent = w.open(name, &mut ui).await;
    w.chat.push(answer("continuing"));
    say(&mut agent, &mut ui, "go on").await;
    let sent = sent_text(&w.chat.requests().last().unwrap().body);
    assert!(sent.contains("go on"), "{sent}");
    let last_word = format!(" w{}", words_total - 1);
    let verbatim = sent.contains(&last_word);
    assert_ne!(
        verbatim,
        sent.contains("resume past a level"),
        "the request carries both or neither of the notes and their summary"
    );
    (agent.session().compaction_count, verbatim)
}

#[tokio::test]
async fn a_resumed_session_far_inside_the_window_sends_first_and_compresses_after() {
    // Past a 3,000-token level in gpt-4.1's million-token window: the first request
    // goes without waiting for the tokenizer; the level is relieved right after it.
    let (compactions, verbatim) = resume_past_a_level(OPENAI_MODEL, "far-inside", 2_000).await;
    assert!(verbatim, "the first request waited for a compression");
    assert_eq!(compactions, 1, "the level was not relieved after the turn");
}

#[tokio::test]
async fn a_resumed_session_whose_bound_nears_the_window_is_counted_before_sending() {
    // 30,000 words bound near gpt-4o's 128k window (in bytes), so cairn counts
    // exactly first and compresses before the request.
    let (compactions, verbatim) = resume_past_a_level("openai:gpt-4o", "near-window", 30_000).await;
    assert!(!verbatim, "the request went before the compression");
    assert!(compactions >= 1);
}
