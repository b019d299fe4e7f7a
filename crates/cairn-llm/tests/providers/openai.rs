use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, Message, Role, Usage};
use cairn_llm::{ChatRequest, ErrorKind, LlmError, StopReason, StreamEvent, ToolDef};
use cairn_testkit::fake_llm::{FakeLlm, FakeUsage, Reply, Turn};
use serde_json::json;

use crate::support::*;

fn read_file_tool() -> ToolDef {
    ToolDef::new(
        "read_file",
        "Read a file of the project",
        json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
    )
}

#[tokio::test]
async fn streams_text_reasoning_tool_calls_and_usage() {
    let reply = Reply::new()
        .thinking("First I look.", "unused")
        .text("I will read both files.")
        .tool_call(
            "call_a",
            "read_file",
            json!({"path": "src/main.rs", "note": "é ünïcode"}),
        )
        .tool_call("call_b", "read_file", json!({"path": "Cargo.toml"}))
        .chunk_size(3)
        .usage(FakeUsage {
            input: 100,
            output: 20,
            cache_read: 50,
            cache_write: 0,
            reasoning: 7,
        })
        .request_id("req_openai_123");
    let fake = FakeLlm::start([Turn::from(reply)]).unwrap();
    fake.require_api_key(OPENAI_KEY);
    let client = client(&fake, fast_options());
    let request = ChatRequest::new("openai:gpt-4.1")
        .with_system("You are terse.")
        .with_messages(vec![Message::text(
            Role::User,
            "read main.rs and Cargo.toml",
        )])
        .with_tools(vec![read_file_tool()]);
    let (events, outcome) = run(&client, request).await;
    let response = outcome.unwrap();

    assert_eq!(
        events[0],
        StreamEvent::Started {
            request_id: Some("req_openai_123".into())
        }
    );
    assert_eq!(text_deltas(&events), "I will read both files.");
    assert!(count_text_deltas(&events) >= 8, "text came in small chunks");
    let thinking: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ThinkingDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(thinking, "First I look.");
    let started: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallStarted { id, name } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(started, [("call_a", "read_file"), ("call_b", "read_file")]);

    assert_eq!(response.model, "openai:gpt-4.1");
    assert_eq!(response.request_id.as_deref(), Some("req_openai_123"));
    assert_eq!(response.stop_reason, Some(StopReason::ToolUse));
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 100,
            output_tokens: 20,
            cache_read_tokens: 50,
            cache_write_tokens: 0,
            reasoning_tokens: 7
        }
    );
    assert_eq!(
        response.content,
        vec![
            ContentBlock::Thinking {
                text: "First I look.".into(),
                signature: None
            },
            ContentBlock::text("I will read both files."),
            ContentBlock::ToolUse {
                id: "call_a".into(),
                name: "read_file".into(),
                input: json!({"path": "src/main.rs", "note": "é ünïcode"})
            },
            ContentBlock::ToolUse {
                id: "call_b".into(),
                name: "read_file".into(),
                input: json!({"path": "Cargo.toml"})
            },
        ]
    );

    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.key_accepted, Some(true));
    assert_eq!(request.header("authorization"), Some("<redacted>"));
    assert_eq!(request.body["model"], "gpt-4.1");
    assert_eq!(request.body["stream"], true);
    assert_eq!(
        request.body["stream_options"],
        json!({"include_usage": true})
    );
    assert_eq!(
        request.body["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "read main.rs and Cargo.toml"}
        ])
    );
    assert_eq!(
        request.body["tools"],
        json!([{"type": "function", "function": {
            "name": "read_file", "description": "Read a file of the project",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
        }}])
    );
}

#[tokio::test]
async fn request_id_falls_back_to_the_body_id_and_message_is_ready_to_store() {
    let fake = FakeLlm::start([Turn::text("done")]).unwrap();
    let client = client(&fake, fast_options());
    let (_, outcome) = run(
        &client,
        ChatRequest::new("openai:gpt-4.1-mini")
            .with_messages(vec![Message::text(Role::User, "hi")]),
    )
    .await;
    let response = outcome.unwrap();
    assert_eq!(response.request_id.as_deref(), Some("chatcmpl-fake1"));
    assert_eq!(response.stop_reason, Some(StopReason::EndTurn));
    let message = response.into_message();
    assert_eq!(message.role, Role::Assistant);
    assert_eq!(message.plain_text(), "done");
    assert_eq!(message.model.as_deref(), Some("openai:gpt-4.1-mini"));
    assert_eq!(message.request_id.as_deref(), Some("chatcmpl-fake1"));
    assert_eq!(
        message.usage.map(|u| (u.input_tokens, u.output_tokens)),
        Some((10, 5))
    );
}

#[tokio::test]
async fn a_resumed_history_with_tool_calls_is_sent_in_chat_format() {
    let fake = FakeLlm::start([Turn::text("the file has 3 lines")]).unwrap();
    let client = client(&fake, fast_options());
    let history = vec![
        Message::text(Role::User, "how long is a.txt?"),
        Message::new(
            Role::Assistant,
            vec![
                ContentBlock::Thinking {
                    text: "need to read".into(),
                    signature: Some("sig".into()),
                },
                ContentBlock::text("Reading it."),
                ContentBlock::ToolUse {
                    id: "call_1".into(),
                    name: "read_file".into(),
                    input: json!({"path": "a.txt"}),
                },
            ],
        ),
        Message::new(
            Role::Tool,
            vec![ContentBlock::ToolResult {
                tool_use_id: "call_1".into(),
                content: ToolResultContent::Text("1\n2\n3".into()),
                is_error: false,
            }],
        ),
        Message::text(Role::User, "so?"),
    ];
    let request = ChatRequest::new("openai:gpt-4.1")
        .with_messages(history)
        .with_max_tokens(500);
    let (_, outcome) = run(&client, request).await;
    outcome.unwrap();
    let body = &fake.requests()[0].body;
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "how long is a.txt?"},
            {"role": "assistant", "content": "Reading it.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a.txt\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "1\n2\n3"},
            {"role": "user", "content": "so?"}
        ])
    );
    // A custom base URL is a compatible server: the classic field name.
    assert_eq!(body["max_tokens"], 500);
}

#[tokio::test]
async fn ollama_needs_no_key_and_sends_none() {
    let fake = FakeLlm::start([Turn::text("hi from qwen")]).unwrap();
    let client = client(&fake, fast_options());
    let (_, outcome) = run(
        &client,
        ChatRequest::new("ollama:qwen2.5-coder:7b")
            .with_messages(vec![Message::text(Role::User, "hi")]),
    )
    .await;
    assert_eq!(outcome.unwrap().text(), "hi from qwen");
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.body["model"], "qwen2.5-coder:7b");
}

#[tokio::test]
async fn a_refused_key_is_an_auth_error_that_names_the_setting() {
    let fake = FakeLlm::start([Turn::text("never")]).unwrap();
    fake.require_api_key("sk-the-right-one");
    let error = error_for_hi(&fake).await;
    assert_eq!(error.kind, ErrorKind::Auth);
    assert_eq!(error.status, Some(401));
    assert_eq!(fake.requests().len(), 1, "auth errors are not retried");
    let shown = error.to_string();
    assert!(
        shown.contains("OPENAI_API_KEY") && shown.contains("[providers.openai] api_key"),
        "{shown}"
    );
    assert!(!shown.contains(OPENAI_KEY), "{shown}");
}

#[tokio::test]
async fn context_overflow_is_its_own_kind() {
    let fake = FakeLlm::start([Turn::Error(cairn_testkit::fake_llm::ErrorReply {
        status: 400,
        message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.".into(),
        error_type: None,
        code: Some("context_length_exceeded".into()),
        ..Default::default()
    })])
    .unwrap();
    let error = error_for_hi(&fake).await;
    assert_eq!(error.kind, ErrorKind::ContextTooLong);
    assert!(error.to_string().contains("128000"), "{error}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_key_echoed_by_the_provider_is_masked() {
    let fake = FakeLlm::start([Turn::error(
        400,
        format!("Invalid header value {OPENAI_KEY}"),
    )])
    .unwrap();
    let error = error_for_hi(&fake).await;
    assert_eq!(error.kind, ErrorKind::BadRequest);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(OPENAI_KEY), "{shown}");
    assert!(shown.contains("****6789"), "{shown}");
}

/// Issue 8 item 13: a provider that echoes the key back cut short
/// ("sk-test-o****6789") does not get that prefix shown.
#[tokio::test]
async fn a_key_echoed_back_cut_short_is_masked() {
    let echoed = format!(
        "{}****{}",
        &OPENAI_KEY[..9],
        &OPENAI_KEY[OPENAI_KEY.len() - 4..]
    );
    let fake = FakeLlm::start([Turn::Error(cairn_testkit::fake_llm::ErrorReply {
        status: 401,
        message: format!("Incorrect API key provided: {echoed}. You can find your API key at …"),
        ..Default::default()
    })])
    .unwrap();
    let shown = error_for_hi(&fake).await.to_string();
    assert!(!shown.contains(&OPENAI_KEY[..9]), "{shown}");
    assert!(shown.contains("Incorrect API key provided"), "{shown}");
}

/// Sends "hi" to `openai:gpt-4.1` and returns the error the turn must end with.
async fn error_for_hi(fake: &FakeLlm) -> LlmError {
    let client = client(fake, fast_options());
    let (_, outcome) = run(
        &client,
        ChatRequest::new("openai:gpt-4.1").with_messages(vec![Message::text(Role::User, "hi")]),
    )
    .await;
    outcome.unwrap_err()
}
