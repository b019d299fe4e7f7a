//! A session of a thousand turns against the fake server: after every turn the live
//! context is under the configured threshold, every knowledge item is in every
//! request, and the history keeps every turn.

use std::time::Instant;

use cairn_agent::frontend::Collect;
use cairn_core::Role;

use crate::support::*;

const TURNS: usize = 1_000;
const L1: u64 = 6_000;
const L2: u64 = 12_000;

const PINNED: [&str; 10] = [
    "constraint: never push to main",
    "constraint: no unsafe code",
    "constraint: keep the public API stable until 2.0",
    "decision: tokens are JWT signed with RS256",
    "decision: sessions expire after 15 minutes",
    "decision: the parser is hand-written",
    "preference: answers in British English",
    "preference: small commits with honest messages",
    "fact: CI runs on 2 cores",
    "fact: the staging API lives at http://localhost:8080",
];

fn pinned_texts() -> Vec<&'static str> {
    PINNED
        .iter()
        .map(|p| p.split_once(": ").unwrap().1)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_turns_stay_under_the_threshold_with_knowledge_intact() {
    let w = World::new(ANTHROPIC_MODEL)
        .compressor("openai:gpt-4.1-mini")
        .levels(&[(L1, 2.0), (L2, 4.0)]);
    let compressor = w.compressor.as_ref().unwrap();
    let mut ui = Collect::default();
    let mut agent = w.open("soak", &mut ui).await;
    for item in PINNED {
        say(&mut agent, &mut ui, &format!("/remember {item}")).await;
    }
    let started = Instant::now();
    let mut peak_before_compression = 0;
    let mut compressions = 0;
    for turn in 0..TURNS {
        w.chat.push(answer(words(&format!("answer {turn}"), 60)));
        if compressor.remaining() == 0 {
            compressor.push(summary(
                &format!("the soak goal as of turn {turn}"),
                &["keep going"],
                &[("fact", &format!("found while compressing at turn {turn}"))],
            ));
        }
        let count_before = agent.session().compaction_count;
        say(&mut agent, &mut ui, &words(&format!("request {turn}"), 25)).await;
        let live = agent.session().live_tokens;
        assert!(live < L1, "turn {turn}: {live} live tokens, threshold {L1}");
        if agent.session().compaction_count > count_before {
            compressions += 1;
        } else {
            peak_before_compression = peak_before_compression.max(live);
        }
        ui.events.clear();
    }
    let elapsed = started.elapsed();
    assert!(compressions >= 20, "{compressions} compressions");
    assert!(errors(&ui).is_empty(), "{:?}", errors(&ui));
    eprintln!(
        "soak: {TURNS} turns, {compressions} compressions, peak live context {peak_before_compression} \
         tokens (threshold {L1}), {:.1} s",
        elapsed.as_secs_f64()
    );

    // Every request to the chat model carried every pinned item; every request to
    // the compressor listed them as knowledge kept.
    let chat_requests = w.chat.requests();
    assert_eq!(chat_requests.len(), TURNS);
    for (i, request) in chat_requests.iter().enumerate() {
        let text = sent_text(&request.body);
        for item in pinned_texts() {
            assert!(text.contains(item), "chat request {i} lacks {item:?}");
        }
    }
    let compressor_requests = compressor.requests();
    assert_eq!(compressor_requests.len(), compressions);
    for request in &compressor_requests {
        let text = sent_text(&request.body);
        assert!(text.contains("Knowledge kept"));
        for item in pinned_texts() {
            assert!(text.contains(item), "a compressor request lacks {item:?}");
        }
    }

    // Resumed, the session still has them all, and the items the compressions found.
    agent.close().await.unwrap();
    let mut ui = Collect::default();
    let mut agent = w.open("soak", &mut ui).await;
    say(&mut agent, &mut ui, "/knowledge").await;
    let (listing, data) = command_output(&ui);
    let items = data["items"].as_array().unwrap();
    assert_eq!(items.len(), 10 + compressions, "{listing}");
    for item in pinned_texts() {
        assert!(
            listing.contains(&format!("{item} (pinned)")),
            "{item}: {listing}"
        );
    }
    w.chat.push(answer("resumed"));
    say(&mut agent, &mut ui, "still with me?").await;
    let text = sent_text(&w.chat.requests().last().unwrap().body);
    for item in pinned_texts() {
        assert!(text.contains(item), "resumed request lacks {item:?}");
    }
    // The newest ten found items are live (knowledge_retention = 10).
    let found: Vec<&str> = items
        .iter()
        .filter(|i| i["pinned"] == false)
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    for item in &found[found.len() - 10..] {
        assert!(text.contains(item), "resumed request lacks {item:?}");
    }

    // The history holds every turn.
    let history = w.history("soak").await;
    let users = history
        .iter()
        .filter_map(|e| e.payload.as_message())
        .filter(|m| m.role == Role::User)
        .count();
    assert_eq!(users, TURNS + 1);
}
