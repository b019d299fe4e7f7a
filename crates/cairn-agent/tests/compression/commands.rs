//! `/done` (compression and a checkpoint `where_was_i` returns), `/run reduce` with
//! `output = "replace"`, and a configured `[[commands]]` entry that appends.

use cairn_agent::frontend::Collect;
use cairn_app::resume_brief::{WhereQuery, where_was_i};
use cairn_core::run_commands::REDUCE_PROMPT;
use cairn_core::settings::{CommandDef, CommandOutput};
use cairn_core::{CompactionMethod, Payload, Role};
use cairn_testkit::fake_llm::{FakeUsage, Reply};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn done_compresses_everything_and_saves_a_checkpoint_where_was_i_returns() {
    let w = World::new(OPENAI_MODEL);
    let mut ui = Collect::default();
    let mut agent = w.open("parser-work", &mut ui).await;
    say(
        &mut agent,
        &mut ui,
        "/remember decision: the parser is hand-written",
    )
    .await;
    w.chat.push(
        Reply::new()
            .text("Writing it.")
            .tool_call(
                "call_w",
                "write_file",
                json!({"path": "src/parser.rs", "content": "pub fn parse() {}\n"}),
            )
            .usage(FakeUsage {
                input: 0,
                output: 20,
                ..FakeUsage::default()
            }),
    );
    w.chat
        .push(answer("The parser skeleton is in src/parser.rs."));
    say(&mut agent, &mut ui, "write the parser skeleton").await;
    for turn in 0..3 {
        w.chat.push(answer(words(&format!("answer {turn}"), 120)));
        say(&mut agent, &mut ui, &words(&format!("request {turn}"), 40)).await;
    }
    let before: Vec<u64> = w
        .history("parser-work")
        .await
        .iter()
        .map(|e| e.seq)
        .collect();
    w.chat.push(summary(
        "write the expression parser",
        &["precedence climbing, not a generator"],
        &[("constraint", "parse errors carry line and column")],
    ));
    say(&mut agent, &mut ui, "/done parser skeleton finished").await;
    let (text, data) = command_output(&ui);
    assert!(
        text.contains("compressed the live context (/done)"),
        "{text}"
    );
    assert!(
        text.contains("checkpoint saved: session parser-work, round 1"),
        "{text}"
    );

    // The compaction stands for the whole live context: no verbatim tail.
    let history = w.history("parser-work").await;
    let (seq, c) = compactions(&history).pop().unwrap();
    assert_eq!(data["compaction_seq"], seq);
    assert_eq!(c.replaces, [1, seq - 1]);
    assert!(agent.live_context().events.iter().all(|e| e.seq > seq));
    assert!(before.iter().all(|s| history.iter().any(|e| e.seq == *s)));

    let checkpoint = w
        .store
        .latest_checkpoint("parser-work")
        .await
        .unwrap()
        .expect("a checkpoint");
    assert!(
        checkpoint.summary.starts_with("parser skeleton finished"),
        "{checkpoint:?}"
    );
    assert!(checkpoint.summary.contains("write the expression parser"));
    assert!(
        checkpoint
            .files_touched
            .contains(&"src/parser.rs".to_owned()),
        "{checkpoint:?}"
    );
    assert!(
        checkpoint
            .decisions_made
            .contains(&"precedence climbing, not a generator".to_owned())
    );
    assert!(
        checkpoint
            .decisions_made
            .contains(&"the parser is hand-written".to_owned())
    );
    assert_eq!(checkpoint.next_steps, vec!["keep going".to_owned()]);
    assert_eq!(checkpoint.client.as_deref(), Some("cairn"));

    let found = where_was_i(
        w.store.as_ref(),
        &WhereQuery {
            session_id: Some("parser-work".into()),
            client: None,
            project: None,
        },
        jiff::Timestamp::now(),
    )
    .await
    .unwrap()
    .expect("where_was_i finds it");
    assert_eq!(
        found
            .latest_checkpoint
            .as_ref()
            .map(|c| c.checkpoint_id.clone()),
        Some(checkpoint.checkpoint_id.clone())
    );
    assert!(
        found.resume_brief.contains("parser skeleton finished"),
        "{}",
        found.resume_brief
    );
    assert!(
        found.resume_brief.contains("precedence climbing"),
        "{}",
        found.resume_brief
    );

    // /done again with nothing new: no compression, still a checkpoint (round 2).
    say(&mut agent, &mut ui, "/done").await;
    let (text, _) = command_output(&ui);
    assert!(text.contains("nothing to compress"), "{text}");
    assert!(text.contains("round 2"), "{text}");

    // /done marks the session done (listings show it); the next message reopens it.
    let name = cairn_core::SessionName::parse("parser-work").unwrap();
    let status = |s: cairn_core::Session| s.status;
    assert_eq!(
        status(w.store.session(&name).await.unwrap()),
        cairn_core::SessionStatus::Done
    );
    assert!(text.contains("marked done"), "{text}");
    say(&mut agent, &mut ui, "/list").await;
    let (listed, data) = command_output(&ui);
    assert!(listed.contains("[done]"), "{listed}");
    assert_eq!(data["sessions"][0]["status"], "done");
    w.chat.push(answer("back at it"));
    say(&mut agent, &mut ui, "one more thing").await;
    assert_eq!(
        status(w.store.session(&name).await.unwrap()),
        cairn_core::SessionStatus::Active
    );
}

#[tokio::test]
async fn run_reduce_replaces_the_live_context_and_keeps_the_history() {
    let w = World::new(OPENAI_MODEL);
    let mut ui = Collect::default();
    let mut agent = w.open("reduce-me", &mut ui).await;
    for turn in 0..5 {
        w.chat.push(answer(words(&format!("answer {turn}"), 120)));
        say(&mut agent, &mut ui, &words(&format!("request {turn}"), 40)).await;
    }
    let tokens_before = agent.session().live_tokens;
    let brief = "## Goal\nShip the auth refactor.\n\n## Next steps\n1. add middleware";
    w.chat.push(answer(brief));
    say(&mut agent, &mut ui, "/run reduce keep the test plan").await;
    let (text, data) = command_output(&ui);
    assert!(
        text.starts_with("the answer of /run reduce is now the live context"),
        "{text}"
    );
    assert_eq!(data["output"], "replace");

    // `reduce` has no {context}: it went after the live context, like a turn.
    let sent = w.chat.requests().last().unwrap().body.clone();
    let last = sent["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "user");
    let prompt = message_text(&last);
    assert!(prompt.starts_with(&REDUCE_PROMPT[..60]), "{prompt}");
    assert!(prompt.ends_with("keep the test plan"), "{prompt}");
    assert!(sent_text(&sent).contains(&words("request 0", 40)));

    let history = w.history("reduce-me").await;
    let (_, c) = compactions(&history).pop().unwrap();
    assert_eq!(c.method, Some(CompactionMethod::Command));
    assert_eq!(c.command.as_deref(), Some("reduce"));
    assert_eq!(c.summary, brief);
    assert!(
        c.tokens_after < tokens_before / 3,
        "{} of {tokens_before}",
        c.tokens_after
    );
    assert_eq!(agent.session().live_tokens, c.tokens_after);
    // Every request and answer is still in the history.
    let users = history
        .iter()
        .filter_map(|e| e.payload.as_message())
        .filter(|m| m.role == Role::User)
        .count();
    assert_eq!(users, 5);

    // The next turn starts from the brief alone.
    w.chat.push(answer("on it"));
    say(&mut agent, &mut ui, "add the middleware").await;
    let sent = sent_text(&w.chat.requests().last().unwrap().body);
    assert!(sent.contains("Ship the auth refactor."), "{sent}");
    assert!(!sent.contains(&words("request 0", 40)), "{sent}");

    // A blank answer is refused and changes nothing.
    let compactions_before = agent.session().compaction_count;
    w.chat.push(answer("   "));
    say(&mut agent, &mut ui, "/run reduce").await;
    assert!(
        errors(&ui).last().unwrap().contains("was not used"),
        "{:?}",
        errors(&ui)
    );
    assert_eq!(agent.session().compaction_count, compactions_before);
    say(&mut agent, &mut ui, "/run nope").await;
    assert!(
        errors(&ui).last().unwrap().contains("reduce"),
        "{:?}",
        errors(&ui)
    );
}

#[tokio::test]
async fn a_configured_command_with_context_appends_its_answer() {
    let mut w = World::new(OPENAI_MODEL);
    w.settings.commands.push(CommandDef {
        name: "review".into(),
        description: "review the session so far".into(),
        prompt: "Review session {session} ({args}):\n{context}".into(),
        output: CommandOutput::Append,
    });
    let mut ui = Collect::default();
    let mut agent = w.open("reviewed", &mut ui).await;
    w.chat.push(answer("first answer"));
    say(&mut agent, &mut ui, "first request").await;
    w.chat.push(answer("Looks fine; one nit."));
    say(&mut agent, &mut ui, "/run review strictly").await;
    // Sent alone: one user message carrying the transcript.
    let sent = w.chat.requests().last().unwrap().body.clone();
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{sent}");
    let prompt = message_text(&messages[0]);
    assert!(
        prompt.starts_with("Review session reviewed (strictly):"),
        "{prompt}"
    );
    assert!(prompt.contains("[#1 user] first request"), "{prompt}");
    assert_eq!(command_output(&ui).0, "Looks fine; one nit.");
    let history = w.history("reviewed").await;
    let tail: Vec<(Role, String)> = history
        .iter()
        .rev()
        .take(2)
        .filter_map(|e| match &e.payload {
            Payload::Message(m) => Some((m.role, m.plain_text())),
            _ => None,
        })
        .collect();
    assert_eq!(
        tail,
        vec![
            (Role::Assistant, "Looks fine; one nit.".to_owned()),
            (Role::User, "/run review strictly".to_owned()),
        ]
    );
}
