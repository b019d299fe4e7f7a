use std::time::Duration;

use cairn_core::settings::{Provider, Providers};
use cairn_llm::{
    ChatRequest, ChatResponse, ClientOptions, LlmClient, LlmError, RetryPolicy, StreamEvent,
    Timeouts,
};
use cairn_testkit::fake_llm::FakeLlm;
use futures::StreamExt;

pub(crate) const OPENAI_KEY: &str = "sk-test-openai-0123456789";
pub(crate) const ANTHROPIC_KEY: &str = "sk-ant-test-0123456789";
pub(crate) const GEMINI_KEY: &str = "AIzaSy-test-gemini-0123456789";

/// Short waits so failure tests stay fast.
pub(crate) fn fast_options() -> ClientOptions {
    ClientOptions {
        timeouts: Timeouts {
            connect: Duration::from_secs(2),
            first_byte: Duration::from_secs(5),
            idle: Duration::from_secs(5),
        },
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(5),
        },
    }
}

/// A client whose openai, anthropic, ollama and gemini providers all point at `fake`.
pub(crate) fn client(fake: &FakeLlm, options: ClientOptions) -> LlmClient {
    let providers = Providers {
        openai: Provider {
            api_key: Some(OPENAI_KEY.into()),
            base_url: Some(fake.openai_base_url()),
        },
        anthropic: Provider {
            api_key: Some(ANTHROPIC_KEY.into()),
            base_url: Some(fake.anthropic_base_url()),
        },
        ollama: Provider {
            api_key: None,
            base_url: Some(fake.openai_base_url()),
        },
        openrouter: Provider::default(),
        gemini: Provider {
            api_key: Some(GEMINI_KEY.into()),
            base_url: Some(fake.gemini_base_url()),
        },
    };
    LlmClient::new(providers, options).unwrap()
}

/// Every event, and the outcome (the finished answer or the error).
pub(crate) async fn run(
    client: &LlmClient,
    request: ChatRequest,
) -> (Vec<StreamEvent>, Result<ChatResponse, LlmError>) {
    let mut stream = client.stream(request);
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::Finished(response)) => {
                assert!(stream.next().await.is_none(), "nothing may follow Finished");
                return (events, Ok(response));
            }
            Ok(event) => events.push(event),
            Err(error) => {
                assert!(stream.next().await.is_none(), "nothing may follow an error");
                return (events, Err(error));
            }
        }
    }
    panic!("the stream ended without Finished or an error; events: {events:?}");
}

pub(crate) fn text_deltas(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

pub(crate) fn count_text_deltas(events: &[StreamEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, StreamEvent::TextDelta(_)))
        .count()
}

pub(crate) fn retries(events: &[StreamEvent]) -> Vec<(u32, Duration)> {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Retrying { attempt, delay, .. } => Some((*attempt, *delay)),
            _ => None,
        })
        .collect()
}
