//! Knowledge: ten items (pinned with /remember and by the model's `remember` tool)
//! survive five successive compressions and a resume, and are in every request sent
//! to the model; /knowledge lists them, /forget unpins.

use cairn_agent::frontend::Collect;
use cairn_core::{KnowledgeKind, Payload};
use cairn_testkit::fake_llm::{FakeUsage, Reply};
use serde_json::json;

use crate::support::*;

const BY_USER: [&str; 6] = [
    "constraint: never push to main",
    "decision: tokens are JWT signed with RS256",
    "preference: answers in British English",
    "fact: CI runs on 2 cores",
    "decision: sessions expire after 15 minutes",
    "constraint: no unsafe code",
];
const BY_MODEL: [(&str, &str); 4] = [
    ("decision", "the parser is hand-written, not generated"),
    ("fact", "the staging API lives at http://localhost:8080"),
    ("preference", "small commits with honest messages"),
    ("constraint", "keep the public API stable until 2.0"),
];

/// The texts of the ten items, as the knowledge block shows them.
fn ten_texts() -> Vec<String> {
    let mut out: Vec<String> = BY_USER
        .iter()
        .map(|s| s.split_once(": ").unwrap().1.to_owned())
        .collect();
    out.extend(BY_MODEL.iter().map(|(_, t)| (*t).to_owned()));
    out
}

fn assert_all_in(text: &str, what: &str) {
    for item in ten_texts() {
        assert!(text.contains(&item), "{what} lacks {item:?}:\n{text}");
    }
}

#[tokio::test]
async fn ten_items_survive_five_compressions_and_a_resume() {
    let w = World::new(OPENAI_MODEL);
    let mut ui = Collect::default();
    let mut agent = w.open("keep", &mut ui).await;

    for item in BY_USER {
        say(&mut agent, &mut ui, &format!("/remember {item}")).await;
        let (text, _) = command_output(&ui);
        assert!(text.starts_with("remembered ["), "{text}");
    }
    // Saying it again stores nothing new.
    say(
        &mut agent,
        &mut ui,
        "/remember Constraint: Never push to main.",
    )
    .await;
    assert!(command_output(&ui).0.starts_with("already remembered"));

    // The model remembers four more with its tool, in one answer.
    let mut reply = Reply::new().usage(FakeUsage {
        input: 0,
        output: 30,
        ..FakeUsage::default()
    });
    for (i, (kind, text)) in BY_MODEL.iter().enumerate() {
        reply = reply.tool_call(
            format!("call_{i}"),
            "remember",
            json!({"kind": kind, "text": text}),
        );
    }
    w.chat.push(reply);
    w.chat.push(answer("Noted all four."));
    say(&mut agent, &mut ui, "please remember our ground rules").await;
    let request = w.chat.requests()[0].body.clone();
    let tools: Vec<&str> = request["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert!(tools.contains(&"remember"), "{tools:?}");
    // The answer after the tool calls already carries the items.
    assert_all_in(
        &sent_text(&w.chat.requests()[1].body),
        "the request after remember",
    );

    for round in 0..5 {
        for turn in 0..2 {
            w.chat
                .push(answer(words(&format!("answer {round}.{turn}"), 80)));
            say(
                &mut agent,
                &mut ui,
                &words(&format!("request {round}.{turn}"), 40),
            )
            .await;
        }
        let compressions_before = agent.session().compaction_count;
        w.chat.push(summary(
            &format!("ship auth, round {round}"),
            &["keep JWT"],
            &[("fact", &format!("round {round} found a fact"))],
        ));
        say(&mut agent, &mut ui, "/summarize the auth work").await;
        let (text, data) = command_output(&ui);
        assert!(text.starts_with("compressed the live context"), "{text}");
        assert_eq!(data["method"], "model", "{data}");
        assert_eq!(agent.session().compaction_count, compressions_before + 1);
        // The compressor was shown every item kept, and the focus.
        let asked = sent_text(&w.chat.requests().last().unwrap().body);
        assert!(asked.contains("Knowledge kept"), "{asked}");
        assert!(asked.contains("focus on: the auth work"), "{asked}");
        assert_all_in(&asked, "the summarization request");
        // The next request to the chat model carries every item.
        w.chat.push(answer("ok"));
        say(&mut agent, &mut ui, &format!("go on after round {round}")).await;
        let sent = sent_text(&w.chat.requests().last().unwrap().body);
        assert_all_in(&sent, "the request after a compression");
        assert!(
            sent.contains(&format!("ship auth, round {round}")),
            "{sent}"
        );
        assert!(
            sent.contains(&format!("round {round} found a fact")),
            "{sent}"
        );
    }
    assert_eq!(agent.session().compaction_count, 5);
    agent.close().await.unwrap();

    // Resume in a new agent: the items are in the first request it sends.
    let mut ui = Collect::default();
    let mut agent = w.open("keep", &mut ui).await;
    w.chat.push(answer("back"));
    say(&mut agent, &mut ui, "where were we?").await;
    let sent = sent_text(&w.chat.requests().last().unwrap().body);
    assert_all_in(&sent, "the first request after resume");
    for round in 0..5 {
        assert!(
            sent.contains(&format!("round {round} found a fact")),
            "{sent}"
        );
    }

    // /context shows the compaction boundary and the knowledge block.
    say(&mut agent, &mut ui, "/context").await;
    let (text, _) = command_output(&ui);
    assert!(text.contains("(compacted) events #1–#"), "{text}");
    assert!(
        text.contains("(knowledge) [constraint] no unsafe code (pinned)"),
        "{text}"
    );
    assert!(
        text.contains("(knowledge) [fact] round 4 found a fact\n"),
        "{text}"
    );

    // Stored as knowledge events: ten pinned, five found by the compressions.
    let history = w.history("keep").await;
    let items: Vec<(KnowledgeKind, String, bool)> = history
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::Knowledge(k) => Some((k.knowledge_kind, k.text.clone(), k.pinned)),
            _ => None,
        })
        .collect();
    assert_eq!(items.len(), 15, "{items:?}");
    assert_eq!(items.iter().filter(|(_, _, pinned)| *pinned).count(), 10);

    // /knowledge lists them numbered; /forget 1 unpins the oldest, which then
    // leaves the live context (it is not among the newest ten).
    say(&mut agent, &mut ui, "/knowledge").await;
    let (text, data) = command_output(&ui);
    assert!(
        text.contains("  1. [constraint] never push to main (pinned)"),
        "{text}"
    );
    assert_eq!(data["items"].as_array().unwrap().len(), 15);
    say(&mut agent, &mut ui, "/forget 1").await;
    assert!(
        command_output(&ui).0.starts_with("unpinned 1."),
        "{:?}",
        command_output(&ui)
    );
    w.chat.push(answer("fine"));
    say(&mut agent, &mut ui, "next").await;
    let sent = sent_text(&w.chat.requests().last().unwrap().body);
    assert!(!sent.contains("never push to main"), "{sent}");
    assert!(sent.contains("no unsafe code"));
    // The item stays in the history.
    say(&mut agent, &mut ui, "/knowledge").await;
    assert!(
        command_output(&ui)
            .0
            .contains("never push to main (history only)")
    );
    say(&mut agent, &mut ui, "/forget 99").await;
    assert!(errors(&ui).last().unwrap().contains("no knowledge item 99"));
    say(&mut agent, &mut ui, "/remember   ").await;
    assert!(errors(&ui).last().unwrap().contains("usage: /remember"));
}
