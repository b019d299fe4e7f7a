use async_trait::async_trait;
use cairn_agent::frontend::Collect;
use cairn_agent::{AgentEvent, Frontend, Outcome, Question, SessionTarget};
use cairn_core::{ContentBlock, Message, NewEvent, Payload, Role};
use cairn_testkit::fake_llm::{ErrorReply, Fault, Reply, Turn};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::*;

/// Cancels the turn once it has seen `after` text deltas (a Ctrl+C mid-stream).
struct CancelAfter {
    inner: Collect,
    token: CancellationToken,
    after: usize,
    seen: usize,
}

#[async_trait]
impl Frontend for CancelAfter {
    fn event(&mut self, event: AgentEvent) {
        if matches!(event, AgentEvent::TextDelta { .. }) {
            self.seen += 1;
            if self.seen == self.after {
                self.token.cancel();
            }
        }
        self.inner.event(event);
    }
    fn is_interactive(&self) -> bool {
        true
    }
    async fn ask(&mut self, question: &Question) -> bool {
        self.inner.ask(question).await
    }
}

#[tokio::test]
async fn interrupting_a_stream_keeps_the_partial_answer_marked_interrupted() {
    let world = World::new([
        Reply::new()
            .text("The first part arrives, and then much more that never will.")
            .chunk_size(5)
            .chunk_delay_ms(30)
            .into(),
        Turn::text("ok"),
    ]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut ui)
        .await;
    let token = CancellationToken::new();
    let mut cancel_ui = CancelAfter {
        inner: Collect::default(),
        token: token.clone(),
        after: 3,
        seen: 0,
    };
    let outcome = agent
        .submit("tell me", &mut cancel_ui, &token)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Interrupted);
    assert!(
        cancel_ui
            .inner
            .events
            .iter()
            .any(|e| matches!(e, AgentEvent::Interrupted { partial_kept: true }))
    );
    let history = world.history("s").await;
    let last = history.last().unwrap().payload.as_message().unwrap();
    assert_eq!(last.role, Role::Assistant);
    assert!(last.interrupted);
    let kept = last.plain_text();
    assert!(
        kept.starts_with("The first part") || kept.starts_with("The f"),
        "{kept}"
    );
    assert!(!kept.contains("never will"), "{kept}");
    // The session goes on, and the next request carries the partial answer.
    assert_eq!(say(&mut agent, &mut ui, "go on").await, Outcome::Answered);
    let next = transcript(&world.request(1));
    assert!(
        next.iter().any(|l| l.starts_with("assistant: The f")),
        "{next:#?}"
    );
    agent.close().await.unwrap();
}

#[tokio::test]
async fn provider_errors_are_plain_and_the_session_stays_usable() {
    let server_error = Turn::Error(ErrorReply {
        status: 500,
        message: "internal failure".into(),
        retry_after: Some("0".into()),
        ..ErrorReply::default()
    });
    let world = World::new([server_error.clone(), server_error, Turn::text("back again")]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut ui)
        .await;
    let outcome = say(&mut agent, &mut ui, "first").await;
    assert_eq!(
        outcome,
        Outcome::Failed {
            kind: "server".into()
        }
    );
    let (kind, message) = errors(&ui).pop().unwrap();
    assert_eq!(kind, "server");
    assert!(message.contains("500"), "{message}");
    assert!(
        ui.events
            .iter()
            .any(|e| matches!(e, AgentEvent::Retrying { .. }))
    );
    // Usable: the next message is answered, and the failed one is still in context.
    assert_eq!(say(&mut agent, &mut ui, "second").await, Outcome::Answered);
    let sent = transcript(&world.request(2));
    assert!(
        sent.contains(&"user: first".to_owned()) && sent.contains(&"user: second".to_owned()),
        "{sent:#?}"
    );
    // The failure is part of the session's story.
    assert!(
        world
            .history("s")
            .await
            .iter()
            .any(|e| e.payload.kind() == "error")
    );
    agent.close().await.unwrap();
}

#[tokio::test]
async fn a_refused_key_says_which_variable_to_check() {
    let world = World::new([Turn::text("never")]);
    world.fake.require_api_key("the-right-key");
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut ui)
        .await;
    let outcome = say(&mut agent, &mut ui, "hi").await;
    assert_eq!(
        outcome,
        Outcome::Failed {
            kind: "auth".into()
        }
    );
    let (_, message) = errors(&ui).pop().unwrap();
    assert!(message.contains("OPENAI_API_KEY"), "{message}");
    assert!(
        !message.contains("test-key"),
        "the key must not be shown: {message}"
    );
    agent.close().await.unwrap();
}

#[tokio::test]
async fn a_stream_cut_midway_keeps_what_arrived_and_the_next_request_is_accepted() {
    let world = World::new([
        Reply::new()
            .text("partial words here and more")
            .chunk_size(4)
            .fault(Fault::Cut { after_events: 4 })
            .into(),
        Turn::text("recovered"),
    ]);
    let mut ui = ui();
    let mut agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut ui)
        .await;
    let outcome = say(&mut agent, &mut ui, "hi").await;
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
    assert_eq!(say(&mut agent, &mut ui, "again").await, Outcome::Answered);
    assert!(texts(&ui).ends_with("recovered"));
    agent.close().await.unwrap();
}

#[tokio::test]
async fn dangling_tool_calls_get_an_interrupted_result_on_resume() {
    let world = World::new([Turn::text("fine")]);
    let mut ui = ui();
    let agent = world
        .open(SessionTarget::CreateOrResume(named("s")), &mut ui)
        .await;
    let id = agent.session().id;
    agent.close().await.unwrap();
    // What a process killed between a tool call and its result leaves behind.
    let call = Message::new(
        Role::Assistant,
        vec![ContentBlock::ToolUse {
            id: "call_dead".into(),
            name: "shell".into(),
            input: json!({"command": "sleep 100"}),
        }],
    );
    world
        .store
        .append_events(
            id,
            vec![
                NewEvent::now(Payload::Message(Message::text(Role::User, "run it"))),
                NewEvent::now(Payload::Message(call)),
            ],
        )
        .await
        .unwrap();
    let mut ui = crate::support::ui();
    let mut agent = world.open(SessionTarget::Resume(named("s")), &mut ui).await;
    assert!(
        ui.events.iter().any(
            |e| matches!(e, AgentEvent::Notice { message } if message.contains("interrupted"))
        )
    );
    let history = world.history("s").await;
    let repaired = history.last().unwrap().payload.as_message().unwrap();
    let ContentBlock::ToolResult {
        tool_use_id,
        is_error,
        content,
    } = &repaired.content[0]
    else {
        panic!("{repaired:?}");
    };
    assert_eq!(tool_use_id, "call_dead");
    assert!(*is_error && content.as_text().contains("interrupted"));
    assert_eq!(
        say(&mut agent, &mut ui, "and now?").await,
        Outcome::Answered
    );
    let body = world.request(0);
    let tool_msg = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap();
    assert_eq!(tool_msg["tool_call_id"], "call_dead");
    // A second resume finds nothing to repair.
    agent.close().await.unwrap();
    let before = world.history("s").await.len();
    let agent = world.open(SessionTarget::Resume(named("s")), &mut ui).await;
    assert_eq!(world.history("s").await.len(), before);
    agent.close().await.unwrap();
}
