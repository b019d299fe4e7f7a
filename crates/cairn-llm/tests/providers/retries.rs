use std::time::{Duration, Instant};

use cairn_core::{Message, Role};
use cairn_llm::{ChatRequest, ErrorKind, RetryPolicy};
use cairn_testkit::fake_llm::{ErrorReply, FakeLlm, Turn};

use crate::support::*;

fn hi(model: &str) -> ChatRequest {
    ChatRequest::new(model).with_messages(vec![Message::text(Role::User, "hi")])
}

#[tokio::test]
async fn a_429_waits_the_retry_after_seconds_then_succeeds() {
    let fake = FakeLlm::start([Turn::rate_limited("1"), Turn::text("after the wait")]).unwrap();
    let client = client(&fake, fast_options());
    let started = Instant::now();
    let (events, outcome) = run(&client, hi("openai:gpt-4.1")).await;
    assert_eq!(outcome.unwrap().text(), "after the wait");
    assert_eq!(retries(&events), [(1, Duration::from_secs(1))]);
    let sent = fake.requests();
    assert_eq!(sent.len(), 2);
    let gap = sent[1].received_at - sent[0].received_at;
    assert!(
        gap >= Duration::from_millis(990),
        "retried after {gap:?}, asked for 1 s"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn retry_after_ms_is_honoured_for_anthropic_overload_and_server_errors() {
    let overloaded = Turn::Error(ErrorReply {
        status: 529,
        message: "Overloaded".into(),
        error_type: None,
        code: None,
        retry_after: Some("30".into()),
        retry_after_ms: Some(300),
        ..Default::default()
    });
    let fake = FakeLlm::start([
        overloaded,
        Turn::error(500, "boom"),
        Turn::text("third time lucky"),
    ])
    .unwrap();
    let client = client(&fake, fast_options());
    let (events, outcome) = run(&client, hi("anthropic:claude-sonnet-4-5")).await;
    assert_eq!(outcome.unwrap().text(), "third time lucky");
    let waits = retries(&events);
    assert_eq!(waits.len(), 2);
    assert_eq!(
        waits[0],
        (1, Duration::from_millis(300)),
        "retry-after-ms wins over retry-after"
    );
    // No retry-after on the 500: exponential backoff with jitter, 20..=40 ms for attempt 2.
    assert!(
        waits[1].1 >= Duration::from_millis(20) && waits[1].1 <= Duration::from_millis(40),
        "{waits:?}"
    );
    let sent = fake.requests();
    assert_eq!(sent.len(), 3);
    assert!(sent[1].received_at - sent[0].received_at >= Duration::from_millis(295));
}

#[tokio::test]
async fn server_errors_give_up_after_the_bounded_attempts() {
    let fake = FakeLlm::start((0..5).map(|_| Turn::error(503, "upstream unavailable"))).unwrap();
    let client = client(&fake, fast_options());
    let (events, outcome) = run(&client, hi("openai:gpt-4.1")).await;
    let error = outcome.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Server);
    assert_eq!(error.status, Some(503));
    assert_eq!(error.attempts, 3);
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(retries(&events).len(), 2);
    let shown = error.to_string();
    assert!(
        shown.contains("upstream unavailable") && shown.contains("3 attempts"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_wait_longer_than_allowed_is_returned_at_once() {
    let fake = FakeLlm::start([Turn::rate_limited("120"), Turn::text("too late")]).unwrap();
    let client = client(&fake, fast_options());
    let started = Instant::now();
    let (_, outcome) = run(&client, hi("openai:gpt-4.1")).await;
    let error = outcome.unwrap_err();
    assert_eq!(error.kind, ErrorKind::RateLimit);
    assert_eq!(error.retry_after, Some(Duration::from_secs(120)));
    assert_eq!(fake.requests().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn bad_requests_and_exhausted_quota_are_not_retried() {
    let fake = FakeLlm::start([
        Turn::error(400, "messages: field required"),
        Turn::Error(ErrorReply {
            status: 429,
            message: "You exceeded your current quota".into(),
            error_type: Some("insufficient_quota".into()),
            code: Some("insufficient_quota".into()),
            ..Default::default()
        }),
    ])
    .unwrap();
    let client = client(&fake, fast_options());
    let (_, outcome) = run(&client, hi("openai:gpt-4.1")).await;
    assert_eq!(outcome.unwrap_err().kind, ErrorKind::BadRequest);
    let (_, outcome) = run(&client, hi("openai:gpt-4.1")).await;
    let error = outcome.unwrap_err();
    assert_eq!(error.kind, ErrorKind::RateLimit);
    assert!(error.to_string().contains("quota"), "{error}");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn never_retry_policy_makes_one_attempt() {
    let fake = FakeLlm::start([Turn::error(500, "x"), Turn::text("unused")]).unwrap();
    let mut options = fast_options();
    options.retry = RetryPolicy::never();
    let client = client(&fake, options);
    let (events, outcome) = run(&client, hi("anthropic:claude-sonnet-4-5")).await;
    assert_eq!(outcome.unwrap_err().kind, ErrorKind::Server);
    assert!(retries(&events).is_empty());
    assert_eq!(fake.remaining(), 1);
}

#[tokio::test]
async fn x_should_retry_false_stops_retries() {
    let mut headers = std::collections::BTreeMap::new();
    headers.insert("x-should-retry".to_owned(), "false".to_owned());
    let fake = FakeLlm::start([
        Turn::Error(ErrorReply {
            status: 500,
            message: "do not retry me".into(),
            headers,
            ..Default::default()
        }),
        Turn::text("unused"),
    ])
    .unwrap();
    let client = client(&fake, fast_options());
    let (_, outcome) = run(&client, hi("openai:gpt-4.1")).await;
    assert_eq!(outcome.unwrap_err().kind, ErrorKind::Server);
    assert_eq!(fake.requests().len(), 1);
}

/// The body is serialised once per call and sent as bytes on every attempt (issue 14):
/// each wire's retry carries the same JSON, still declared as JSON.
#[tokio::test]
async fn every_attempt_sends_the_same_json_body_on_each_wire() {
    for model in [
        "openai:gpt-4.1",
        "anthropic:claude-sonnet-4-5",
        "gemini:gemini-2.5-flash",
    ] {
        let fake = FakeLlm::start([Turn::error(503, "busy"), Turn::text("second try")]).unwrap();
        let client = client(&fake, fast_options());
        let (_, outcome) = run(&client, hi(model)).await;
        assert_eq!(outcome.unwrap().text(), "second try", "{model}");
        let sent = fake.requests();
        assert_eq!(sent.len(), 2, "{model}");
        for request in &sent {
            assert_eq!(
                request.header("content-type"),
                Some("application/json"),
                "{model}"
            );
            assert!(request.body.is_object(), "{model}: {:?}", request.body);
        }
        assert_eq!(sent[0].body, sent[1].body, "{model}");
        assert!(sent[0].body.to_string().contains("\"hi\""), "{model}");
    }
}
