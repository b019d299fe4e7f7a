//! The Gemini provider against the fake's Gemini wire format and Files API.

use std::time::Duration;

use base64::Engine as _;
use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, MediaBlock, Message, Role, Usage};
use cairn_llm::{ChatRequest, ErrorKind, ModelRef, StopReason, StreamEvent, ToolDef, pricing};
use cairn_testkit::fake_llm::{ErrorReply, FakeLlm, FakeUsage, Fault, Reply, Turn};
use serde_json::{Value, json};

use crate::support::*;

/// An mp4 header followed by `len` bytes in a pattern that shows any corruption.
fn video(len: usize) -> Vec<u8> {
    let mut bytes = b"\0\0\0\x18ftypmp42".to_vec();
    bytes.extend((0..len).map(|i| (i % 251) as u8));
    bytes
}

fn video_message(sha: &str) -> (Message, MediaBlock) {
    let media = MediaBlock {
        sha256: sha.into(),
        mime: "video/mp4".into(),
        data_base64: None,
    };
    let message = Message::new(
        Role::User,
        vec![
            ContentBlock::text("what happens in this clip?"),
            ContentBlock::Video(media.clone()),
        ],
    );
    (message, media)
}

#[tokio::test]
async fn streams_thoughts_and_text_with_cached_and_thinking_usage() {
    let reply = Reply::new()
        .thinking("The user greets me.", "c2lnLTE=")
        .text("Hello there, friend.")
        .chunk_size(5)
        .usage(FakeUsage {
            input: 100,
            output: 40,
            cache_read: 900,
            cache_write: 0,
            reasoning: 60,
        });
    let fake = FakeLlm::start([Turn::from(reply)]).unwrap();
    fake.require_api_key(GEMINI_KEY);
    let client = client(&fake, fast_options());
    let request = ChatRequest::new("gemini:gemini-2.5-pro")
        .with_system("Be kind.")
        .with_messages(vec![Message::text(Role::User, "hi")]);
    let (events, outcome) = run(&client, request).await;
    let response = outcome.unwrap();

    let thinking: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ThinkingDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(thinking, "The user greets me.");
    assert_eq!(text_deltas(&events), "Hello there, friend.");
    assert!(count_text_deltas(&events) > 1, "streamed in pieces");
    assert_eq!(
        response.content,
        vec![
            ContentBlock::Thinking {
                text: "The user greets me.".into(),
                signature: Some("c2lnLTE=".into())
            },
            ContentBlock::text("Hello there, friend."),
        ]
    );
    assert_eq!(response.stop_reason, Some(StopReason::EndTurn));
    assert_eq!(response.request_id.as_deref(), Some("gemini-fake1"));
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 100,
            output_tokens: 40,
            cache_read_tokens: 900,
            cache_write_tokens: 0,
            reasoning_tokens: 60,
        }
    );
    // Priced: 100 × 1.25 + 900 × 0.125 + (40 + 60) × 10, per million.
    let cost = pricing::cost(
        &ModelRef::parse("gemini:gemini-2.5-pro").unwrap(),
        &response.usage,
    )
    .unwrap();
    assert!(
        (cost - (125.0 + 112.5 + 1000.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );

    let sent = &fake.requests()[0];
    assert_eq!(
        sent.path,
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent"
    );
    assert_eq!(sent.query, "alt=sse");
    assert_eq!(sent.header("x-goog-api-key"), Some("<redacted>"));
    assert_eq!(sent.key_accepted, Some(true));
    assert!(!sent.query.contains(GEMINI_KEY) && !sent.body.to_string().contains(GEMINI_KEY));
    assert_eq!(
        sent.body["systemInstruction"],
        json!({"parts": [{"text": "Be kind."}]})
    );
    assert_eq!(
        sent.body["contents"],
        json!([{"role": "user", "parts": [{"text": "hi"}]}])
    );
    assert_eq!(
        sent.body["generationConfig"]["thinkingConfig"],
        json!({"includeThoughts": true})
    );
}

#[tokio::test]
async fn a_tool_call_round_trip_answers_with_a_function_response_of_that_name() {
    let fake = FakeLlm::start([
        Reply::new()
            .text("Let me read it.")
            .tool_call("ignored", "read_file", json!({"path": "src/lib.rs"}))
            .into(),
        Turn::text("It declares one module."),
    ])
    .unwrap();
    let client = client(&fake, fast_options());
    let tools = vec![ToolDef::new(
        "read_file",
        "Read a file",
        json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
    )];
    let mut messages = vec![Message::text(Role::User, "what is in src/lib.rs?")];
    let request = ChatRequest::new("gemini:gemini-2.5-flash")
        .with_messages(messages.clone())
        .with_tools(tools.clone());
    let (events, outcome) = run(&client, request).await;
    let response = outcome.unwrap();
    assert_eq!(response.stop_reason, Some(StopReason::ToolUse));
    let (id, name, input) = response.tool_calls().next().unwrap();
    let id = id.to_owned();
    assert_eq!((name, input), ("read_file", &json!({"path": "src/lib.rs"})));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StreamEvent::ToolCall { name, .. } if name == "read_file"))
    );

    messages.push(response.into_message());
    messages.push(Message::new(
        Role::Tool,
        vec![ContentBlock::ToolResult {
            tool_use_id: id,
            content: ToolResultContent::Text("pub mod auth;".into()),
            is_error: false,
        }],
    ));
    let request = ChatRequest::new("gemini:gemini-2.5-flash")
        .with_messages(messages)
        .with_tools(tools);
    let (_, outcome) = run(&client, request).await;
    assert_eq!(outcome.unwrap().text(), "It declares one module.");

    let contents = fake.requests()[1].body["contents"].clone();
    assert_eq!(
        contents,
        json!([
            {"role": "user", "parts": [{"text": "what is in src/lib.rs?"}]},
            {"role": "model", "parts": [
                {"text": "Let me read it."},
                {"functionCall": {"name": "read_file", "args": {"path": "src/lib.rs"}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "read_file", "response": {"output": "pub mod auth;"}}}
            ]}
        ])
    );
}

fn error(status: u16, message: &str) -> Turn {
    Turn::Error(ErrorReply {
        status,
        message: message.into(),
        ..ErrorReply::default()
    })
}

#[tokio::test]
async fn errors_are_mapped_to_cairns_kinds() {
    // 429 RESOURCE_EXHAUSTED: waits the RetryInfo delay from the body, then succeeds.
    let limited = Turn::Error(ErrorReply {
        status: 429,
        message: "You exceeded your current quota, please check your plan and billing details."
            .into(),
        retry_after: Some("0.3".into()),
        ..ErrorReply::default()
    });
    let fake = FakeLlm::start([limited, Turn::text("ok now")]).unwrap();
    let (events, outcome) = run(
        &client(&fake, fast_options()),
        ChatRequest::new("gemini:gemini-2.5-flash")
            .with_messages(vec![Message::text(Role::User, "hi")]),
    )
    .await;
    assert_eq!(outcome.unwrap().text(), "ok now");
    assert_eq!(retries(&events), vec![(1, Duration::from_millis(300))]);

    let cases = [
        (
            error(
                400,
                "The input token count (1250000) exceeds the maximum number of tokens allowed \
                 (1048576).",
            ),
            ErrorKind::ContextTooLong,
            "1048576",
        ),
        (
            error(400, "Invalid JSON payload received. Unknown name \"foo\""),
            ErrorKind::BadRequest,
            "Unknown name",
        ),
        (
            error(403, "Method doesn't allow unregistered callers."),
            ErrorKind::Auth,
            "GEMINI_API_KEY",
        ),
        (
            error(404, "models/gemini-9 is not found for API version v1beta"),
            ErrorKind::BadRequest,
            "gemini-9",
        ),
    ];
    for (turn, kind, needle) in cases {
        let fake = FakeLlm::start([turn]).unwrap();
        let (_, outcome) = run(
            &client(&fake, fast_options()),
            ChatRequest::new("gemini:gemini-2.5-flash")
                .with_messages(vec![Message::text(Role::User, "hi")]),
        )
        .await;
        let err = outcome.unwrap_err();
        assert_eq!(err.kind, kind, "{err}");
        assert!(err.to_string().contains(needle), "{err}");
        assert_eq!(fake.requests().len(), 1, "{kind:?} is not retried");
    }

    // A wrong key: Gemini answers 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
    let fake = FakeLlm::start([Turn::text("never")]).unwrap();
    fake.require_api_key("the-right-key");
    let (_, outcome) = run(
        &client(&fake, fast_options()),
        ChatRequest::new("gemini:gemini-2.5-flash")
            .with_messages(vec![Message::text(Role::User, "hi")]),
    )
    .await;
    let err = outcome.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains("GOOGLE_API_KEY"), "{err}");
    assert!(!err.to_string().contains(GEMINI_KEY), "{err}");

    // 500 INTERNAL, every attempt.
    let fake = FakeLlm::start(vec![error(500, "An internal error has occurred."); 3]).unwrap();
    let (_, outcome) = run(
        &client(&fake, fast_options()),
        ChatRequest::new("gemini:gemini-2.5-flash")
            .with_messages(vec![Message::text(Role::User, "hi")]),
    )
    .await;
    let err = outcome.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Server);
    assert_eq!(err.attempts, 3);
}

#[tokio::test]
async fn a_small_video_goes_inline_and_arrives_intact() {
    let bytes = video(64 * 1024);
    let (message, media) = video_message("aa11");
    let fake = FakeLlm::start([Turn::text("A short clip.")]).unwrap();
    let client = client(&fake, fast_options());
    assert!(
        client
            .capabilities(&ModelRef::parse("gemini:gemini-2.5-flash").unwrap())
            .unwrap()
            .video
    );
    let request = ChatRequest::new("gemini:gemini-2.5-flash")
        .with_messages(vec![message])
        .with_media(media.sha256.clone(), bytes.clone());
    let (_, outcome) = run(&client, request).await;
    assert_eq!(outcome.unwrap().text(), "A short clip.");
    assert!(fake.uploaded_files().is_empty());
    let part = &fake.requests()[0].body["contents"][0]["parts"][1]["inlineData"];
    assert_eq!(part["mimeType"], "video/mp4");
    let sent = base64::engine::general_purpose::STANDARD
        .decode(part["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(sent, bytes);
}

#[tokio::test]
async fn a_large_video_goes_through_the_files_api_once() {
    // 16 MB is 21.3 MB of base64: over Gemini's 20 MB inline request limit.
    let bytes = video(16 * 1024 * 1024);
    let (message, media) = video_message("bb22");
    let fake = FakeLlm::start([Turn::text("A long clip."), Turn::text("Still long.")]).unwrap();
    fake.require_api_key(GEMINI_KEY);
    fake.set_processing_polls(2);
    let client = client(&fake, fast_options());
    let request = ChatRequest::new("gemini:gemini-2.5-pro")
        .with_messages(vec![message.clone()])
        .with_media(media.sha256.clone(), bytes.clone());
    let (_, outcome) = run(&client, request).await;
    assert_eq!(outcome.unwrap().text(), "A long clip.");

    let files = fake.uploaded_files();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].mime, "video/mp4");
    assert!(files[0].bytes == bytes, "the uploaded bytes differ");
    assert!(
        files[0].polls >= 2,
        "waited for ACTIVE: {} polls",
        files[0].polls
    );
    let requests = fake.requests();
    let start = requests
        .iter()
        .find(|r| r.path == "/upload/v1beta/files" && r.query.is_empty())
        .unwrap();
    assert_eq!(start.header("x-goog-upload-protocol"), Some("resumable"));
    assert_eq!(start.header("x-goog-upload-command"), Some("start"));
    assert_eq!(
        start.header("x-goog-upload-header-content-length"),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(start.key_accepted, Some(true));
    // The key goes to the API, not to the upload URL.
    let data = requests
        .iter()
        .find(|r| r.query.contains("upload_id"))
        .unwrap();
    assert_eq!(data.header("x-goog-api-key"), None);
    let generate = requests
        .iter()
        .find(|r| r.path.ends_with(":streamGenerateContent"))
        .unwrap();
    let uri = format!(
        "https://generativelanguage.googleapis.com/v1beta/{}",
        files[0].name
    );
    assert_eq!(
        generate.body["contents"][0]["parts"][1],
        json!({"fileData": {"mimeType": "video/mp4", "fileUri": uri}})
    );
    assert!(generate.body.to_string().len() < 1_000_000);

    // The next turn resends the history: the file is reused, not uploaded again.
    let request = ChatRequest::new("gemini:gemini-2.5-pro")
        .with_messages(vec![
            message,
            Message::text(Role::Assistant, "A long clip."),
            Message::text(Role::User, "and then?"),
        ])
        .with_media(media.sha256.clone(), bytes);
    let (_, outcome) = run(&client, request).await;
    assert_eq!(outcome.unwrap().text(), "Still long.");
    assert_eq!(fake.uploaded_files().len(), 1);
    let last = fake.requests().last().unwrap().body.clone();
    assert_eq!(last["contents"][0]["parts"][1]["fileData"]["fileUri"], uri);
}

/// Every key used anywhere in a JSON value.
fn all_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                all_keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| all_keys(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn schema_keywords_gemini_refuses_are_converted() {
    let fake = FakeLlm::start([Turn::text("ok")]).unwrap();
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "limit": {"type": ["integer", "null"], "minimum": 1},
            "mode": {"const": "fast"}
        },
        "required": ["url"]
    });
    let request = ChatRequest::new("gemini:gemini-2.5-flash")
        .with_messages(vec![Message::text(Role::User, "fetch")])
        .with_tools(vec![
            ToolDef::new("fetch", "Fetch a URL", schema),
            ToolDef::new(
                "now",
                "The time",
                json!({"type": "object", "properties": {}}),
            ),
        ]);
    let (_, outcome) = run(&client(&fake, fast_options()), request).await;
    outcome.unwrap();
    let declarations = fake.requests()[0].body["tools"][0]["functionDeclarations"].clone();
    let mut keys = Vec::new();
    all_keys(&declarations, &mut keys);
    for refused in ["$schema", "additionalProperties", "const", "format"] {
        assert!(
            !keys.iter().any(|k| k == refused),
            "{refused}: {declarations}"
        );
    }
    assert_eq!(
        declarations[0]["parameters"],
        json!({"type": "object", "required": ["url"], "properties": {
            "url": {"type": "string"},
            "limit": {"type": "integer", "nullable": true, "minimum": 1},
            "mode": {"type": "string", "enum": ["fast"]}
        }})
    );
    assert_eq!(
        declarations[1],
        json!({"name": "now", "description": "The time"})
    );
}

#[tokio::test]
async fn a_malformed_chunk_or_a_blocked_prompt_is_a_clear_error() {
    let fake = FakeLlm::start([
        Reply::new()
            .text("the answer is")
            .chunk_size(3)
            .fault(Fault::Malformed { after_events: 2 })
            .into(),
        Reply::new().prompt_blocked("PROHIBITED_CONTENT").into(),
    ])
    .unwrap();
    let client = client(&fake, fast_options());
    let request = ChatRequest::new("gemini:gemini-2.5-flash")
        .with_messages(vec![Message::text(Role::User, "hi")]);
    let (_, outcome) = run(&client, request.clone()).await;
    let err = outcome.unwrap_err();
    assert_eq!(err.kind, ErrorKind::MalformedStream, "{err}");
    assert!(
        err.to_string().contains("gemini sent a malformed stream"),
        "{err}"
    );
    assert_eq!(err.partial().unwrap().text(), "the an");

    let (_, outcome) = run(&client, request).await;
    let err = outcome.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest, "{err}");
    assert!(err.to_string().contains("PROHIBITED_CONTENT"), "{err}");
}
