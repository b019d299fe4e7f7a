use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, MediaBlock, Message, Role, Usage};
use cairn_llm::{ChatRequest, Reasoning, StopReason, StreamEvent, ToolDef};
use cairn_testkit::fake_llm::{FakeLlm, FakeUsage, Reply, Turn};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn streams_thinking_text_and_a_tool_call_split_mid_json() {
    let reply = Reply::new()
        .thinking("The user wants the file.", "EqQBCkYIBxgCKkD")
        .text("Reading it now.")
        .tool_call(
            "toolu_01",
            "read_file",
            json!({"path": "src/lib.rs", "range": [10, 40]}),
        )
        .chunk_size(2)
        .usage(FakeUsage {
            input: 12,
            output: 40,
            cache_read: 3000,
            cache_write: 200,
            reasoning: 0,
        })
        .request_id("req_011CV");
    let fake = FakeLlm::start([Turn::from(reply)]).unwrap();
    fake.require_api_key(ANTHROPIC_KEY);
    let client = client(&fake, fast_options());
    let mut request = ChatRequest::new("anthropic:claude-sonnet-4-5")
        .with_system("Be careful.")
        .with_messages(vec![Message::text(Role::User, "show src/lib.rs 10-40")])
        .with_tools(vec![ToolDef::new(
            "read_file",
            "Read a file",
            json!({"type": "object"}),
        )]);
    request.reasoning = Some(Reasoning {
        budget_tokens: 2048,
        effort: None,
    });
    let (events, outcome) = run(&client, request).await;
    let response = outcome.unwrap();

    assert_eq!(text_deltas(&events), "Reading it now.");
    assert!(events.contains(&StreamEvent::ToolCallStarted {
        id: "toolu_01".into(),
        name: "read_file".into()
    }));
    assert!(events.contains(&StreamEvent::ToolCall {
        id: "toolu_01".into(),
        name: "read_file".into(),
        input: json!({"path": "src/lib.rs", "range": [10, 40]})
    }));
    assert_eq!(
        response.content,
        vec![
            ContentBlock::Thinking {
                text: "The user wants the file.".into(),
                signature: Some("EqQBCkYIBxgCKkD".into())
            },
            ContentBlock::text("Reading it now."),
            ContentBlock::ToolUse {
                id: "toolu_01".into(),
                name: "read_file".into(),
                input: json!({"path": "src/lib.rs", "range": [10, 40]})
            },
        ]
    );
    assert_eq!(response.stop_reason, Some(StopReason::ToolUse));
    assert_eq!(response.request_id.as_deref(), Some("req_011CV"));
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 40,
            cache_read_tokens: 3000,
            cache_write_tokens: 200,
            reasoning_tokens: 0
        }
    );

    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.key_accepted, Some(true));
    assert_eq!(sent.header("x-api-key"), Some("<redacted>"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.body["model"], "claude-sonnet-4-5");
    assert_eq!(sent.body["stream"], true);
    assert_eq!(
        sent.body["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert_eq!(sent.body["max_tokens"], 8192 + 2048);
    assert_eq!(
        sent.body["system"],
        json!([{"type": "text", "text": "Be careful.", "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "show src/lib.rs 10-40", "cache_control": {"type": "ephemeral"}}
        ]}])
    );
}

#[tokio::test]
async fn request_id_falls_back_to_the_message_id() {
    let fake = FakeLlm::start([Turn::text("ok")]).unwrap();
    let client = client(&fake, fast_options());
    let (_, outcome) = run(
        &client,
        ChatRequest::new("anthropic:claude-haiku-4-5")
            .with_messages(vec![Message::text(Role::User, "hi")]),
    )
    .await;
    let response = outcome.unwrap();
    assert_eq!(response.request_id.as_deref(), Some("msg_fake1"));
    assert_eq!(response.stop_reason, Some(StopReason::EndTurn));
}

#[tokio::test]
async fn history_goes_back_with_signatures_tool_results_and_images() {
    let fake = FakeLlm::start([Turn::text("a red square")]).unwrap();
    let client = client(&fake, fast_options());
    let image = MediaBlock {
        sha256: "9f86d0".into(),
        mime: "image/png".into(),
        data_base64: None,
    };
    let history = vec![
        Message::text(Role::User, "list files"),
        Message::new(
            Role::Assistant,
            vec![
                ContentBlock::Thinking {
                    text: "use the tool".into(),
                    signature: Some("sig1".into()),
                },
                ContentBlock::ToolUse {
                    id: "toolu_9".into(),
                    name: "list_files".into(),
                    input: json!({}),
                },
            ],
        ),
        Message::new(
            Role::Tool,
            vec![ContentBlock::ToolResult {
                tool_use_id: "toolu_9".into(),
                content: ToolResultContent::Text("interrupted".into()),
                is_error: true,
            }],
        ),
        Message::new(
            Role::User,
            vec![
                ContentBlock::text("what is in this image?"),
                ContentBlock::Image(image),
            ],
        ),
    ];
    let request = ChatRequest::new("anthropic:claude-sonnet-4-5")
        .with_messages(history)
        .with_media("9f86d0", b"\x89PNG".to_vec());
    let (_, outcome) = run(&client, request).await;
    assert_eq!(outcome.unwrap().text(), "a red square");
    assert_eq!(
        fake.requests()[0].body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "list files"}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "use the tool", "signature": "sig1"},
                {"type": "tool_use", "id": "toolu_9", "name": "list_files", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_9", "content": "interrupted", "is_error": true},
                {"type": "text", "text": "what is in this image?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw=="},
                 "cache_control": {"type": "ephemeral"}}
            ]}
        ])
    );
}
