use std::time::{Duration, Instant};

use cairn_core::{Message, Role};
use cairn_llm::{ChatRequest, ErrorKind, RetryPolicy, StreamEvent, TimeoutPhase, Timeouts};
use cairn_testkit::fake_llm::{FakeLlm, Fault, Reply, Turn};
use serde_json::json;

use crate::support::*;

fn hi(model: &str) -> ChatRequest {
    ChatRequest::new(model).with_messages(vec![Message::text(Role::User, "hi")])
}

const MODELS: [&str; 2] = ["openai:gpt-4.1", "anthropic:claude-sonnet-4-5"];

/// Text then a tool call, 4 characters per chunk: text deltas are the early events.
fn long_reply() -> Reply {
    Reply::new()
        .text("The quick brown fox jumps over the lazy dog.")
        .tool_call("call_1", "shell", json!({"command": "ls -la"}))
}

#[tokio::test]
async fn a_malformed_chunk_is_an_error_carrying_the_partial_answer() {
    for model in MODELS {
        let fake = FakeLlm::start([Turn::from(
            long_reply().fault(Fault::Malformed { after_events: 6 }),
        )])
        .unwrap();
        let client = client(&fake, fast_options());
        let (events, outcome) = run(&client, hi(model)).await;
        let error = outcome.unwrap_err();
        assert_eq!(error.kind, ErrorKind::MalformedStream, "{model}: {error}");
        assert!(error.to_string().contains("malformed"), "{error}");
        let partial = error.partial().expect("partial answer");
        let shown = text_deltas(&events);
        assert!(
            !shown.is_empty(),
            "{model}: some text arrived before the bad chunk"
        );
        assert_eq!(
            partial.text(),
            shown,
            "{model}: the partial is what was shown"
        );
        assert!("The quick brown fox jumps over the lazy dog.".starts_with(&shown));
        assert_eq!(
            fake.requests().len(),
            1,
            "{model}: output was shown, so no retry"
        );
    }
}

#[tokio::test]
async fn a_connection_cut_mid_stream_keeps_the_text_and_drops_the_unfinished_tool_call() {
    for model in MODELS {
        // Cut in the middle of the tool call's argument deltas.
        let reply = long_reply().chunk_size(40);
        let cut_at = match model {
            // role chunk, text x2, tool start, first argument chunk … cut.
            "openai:gpt-4.1" => 4,
            // message_start, ping, block start, text x2, block stop, tool start … cut.
            _ => 7,
        };
        let fake = FakeLlm::start([Turn::from(reply.fault(Fault::Cut {
            after_events: cut_at,
        }))])
        .unwrap();
        let client = client(&fake, fast_options());
        let (events, outcome) = run(&client, hi(model)).await;
        let error = outcome.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Network, "{model}: {error}");
        assert!(
            error.to_string().contains("cut") || error.to_string().contains("closed"),
            "{error}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, StreamEvent::ToolCallStarted { .. })),
            "{model}"
        );
        let partial = error.partial().expect("partial answer");
        assert_eq!(
            partial.text(),
            "The quick brown fox jumps over the lazy dog.",
            "{model}"
        );
        assert_eq!(
            partial.tool_calls().count(),
            0,
            "{model}: unfinished tool call dropped"
        );
        assert_eq!(fake.requests().len(), 1);
    }
}

#[tokio::test]
async fn a_cut_before_any_output_is_retried() {
    for model in MODELS {
        let fake = FakeLlm::start([
            Turn::from(
                Reply::new()
                    .text("lost")
                    .fault(Fault::Cut { after_events: 0 }),
            ),
            Turn::text("second try"),
        ])
        .unwrap();
        let client = client(&fake, fast_options());
        let (events, outcome) = run(&client, hi(model)).await;
        assert_eq!(outcome.unwrap().text(), "second try", "{model}");
        assert_eq!(retries(&events).len(), 1, "{model}");
        assert_eq!(text_deltas(&events), "second try");
        assert_eq!(fake.requests().len(), 2);
    }
}

#[tokio::test]
async fn a_silent_stream_hits_the_idle_timeout_with_the_partial_answer() {
    for model in MODELS {
        let reply = long_reply().fault(Fault::Stall {
            after_events: 5,
            ms: 3000,
        });
        let fake = FakeLlm::start([Turn::from(reply)]).unwrap();
        let mut options = fast_options();
        options.timeouts = Timeouts {
            idle: Duration::from_millis(300),
            ..options.timeouts
        };
        let client = client(&fake, options);
        let started = Instant::now();
        let (events, outcome) = run(&client, hi(model)).await;
        let error = outcome.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Timeout, "{model}: {error}");
        assert!(
            error.to_string().contains(&TimeoutPhase::Idle.to_string()),
            "{error}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{model}: {:?}",
            started.elapsed()
        );
        assert_eq!(
            error.partial().map(|p| p.text()),
            Some(text_deltas(&events))
        );
    }
}

#[tokio::test]
async fn slow_chunks_within_the_idle_timeout_are_fine() {
    let reply = Reply::new().text("slow but steady").chunk_delay_ms(60);
    let fake = FakeLlm::start([Turn::from(reply)]).unwrap();
    let mut options = fast_options();
    options.timeouts.idle = Duration::from_millis(400);
    let client = client(&fake, options);
    let (_, outcome) = run(&client, hi("anthropic:claude-sonnet-4-5")).await;
    assert_eq!(outcome.unwrap().text(), "slow but steady");
}

#[tokio::test]
async fn no_first_byte_in_time_is_a_timeout_retried_within_bounds() {
    let slow = || Turn::from(Reply::new().text("late").headers_delay_ms(2000));
    let fake = FakeLlm::start([slow(), slow()]).unwrap();
    let mut options = fast_options();
    options.timeouts.first_byte = Duration::from_millis(300);
    options.retry = RetryPolicy {
        max_attempts: 2,
        ..options.retry
    };
    let client = client(&fake, options);
    let started = Instant::now();
    let (events, outcome) = run(&client, hi("openai:gpt-4.1")).await;
    let error = outcome.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert_eq!(error.attempts, 2);
    assert_eq!(retries(&events).len(), 1);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn nothing_listening_is_a_quick_network_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let providers = cairn_core::settings::Providers {
        ollama: cairn_core::settings::Provider {
            api_key: None,
            base_url: Some(format!("http://127.0.0.1:{port}/v1")),
        },
        ..Default::default()
    };
    let client = cairn_llm::LlmClient::new(providers, fast_options()).unwrap();
    let started = Instant::now();
    let (events, outcome) = run(&client, hi("ollama:llama3")).await;
    let error = outcome.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Network);
    assert!(error.to_string().contains("connection refused"), "{error}");
    assert!(
        retries(&events).is_empty(),
        "nothing listens: no point retrying"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_request() {
    use futures::StreamExt;
    let reply = Reply::new().text("a b c d e f").chunk_delay_ms(5000);
    let fake = FakeLlm::start([Turn::from(reply)]).unwrap();
    let client = client(&fake, fast_options());
    let started = Instant::now();
    let mut stream = client.stream(hi("openai:gpt-4.1"));
    // Started, then the first (empty role) chunk carries no text: stop after Started.
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first, StreamEvent::Started { .. }));
    drop(stream);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_web_page_instead_of_an_event_stream_is_named_and_not_retried() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut served = 0;
        listener.set_nonblocking(false).unwrap();
        // One connection expected; a retry would be a second.
        while let Ok((mut conn, _)) = listener.accept() {
            served += 1;
            let mut buf = [0u8; 65536];
            let _ = conn.read(&mut buf);
            let page = "<html><body>Welcome to nginx!</body></html>";
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            if served == 1 {
                break;
            }
        }
        served
    });
    let providers = cairn_core::settings::Providers {
        openai: cairn_core::settings::Provider {
            api_key: None,
            base_url: Some(format!("http://127.0.0.1:{port}/v1")),
        },
        ..Default::default()
    };
    let client = cairn_llm::LlmClient::new(providers, fast_options()).unwrap();
    let (events, outcome) = run(&client, hi("openai:local")).await;
    let error = outcome.unwrap_err();
    assert_eq!(error.kind, ErrorKind::MalformedStream);
    let shown = error.to_string();
    assert!(
        shown.contains("text/html") && shown.contains("base URL"),
        "{shown}"
    );
    assert!(retries(&events).is_empty());
    assert_eq!(server.join().unwrap(), 1);
}

#[tokio::test]
async fn an_endless_error_page_is_read_only_in_part() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        // A client that stopped reading but kept the connection must not hang the test.
        conn.set_write_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        let mut buf = [0u8; 65536];
        let _ = conn.read(&mut buf);
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
        );
        // Up to 1 GB unless the client stops reading and closes first.
        let chunk = vec![b'x'; 1 << 20];
        let mut sent = 0usize;
        while sent < 1 << 30 && conn.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        sent
    });
    let providers = cairn_core::settings::Providers {
        openai: cairn_core::settings::Provider {
            api_key: None,
            base_url: Some(format!("http://127.0.0.1:{port}/v1")),
        },
        ..Default::default()
    };
    let client = cairn_llm::LlmClient::new(providers, fast_options()).unwrap();
    let started = std::time::Instant::now();
    let (_, outcome) = run(&client, hi("openai:local")).await;
    let error = outcome.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.kind, ErrorKind::MalformedStream);
    assert!(error.to_string().len() < 100_000, "message not bounded");
    let sent = server.join().unwrap();
    assert!(sent < 1 << 30, "the client read the whole endless page");
}

/// Issue 8 item 13: credentials inside a base URL (user info, `?api-key=`) never
/// appear in an error message.
#[tokio::test]
async fn credentials_in_the_base_url_are_not_in_errors() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 65536];
        let _ = conn.read(&mut buf);
        let page = "<html>proxy login</html>";
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
    });
    let providers = cairn_core::settings::Providers {
        openai: cairn_core::settings::Provider {
            api_key: None,
            base_url: Some(format!(
                "http://bob:hunter2pass@127.0.0.1:{port}/v1?api-key=querysecret9"
            )),
        },
        ..Default::default()
    };
    let client = cairn_llm::LlmClient::new(providers, fast_options()).unwrap();
    let (_, outcome) = run(&client, hi("openai:local")).await;
    let shown = outcome.unwrap_err().to_string();
    server.join().unwrap();
    assert!(shown.contains("127.0.0.1"), "{shown}");
    for secret in ["hunter2pass", "querysecret9"] {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
}
